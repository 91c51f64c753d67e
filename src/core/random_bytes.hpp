// Cryptographically strong random bytes from OpenSSL's DRBG, for salts, IVs and keys.
#pragma once

#include <cstddef>
#include <string>

namespace witness
{

// n random bytes (RAND_bytes). Throws std::runtime_error when the generator fails (e.g. unseeded).
std::string random_bytes(size_t n);

// Fills out with n random bytes (n at most 256) taken from a per-thread pool that RAND_bytes refills
// 4 kB at a time: the capture draws a salt per entry, and one RAND_bytes call per entry
// cost more than the rest of the commitment. The bytes are the generator's output either way, each
// handed out once. Throws std::runtime_error when the generator fails.
void random_fill_pooled(unsigned char *out, size_t n);

} // namespace witness
