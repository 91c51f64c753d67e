// Verifying a whole export: header and block lines first, one by one, then the entry lines in chunks
// that worker threads parse and hash while this thread feeds a streaming TrailVerifier. Memory does
// not grow with the number of entries: a block keeps a Merkle frontier, not its members. A block that
// does not verify is explained from its members, which a further pass over the export collects.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "export_reader.hpp"
#include "line_reader.hpp"
#include "trail_verifier.hpp"

namespace witness::tool
{

// Where an export comes from. open() gives its bytes from the start, once per pass.
class ExportInput
{
  public:
	virtual ~ExportInput() = default;
	virtual std::unique_ptr<ByteSource> open() = 0;
	// Whether open() may be called again; if not (standard input), the first pass keeps what later
	// passes need in a temporary file.
	virtual bool reopens() const = 0;
};

// A file, or standard input for "-".
class FileInput : public ExportInput
{
  public:
	explicit FileInput(std::string path) : path_(std::move(path)) {}
	// Standard input is read ahead in a thread (a pipe holds 64 kB: its writer would wait on every parse).
	std::unique_ptr<ByteSource> open() override
	{
		if (path_ == "-")
			return std::make_unique<PrefetchSource>(std::make_unique<FileSource>(path_), size_t(32) << 20);
		return std::make_unique<FileSource>(path_);
	}
	bool reopens() const override { return path_ != "-"; }

  private:
	std::string path_;
};

struct VerifyOptions {
	unsigned jobs = 1;                    // threads that parse entry lines (1: the calling thread)
	size_t max_collect_members = 1 << 20; // members a later pass keeps at most (a larger block alone)
	bool unchecked = false;               // collect the entries not checked (ExportResult::unchecked)
};

struct ExportResult {
	ExportHeader header;
	std::vector<EraStart> eras; // transaction-id eras after the first
	std::vector<StoredBlock> blocks;
	std::vector<ExportPruned> pruned; // the kept leaf hashes of pruned entries (docs/retention.md)
	std::vector<RetentionRecord> retentions; // the retention runs recorded in the chain, with their archive files
	VerifyReport report;
	int64_t entries = 0;    // entry lines read (in the first pass)
	int passes = 0;         // passes over the export (1 unless a block needed explaining)
	bool copy_text = false; // the export was COPY text, not JSON Lines
	std::vector<std::pair<int64_t, uint64_t>> unchecked; // (id, xid) ascending, with VerifyOptions::unchecked
};

// Reads the export and verifies it. Throws std::runtime_error, naming the line, on malformed input.
ExportResult verify_export(ExportInput &input, const VerifyOptions &options);
ExportResult verify_export(const std::string &path, unsigned jobs);

} // namespace witness::tool
