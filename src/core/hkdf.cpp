// HKDF-SHA256 with OpenSSL 3's EVP_KDF "HKDF".
#include "hkdf.hpp"

#include <memory>
#include <stdexcept>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/kdf.h>
#include <openssl/params.h>

namespace witness
{

namespace
{

struct KdfCtxFree {
	void operator()(EVP_KDF_CTX *c) const { EVP_KDF_CTX_free(c); }
};
using KdfCtx = std::unique_ptr<EVP_KDF_CTX, KdfCtxFree>;

[[noreturn]] void fail_crypto(const char *what)
{
	ERR_clear_error();
	throw std::runtime_error(std::string("libcrypto: ") + what);
}

// Fetching an algorithm is a provider lookup with locking; do it once per process and keep it.
EVP_KDF *hkdf_kdf()
{
	static EVP_KDF *kdf = [] {
		EVP_KDF *fetched = EVP_KDF_fetch(nullptr, OSSL_KDF_NAME_HKDF, nullptr);
		if (!fetched)
			fail_crypto("cannot fetch HKDF");
		return fetched;
	}();
	return kdf;
}

// OSSL_PARAM takes non-const pointers but only reads octet strings passed in. A null pointer, even
// with length 0, counts as a missing parameter: an empty view gets a real (empty) buffer.
OSSL_PARAM octets(const char *name, std::string_view bytes)
{
	static char empty[1] = {0};
	char *data = bytes.empty() ? empty : const_cast<char *>(bytes.data());
	return OSSL_PARAM_construct_octet_string(name, data, bytes.size());
}

} // namespace

std::string hkdf_sha256(std::string_view ikm, std::string_view salt, std::string_view info, size_t length)
{
	if (length > kHkdfSha256MaxLength)
		throw std::invalid_argument("HKDF-SHA256 output is limited to 8160 bytes");
	if (length == 0)
		return std::string();
	KdfCtx ctx(EVP_KDF_CTX_new(hkdf_kdf()));
	if (!ctx)
		fail_crypto("EVP_KDF_CTX_new failed");
	char digest[] = "SHA256";
	OSSL_PARAM params[5];
	size_t n = 0;
	params[n++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
	params[n++] = octets(OSSL_KDF_PARAM_KEY, ikm);
	// Absent salt and info are what RFC 5869 means by empty ones; OpenSSL wants them left out.
	if (!salt.empty())
		params[n++] = octets(OSSL_KDF_PARAM_SALT, salt);
	if (!info.empty())
		params[n++] = octets(OSSL_KDF_PARAM_INFO, info);
	params[n] = OSSL_PARAM_construct_end();
	std::string out(length, '\0');
	if (EVP_KDF_derive(ctx.get(), reinterpret_cast<unsigned char *>(out.data()), length, params) != 1)
		fail_crypto("HKDF-SHA256 derivation failed");
	return out;
}

} // namespace witness
