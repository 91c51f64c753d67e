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

// HMAC-SHA256 under one key, many messages: the key's inner and outer pads are hashed once (RFC 2104,
// section 4), so a MAC costs two short SHA-256 computations and no allocation. Equal to hmac_sha256.
// One object is not for concurrent use.
class HmacSha256
{
  public:
	// Throws std::invalid_argument for an empty key, std::runtime_error if libcrypto fails.
	explicit HmacSha256(std::string_view key);
	~HmacSha256();
	HmacSha256(const HmacSha256 &) = delete;
	HmacSha256 &operator=(const HmacSha256 &) = delete;
	// Writes the 32-byte MAC of msg to out.
	void mac(std::string_view msg, unsigned char out[32]) const;
	// Writes the 32-byte MAC of the concatenation of parts[0..n) to out, without concatenating them.
	void mac(const std::string_view *parts, size_t n, unsigned char out[32]) const;
	std::string mac(std::string_view msg) const;

  private:
	void *inner_; // SHA-256 state after (key ^ ipad)
	void *outer_; // SHA-256 state after (key ^ opad)
	void *work_;
};

} // namespace witness
