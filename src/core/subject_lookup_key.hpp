// The key under which the lookup table finds the entries of a subject kept in clear, and under which
// an UPDATE that moved a row away from such a subject keeps it (witness.entry.old_subject_key).
#pragma once

#include <cstdint>
#include <string_view>

namespace witness
{

// The first 8 bytes of SHA-256("pg_witness subject lookup key v1" || 0x00 || subject), big-endian,
// shifted right by one: zero or positive (pseudonyms' keys are negative). A cryptographic hash, so
// that nobody can pick an identifier whose key is someone else's: a string with the same key as a given
// address takes some 2^63 tries, where PostgreSQL's hashtextextended(), used before, could be inverted in
// milliseconds. Throws std::runtime_error if libcrypto fails.
int64_t clear_subject_key(std::string_view subject);

} // namespace witness
