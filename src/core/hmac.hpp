// HMAC-SHA256 over OpenSSL 3's EVP_MAC, returning the raw 32-byte MAC (signatures.hpp has the hex
// form used for signed digests).
#pragma once

#include <string>
#include <string_view>

namespace witness
{

// HMAC-SHA256(key, msg), 32 raw bytes. Throws std::invalid_argument for an empty key,
// std::runtime_error if libcrypto fails.
std::string hmac_sha256(std::string_view key, std::string_view msg);

} // namespace witness
