// Cryptographically strong random bytes from OpenSSL's DRBG, for salts, IVs and keys.
#pragma once

#include <cstddef>
#include <string>

namespace witness
{

// n random bytes (RAND_bytes). Throws std::runtime_error when the generator fails (e.g. unseeded).
std::string random_bytes(size_t n);

} // namespace witness
