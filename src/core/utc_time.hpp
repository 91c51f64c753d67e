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

// A timestamptz as capture writes it into an entry's values (ISO, UTC: "2024-02-29 07:44:15.1234+00",
// the fraction without trailing zeros, or none); throws std::invalid_argument on anything else.
int64_t parse_captured_utc_us(std::string_view text);

} // namespace witness
