// SHA-256 and hex helpers over OpenSSL's libcrypto (EVP), with the digest context reused per thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "hash.hpp"

namespace witness
{

// Incremental SHA-256. Throws std::runtime_error if libcrypto fails.
class Sha256
{
  public:
	Sha256();
	~Sha256();
	Sha256(const Sha256 &) = delete;
	Sha256 &operator=(const Sha256 &) = delete;
	void update(const void *data, size_t len);
	void update(std::string_view s) { update(s.data(), s.size()); }
	Hash finish(); // resets for reuse

  private:
	void *ctx_;
};

Hash sha256(std::string_view data);

std::string to_hex(const uint8_t *data, size_t len);
inline std::string to_hex(const Hash &h)
{
	return to_hex(h.data(), h.size());
}

// Parses lower- or upper-case hex; throws std::invalid_argument on bad input.
std::string from_hex(std::string_view hex);

} // namespace witness
