// The value of one hex digit, for every reader of hex text (keys, hashes, JSON and COPY escapes).
#pragma once

namespace witness
{

// 0 to 15 for 0-9, a-f, A-F; -1 for anything else.
constexpr int hex_digit_value(char c) noexcept
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

} // namespace witness
