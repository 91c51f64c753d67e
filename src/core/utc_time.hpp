// Timestamps as text in digests and reports: ISO 8601, UTC, always six fractional digits and a Z
// ("2023-11-14T22:13:20.123456Z"), computed without the C library's time zone machinery.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace witness
{

// Microseconds since 1970-01-01 00:00:00 UTC as text; years 0001 to 9999, else std::invalid_argument.
std::string format_utc_us(int64_t us);

// The inverse of format_utc_us, accepting exactly its format; throws std::invalid_argument.
int64_t parse_utc_us(std::string_view text);

} // namespace witness
