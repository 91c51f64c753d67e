// witness-verify --digest and report --digest (digest_check.hpp).
#include "digest_check.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "digest.hpp"
#include "file_text.hpp"
#include "sha256.hpp"
#include "signatures.hpp"
#include "utc_time.hpp"

namespace witness::tool
{

DigestAgainstExport check_digest_file(const std::string &digest_path, const std::string &hmac_key_path,
                                      const std::string &ed25519_key_path, const ExportResult &t)
{
	DigestAgainstExport result;
	std::string &out = result.text;
	const std::string doc = read_file_text(digest_path, "digest", kSmallFileBytes);
	const std::string hmac_key =
	    hmac_key_path.empty() ? "" : hmac_key_from_file_text(read_file_text(hmac_key_path, "HMAC key", kSmallFileBytes));
	const std::string ed_key = ed25519_key_path.empty() ? "" : read_file_text(ed25519_key_path, "Ed25519 key", kSmallFileBytes);
	DigestCheck c;
	try {
		c = check_digest_signatures(doc, hmac_key, ed_key);
	} catch (const std::invalid_argument &e) {
		throw std::runtime_error(digest_path + ": " + e.what());
	}
	const DigestFields &d = c.fields;
	std::vector<std::string> &failures = result.failures;
	result.block_no = d.block_no;
	out += "digest:            block " + std::to_string(d.block_no) + ", " + std::to_string(d.entry_count) +
	       " entries sealed, signed for " + format_utc_us(d.time_us) + "\n";

	if (d.database_id != t.header.database)
		failures.push_back("the digest is for database \"" + d.database_id + "\", the export is of \"" +
		                   t.header.database + "\"");
	const StoredBlock *block = nullptr;
	int64_t sealed_through = 0, newest = 0;
	for (const StoredBlock &b : t.blocks) {
		newest = std::max(newest, b.header.block_no);
		// Saturating: the counts come from the export, which anyone may have altered.
		if (b.header.block_no <= d.block_no && __builtin_add_overflow(sealed_through, b.header.entry_count, &sealed_through))
			sealed_through = b.header.entry_count < 0 ? INT64_MIN : INT64_MAX;
		if (b.header.block_no == d.block_no && block == nullptr)
			block = &b;
	}
	if (block == nullptr) {
		failures.push_back(d.block_no > newest
		                       ? "block " + std::to_string(d.block_no) +
		                             " of the digest is newer than the newest exported block (" +
		                             std::to_string(newest) + "): blocks were removed"
		                       : "block " + std::to_string(d.block_no) + " of the digest is not in the export");
	} else {
		if (block->stored_block_hash != d.block_hash)
			failures.push_back("block " + std::to_string(d.block_no) + " has hash " + to_hex(block->stored_block_hash) +
			                   ", the digest says " + to_hex(d.block_hash) +
			                   ": the chain was rewritten after the digest was issued");
		else
			out += "  block hash:      matches block " + std::to_string(d.block_no) + " of the export\n";
		if (sealed_through != d.entry_count)
			failures.push_back("blocks 1 to " + std::to_string(d.block_no) + " seal " + std::to_string(sealed_through) +
			                   " entries, the digest says " + std::to_string(d.entry_count));
	}
	auto signature = [&](const char *name, SignatureState state, bool key_given) {
		std::string line =
		    std::string("  ") + name + ":" + std::string(16 - std::strlen(name), ' ') + signature_state_name(state);
		if (state == SignatureState::NotChecked)
			line += " (no key given)";
		out += line + "\n";
		if (key_given && state != SignatureState::Valid)
			failures.push_back(std::string("the digest's ") + name + " signature is " + signature_state_name(state));
		else if (key_given)
			result.signature_checked = true;
	};
	signature("hmac_sha256", c.hmac, !hmac_key.empty());
	signature("ed25519", c.ed25519, !ed_key.empty());
	if (hmac_key.empty() && ed_key.empty())
		out += "  note:            no key given: the digest is only as trustworthy as where it was kept\n";
	return result;
}

} // namespace witness::tool
