// UTF-8 helpers shared by the JSON parsers (canonical_json.cpp, json_reader.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace witness::utf8
{

// Appends code point cp (at most U+10FFFF, not a surrogate) as UTF-8.
inline void append(uint32_t cp, std::string &out)
{
	if (cp < 0x80) {
		out += static_cast<char>(cp);
	} else if (cp < 0x800) {
		out += static_cast<char>(0xc0 | (cp >> 6));
		out += static_cast<char>(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		out += static_cast<char>(0xe0 | (cp >> 12));
		out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
		out += static_cast<char>(0x80 | (cp & 0x3f));
	} else {
		out += static_cast<char>(0xf0 | (cp >> 18));
		out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
		out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
		out += static_cast<char>(0x80 | (cp & 0x3f));
	}
}

// Length of the well-formed UTF-8 sequence at s[0..n) (RFC 3629: no overlongs, no surrogates,
// nothing above U+10FFFF), or 0 when it is ill-formed. n must be at least 1.
inline size_t sequence_length(const unsigned char *s, size_t n)
{
	const unsigned char c = s[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned char lo = 0x80, hi = 0xbf; // allowed range of the second byte
	if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		if (c == 0xe0)
			lo = 0xa0;
		else if (c == 0xed)
			hi = 0x9f;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		if (c == 0xf0)
			lo = 0x90;
		else if (c == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (n < len || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < len; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	return len;
}

// s with every ill-formed byte replaced by U+FFFD: for text that must be read as UTF-8 but may not be
// (a SQL_ASCII database stores whatever bytes it was given).
inline std::string replace_ill_formed(const char *s, size_t n)
{
	std::string out;
	out.reserve(n);
	const auto *u = reinterpret_cast<const unsigned char *>(s);
	for (size_t i = 0; i < n;) {
		const size_t len = sequence_length(u + i, n - i);
		if (len == 0) {
			append(0xfffd, out);
			i++;
		} else {
			out.append(s + i, len);
			i += len;
		}
	}
	return out;
}

} // namespace witness::utf8
