// A retention run as the chain records it (docs/retention.md, "Retention"): the new_values of the INSERT
// entry of witness.retention_run, whose pruned column lists, per block, a digest of what
// witness.pruned_leaf keeps for it. Verification uses a kept row only when a run names it so.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hash.hpp"

namespace witness
{

struct RetentionRecord {
	struct Block {
		int64_t block_no = 0;
		bool whole = false;
		Hash digest{};
	};
	// An archive file the run wrote before pruning (docs/retention.md, "Archive instead of delete").
	struct Archive {
		std::string file;
		Hash sha256{};
		int64_t entries = 0;
	};
	int64_t run_id = 0;
	std::vector<Block> blocks;
	std::vector<Archive> archives; // none for runs of versions without archives
};

// Reads the canonical new_values JSON of a retention run entry. Throws std::invalid_argument (or
// JsonError) when it is not one.
RetentionRecord parse_retention_record(std::string_view new_values_json);

// What a run records for one witness.pruned_leaf row (witness._pruned_digest() in SQL): SHA-256 over
// the block number (8 bytes, big-endian), the whole flag (1 byte), each id (8 bytes, big-endian) and
// the leaf hashes.
Hash pruned_digest(int64_t block_no, bool whole, const std::vector<int64_t> &ids, const std::vector<Hash> &hashes);

} // namespace witness
