// Verifying a whole export file: header and block lines first, one by one, then the entry lines in
// chunks that worker threads parse and hash while this thread feeds the TrailVerifier.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "export_reader.hpp"
#include "trail_verifier.hpp"

namespace witness::tool
{

struct ExportResult {
	ExportHeader header;
	std::vector<StoredBlock> blocks;
	VerifyReport report;
	int64_t entries = 0; // entry lines read
};

// Reads the export at path ("-": standard input) and verifies it; jobs threads parse entry lines
// (1: all in the calling thread). Throws std::runtime_error, naming the line, on malformed input.
ExportResult verify_export(const std::string &path, unsigned jobs);

} // namespace witness::tool
