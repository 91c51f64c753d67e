// HMAC-SHA256 and Ed25519 with OpenSSL's EVP interfaces.
#include "signatures.hpp"

#include <cctype>
#include <memory>
#include <stdexcept>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "sha256.hpp"

namespace witness
{

namespace
{

struct PkeyFree {
	void operator()(EVP_PKEY *p) const { EVP_PKEY_free(p); }
};
struct BioFree {
	void operator()(BIO *b) const { BIO_free(b); }
};
struct MdCtxFree {
	void operator()(EVP_MD_CTX *c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// Never let OpenSSL prompt on a terminal for the passphrase of an encrypted key: refuse instead.
int no_passphrase(char *, int, int, void *)
{
	return -1;
}

// libcrypto leaves failures on a per-thread queue; clear it so that nothing stale reaches later callers.
[[noreturn]] void fail_invalid(const std::string &what)
{
	ERR_clear_error();
	throw std::invalid_argument(what);
}

[[noreturn]] void fail_crypto(const char *what)
{
	ERR_clear_error();
	throw std::runtime_error(std::string("libcrypto: ") + what);
}

Bio memory_bio(std::string_view text)
{
	if (text.size() > 1 << 20)
		fail_invalid("key text is too long");
	Bio bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
	if (!bio)
		fail_crypto("BIO_new_mem_buf failed");
	return bio;
}

bool is_ed25519(const Pkey &key)
{
	return EVP_PKEY_get_id(key.get()) == EVP_PKEY_ED25519;
}

Pkey load_private_key(std::string_view pem)
{
	Bio bio = memory_bio(pem);
	Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr));
	if (!key)
		fail_invalid("not an unencrypted PEM private key");
	if (!is_ed25519(key))
		fail_invalid("the private key is not an Ed25519 key");
	ERR_clear_error();
	return key;
}

bool is_hex(std::string_view s)
{
	for (char c : s)
		if (!std::isxdigit(static_cast<unsigned char>(c)))
			return false;
	return true;
}

std::string_view trim(std::string_view s)
{
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
		s.remove_prefix(1);
	while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
		s.remove_suffix(1);
	return s;
}

// A key for verifying: raw hex public key, public key PEM, or private key PEM.
Pkey load_verify_key(std::string_view text)
{
	const std::string_view t = trim(text);
	if (t.size() == 64 && is_hex(t)) {
		const std::string raw = from_hex(t);
		Pkey key(EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
		                                     reinterpret_cast<const unsigned char *>(raw.data()), raw.size()));
		if (!key)
			fail_invalid("not a valid raw Ed25519 public key");
		return key;
	}
	if (t.find("PRIVATE KEY-----") != std::string_view::npos)
		return load_private_key(t);
	Bio bio = memory_bio(t);
	Pkey key(PEM_read_bio_PUBKEY(bio.get(), nullptr, no_passphrase, nullptr));
	if (!key)
		fail_invalid("not an Ed25519 key: expected a PEM public or private key, or 64 hex digits");
	if (!is_ed25519(key))
		fail_invalid("the public key is not an Ed25519 key");
	ERR_clear_error();
	return key;
}

MdCtx new_md_ctx()
{
	MdCtx ctx(EVP_MD_CTX_new());
	if (!ctx)
		fail_crypto("EVP_MD_CTX_new failed");
	return ctx;
}

} // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view msg)
{
	if (key.empty())
		throw std::invalid_argument("HMAC key is empty");
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
	         reinterpret_cast<const unsigned char *>(msg.data()), msg.size(), mac, &len) == nullptr ||
	    len != 32)
		fail_crypto("HMAC-SHA256 failed");
	return to_hex(mac, len);
}

std::string hmac_key_from_file_text(std::string_view file_text)
{
	while (!file_text.empty() && std::isspace(static_cast<unsigned char>(file_text.back())))
		file_text.remove_suffix(1);
	if (file_text.empty())
		throw std::invalid_argument("HMAC key file is empty");
	return std::string(file_text);
}

std::string ed25519_sign_hex(std::string_view private_key_pem, std::string_view msg)
{
	const Pkey key = load_private_key(private_key_pem);
	const MdCtx ctx = new_md_ctx();
	unsigned char sig[64];
	size_t len = sizeof sig;
	if (EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1 ||
	    EVP_DigestSign(ctx.get(), sig, &len, reinterpret_cast<const unsigned char *>(msg.data()), msg.size()) != 1 ||
	    len != sizeof sig)
		fail_crypto("Ed25519 signing failed");
	return to_hex(sig, len);
}

bool ed25519_verify_hex(std::string_view key_text, std::string_view msg, std::string_view sig_hex)
{
	const Pkey key = load_verify_key(key_text);
	if (sig_hex.size() != 128 || !is_hex(sig_hex))
		return false;
	const std::string sig = from_hex(sig_hex);
	const MdCtx ctx = new_md_ctx();
	if (EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) != 1)
		fail_crypto("Ed25519 verification setup failed");
	const int rc = EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char *>(sig.data()), sig.size(),
	                                reinterpret_cast<const unsigned char *>(msg.data()), msg.size());
	ERR_clear_error();
	return rc == 1;
}

std::string ed25519_public_key_hex(std::string_view key_text)
{
	const Pkey key = load_verify_key(key_text);
	unsigned char raw[32];
	size_t len = sizeof raw;
	if (EVP_PKEY_get_raw_public_key(key.get(), raw, &len) != 1 || len != sizeof raw)
		fail_crypto("cannot extract the Ed25519 public key");
	return to_hex(raw, len);
}

bool equal_constant_time(std::string_view a, std::string_view b) noexcept
{
	return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

} // namespace witness
