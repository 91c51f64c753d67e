// Block header bytes and block hash; the layout is in block.hpp and docs/hashing.md.
#include "block.hpp"

#include <stdexcept>

#include "field_encoding.hpp"
#include "sha256.hpp"

namespace witness
{

namespace
{

constexpr uint8_t kBlockFormatVersion = 1;
constexpr char kBlockHashPrefix = 0x02;

using namespace encoding;

void put_length_prefixed(std::string &out, char type, const void *data, size_t len)
{
	encoding::put_length_prefixed(out, type, static_cast<const char *>(data), len, "block header", " field");
}

} // namespace

void encode_block_header(const BlockHeader &header, std::string &out)
{
	const size_t original = out.size();
	try {
		out += static_cast<char>(kBlockFormatVersion);
		put_int(out, header.block_no);
		put_length_prefixed(out, kText, header.snapshot.data(), header.snapshot.size());
		put_int(out, header.entry_count);
		if (header.has_entry_ids) {
			put_int(out, header.first_entry_id);
			put_int(out, header.last_entry_id);
		} else {
			out += kNull;
			out += kNull;
		}
		put_length_prefixed(out, kBytes, header.merkle_root.data(), header.merkle_root.size());
		put_length_prefixed(out, kBytes, header.prev_hash.data(), header.prev_hash.size());
		put_int(out, header.sealed_at_us);
	} catch (...) {
		out.resize(original); // leave out as it was
		throw;
	}
}

Hash block_hash(const BlockHeader &header)
{
	std::string buf(1, kBlockHashPrefix);
	buf.reserve(160 + header.snapshot.size());
	encode_block_header(header, buf);
	return sha256(buf);
}

} // namespace witness
