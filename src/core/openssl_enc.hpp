// The file format of `openssl enc -aes-256-cbc -pbkdf2 -iter N -md sha256` (OpenSSL 1.1.1 and later),
// written a piece at a time so that an export of any length is encrypted in bounded memory
// (docs/exports.md, "Encrypted exports"):
//
//   "Salted__" || salt (8 bytes) || AES-256-CBC(key, iv, data with PKCS#7 padding)
//   key || iv = PBKDF2-HMAC-SHA256(passphrase, salt, iterations, 32 + 16 bytes)
//
// and its base64 armour as `openssl enc -a` reads it: lines of 64 characters (48 bytes each).
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

namespace witness
{

constexpr size_t kOpensslEncSaltSize = 8;
constexpr size_t kBase64LineBytes = 48; // raw bytes per 64-character line

class OpensslEncryptor
{
  public:
	// Derives key and iv. Throws std::invalid_argument for an empty passphrase, a salt that is not 8
	// bytes or iterations < 1; std::runtime_error if libcrypto fails; Interrupted when the host's
	// interrupt check says to stop (interrupt.hpp) during the derivation.
	OpensslEncryptor(std::string_view passphrase, std::string_view salt, int iterations);
	~OpensslEncryptor();
	OpensslEncryptor(const OpensslEncryptor &) = delete;
	OpensslEncryptor &operator=(const OpensslEncryptor &) = delete;

	// "Salted__" || salt: the first bytes of the file.
	std::string header() const;
	// Appends the ciphertext of data to out (a multiple of 16 bytes, possibly none).
	void update(std::string_view data, std::string &out);
	// Appends the last, padded block to out; afterwards update() and finish() throw std::logic_error.
	void finish(std::string &out);

  private:
	std::string salt_;
	void *ctx_; // EVP_CIPHER_CTX
	bool finished_ = false;
};

// Decrypts a whole file of that format (tests and tools). Throws std::runtime_error when the header
// is missing or the padding is wrong (a wrong passphrase, mostly).
std::string openssl_dec(std::string_view passphrase, std::string_view file, int iterations);

// Standard base64 (RFC 4648, with padding) of bytes, on one line.
std::string base64(std::string_view bytes);

} // namespace witness
