// HMAC-SHA256 with OpenSSL 3's EVP_MAC "HMAC".
#include "hmac.hpp"

#include <cstring>
#include <memory>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/params.h>

namespace witness
{

namespace
{

struct MacCtxFree {
	void operator()(EVP_MAC_CTX *c) const { EVP_MAC_CTX_free(c); }
};
using MacCtx = std::unique_ptr<EVP_MAC_CTX, MacCtxFree>;

[[noreturn]] void fail_crypto(const char *what)
{
	ERR_clear_error();
	throw std::runtime_error(std::string("libcrypto: ") + what);
}

// Fetching an algorithm is a provider lookup with locking; do it once per process and keep it.
EVP_MAC *hmac_mac()
{
	static EVP_MAC *mac = [] {
		EVP_MAC *fetched = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
		if (!fetched)
			fail_crypto("cannot fetch HMAC");
		return fetched;
	}();
	return mac;
}

const EVP_MD *sha256_digest()
{
	static const EVP_MD *md = [] {
		EVP_MD *fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
		if (!fetched)
			fail_crypto("cannot fetch SHA256");
		return fetched;
	}();
	return md;
}

EVP_MD_CTX *md_ctx(void *p)
{
	return static_cast<EVP_MD_CTX *>(p);
}

} // namespace

HmacSha256::HmacSha256(std::string_view key) : inner_(nullptr), outer_(nullptr), work_(nullptr)
{
	if (key.empty())
		throw std::invalid_argument("HMAC key is empty");
	constexpr size_t kBlock = 64;
	unsigned char block[kBlock] = {0};
	if (key.size() > kBlock) {
		unsigned int n = 0;
		if (EVP_Digest(key.data(), key.size(), block, &n, sha256_digest(), nullptr) != 1)
			fail_crypto("SHA256 of an HMAC key failed");
	} else {
		memcpy(block, key.data(), key.size());
	}
	unsigned char ipad[kBlock], opad[kBlock];
	for (size_t i = 0; i < kBlock; i++) {
		ipad[i] = block[i] ^ 0x36;
		opad[i] = block[i] ^ 0x5c;
	}
	OPENSSL_cleanse(block, sizeof(block));
	inner_ = EVP_MD_CTX_new();
	outer_ = EVP_MD_CTX_new();
	work_ = EVP_MD_CTX_new();
	const bool ok = inner_ && outer_ && work_ && EVP_DigestInit_ex2(md_ctx(inner_), sha256_digest(), nullptr) == 1 &&
	                EVP_DigestUpdate(md_ctx(inner_), ipad, kBlock) == 1 &&
	                EVP_DigestInit_ex2(md_ctx(outer_), sha256_digest(), nullptr) == 1 &&
	                EVP_DigestUpdate(md_ctx(outer_), opad, kBlock) == 1;
	OPENSSL_cleanse(ipad, sizeof(ipad));
	OPENSSL_cleanse(opad, sizeof(opad));
	if (!ok) {
		EVP_MD_CTX_free(md_ctx(inner_));
		EVP_MD_CTX_free(md_ctx(outer_));
		EVP_MD_CTX_free(md_ctx(work_));
		fail_crypto("HMAC-SHA256 key setup failed");
	}
}

HmacSha256::~HmacSha256()
{
	EVP_MD_CTX_free(md_ctx(inner_));
	EVP_MD_CTX_free(md_ctx(outer_));
	EVP_MD_CTX_free(md_ctx(work_));
}

void HmacSha256::mac(std::string_view msg, unsigned char out[32]) const
{
	mac(&msg, 1, out);
}

void HmacSha256::mac(const std::string_view *parts, size_t n, unsigned char out[32]) const
{
	unsigned char inner[32];
	unsigned int inner_len = 0, outer_len = 0;
	EVP_MD_CTX *w = md_ctx(work_);
	bool ok = EVP_MD_CTX_copy_ex(w, md_ctx(inner_)) == 1;
	for (size_t i = 0; ok && i < n; i++)
		ok = EVP_DigestUpdate(w, parts[i].data(), parts[i].size()) == 1;
	if (!ok || EVP_DigestFinal_ex(w, inner, &inner_len) != 1 || inner_len != 32 ||
	    EVP_MD_CTX_copy_ex(w, md_ctx(outer_)) != 1 || EVP_DigestUpdate(w, inner, 32) != 1 ||
	    EVP_DigestFinal_ex(w, out, &outer_len) != 1 || outer_len != 32)
		fail_crypto("HMAC-SHA256 failed");
}

std::string HmacSha256::mac(std::string_view msg) const
{
	std::string out(32, '\0');
	mac(msg, reinterpret_cast<unsigned char *>(out.data()));
	return out;
}

std::string hmac_sha256(std::string_view key, std::string_view msg)
{
	if (key.empty())
		throw std::invalid_argument("HMAC key is empty");
	MacCtx ctx(EVP_MAC_CTX_new(hmac_mac()));
	if (!ctx)
		fail_crypto("EVP_MAC_CTX_new failed");
	char digest[] = "SHA256";
	const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	                             OSSL_PARAM_construct_end()};
	std::string out(32, '\0');
	size_t len = 0;
	if (EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char *>(key.data()), key.size(), params) != 1 ||
	    EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char *>(msg.data()), msg.size()) != 1 ||
	    EVP_MAC_final(ctx.get(), reinterpret_cast<unsigned char *>(out.data()), &len, out.size()) != 1 ||
	    len != out.size())
		fail_crypto("HMAC-SHA256 failed");
	return out;
}

} // namespace witness
