// Block header bytes and block hash; the layout is in block.hpp and docs/hashing.md.
#include "block.hpp"

#include <stdexcept>

#include "sha256.hpp"

namespace witness
{

namespace
{

constexpr uint8_t kBlockFormatVersion = 1;
constexpr char kBlockHashPrefix = 0x02;

enum TypeByte : char {
	kNull = 0x00,
	kInt = 0x01,
	kText = 0x02,
	kBytes = 0x04,
};

void put_u32(std::string &out, uint32_t v)
{
	const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
	                   static_cast<char>(v)};
	out.append(b, 4);
}

void put_int(std::string &out, int64_t value)
{
	const uint64_t v = static_cast<uint64_t>(value); // two's complement, big-endian
	char b[9];
	b[0] = kInt;
	for (int i = 0; i < 8; i++)
		b[1 + i] = static_cast<char>(v >> (56 - 8 * i));
	out.append(b, 9);
}

void put_length_prefixed(std::string &out, char type, const void *data, size_t len)
{
	if (len > 0xffffffffu)
		throw std::invalid_argument("block header field longer than 2^32-1 bytes");
	out += type;
	put_u32(out, static_cast<uint32_t>(len));
	out.append(static_cast<const char *>(data), len);
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
