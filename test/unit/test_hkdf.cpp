// HKDF-SHA256 against RFC 5869, Appendix A (test cases 1, 2 and 3: the SHA-256 ones), and its limits.
#include "hkdf.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "sha256.hpp"

using witness::from_hex;
using witness::hkdf_sha256;
using witness::kHkdfSha256MaxLength;

namespace
{

std::string hex(const std::string &bytes)
{
	return witness::to_hex(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
}

// The bytes first, first+1, ..., last.
std::string byte_range(int first, int last)
{
	std::string s;
	for (int b = first; b <= last; b++)
		s += static_cast<char>(b);
	return s;
}

} // namespace

// RFC 5869, A.1: basic test case with SHA-256.
TEST(Hkdf, Rfc5869Case1)
{
	const std::string okm = hkdf_sha256(std::string(22, '\x0b'), from_hex("000102030405060708090a0b0c"),
	                                    from_hex("f0f1f2f3f4f5f6f7f8f9"), 42);
	EXPECT_EQ(hex(okm), "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865");
}

// RFC 5869, A.2: longer inputs and outputs (80-byte IKM, salt and info; 82-byte OKM).
TEST(Hkdf, Rfc5869Case2)
{
	const std::string okm = hkdf_sha256(byte_range(0x00, 0x4f), byte_range(0x60, 0xaf), byte_range(0xb0, 0xff), 82);
	EXPECT_EQ(hex(okm), "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
	                    "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
	                    "cc30c58179ec3e87c14c01d5c1f3434f1d87");
}

// RFC 5869, A.3: zero-length salt and info.
TEST(Hkdf, Rfc5869Case3)
{
	const std::string okm = hkdf_sha256(std::string(22, '\x0b'), "", "", 42);
	EXPECT_EQ(hex(okm), "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8");
}

// An empty salt is HashLen zero bytes (RFC 5869, section 2.2).
TEST(Hkdf, EmptySaltIsZeroSalt)
{
	EXPECT_EQ(hkdf_sha256("key", "", "info", 32), hkdf_sha256("key", std::string(32, '\0'), "info", 32));
}

// A shorter output is a prefix of a longer one: the key id relies on it.
TEST(Hkdf, ShorterOutputIsPrefix)
{
	const std::string long_okm = hkdf_sha256("key", "salt", "info", 100);
	EXPECT_EQ(hkdf_sha256("key", "salt", "info", 8), long_okm.substr(0, 8));
	EXPECT_EQ(hkdf_sha256("key", "salt", "info", 33), long_okm.substr(0, 33));
}

// An empty IKM is allowed by RFC 5869, also as a default-constructed view. Expected value from Python:
//   prk = hmac.new(bytes(32), b"", hashlib.sha256).digest()
//   print(hmac.new(prk, b"\x01", hashlib.sha256).hexdigest())
TEST(Hkdf, EmptyIkm)
{
	const char *const expected = "eb70f01dede9afafa449eee1b1286504e1f62388b3f7dd4f956697b0e828fe18";
	EXPECT_EQ(hex(hkdf_sha256("", "", "", 32)), expected);
	EXPECT_EQ(hex(hkdf_sha256(std::string_view(), std::string_view(), std::string_view(), 32)), expected);
}

TEST(Hkdf, LengthLimits)
{
	EXPECT_EQ(hkdf_sha256("key", "", "", 0), "");
	EXPECT_EQ(hkdf_sha256("key", "", "", kHkdfSha256MaxLength).size(), 8160u);
	EXPECT_THROW(hkdf_sha256("key", "", "", kHkdfSha256MaxLength + 1), std::invalid_argument);
}

TEST(Hkdf, InfoBytesMatter)
{
	EXPECT_NE(hkdf_sha256("key", "", std::string("a\0b", 3), 32), hkdf_sha256("key", "", "a", 32));
	EXPECT_NE(hkdf_sha256("key", "", "a", 32), hkdf_sha256("key", "", "b", 32));
}
