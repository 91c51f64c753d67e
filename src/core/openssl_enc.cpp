// openssl enc's salted AES-256-CBC file format with a PBKDF2-HMAC-SHA256 key, over OpenSSL 3's EVP.
#include "openssl_enc.hpp"

#include "hmac.hpp"
#include "interrupt.hpp"

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace witness
{

namespace
{

const char kMagic[] = "Salted__";
constexpr size_t kMagicSize = 8;
constexpr size_t kKeySize = 32;
constexpr size_t kIvSize = 16;

[[noreturn]] void fail_crypto(const char *what)
{
	ERR_clear_error();
	throw std::runtime_error(std::string("libcrypto: ") + what);
}

// key || iv, as openssl enc -pbkdf2 -md sha256 derives them: PBKDF2-HMAC-SHA256 (RFC 8018, section
// 5.2) written out over HmacSha256 rather than one PKCS5_PBKDF2_HMAC call, because the iteration count
// is the caller's: the loop polls for an interrupt every few thousand HMACs, so that a cancel or a
// statement timeout stops a derivation of billions of iterations (checked against openssl enc's own
// files by the unit tests).
void derive(std::string_view passphrase, std::string_view salt, int iterations, unsigned char out[kKeySize + kIvSize])
{
	if (passphrase.empty())
		throw std::invalid_argument("the passphrase is empty");
	if (salt.size() != kOpensslEncSaltSize)
		throw std::invalid_argument("the salt must be 8 bytes");
	if (iterations < 1)
		throw std::invalid_argument("the iteration count must be at least 1");
	constexpr int kPollEvery = 4096;
	const HmacSha256 prf(passphrase);
	unsigned char u[32], t[32];
	for (uint32_t block = 1; (block - 1) * 32 < kKeySize + kIvSize; block++) {
		std::string first(salt);
		for (int shift = 24; shift >= 0; shift -= 8)
			first.push_back(static_cast<char>((block >> shift) & 0xff));
		prf.mac(first, u);
		std::copy(u, u + 32, t);
		for (int64_t i = 2; i <= iterations; i++) {
			if (i % kPollEvery == 0)
				poll_interrupt();
			prf.mac(std::string_view(reinterpret_cast<const char *>(u), 32), u);
			for (int k = 0; k < 32; k++)
				t[k] ^= u[k];
		}
		const size_t from = (block - 1) * 32;
		std::copy(t, t + std::min<size_t>(32, kKeySize + kIvSize - from), out + from);
	}
	OPENSSL_cleanse(u, sizeof(u));
	OPENSSL_cleanse(t, sizeof(t));
}

EVP_CIPHER_CTX *new_ctx(const unsigned char *key_iv, bool encrypt)
{
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	if (ctx == nullptr)
		fail_crypto("cannot allocate a cipher context");
	if (EVP_CipherInit_ex(ctx, EVP_aes_256_cbc(), nullptr, key_iv, key_iv + kKeySize, encrypt ? 1 : 0) != 1) {
		EVP_CIPHER_CTX_free(ctx);
		fail_crypto("AES-256-CBC initialisation failed");
	}
	return ctx;
}

void cipher_update(EVP_CIPHER_CTX *ctx, std::string_view data, std::string &out)
{
	size_t done = 0;
	while (done < data.size()) {
		const int chunk = (int)std::min<size_t>(data.size() - done, 1 << 20);
		const size_t at = out.size();
		out.resize(at + chunk + 16);
		int n = 0;
		if (EVP_CipherUpdate(ctx, reinterpret_cast<unsigned char *>(&out[at]), &n,
		                     reinterpret_cast<const unsigned char *>(data.data() + done), chunk) != 1)
			fail_crypto("AES-256-CBC failed");
		out.resize(at + n);
		done += chunk;
	}
}

} // namespace

OpensslEncryptor::OpensslEncryptor(std::string_view passphrase, std::string_view salt, int iterations) : salt_(salt)
{
	unsigned char key_iv[kKeySize + kIvSize];
	derive(passphrase, salt, iterations, key_iv);
	try {
		ctx_ = new_ctx(key_iv, true);
	} catch (...) {
		OPENSSL_cleanse(key_iv, sizeof(key_iv));
		throw;
	}
	OPENSSL_cleanse(key_iv, sizeof(key_iv));
}

OpensslEncryptor::~OpensslEncryptor()
{
	EVP_CIPHER_CTX_free(static_cast<EVP_CIPHER_CTX *>(ctx_));
}

std::string OpensslEncryptor::header() const
{
	return std::string(kMagic, kMagicSize) + salt_;
}

void OpensslEncryptor::update(std::string_view data, std::string &out)
{
	if (finished_)
		throw std::logic_error("the encryption is finished");
	cipher_update(static_cast<EVP_CIPHER_CTX *>(ctx_), data, out);
}

void OpensslEncryptor::finish(std::string &out)
{
	if (finished_)
		throw std::logic_error("the encryption is finished");
	finished_ = true;
	const size_t at = out.size();
	out.resize(at + 16);
	int n = 0;
	if (EVP_CipherFinal_ex(static_cast<EVP_CIPHER_CTX *>(ctx_), reinterpret_cast<unsigned char *>(&out[at]), &n) != 1)
		fail_crypto("AES-256-CBC failed");
	out.resize(at + n);
}

std::string openssl_dec(std::string_view passphrase, std::string_view file, int iterations)
{
	if (file.size() < kMagicSize + kOpensslEncSaltSize || file.substr(0, kMagicSize) != std::string_view(kMagic, kMagicSize))
		throw std::runtime_error("not an openssl enc file: no \"Salted__\" header");
	unsigned char key_iv[kKeySize + kIvSize];
	derive(passphrase, file.substr(kMagicSize, kOpensslEncSaltSize), iterations, key_iv);
	EVP_CIPHER_CTX *ctx = new_ctx(key_iv, false);
	OPENSSL_cleanse(key_iv, sizeof(key_iv));
	std::string out;
	try {
		cipher_update(ctx, file.substr(kMagicSize + kOpensslEncSaltSize), out);
		const size_t at = out.size();
		out.resize(at + 16);
		int n = 0;
		if (EVP_CipherFinal_ex(ctx, reinterpret_cast<unsigned char *>(&out[at]), &n) != 1)
			throw std::runtime_error("bad decrypt: wrong passphrase or damaged file");
		out.resize(at + n);
	} catch (...) {
		EVP_CIPHER_CTX_free(ctx);
		ERR_clear_error();
		throw;
	}
	EVP_CIPHER_CTX_free(ctx);
	return out;
}

std::string base64(std::string_view bytes)
{
	static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	std::string out;
	out.reserve((bytes.size() + 2) / 3 * 4);
	size_t i = 0;
	for (; i + 3 <= bytes.size(); i += 3) {
		const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 | (unsigned char)bytes[i + 2];
		out += kAlphabet[v >> 18];
		out += kAlphabet[(v >> 12) & 63];
		out += kAlphabet[(v >> 6) & 63];
		out += kAlphabet[v & 63];
	}
	if (i < bytes.size()) {
		unsigned v = (unsigned char)bytes[i] << 16;
		if (i + 1 < bytes.size())
			v |= (unsigned char)bytes[i + 1] << 8;
		out += kAlphabet[v >> 18];
		out += kAlphabet[(v >> 12) & 63];
		out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
		out += '=';
	}
	return out;
}

} // namespace witness
