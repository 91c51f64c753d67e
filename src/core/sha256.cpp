// SHA-256 over OpenSSL 3's EVP interface, plus hex helpers.
#include "sha256.hpp"

#include <algorithm>
#include <stdexcept>

#include <openssl/evp.h>

#include "hex_digit.hpp"
#include "interrupt.hpp"

namespace witness
{

namespace
{

// Fetching an algorithm is a provider lookup with locking; do it once per process and keep it.
const EVP_MD *sha256_md()
{
	static const EVP_MD *md = [] {
		EVP_MD *fetched = EVP_MD_fetch(nullptr, "SHA256", nullptr);
		if (!fetched)
			throw std::runtime_error("libcrypto: cannot fetch SHA256");
		return fetched;
	}();
	return md;
}

EVP_MD_CTX *as_ctx(void *p)
{
	return static_cast<EVP_MD_CTX *>(p);
}

// Large inputs are fed in pieces of this size, asking between two whether to stop (interrupt.hpp).
constexpr size_t kUpdateChunk = size_t(1) << 20;

// Puts ctx back into the "fresh SHA-256" state; a reused context skips the allocation of a new one.
bool reinit(EVP_MD_CTX *ctx)
{
	return EVP_DigestInit_ex2(ctx, sha256_md(), nullptr) == 1;
}

} // namespace

Sha256::Sha256() : ctx_(nullptr)
{
	const EVP_MD *md = sha256_md();
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (!ctx)
		throw std::runtime_error("libcrypto: EVP_MD_CTX_new failed");
	if (EVP_DigestInit_ex2(ctx, md, nullptr) != 1) {
		EVP_MD_CTX_free(ctx);
		throw std::runtime_error("libcrypto: SHA256 init failed");
	}
	ctx_ = ctx;
}

Sha256::~Sha256()
{
	EVP_MD_CTX_free(as_ctx(ctx_));
}

void Sha256::update(const void *data, size_t len)
{
	const auto *p = static_cast<const unsigned char *>(data);
	while (len > 0) {
		const size_t n = std::min(len, kUpdateChunk);
		if (EVP_DigestUpdate(as_ctx(ctx_), p, n) != 1) {
			reinit(as_ctx(ctx_)); // never leave half-fed state behind for the next user
			throw std::runtime_error("libcrypto: SHA256 update failed");
		}
		p += n;
		len -= n;
		if (len > 0) {
			try {
				poll_interrupt();
			} catch (...) {
				reinit(as_ctx(ctx_));
				throw;
			}
		}
	}
}

Hash Sha256::finish()
{
	Hash h;
	unsigned int n = 0;
	bool ok = EVP_DigestFinal_ex(as_ctx(ctx_), h.data(), &n) == 1 && n == h.size();
	ok = reinit(as_ctx(ctx_)) && ok;
	if (!ok)
		throw std::runtime_error("libcrypto: SHA256 final failed");
	return h;
}

Hash sha256(std::string_view data)
{
	thread_local Sha256 hasher;
	hasher.update(data);
	return hasher.finish();
}

std::string to_hex(const uint8_t *data, size_t len)
{
	static const char digits[] = "0123456789abcdef";
	std::string s(len * 2, '\0');
	for (size_t i = 0; i < len; i++) {
		s[2 * i] = digits[data[i] >> 4];
		s[2 * i + 1] = digits[data[i] & 0x0f];
	}
	return s;
}

std::string from_hex(std::string_view hex)
{
	if (hex.size() % 2 != 0)
		throw std::invalid_argument("hex string has odd length");
	std::string out(hex.size() / 2, '\0');
	for (size_t i = 0; i < out.size(); i++) {
		int hi = hex_digit_value(hex[2 * i]);
		int lo = hex_digit_value(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			throw std::invalid_argument("invalid hex digit");
		out[i] = static_cast<char>((hi << 4) | lo);
	}
	return out;
}

} // namespace witness
