// A signed digest (witness.digest()) checked against an exported chain: the check of witness-verify
// --digest and of witness-verify report --digest (docs/verification.md, docs/report.md). Without
// one, an export whose newest blocks were removed still verifies.
#pragma once

#include <string>
#include <vector>

#include "export_verifier.hpp"

namespace witness::tool
{

struct DigestAgainstExport {
	std::string text;                  // what was checked, a line each, for the verifier's output
	std::vector<std::string> failures; // findings that make it fail; empty: the digest matches
	int64_t block_no = 0;              // the digest's block
	bool signature_checked = false;    // a key was given and its signature was valid
};

// Reads the digest file and the key files (empty path: no key) and compares the digest with t.
// Throws std::runtime_error on a file that cannot be read or a digest that is not one.
DigestAgainstExport check_digest_file(const std::string &digest_path, const std::string &hmac_key_path,
                                      const std::string &ed25519_key_path, const ExportResult &t);

} // namespace witness::tool
