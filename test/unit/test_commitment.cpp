// Payload commitments against values computed independently with Python's hashlib:
//
//   import hashlib
//   print(hashlib.sha256(b"\x03" + bytes(range(0x20, 0x30)) + b'{"a":1}').hexdigest())
//   print(hashlib.sha256(b"\x03" + bytes(16)).hexdigest())
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

const std::string kSalt = from_hex("202122232425262728292a2b2c2d2e2f");

} // namespace

TEST(Commitment, FixedOutputs)
{
	EXPECT_EQ(to_hex(payload_commitment(kSalt, "{\"a\":1}")),
	          "522a2b5b009d86c9a453f2b820bce8e8fc41071b67bea7cd24c35676a0d569e7");
	EXPECT_EQ(to_hex(payload_commitment(std::string(16, '\0'), "")),
	          "6ad36d3f69c5684bd1021eeb3a8038250f424dca6d96600d2a7d22101dbd436d");
}

TEST(Commitment, IsPrefixedSha256)
{
	const std::string payload("binary\0payload", 14);
	EXPECT_EQ(payload_commitment(kSalt, payload), witness::sha256("\x03" + kSalt + payload));
}

TEST(Commitment, SaltAndPayloadMatter)
{
	std::string other_salt = kSalt;
	other_salt[15] ^= 0x01;
	EXPECT_NE(payload_commitment(kSalt, "{}"), payload_commitment(other_salt, "{}"));
	EXPECT_NE(payload_commitment(kSalt, "{}"), payload_commitment(kSalt, "{} "));
	// Repeated calls share a hasher: each starts from scratch.
	EXPECT_EQ(payload_commitment(kSalt, "{}"), payload_commitment(kSalt, "{}"));
}

TEST(Commitment, SaltMustBe16Bytes)
{
	EXPECT_THROW(payload_commitment("", "x"), std::invalid_argument);
	EXPECT_THROW(payload_commitment(std::string(15, 's'), "x"), std::invalid_argument);
	EXPECT_THROW(payload_commitment(std::string(17, 's'), "x"), std::invalid_argument);
}
