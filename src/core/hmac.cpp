// HMAC-SHA256 with OpenSSL 3's EVP_MAC "HMAC".
#include "hmac.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/core_names.h>
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

} // namespace

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
