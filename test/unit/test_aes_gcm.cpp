// AES-256-GCM against the GCM specification's test cases for 256-bit keys and 96-bit IVs, and
// tampering. Source: D. McGrew and J. Viega, "The Galois/Counter Mode of Operation (GCM)", revised
// 2005, submitted to NIST (csrc.nist.gov, proposed modes), Appendix B, test cases 13 to 16.
#include "aes_gcm.hpp"

#include <stdexcept>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include "sha256.hpp"

using witness::aes256gcm_open;
using witness::aes256gcm_seal;
using witness::from_hex;

namespace
{

struct GcmVector {
	const char *key, *iv, *aad, *plaintext, *ciphertext, *tag;
};

const char *const kKey15 = "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308";
const char *const kIv15 = "cafebabefacedbaddecaf888";

const GcmVector kVectors[] = {
    // Test case 13: empty plaintext, zero key and IV.
    {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "", "", "",
     "530f8afbc74536b9a963b4f1c4cb738b"},
    // Test case 14: one zero block.
    {"0000000000000000000000000000000000000000000000000000000000000000", "000000000000000000000000", "",
     "00000000000000000000000000000000", "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    // Test case 15: four blocks, no associated data.
    {kKey15, kIv15, "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    // Test case 16: 60 bytes of plaintext (a partial last block) and 20 bytes of associated data.
    {kKey15, kIv15, "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
     "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
     "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

// Test case 16 as a sealed string, for the tampering tests.
struct Sealed16 {
	std::string key = from_hex(kKey15), iv = from_hex(kIv15), aad = from_hex(kVectors[3].aad);
	std::string sealed = from_hex(std::string(kVectors[3].ciphertext) + kVectors[3].tag);
};

bool opens(const std::string &key, const std::string &iv, const std::string &aad, const std::string &sealed)
{
	std::string out = "stale";
	const bool ok = aes256gcm_open(key, iv, aad, sealed, out);
	if (!ok) {
		EXPECT_EQ(out, "") << "a failed open must not leave output behind";
	}
	return ok;
}

} // namespace

TEST(AesGcm, GcmSpecVectorsSeal)
{
	for (const GcmVector &v : kVectors) {
		const std::string sealed =
		    aes256gcm_seal(from_hex(v.key), from_hex(v.iv), from_hex(v.aad), from_hex(v.plaintext));
		EXPECT_EQ(sealed, from_hex(std::string(v.ciphertext) + v.tag)) << v.tag;
	}
}

TEST(AesGcm, GcmSpecVectorsOpen)
{
	for (const GcmVector &v : kVectors) {
		std::string plaintext = "stale";
		EXPECT_TRUE(aes256gcm_open(from_hex(v.key), from_hex(v.iv), from_hex(v.aad),
		                           from_hex(std::string(v.ciphertext) + v.tag), plaintext))
		    << v.tag;
		EXPECT_EQ(plaintext, from_hex(v.plaintext)) << v.tag;
	}
}

// Sealing into a caller's buffer, with the associated data given in two pieces split anywhere, gives
// the same bytes as the vectors: what MasterKey::seal relies on (header and entry id as the data).
TEST(AesGcm, SealToWithSplitAssociatedData)
{
	for (const GcmVector &v : kVectors) {
		const std::string aad = from_hex(v.aad), plaintext = from_hex(v.plaintext);
		for (size_t cut = 0; cut <= aad.size(); cut++) {
			std::string out(plaintext.size() + witness::kAes256GcmTagSize + 2, '#');
			witness::aes256gcm_seal_to(from_hex(v.key), from_hex(v.iv), std::string_view(aad).substr(0, cut),
			                           std::string_view(aad).substr(cut), plaintext,
			                           reinterpret_cast<unsigned char *>(out.data()) + 1);
			EXPECT_EQ(out.substr(1, out.size() - 2), from_hex(std::string(v.ciphertext) + v.tag)) << v.tag << " cut " << cut;
			EXPECT_EQ(out.front(), '#');
			EXPECT_EQ(out.back(), '#') << "wrote past its ciphertext and tag";
		}
	}
}

// The thread's cipher context is kept and re-keyed for every message: sealing and opening under
// different keys, in any order and after a failed open, gives what each does on its own.
TEST(AesGcm, InterleavedKeysOnTheKeptContext)
{
	for (int round = 0; round < 3; round++)
		for (size_t i = 0; i < std::size(kVectors); i++) {
			const GcmVector &v = kVectors[i], &w = kVectors[(i + 1) % std::size(kVectors)];
			std::string plaintext;
			const bool same_key = std::string(v.key) == w.key && std::string(v.iv) == w.iv && std::string(v.aad) == w.aad;
			if (!same_key) { // (test cases 13 and 14 share key, IV and associated data)
				EXPECT_FALSE(aes256gcm_open(from_hex(w.key), from_hex(w.iv), from_hex(w.aad),
				                            from_hex(std::string(v.ciphertext) + v.tag), plaintext))
				    << "another vector's key opens " << v.tag;
			}
			EXPECT_EQ(aes256gcm_seal(from_hex(v.key), from_hex(v.iv), from_hex(v.aad), from_hex(v.plaintext)),
			          from_hex(std::string(v.ciphertext) + v.tag))
			    << v.tag;
			EXPECT_TRUE(aes256gcm_open(from_hex(w.key), from_hex(w.iv), from_hex(w.aad),
			                           from_hex(std::string(w.ciphertext) + w.tag), plaintext))
			    << w.tag;
			EXPECT_EQ(plaintext, from_hex(w.plaintext)) << w.tag;
		}
}

TEST(AesGcm, FlippedCiphertextBitFails)
{
	Sealed16 s;
	ASSERT_TRUE(opens(s.key, s.iv, s.aad, s.sealed));
	for (size_t i : {size_t(0), size_t(30), size_t(59)}) {
		std::string bad = s.sealed;
		bad[i] ^= 0x01;
		EXPECT_FALSE(opens(s.key, s.iv, s.aad, bad)) << i;
	}
}

TEST(AesGcm, FlippedTagBitFails)
{
	Sealed16 s;
	std::string bad = s.sealed;
	bad[bad.size() - 1] ^= 0x80;
	EXPECT_FALSE(opens(s.key, s.iv, s.aad, bad));
	bad = s.sealed;
	bad[bad.size() - 16] ^= 0x01;
	EXPECT_FALSE(opens(s.key, s.iv, s.aad, bad));
}

TEST(AesGcm, AlteredAadFails)
{
	Sealed16 s;
	std::string aad = s.aad;
	aad[0] ^= 0x01;
	EXPECT_FALSE(opens(s.key, s.iv, aad, s.sealed));
	EXPECT_FALSE(opens(s.key, s.iv, "", s.sealed));
	EXPECT_FALSE(opens(s.key, s.iv, s.aad + "x", s.sealed));
}

TEST(AesGcm, WrongKeyIvOrLengthFails)
{
	Sealed16 s;
	std::string key = s.key;
	key[31] ^= 0x01;
	EXPECT_FALSE(opens(key, s.iv, s.aad, s.sealed));
	std::string iv = s.iv;
	iv[11] ^= 0x01;
	EXPECT_FALSE(opens(s.key, iv, s.aad, s.sealed));
	EXPECT_FALSE(opens(s.key, s.iv, s.aad, s.sealed.substr(1)));     // a byte dropped
	EXPECT_FALSE(opens(s.key, s.iv, s.aad, s.sealed.substr(0, 16))); // the tag alone
}

TEST(AesGcm, RoundTripLargeAndEmpty)
{
	const std::string key(32, 'k'), iv(12, 'i');
	std::string big(1 << 20, '\0');
	for (size_t i = 0; i < big.size(); i++)
		big[i] = static_cast<char>(i * 7);
	for (const std::string &plain : {std::string(), std::string("x"), big}) {
		const std::string sealed = aes256gcm_seal(key, iv, "aad", plain);
		EXPECT_EQ(sealed.size(), plain.size() + 16);
		std::string out;
		EXPECT_TRUE(aes256gcm_open(key, iv, "aad", sealed, out));
		EXPECT_EQ(out, plain);
	}
}

// Default-constructed views (null data) are empty inputs like any other.
TEST(AesGcm, NullViews)
{
	const std::string key(32, 'k'), iv(12, 'i');
	const std::string sealed = aes256gcm_seal(key, iv, std::string_view(), std::string_view());
	EXPECT_EQ(sealed, aes256gcm_seal(key, iv, "", ""));
	std::string out = "stale";
	EXPECT_TRUE(aes256gcm_open(key, iv, std::string_view(), sealed, out));
	EXPECT_EQ(out, "");
}

TEST(AesGcm, BadSizesThrow)
{
	const std::string key(32, 'k'), iv(12, 'i'), sealed(16, 's');
	std::string out;
	EXPECT_THROW(aes256gcm_seal(std::string(16, 'k'), iv, "", "x"), std::invalid_argument);
	EXPECT_THROW(aes256gcm_seal(std::string(33, 'k'), iv, "", "x"), std::invalid_argument);
	EXPECT_THROW(aes256gcm_seal(key, std::string(16, 'i'), "", "x"), std::invalid_argument);
	EXPECT_THROW(aes256gcm_seal(key, "", "", "x"), std::invalid_argument);
	EXPECT_THROW(aes256gcm_open(std::string(31, 'k'), iv, "", sealed, out), std::invalid_argument);
	EXPECT_THROW(aes256gcm_open(key, std::string(8, 'i'), "", sealed, out), std::invalid_argument);
	EXPECT_THROW(aes256gcm_open(key, iv, "", std::string(15, 's'), out), std::invalid_argument);
	EXPECT_NO_THROW(aes256gcm_open(key, iv, "", sealed, out)); // 16 bytes: an empty message's tag
}
