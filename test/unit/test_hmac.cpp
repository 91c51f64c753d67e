// Raw HMAC-SHA256 against RFC 4231 (test cases 1, 2 and 6) and the hex form in signatures.hpp.
#include "hmac.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "sha256.hpp"
#include "signatures.hpp"

using witness::from_hex;
using witness::hmac_sha256;

TEST(Hmac, Rfc4231)
{
	EXPECT_EQ(hmac_sha256(std::string(20, '\x0b'), "Hi There"),
	          from_hex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"));
	EXPECT_EQ(hmac_sha256("Jefe", "what do ya want for nothing?"),
	          from_hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"));
	// Test case 6: a key longer than the block size is hashed first.
	EXPECT_EQ(hmac_sha256(std::string(131, '\xaa'), "Test Using Larger Than Block-Size Key - Hash Key First"),
	          from_hex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"));
}

TEST(Hmac, MatchesHexForm)
{
	const std::string mac = hmac_sha256("some key", std::string("msg\0with nul", 12));
	EXPECT_EQ(witness::to_hex(reinterpret_cast<const uint8_t *>(mac.data()), mac.size()),
	          witness::hmac_sha256_hex("some key", std::string("msg\0with nul", 12)));
	EXPECT_EQ(hmac_sha256("k", "").size(), 32u);
	EXPECT_EQ(hmac_sha256("k", std::string_view()), hmac_sha256("k", ""));
}

TEST(Hmac, RejectsEmptyKey)
{
	EXPECT_THROW(hmac_sha256("", "x"), std::invalid_argument);
}

// The keyed class gives exactly the one-shot HMAC, for short, block-sized and long keys and messages,
// and for many messages under one key.
TEST(HmacSha256Keyed, EqualsOneShot)
{
	const std::string keys[] = {"k", std::string(32, '\x0b'), std::string(64, 'a'), std::string(65, 'b'),
	                            std::string(131, '\xaa')};
	const std::string messages[] = {"", "Hi There", std::string(1000, 'x'), std::string("\0\x01\x02", 3)};
	for (const std::string &key : keys) {
		const witness::HmacSha256 keyed(key);
		for (int round = 0; round < 2; round++)
			for (const std::string &msg : messages)
				EXPECT_EQ(keyed.mac(msg), witness::hmac_sha256(key, msg)) << key.size() << "/" << msg.size();
	}
	EXPECT_THROW(witness::HmacSha256(""), std::invalid_argument);
}

// A message given in parts is MAC'd as their concatenation, whatever the cuts (none, empty parts).
TEST(HmacSha256Keyed, PartsEqualTheirConcatenation)
{
	const witness::HmacSha256 keyed(std::string(32, '\x0b'));
	const std::string msg = std::string("pg_witness subject encryption key v1") + '\0' + std::string(32, '\x9c') + '\x01';
	for (size_t a = 0; a <= msg.size(); a += 7)
		for (size_t b = a; b <= msg.size(); b += 11) {
			const std::string_view parts[] = {std::string_view(msg).substr(0, a), std::string_view(msg).substr(a, b - a),
			                                  std::string_view(), std::string_view(msg).substr(b)};
			unsigned char out[32];
			keyed.mac(parts, 4, out);
			EXPECT_EQ(std::string(reinterpret_cast<const char *>(out), 32), witness::hmac_sha256(std::string(32, '\x0b'), msg))
			    << a << "/" << b;
		}
	unsigned char none[32];
	keyed.mac(nullptr, 0, none);
	EXPECT_EQ(std::string(reinterpret_cast<const char *>(none), 32), witness::hmac_sha256(std::string(32, '\x0b'), ""));
}
