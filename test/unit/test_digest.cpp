// Digest documents: canonical text, signing with HMAC and Ed25519, parsing and signature checks.
#include "digest.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "canonical_json.hpp"
#include "sha256.hpp"
#include "signatures.hpp"

using namespace witness;

namespace
{

struct KeyPair {
	std::string private_pem, public_pem;
};

std::string bio_text(BIO *bio)
{
	char *data = nullptr;
	const long len = BIO_get_mem_data(bio, &data);
	return std::string(data, static_cast<size_t>(len));
}

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

DigestFields sample()
{
	DigestFields f;
	f.database_id = "7301234567890123456/shop \"main\"";
	f.block_no = 42;
	f.block_hash = sha256("block 42");
	f.entry_count = 123456;
	f.time_us = 1700000000123456;
	return f;
}

const char *const kHmacKey = "3f1c2b8e9a0d4c5b6a7f8e9d0c1b2a3f4e5d6c7b8a9f0e1d2c3b4a5f6e7d8c9b";

} // namespace

TEST(Digest, CanonicalText)
{
	const std::string json = make_digest_json(sample());
	EXPECT_EQ(json, "{\"block_hash\":\"" + to_hex(sha256("block 42")) +
	                    "\",\"block_no\":42,\"database\":\"7301234567890123456/shop \\\"main\\\"\",\"entries\":123456,"
	                    "\"time\":\"2023-11-14T22:13:20.123456Z\",\"version\":1}");
	std::string canonical;
	canonical_json(json, canonical);
	EXPECT_EQ(canonical, json);
}

TEST(Digest, ParseRoundTrip)
{
	const DigestFields f = parse_digest_json(make_digest_json(sample()));
	EXPECT_EQ(f.database_id, sample().database_id);
	EXPECT_EQ(f.block_no, 42);
	EXPECT_EQ(f.block_hash, sample().block_hash);
	EXPECT_EQ(f.entry_count, 123456);
	EXPECT_EQ(f.time_us, 1700000000123456);
}

TEST(Digest, SignedWithBothAndChecked)
{
	const KeyPair kp = generate_key_pair();
	const std::string digest = make_digest_json(sample());
	const std::string signed_doc = sign_digest(digest, kHmacKey, kp.private_pem);
	std::string canonical;
	canonical_json(signed_doc, canonical);
	EXPECT_EQ(signed_doc, canonical);
	EXPECT_EQ(signed_doc.rfind("{\"digest\":" + digest + ",\"ed25519\":\"", 0), 0u) << signed_doc;
	EXPECT_NE(signed_doc.find("\"hmac_sha256\":\"" + hmac_sha256_hex(kHmacKey, digest) + "\""), std::string::npos);

	const DigestCheck c = check_digest_signatures(signed_doc, kHmacKey, kp.public_pem);
	EXPECT_EQ(c.hmac, SignatureState::Valid);
	EXPECT_EQ(c.ed25519, SignatureState::Valid);
	EXPECT_EQ(c.digest_json, digest);
	EXPECT_EQ(c.fields.block_no, 42);
	EXPECT_EQ(c.ed25519_public_key, ed25519_public_key_hex(kp.public_pem));
	// The private key checks too; no key means not checked.
	EXPECT_EQ(check_digest_signatures(signed_doc, "", kp.private_pem).ed25519, SignatureState::Valid);
	const DigestCheck unchecked = check_digest_signatures(signed_doc, "", "");
	EXPECT_EQ(unchecked.hmac, SignatureState::NotChecked);
	EXPECT_EQ(unchecked.ed25519, SignatureState::NotChecked);
}

TEST(Digest, WrongKeysAndAlteredDigestsFail)
{
	const KeyPair kp = generate_key_pair(), other = generate_key_pair();
	const std::string signed_doc = sign_digest(make_digest_json(sample()), kHmacKey, kp.private_pem);
	const DigestCheck wrong = check_digest_signatures(signed_doc, "another key", other.public_pem);
	EXPECT_EQ(wrong.hmac, SignatureState::Invalid);
	EXPECT_EQ(wrong.ed25519, SignatureState::Invalid);

	std::string altered = signed_doc;
	const size_t at = altered.find("\"entries\":123456");
	ASSERT_NE(at, std::string::npos);
	altered.replace(at, 16, "\"entries\":123457");
	const DigestCheck c = check_digest_signatures(altered, kHmacKey, kp.public_pem);
	EXPECT_EQ(c.fields.entry_count, 123457);
	EXPECT_EQ(c.hmac, SignatureState::Invalid);
	EXPECT_EQ(c.ed25519, SignatureState::Invalid);
}

