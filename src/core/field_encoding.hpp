// The field encoding shared by canonical entry bytes and block headers (docs/hashing.md): one type
// byte, then a big-endian 64-bit integer or a 4-byte big-endian length and the bytes.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>

namespace witness::encoding
{

enum TypeByte : char {
	kNull = 0x00,
	kInt = 0x01,
	kText = 0x02,
	kJson = 0x03,
	kBytes = 0x04,
};

constexpr uint64_t kMaxFieldLen = 0xffffffffu;

inline void put_u32(std::string &out, uint32_t v)
{
	const char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
	                   static_cast<char>(v)};
	out.append(b, 4);
}

// INT: type byte, then the value as 8 bytes big-endian two's complement.
inline void put_int(std::string &out, int64_t value)
{
	const uint64_t v = static_cast<uint64_t>(value);
	char b[9];
	b[0] = kInt;
	for (int i = 0; i < 8; i++)
		b[1 + i] = static_cast<char>(v >> (56 - 8 * i));
	out.append(b, 9);
}

// TEXT, JSON or BYTES: type byte, 4-byte length, bytes. Throws std::invalid_argument naming the
// field (context + field) for a field longer than 2^32-1 bytes or a null pointer with a length; the
// message is built only then, so the hot path never allocates for it.
inline void put_length_prefixed(std::string &out, char type, const char *ptr, size_t len, const char *context,
                                const char *field)
{
	if (len > kMaxFieldLen || (ptr == nullptr && len != 0))
		throw std::invalid_argument(
		    std::string(context) + field +
		    (len > kMaxFieldLen ? ": longer than 2^32-1 bytes" : ": null pointer with non-zero length"));
	out += type;
	put_u32(out, static_cast<uint32_t>(len));
	out.append(ptr ? ptr : "", len);
}

} // namespace witness::encoding
