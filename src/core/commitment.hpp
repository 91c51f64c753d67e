// The commitment to an entry's payload that the leaf hash covers in place of the payload itself:
// SHA-256(0x03 || salt || canonical payload bytes), with a fresh 16-byte random salt per entry. The
// salt keeps a short, guessable payload from being recovered from its commitment; once the payload
// and its salt are erased, the trail still verifies.
#pragma once

#include <cstddef>
#include <string_view>

#include "hash.hpp"

namespace witness
{

// 128 bits: a guess of the payload must be hashed with each of 2^128 salts to be confirmed, and every
// byte counts in an entry that is written for each changed row.
constexpr size_t kCommitmentSaltSize = 16;

// Storage, not hashing: an entry whose payload is stored in clear keeps only the first 8 bytes of its
// commitment, since its salt and payload reproduce the rest; the full 32 bytes are stored once the
// payload is erased, and for a sealed (encrypted) payload, which a verifier without the key cannot
// open. 8 bytes still tell a changed payload from an intact one: matching them by chance, or by
// searching for a payload that does, takes about 2^64 tries.
constexpr size_t kStoredCommitmentPrefix = 8;

// The prefix byte, distinct from the leaf (0x00), node (0x01) and block (0x02) hash prefixes.
constexpr char kCommitmentPrefix = 0x03;

// SHA-256(0x03 || salt || canonical_payload). Throws std::invalid_argument when salt is not 16
// bytes, std::runtime_error if libcrypto fails.
Hash payload_commitment(std::string_view salt, std::string_view canonical_payload);

// The same over the canonical payload given in consecutive pieces (their concatenation), so that a
// long value is hashed where it lies instead of copied next to the rest.
Hash payload_commitment(std::string_view salt, const std::string_view *pieces, size_t n);

} // namespace witness
