// Sealed payloads: round trips, the layout, failures by cause, and one payload sealed by an
// independent implementation (Python, with the `cryptography` package for AES-GCM and the
// hkdf_sha256 of test_subject_keys.cpp):
//
//   from cryptography.hazmat.primitives.ciphers.aead import AESGCM
//   master = bytes(range(32))
//   key = hkdf_sha256(master, b"", b"pg_witness subject encryption key v1\x00alice@example.com", 32)
//   head = b"\x01" + hkdf_sha256(master, b"", b"pg_witness master key id v1", 8)
//   iv = bytes(range(0xa0, 0xac))
//   sealed = head + iv + AESGCM(key).encrypt(iv, b'{"email":"alice@example.com"}', head + b"entry 42")
//   print(sealed.hex())
#include "payload_cipher.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "sha256.hpp"
#include "subject_keys.hpp"

using namespace witness;

namespace
{

const std::string kMaster = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const std::string kOtherMaster = from_hex("ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
const char *const kPayload = "{\"email\":\"alice@example.com\"}";

const char *const kPythonSealedHex = "01dcfae3f1efe6f09ea0a1a2a3a4a5a6a7a8a9aaab8d387f04acd5b23f4106e4276752ff25a046222"
                                     "ed876954c87a84fcb8beb2c1a24eb46c11fc41c25838198b15d";

// The message of the exception of type E that f throws ("" when it throws none).
template <typename E, typename F> std::string message_of(F f)
{
	try {
		f();
	} catch (const E &e) {
		return e.what();
	}
	return "";
}

bool contains(const std::string &s, const std::string &part)
{
	return s.find(part) != std::string::npos;
}

} // namespace

TEST(PayloadCipher, RoundTrip)
{
	for (const std::string &plain : {std::string(), std::string(kPayload), std::string(100000, '\0')}) {
		const std::string sealed = encrypt_payload(kMaster, "alice@example.com", plain, "entry 42");
		EXPECT_EQ(sealed.size(), plain.size() + kSealedPayloadOverhead);
		EXPECT_EQ(decrypt_payload(kMaster, "alice@example.com", sealed, "entry 42"), plain);
	}
	EXPECT_EQ(decrypt_payload(kMaster, "a", encrypt_payload(kMaster, "a", "p", ""), ""), "p");
}

TEST(PayloadCipher, Layout)
{
	const std::string sealed = encrypt_payload(kMaster, "alice@example.com", kPayload, "entry 42");
	EXPECT_EQ(kSealedPayloadOverhead, 37u);
	EXPECT_EQ(sealed.size(), std::string(kPayload).size() + 37);
	EXPECT_EQ(sealed[0], '\x01');
	EXPECT_EQ(to_hex(reinterpret_cast<const uint8_t *>(sealed.data() + 1), 8), master_key_id(kMaster));
	EXPECT_EQ(sealed_payload_key_id(sealed), "dcfae3f1efe6f09e");
	// The plaintext does not show through.
	EXPECT_EQ(sealed.find("alice"), std::string::npos);
}

TEST(PayloadCipher, FreshIvEachTime)
{
	const std::string a = encrypt_payload(kMaster, "alice", kPayload, "");
	const std::string b = encrypt_payload(kMaster, "alice", kPayload, "");
	EXPECT_NE(a.substr(9, 12), b.substr(9, 12));
	EXPECT_NE(a, b);
}

TEST(PayloadCipher, IndependentImplementation)
{
	EXPECT_EQ(decrypt_payload(kMaster, "alice@example.com", from_hex(kPythonSealedHex), "entry 42"), kPayload);
}

TEST(PayloadCipher, WrongSubjectFails)
{
	const std::string sealed = encrypt_payload(kMaster, "alice", kPayload, "entry 42");
	EXPECT_THROW(decrypt_payload(kMaster, "bob", sealed, "entry 42"), PayloadAuthError);
	EXPECT_THROW(decrypt_payload(kMaster, "alice ", sealed, "entry 42"), PayloadAuthError);
}

TEST(PayloadCipher, WrongAadFails)
{
	const std::string sealed = encrypt_payload(kMaster, "alice", kPayload, "entry 42");
	EXPECT_THROW(decrypt_payload(kMaster, "alice", sealed, "entry 43"), PayloadAuthError);
	EXPECT_THROW(decrypt_payload(kMaster, "alice", sealed, ""), PayloadAuthError);
	const std::string msg = message_of<PayloadAuthError>([&] { decrypt_payload(kMaster, "alice", sealed, "x"); });
	EXPECT_TRUE(contains(msg, "failed authentication")) << msg;
}

TEST(PayloadCipher, AlteredBytesFail)
{
	const std::string sealed = encrypt_payload(kMaster, "alice", kPayload, "entry 42");
	for (size_t i = 9; i < sealed.size(); i++) { // IV, ciphertext and tag
		std::string bad = sealed;
		bad[i] ^= 0x04;
		EXPECT_THROW(decrypt_payload(kMaster, "alice", bad, "entry 42"), PayloadAuthError) << i;
	}
}

TEST(PayloadCipher, WrongMasterNamesTheKeyId)
{
	const std::string sealed = encrypt_payload(kMaster, "alice", kPayload, "");
	const std::string msg =
	    message_of<std::invalid_argument>([&] { decrypt_payload(kOtherMaster, "alice", sealed, ""); });
	EXPECT_TRUE(contains(msg, "encrypted under another master key (id dcfae3f1efe6f09e)")) << msg;
	EXPECT_TRUE(contains(msg, master_key_id(kOtherMaster))) << msg;
	// An altered key id is the same error, not an authentication failure.
	std::string bad = sealed;
	bad[1] ^= 0x01;
	EXPECT_TRUE(contains(message_of<std::invalid_argument>([&] { decrypt_payload(kMaster, "alice", bad, ""); }),
	                     "encrypted under another master key"));
}

TEST(PayloadCipher, TruncatedOrMalformedInput)
{
	const std::string sealed = encrypt_payload(kMaster, "alice", kPayload, "");
	// Shorter than the fixed overhead: a format error.
	for (size_t n : {size_t(0), size_t(1), size_t(9), size_t(21), kSealedPayloadOverhead - 1}) {
		const std::string msg =
		    message_of<std::invalid_argument>([&] { decrypt_payload(kMaster, "alice", sealed.substr(0, n), ""); });
		EXPECT_TRUE(contains(msg, "too short")) << n << ": " << msg;
	}
	EXPECT_THROW(sealed_payload_key_id(sealed.substr(0, 20)), std::invalid_argument);
	// Long enough but cut: the tag no longer matches.
	EXPECT_THROW(decrypt_payload(kMaster, "alice", sealed.substr(0, sealed.size() - 1), ""), PayloadAuthError);
	EXPECT_THROW(decrypt_payload(kMaster, "alice", sealed.substr(0, kSealedPayloadOverhead), ""), PayloadAuthError);
	// An unknown version.
	std::string v2 = sealed;
	v2[0] = '\x02';
	EXPECT_TRUE(contains(message_of<std::invalid_argument>([&] { decrypt_payload(kMaster, "alice", v2, ""); }),
	                     "unknown format version 2"));
	EXPECT_THROW(sealed_payload_key_id(v2), std::invalid_argument);
}

TEST(PayloadCipher, BadArgumentsThrow)
{
	EXPECT_THROW(encrypt_payload(std::string(31, 'm'), "alice", "p", ""), std::invalid_argument);
	const std::string sealed = encrypt_payload(kMaster, "alice", "p", "");
	EXPECT_THROW(decrypt_payload(std::string(31, 'm'), "alice", sealed, ""), std::invalid_argument);
	// An empty subject is a key context of its own (entries without a subject): it opens nothing else.
	EXPECT_THROW(decrypt_payload(kMaster, "", sealed, ""), PayloadAuthError);
	EXPECT_EQ(decrypt_payload(kMaster, "", encrypt_payload(kMaster, "", "p", ""), ""), "p");
}
