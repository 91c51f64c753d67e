// The commitment to an entry's payload that the leaf hash covers in place of the payload itself:
// SHA-256(0x03 || salt || canonical payload bytes), with a fresh 32-byte random salt per entry. The
// salt keeps a short, guessable payload from being recovered from its commitment; once the payload
// and its salt are erased, the trail still verifies.
#pragma once

#include <cstddef>
#include <string_view>

#include "hash.hpp"

namespace witness
{

constexpr size_t kCommitmentSaltSize = 32;

// The prefix byte, distinct from the leaf (0x00), node (0x01) and block (0x02) hash prefixes.
constexpr char kCommitmentPrefix = 0x03;

// SHA-256(0x03 || salt32 || canonical_payload). Throws std::invalid_argument when salt32 is not 32
// bytes, std::runtime_error if libcrypto fails.
Hash payload_commitment(std::string_view salt32, std::string_view canonical_payload);

} // namespace witness
