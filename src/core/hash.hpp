// The 32-byte SHA-256 value every part of the trail is made of: leaf hashes, Merkle nodes, block
// hashes. Its own header so that low-level code (hashing, Merkle trees) needs no entry format.
#pragma once

#include <array>
#include <cstdint>

namespace witness
{

using Hash = std::array<uint8_t, 32>;

} // namespace witness
