// HMAC-SHA256 (RFC 4231) and Ed25519 (RFC 8032) vectors, keys generated in memory, key formats.
#include "signatures.hpp"

#include <memory>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "sha256.hpp"

using namespace witness;

namespace
{

// RFC 8032 section 7.1, TEST 2: the secret key as PKCS#8 PEM, the public key, message 0x72, signature.
const char *const kRfcPrivatePem = "-----BEGIN PRIVATE KEY-----\n"
                                   "MC4CAQAwBQYDK2VwBCIEIEzNCJso/5banbbDRuwRTg9bijGfNaumJNqM9u1PuKb7\n"
                                   "-----END PRIVATE KEY-----\n";
const char *const kRfcPublicPem = "-----BEGIN PUBLIC KEY-----\n"
                                  "MCowBQYDK2VwAyEAPUAXw+hDiVqStwqnTRt+vJyYLM8uxJaMwM1V8Sr0Zgw=\n"
                                  "-----END PUBLIC KEY-----\n";
const char *const kRfcPublicHex = "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c";
const char *const kRfcSignature = "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
                                  "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00";

struct KeyPair {
	std::string private_pem, public_pem;
};

std::string bio_text(BIO *bio)
{
	char *data = nullptr;
	const long len = BIO_get_mem_data(bio, &data);
	return std::string(data, static_cast<size_t>(len));
}

// A fresh Ed25519 key pair as PEM text, made with OpenSSL in memory.
KeyPair generate_key_pair()
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
	if (key == nullptr)
		throw std::runtime_error("Ed25519 key generation failed");
	BIO *priv = BIO_new(BIO_s_mem());
	BIO *pub = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(priv, key, nullptr, nullptr, 0, nullptr, nullptr);
	PEM_write_bio_PUBKEY(pub, key);
	KeyPair kp{bio_text(priv), bio_text(pub)};
	BIO_free(priv);
	BIO_free(pub);
	EVP_PKEY_free(key);
	return kp;
}

} // namespace

TEST(Signatures, HmacRfc4231)
{
	EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
	          "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	EXPECT_EQ(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There"),
	          "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	EXPECT_THROW(hmac_sha256_hex("", "x"), std::invalid_argument);
}

TEST(Signatures, HmacKeyFromFile)
{
	EXPECT_EQ(hmac_key_from_file_text("00ff\n"), "00ff");
	EXPECT_EQ(hmac_key_from_file_text("  secret key \r\n\t"), "  secret key");
	EXPECT_THROW(hmac_key_from_file_text(" \n"), std::invalid_argument);
}

TEST(Signatures, Ed25519Rfc8032)
{
	EXPECT_EQ(ed25519_sign_hex(kRfcPrivatePem, "\x72"), kRfcSignature);
	EXPECT_TRUE(ed25519_verify_hex(kRfcPublicPem, "\x72", kRfcSignature));
	EXPECT_TRUE(ed25519_verify_hex(kRfcPrivatePem, "\x72", kRfcSignature));
	EXPECT_TRUE(ed25519_verify_hex(kRfcPublicHex, "\x72", kRfcSignature));
	EXPECT_FALSE(ed25519_verify_hex(kRfcPublicPem, "\x73", kRfcSignature));
	EXPECT_EQ(ed25519_public_key_hex(kRfcPrivatePem), kRfcPublicHex);
	EXPECT_EQ(ed25519_public_key_hex(kRfcPublicPem), kRfcPublicHex);
}

TEST(Signatures, Ed25519GeneratedKeys)
{
	const KeyPair a = generate_key_pair(), b = generate_key_pair();
	const std::string sig = ed25519_sign_hex(a.private_pem, "digest text");
	EXPECT_EQ(sig.size(), 128u);
	EXPECT_TRUE(ed25519_verify_hex(a.public_pem, "digest text", sig));
	EXPECT_FALSE(ed25519_verify_hex(b.public_pem, "digest text", sig));
	EXPECT_FALSE(ed25519_verify_hex(a.public_pem, "digest text!", sig));
	std::string flipped = sig;
	flipped[10] = flipped[10] == '0' ? '1' : '0';
	EXPECT_FALSE(ed25519_verify_hex(a.public_pem, "digest text", flipped));
	EXPECT_FALSE(ed25519_verify_hex(a.public_pem, "digest text", sig.substr(2)));
	EXPECT_FALSE(ed25519_verify_hex(a.public_pem, "digest text", std::string(128, 'z')));
}

TEST(Signatures, RejectsOtherKeys)
{
	EXPECT_THROW(ed25519_sign_hex("not a key", "m"), std::invalid_argument);
	EXPECT_THROW(ed25519_sign_hex(kRfcPublicPem, "m"), std::invalid_argument);
	EXPECT_THROW(ed25519_verify_hex("garbage", "m", kRfcSignature), std::invalid_argument);
	EXPECT_THROW(ed25519_verify_hex(std::string(63, 'a'), "m", kRfcSignature), std::invalid_argument);
	// An EC P-256 key is a valid PEM key of the wrong algorithm.
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
	ASSERT_NE(ec, nullptr);
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PrivateKey(bio, ec, nullptr, nullptr, 0, nullptr, nullptr);
	const std::string ec_pem = bio_text(bio);
	BIO_free(bio);
	EVP_PKEY_free(ec);
	EXPECT_THROW(ed25519_sign_hex(ec_pem, "m"), std::invalid_argument);
	EXPECT_THROW(ed25519_verify_hex(ec_pem, "m", kRfcSignature), std::invalid_argument);
}

TEST(Signatures, EncryptedKeyIsRefusedWithoutPrompting)
{
	EVP_PKEY *key = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
	ASSERT_NE(key, nullptr);
	BIO *bio = BIO_new(BIO_s_mem());
	static char pass[] = "secret";
	PEM_write_bio_PKCS8PrivateKey(bio, key, EVP_aes_256_cbc(), nullptr, 0, nullptr, pass);
	const std::string pem = bio_text(bio);
	BIO_free(bio);
	EVP_PKEY_free(key);
	ASSERT_NE(pem.find("ENCRYPTED"), std::string::npos);
	EXPECT_THROW(ed25519_sign_hex(pem, "m"), std::invalid_argument);
}

TEST(Signatures, ConstantTimeEquality)
{
	EXPECT_TRUE(equal_constant_time("abc", "abc"));
	EXPECT_FALSE(equal_constant_time("abc", "abd"));
	EXPECT_FALSE(equal_constant_time("abc", "ab"));
	EXPECT_TRUE(equal_constant_time("", ""));
}
