// HMAC-SHA256 and Ed25519 over OpenSSL 3's libcrypto, for signed digests. Keys are given as text:
// an HMAC key's bytes, Ed25519 keys as PEM (`openssl genpkey -algorithm ed25519` writes the private
// key; `openssl pkey -pubout` the public one). Signatures and raw keys travel as lower-case hex.
#pragma once

#include <string>
#include <string_view>

namespace witness
{

// HMAC-SHA256(key, msg) as 64 hex digits. Throws std::invalid_argument for an empty key.
std::string hmac_sha256_hex(std::string_view key, std::string_view msg);

// The HMAC key held in a key file: its content without trailing whitespace (so the 64 hex digits
// `openssl rand -hex 32` writes are the key, used as text). Throws std::invalid_argument when empty.
std::string hmac_key_from_file_text(std::string_view file_text);

// Ed25519 signature (64 bytes, 128 hex digits) of msg with a PKCS#8 PEM private key.
// Throws std::invalid_argument when the PEM is not an unencrypted Ed25519 private key.
std::string ed25519_sign_hex(std::string_view private_key_pem, std::string_view msg);

// True when sig_hex is a valid Ed25519 signature of msg. key: public key PEM, private key PEM (its
// public half is used) or the raw public key as 64 hex digits. Throws std::invalid_argument on a
// malformed key; a malformed signature only returns false.
bool ed25519_verify_hex(std::string_view key, std::string_view msg, std::string_view sig_hex);

// The raw 32-byte public key (64 hex digits) of a key accepted by ed25519_verify_hex.
std::string ed25519_public_key_hex(std::string_view key);

// Constant-time comparison of two strings of equal length (false when the lengths differ).
bool equal_constant_time(std::string_view a, std::string_view b) noexcept;

} // namespace witness
