// HKDF-SHA256 (RFC 5869) over OpenSSL 3's EVP_KDF, for deriving keys from the master key.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace witness
{

// The most output HKDF-SHA256 can give: 255 blocks of 32 bytes (RFC 5869, section 2.3).
constexpr size_t kHkdfSha256MaxLength = 255 * 32;

// HKDF-Extract then HKDF-Expand with SHA-256: `length` bytes of output keying material. An empty
// salt means HashLen zero bytes, as RFC 5869 says. Throws std::invalid_argument when length exceeds
// kHkdfSha256MaxLength, std::runtime_error if libcrypto fails. length 0 gives "".
std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, size_t length);

} // namespace witness
