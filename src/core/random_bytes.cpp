// Random bytes with OpenSSL's RAND_bytes (the public DRBG of the default library context).
#include "random_bytes.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <openssl/err.h>
#include <openssl/rand.h>

namespace witness
{

std::string random_bytes(size_t n)
{
	std::string out(n, '\0');
	auto *p = reinterpret_cast<unsigned char *>(out.data());
	// RAND_bytes counts in int: fill large requests in pieces that fit.
	constexpr size_t kChunk = size_t(1) << 30;
	for (size_t done = 0; done < n;) {
		const size_t len = std::min(n - done, kChunk);
		if (RAND_bytes(p + done, static_cast<int>(len)) != 1) {
			ERR_clear_error();
			throw std::runtime_error("libcrypto: RAND_bytes failed");
		}
		done += len;
	}
	return out;
}

void random_fill_pooled(unsigned char *out, size_t n)
{
	constexpr size_t kPool = 4096;
	if (n > 256)
		throw std::invalid_argument("random_fill_pooled: at most 256 bytes at a time");
	thread_local unsigned char pool[kPool];
	thread_local size_t left = 0; // unused bytes at the end of pool
	if (left < n) {
		if (RAND_bytes(pool, static_cast<int>(kPool)) != 1) {
			ERR_clear_error();
			throw std::runtime_error("libcrypto: RAND_bytes failed");
		}
		left = kPool;
	}
	unsigned char *from = pool + (kPool - left);
	std::memcpy(out, from, n);
	std::memset(from, 0, n); // handed out once: not left behind in the pool
	left -= n;
}

} // namespace witness
