// SHA-256 against the FIPS 180-2 examples, incremental use, context reuse and the hex helpers.
#include "sha256.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

using witness::from_hex;
using witness::Sha256;
using witness::sha256;
using witness::to_hex;

TEST(Sha256, FipsEmpty)
{
	EXPECT_EQ(to_hex(sha256("")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST(Sha256, FipsAbc)
{
	EXPECT_EQ(to_hex(sha256("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Sha256, Fips448Bit)
{
	EXPECT_EQ(to_hex(sha256("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")),
	          "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, MillionAs)
{
	EXPECT_EQ(to_hex(sha256(std::string(1000000, 'a'))),
	          "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, IncrementalMatchesOneShotAndResets)
{
	Sha256 h;
	h.update("ab");
	h.update("", 0);
	h.update("c");
	EXPECT_EQ(h.finish(), sha256("abc"));
	// finish() resets: the next digest starts from scratch.
	EXPECT_EQ(h.finish(), sha256(""));
	h.update("abc");
	EXPECT_EQ(to_hex(h.finish()), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(Hex, RoundTrip)
{
	const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
	EXPECT_EQ(to_hex(bytes, sizeof bytes), "00017f80abff");
	EXPECT_EQ(from_hex("00017f80abff"), std::string("\x00\x01\x7f\x80\xab\xff", 6));
	EXPECT_EQ(from_hex("00017F80ABFF"), std::string("\x00\x01\x7f\x80\xab\xff", 6));
	EXPECT_EQ(to_hex(nullptr, 0), "");
	EXPECT_EQ(from_hex(""), "");
}

TEST(Hex, RejectsBadInput)
{
	EXPECT_THROW(from_hex("abc"), std::invalid_argument);
	EXPECT_THROW(from_hex("zz"), std::invalid_argument);
	EXPECT_THROW(from_hex("0g"), std::invalid_argument);
	EXPECT_THROW(from_hex(" 0"), std::invalid_argument);
}