TEST(Digest, SignaturesCoverCanonicalTextWhateverTheLayout)
{
	const KeyPair kp = generate_key_pair();
	const std::string signed_doc = sign_digest(make_digest_json(sample()), kHmacKey, kp.private_pem);
	// Re-indented, members reordered: still the same canonical digest.
	const DigestCheck c0 = check_digest_signatures(signed_doc, kHmacKey, kp.public_pem);
	std::string pretty = "{\n  \"hmac_sha256\": \"" + hmac_sha256_hex(kHmacKey, c0.digest_json) +
	                     "\",\n  \"digest\": {\"version\": 1, \"time\": \"2023-11-14T22:13:20.123456Z\", "
	                     "\"entries\": 123456, \"database\": \"7301234567890123456/shop \\\"main\\\"\", "
	                     "\"block_no\": 42, \"block_hash\": \"" +
	                     to_hex(sha256("block 42")) + "\"}\n}\n";
	const DigestCheck c = check_digest_signatures(pretty, kHmacKey, "");
	EXPECT_EQ(c.hmac, SignatureState::Valid);
	EXPECT_EQ(c.ed25519, SignatureState::Absent);
	// Signing a non-canonical digest signs its canonical text.
	const std::string from_pretty =
	    sign_digest("{ \"version\": 1, \"block_no\": 42, \"block_hash\": \"" + to_hex(sha256("block 42")) +
	                    "\", \"database\": \"7301234567890123456/shop \\\"main\\\"\", \"entries\": 123456, "
	                    "\"time\": \"2023-11-14T22:13:20.123456Z\" }",
	                kHmacKey, "");
	EXPECT_EQ(check_digest_signatures(from_pretty, kHmacKey, "").hmac, SignatureState::Valid);
	EXPECT_EQ(from_pretty, "{\"digest\":" + make_digest_json(sample()) + ",\"hmac_sha256\":\"" +
	                           hmac_sha256_hex(kHmacKey, make_digest_json(sample())) + "\"}");
}

TEST(Digest, UnsignedDigestHasNoSignatures)
{
	const std::string doc = sign_digest(make_digest_json(sample()), "", "");
	EXPECT_EQ(doc, "{\"digest\":" + make_digest_json(sample()) + "}");
	const DigestCheck c = check_digest_signatures(doc, kHmacKey, "");
	EXPECT_EQ(c.hmac, SignatureState::Absent);
	EXPECT_EQ(c.ed25519, SignatureState::Absent);
}

TEST(Digest, MalformedDocumentsAreRejected)
{
	const std::string d = make_digest_json(sample());
	const std::string h = to_hex(sha256("block 42"));
	const std::string bad[] = {
	    "",
	    "[]",
	    "{}",
	    "{\"digest\":" + d + ",\"extra\":1}",
	    "{\"digest\":" + d + ",\"hmac_sha256\":\"xyz\"}",
	    "{\"digest\":" + d + ",\"ed25519\":\"00\"}",
	    "{\"digest\":" + d + ",\"digest\":" + d + "}",
	    "{\"digest\":\"text\"}",
	    "{\"digest\":{\"block_hash\":\"" + h + "\",\"block_no\":42,\"database\":\"x\",\"entries\":1,\"time\":\"" +
	        "2023-11-14T22:13:20.123456Z\",\"version\":2}}",
	    "{\"digest\":{\"block_hash\":\"" + h + "\",\"block_no\":4.2,\"database\":\"x\",\"entries\":1,\"time\":\"" +
	        "2023-11-14T22:13:20.123456Z\",\"version\":1}}",
	    "{\"digest\":{\"block_hash\":\"" + h + "\",\"block_no\":0,\"database\":\"x\",\"entries\":1,\"time\":\"" +
	        "2023-11-14T22:13:20.123456Z\",\"version\":1}}",
	    "{\"digest\":{\"block_hash\":\"" + h.substr(2) +
	        "\",\"block_no\":4,\"database\":\"x\",\"entries\":1,\"time\":\"" +
	        "2023-11-14T22:13:20.123456Z\",\"version\":1}}",
	    "{\"digest\":{\"block_hash\":\"" + h + "\",\"block_no\":4,\"database\":\"x\",\"entries\":1,\"time\":\"" +
	        "2023-11-14T22:13:20Z\",\"version\":1}}",
	    "{\"digest\":{\"block_hash\":\"" + h + "\",\"block_no\":4,\"entries\":1,\"time\":\"" +
	        "2023-11-14T22:13:20.123456Z\",\"version\":1}}",
	};
	for (const std::string &doc : bad)
		EXPECT_THROW(check_digest_signatures(doc, kHmacKey, ""), std::invalid_argument) << doc;
	EXPECT_THROW(sign_digest("{\"block_no\":1}", kHmacKey, ""), std::invalid_argument);
	EXPECT_THROW(sign_digest(d, kHmacKey, "not a pem"), std::invalid_argument);
	try {
		check_digest_signatures("{\"digest\":{}}", "", "");
		FAIL();
	} catch (const std::invalid_argument &e) {
		EXPECT_NE(std::string(e.what()).find("malformed signed digest"), std::string::npos);
	}
}

// A signed digest has less than 1 kB: a document beyond kMaxDigestBytes is refused before parsing.
TEST(Digest, OversizedDocumentsAreRejected)
{
	const std::string signed_doc = sign_digest(make_digest_json(sample()), kHmacKey, "");
	// Padding with whitespace keeps the document valid: only its length is at fault.
	const std::string at_limit = signed_doc + std::string(kMaxDigestBytes - signed_doc.size(), ' ');
	EXPECT_EQ(check_digest_signatures(at_limit, kHmacKey, "").hmac, SignatureState::Valid);
	try {
		check_digest_signatures(at_limit + " ", kHmacKey, "");
		FAIL();
	} catch (const std::invalid_argument &e) {
		EXPECT_STREQ(e.what(), "signed digest too large: 65537 bytes, at most 65536 are accepted");
	}
	EXPECT_THROW(parse_digest_json(std::string(kMaxDigestBytes + 1, ' ')), std::invalid_argument);
}
