// Verifying a retention archive file on its own (docs/retention.md, "Archive instead of delete"): the
// gzip file witness.apply_retention() wrote before it pruned a month's entries under an archive rule.
// Every block's hash is recomputed from its header, its Merkle root from its leaf list, the chain links
// between consecutive archived blocks are checked, and every entry's leaf hash is recomputed from its
// content and found at its id in its block's leaf list. Optionally the blocks are compared with a later
// export of the chain, whose retention run must name the file's SHA-256: when it does, a differing
// database id (a dump restored into another database, a renamed one, a new cluster) is only a note.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "export_reader.hpp"
#include "export_verifier.hpp"
#include "hash.hpp"

namespace witness::tool
{

// A problem found in an archive: its name ("value changed", "entry missing", ...) and where.
struct ArchiveProblem {
	std::string name;
	int64_t block_no = 0; // 0 = none
	int64_t entry_id = 0; // 0 = none
	std::string detail;
};

struct ArchiveResult {
	ArchiveHeader header;
	Hash sha256{};          // of the file's bytes, compressed
	int64_t blocks = 0;     // block lines
	int64_t entries = 0;    // entry lines
	int64_t erased = 0;     // entries whose payload a recorded erasure removed (leaf still checked)
	int64_t encrypted = 0;  // entries sealed under a master key (header and commitment checked)
	bool against_export = false; // compared with an export
	std::vector<ArchiveProblem> problems;
	std::vector<std::string> notes; // not problems: e.g. the database it was restored into
};

// Reads the archive (gzip or plain JSON lines) and verifies it; with an export result (of a later
// export, itself verified by the caller), also compares block hashes and looks for the file's SHA-256
// among the retention runs recorded in the chain. Throws std::runtime_error on malformed input.
ArchiveResult verify_archive(const std::string &path, const ExportResult *later_export);

} // namespace witness::tool
