// Payload commitments against values computed independently with Python's hashlib:
//
//   import hashlib
//   print(hashlib.sha256(b"\x03" + bytes(range(0x20, 0x40)) + b'{"a":1}').hexdigest())
//   print(hashlib.sha256(b"\x03" + bytes(32)).hexdigest())
#include "commitment.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "sha256.hpp"

using witness::from_hex;
using witness::payload_commitment;
using witness::to_hex;

namespace
{

const std::string kSalt = from_hex("202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f");

} // namespace

TEST(Commitment, FixedOutputs)
{
	EXPECT_EQ(to_hex(payload_commitment(kSalt, "{\"a\":1}")),
	          "dabf5535e9a109bd80ef7238df4eca39f6b7e485b8a044abe8a09f97f23184a7");
	EXPECT_EQ(to_hex(payload_commitment(std::string(32, '\0'), "")),
	          "7324b5c72b51bb5d4c180f1109cfd347b60473882145841c39f3e584576296f9");
}

TEST(Commitment, IsPrefixedSha256)
{
	const std::string payload("binary\0payload", 14);
	EXPECT_EQ(payload_commitment(kSalt, payload), witness::sha256("\x03" + kSalt + payload));
}

TEST(Commitment, SaltAndPayloadMatter)
{
	std::string other_salt = kSalt;
	other_salt[31] ^= 0x01;
	EXPECT_NE(payload_commitment(kSalt, "{}"), payload_commitment(other_salt, "{}"));
	EXPECT_NE(payload_commitment(kSalt, "{}"), payload_commitment(kSalt, "{} "));
	// Repeated calls share a hasher: each starts from scratch.
	EXPECT_EQ(payload_commitment(kSalt, "{}"), payload_commitment(kSalt, "{}"));
}

TEST(Commitment, SaltMustBe32Bytes)
{
	EXPECT_THROW(payload_commitment("", "x"), std::invalid_argument);
	EXPECT_THROW(payload_commitment(std::string(31, 's'), "x"), std::invalid_argument);
	EXPECT_THROW(payload_commitment(std::string(33, 's'), "x"), std::invalid_argument);
}
