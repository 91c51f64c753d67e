// The one order of names in canonical text: object keys and column names compared as unsigned bytes,
// a prefix first (docs/hashing.md). Header-only and exception-free, so PostgreSQL glue may use it too.
#pragma once

#include <cstddef>
#include <cstring>
#include <string_view>

namespace witness
{

// Negative, zero or positive as a sorts before, with or after b.
inline int compare_keys(const char *a, size_t a_len, const char *b, size_t b_len) noexcept
{
	const size_t n = a_len < b_len ? a_len : b_len;
	const int c = n != 0 ? std::memcmp(a, b, n) : 0;
	if (c != 0)
		return c;
	return (a_len > b_len) - (a_len < b_len);
}

inline int compare_keys(std::string_view a, std::string_view b) noexcept
{
	return compare_keys(a.data(), a.size(), b.data(), b.size());
}

} // namespace witness
