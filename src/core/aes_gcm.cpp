// AES-256-GCM with OpenSSL 3's EVP_CIPHER "AES-256-GCM".
#include "aes_gcm.hpp"

#include <algorithm>
#include <climits>
#include <memory>
#include <stdexcept>
#include <utility>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

namespace witness
{

namespace
{

struct CipherCtxFree {
	void operator()(EVP_CIPHER_CTX *c) const { EVP_CIPHER_CTX_free(c); }
};
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, CipherCtxFree>;

[[noreturn]] void fail_crypto(const char *what)
{
	ERR_clear_error();
	throw std::runtime_error(std::string("libcrypto: ") + what);
}

// Fetching an algorithm is a provider lookup with locking; do it once per process and keep it.
const EVP_CIPHER *aes256gcm_cipher()
{
	static const EVP_CIPHER *cipher = [] {
		EVP_CIPHER *fetched = EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr);
		if (!fetched)
			fail_crypto("cannot fetch AES-256-GCM");
		return fetched;
	}();
	return cipher;
}

void check_sizes(std::string_view key, std::string_view iv)
{
	if (key.size() != kAes256GcmKeySize)
		throw std::invalid_argument("AES-256-GCM key must be 32 bytes");
	if (iv.size() != kAes256GcmIvSize)
		throw std::invalid_argument("AES-256-GCM IV must be 12 bytes");
}

const unsigned char *bytes(std::string_view s)
{
	return reinterpret_cast<const unsigned char *>(s.data());
}

// The thread's context, keyed for one message; the 12-byte IV is GCM's default length, so no IV length
// call. Reused: a new context per message was an allocation and a provider lookup per captured entry.
// Once it holds the cipher, it is given only the new key and IV: naming the cipher again makes OpenSSL
// free the provider's context (wiping it) and allocate a new one, for every message.
EVP_CIPHER_CTX *keyed_ctx(std::string_view key, std::string_view iv, bool encrypt)
{
	thread_local CipherCtx ctx;
	if (!ctx) {
		ctx.reset(EVP_CIPHER_CTX_new());
		if (!ctx)
			fail_crypto("EVP_CIPHER_CTX_new failed");
	}
	const EVP_CIPHER *cipher = EVP_CIPHER_CTX_get0_cipher(ctx.get()) == aes256gcm_cipher() ? nullptr : aes256gcm_cipher();
	if (EVP_CipherInit_ex2(ctx.get(), cipher, bytes(key), bytes(iv), encrypt ? 1 : 0, nullptr) != 1) {
		ctx.reset(); // start from a new context next time
		fail_crypto("AES-256-GCM init failed");
	}
	return ctx.get();
}

// EVP_CipherUpdate counts in int: feed in pieces that fit. out == nullptr feeds associated data.
bool update(EVP_CIPHER_CTX *ctx, unsigned char *out, std::string_view in)
{
	constexpr size_t kChunk = size_t(1) << 30;
	while (!in.empty()) {
		const size_t n = std::min(in.size(), kChunk);
		int written = 0;
		if (EVP_CipherUpdate(ctx, out, &written, bytes(in), static_cast<int>(n)) != 1)
			return false;
		if (out) {
			if (static_cast<size_t>(written) != n) // GCM is a stream mode: no buffering
				return false;
			out += n;
		}
		in.remove_prefix(n);
	}
	return true;
}

} // namespace

std::string aes256gcm_seal(std::string_view key32, std::string_view iv12, std::string_view aad,
                           std::string_view plaintext)
{
	std::string out(plaintext.size() + kAes256GcmTagSize, '\0');
	aes256gcm_seal_to(key32, iv12, aad, std::string_view(), plaintext, reinterpret_cast<unsigned char *>(out.data()));
	return out;
}

void aes256gcm_seal_to(std::string_view key32, std::string_view iv12, std::string_view aad_head,
                       std::string_view aad_tail, std::string_view plaintext, unsigned char *out)
{
	check_sizes(key32, iv12);
	EVP_CIPHER_CTX *ctx = keyed_ctx(key32, iv12, true);
	int final_len = 0;
	if (!update(ctx, nullptr, aad_head) || !update(ctx, nullptr, aad_tail) || !update(ctx, out, plaintext) ||
	    EVP_EncryptFinal_ex(ctx, out + plaintext.size(), &final_len) != 1 || final_len != 0)
		fail_crypto("AES-256-GCM encryption failed");
	if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, static_cast<int>(kAes256GcmTagSize),
	                        out + plaintext.size()) != 1)
		fail_crypto("AES-256-GCM tag retrieval failed");
}

bool aes256gcm_open(std::string_view key32, std::string_view iv12, std::string_view aad, std::string_view sealed,
                    std::string &plaintext_out)
{
	check_sizes(key32, iv12);
	if (sealed.size() < kAes256GcmTagSize)
		throw std::invalid_argument("AES-256-GCM input is shorter than its 16-byte tag");
	plaintext_out.clear();
	const std::string_view ciphertext = sealed.substr(0, sealed.size() - kAes256GcmTagSize);
	std::string tag(sealed.substr(ciphertext.size()));
	EVP_CIPHER_CTX *ctx = keyed_ctx(key32, iv12, false);
	std::string plain(ciphertext.size(), '\0');
	auto *p = reinterpret_cast<unsigned char *>(plain.data());
	if (!update(ctx, nullptr, aad) || !update(ctx, p, ciphertext) ||
	    EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, static_cast<int>(kAes256GcmTagSize), tag.data()) != 1)
		fail_crypto("AES-256-GCM decryption failed");
	int final_len = 0;
	const bool authentic = EVP_DecryptFinal_ex(ctx, p + plain.size(), &final_len) == 1;
	ERR_clear_error();
	if (!authentic) {
		OPENSSL_cleanse(plain.data(), plain.size()); // unauthenticated plaintext never leaves
		return false;
	}
	plaintext_out = std::move(plain);
	return true;
}

} // namespace witness
