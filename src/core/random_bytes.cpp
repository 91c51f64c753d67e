// Random bytes with OpenSSL's RAND_bytes (the public DRBG of the default library context).
#include "random_bytes.hpp"

#include <algorithm>
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

} // namespace witness
