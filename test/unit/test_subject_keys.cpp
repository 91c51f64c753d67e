// Keys derived from the master key: the key file format, fixed outputs for a fixed master key,
// determinism and separation by subject and by purpose.
//
// The expected values were computed independently with Python's standard library (RFC 5869 written
// out over hmac/hashlib), master key = bytes 0x00..0x1f:
//
//   import hashlib, hmac
//   def hkdf_sha256(ikm, salt, info, length):  # RFC 5869
//       prk = hmac.new(salt or bytes(32), ikm, hashlib.sha256).digest()
//       okm, t, i = b"", b"", 1
//       while len(okm) < length:
//           t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
//           okm, i = okm + t, i + 1
//       return okm[:length]
//   master = bytes(range(32))
//   print(hkdf_sha256(master, b"", b"pg_witness master key id v1", 8).hex())
//   for s in [b"alice@example.com", b"bob"]:
//       print(hkdf_sha256(master, b"", b"pg_witness subject encryption key v1\x00" + s, 32).hex())
//   pk = hkdf_sha256(master, b"", b"pg_witness subject pseudonym key v1", 32)
//   print(pk.hex())
//   for s in [b"alice@example.com", b"bob"]:
//       print(hmac.new(pk, s, hashlib.sha256).hexdigest())
#include "subject_keys.hpp"
#include "hkdf.hpp"
#include "master_key.hpp"

#include <cctype>
#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "sha256.hpp"

using namespace witness;

namespace
{

const char *const kMasterHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

std::string master()
{
	return from_hex(kMasterHex);
}

std::string hex(const std::string &bytes)
{
	return to_hex(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
}

// The message of the std::invalid_argument that f throws ("" when it throws none).
template <typename F> std::string invalid_argument_message(F f)
{
	try {
		f();
	} catch (const std::invalid_argument &e) {
		return e.what();
	}
	return "";
}

} // namespace

TEST(SubjectKeys, FixedOutputs)
{
	EXPECT_EQ(master_key_id(master()), "dcfae3f1efe6f09e");
	EXPECT_EQ(hex(subject_encryption_key(master(), "alice@example.com")),
	          "200a37a14af2520d0486ad7d9fd61e4c4272dc44366810401b86abbbf8d6503c");
	EXPECT_EQ(hex(subject_encryption_key(master(), "bob")),
	          "7284a2d8fa36b37b1f7d5ff84c7009c08a6536f3f2cb977123be95db0f127d07");
	const std::string pk = pseudonym_key(master());
	EXPECT_EQ(hex(pk), "0013caaf739e1321e0d23aac0a31357d7459b164616899e5002dccb6675539fe");
	EXPECT_EQ(hex(subject_pseudonym(pk, "alice@example.com")),
	          "75dbf0495ff0dbdf1befc28f5621adaee92ce688c8d45026388e61c01829d95a");
	EXPECT_EQ(hex(subject_pseudonym(pk, "bob")), "1d483a84c653d2f493eaeecaa0f0271a6edac91ae39e036aa3ae3f21b71a6b6a");
}

TEST(SubjectKeys, InfoStringsAreStable)
{
	EXPECT_EQ(kSubjectEncryptionKeyInfo, "pg_witness subject encryption key v1");
	EXPECT_EQ(kPseudonymKeyInfo, "pg_witness subject pseudonym key v1");
	EXPECT_EQ(kMasterKeyIdInfo, "pg_witness master key id v1");
}

TEST(SubjectKeys, Deterministic)
{
	EXPECT_EQ(subject_encryption_key(master(), "alice"), subject_encryption_key(master(), "alice"));
	EXPECT_EQ(pseudonym_key(master()), pseudonym_key(master()));
	EXPECT_EQ(subject_pseudonym(pseudonym_key(master()), "alice"), subject_pseudonym(pseudonym_key(master()), "alice"));
	EXPECT_EQ(master_key_id(master()), master_key_id(master()));
}

TEST(SubjectKeys, DistinctSubjectsGiveDistinctKeys)
{
	const std::string pk = pseudonym_key(master());
	const std::string subjects[] = {"alice", "alice ", "Alice", "bob", std::string("alice\0", 6), "a", "\xff"};
	for (const std::string &a : subjects)
		for (const std::string &b : subjects) {
			if (a == b)
				continue;
			EXPECT_NE(subject_encryption_key(master(), a), subject_encryption_key(master(), b)) << a << "/" << b;
			EXPECT_NE(subject_pseudonym(pk, a), subject_pseudonym(pk, b)) << a << "/" << b;
		}
}

TEST(SubjectKeys, PurposesAreSeparated)
{
	const std::string m = master();
	const std::string enc = subject_encryption_key(m, "alice");
	const std::string pk = pseudonym_key(m);
	const std::string pseudonym = subject_pseudonym(pk, "alice");
	EXPECT_NE(enc, pk);
	EXPECT_NE(enc, pseudonym);
	EXPECT_NE(pk, pseudonym);
	EXPECT_NE(enc, m);
	EXPECT_NE(pk, m);
	EXPECT_NE(from_hex(master_key_id(m)), enc.substr(0, 8));
	EXPECT_NE(from_hex(master_key_id(m)), pk.substr(0, 8));
	EXPECT_EQ(enc.size(), 32u);
	EXPECT_EQ(pk.size(), 32u);
	EXPECT_EQ(pseudonym.size(), 32u);
}

TEST(SubjectKeys, DistinctMastersGiveDistinctKeys)
{
	std::string other = master();
	other[0] ^= 0x01;
	EXPECT_NE(subject_encryption_key(master(), "alice"), subject_encryption_key(other, "alice"));
	EXPECT_NE(pseudonym_key(master()), pseudonym_key(other));
	EXPECT_NE(master_key_id(master()), master_key_id(other));
	EXPECT_EQ(master_key_id(other).size(), 16u);
}

TEST(SubjectKeys, MasterKeyFromFileText)
{
	EXPECT_EQ(master_key_from_file_text(kMasterHex), master());
	EXPECT_EQ(master_key_from_file_text(std::string(kMasterHex) + "\n"), master());
	EXPECT_EQ(master_key_from_file_text(std::string(kMasterHex) + " \r\n\t\n"), master());
	std::string upper = kMasterHex;
	for (char &c : upper)
		c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
	EXPECT_EQ(master_key_from_file_text(upper), master());
}

TEST(SubjectKeys, MasterKeyFileRejectsOtherText)
{
	const std::string key = kMasterHex;
	for (const std::string &bad :
	     {std::string(), std::string("\n"), key.substr(0, 62), key + "00", " " + key, "\n" + key,
	      key.substr(0, 63) + "g", key.substr(0, 32) + " " + key.substr(33), std::string(32, 'k')}) {
		const std::string msg = invalid_argument_message([&] { master_key_from_file_text(bad); });
		EXPECT_NE(msg.find("64 hex digits"), std::string::npos) << "'" << bad << "': " << msg;
		EXPECT_EQ(msg.find("0a0b0c"), std::string::npos) << "the message must not quote the key: " << msg;
	}
	EXPECT_NE(invalid_argument_message([&] {
		          master_key_from_file_text(key.substr(0, 63) + "g");
	          }).find("character 64 is not a hex digit"),
	          std::string::npos);
	EXPECT_NE(invalid_argument_message([&] { master_key_from_file_text(key + "00"); }).find("found 66 characters"),
	          std::string::npos);
}

TEST(SubjectKeys, BadArgumentsThrow)
{
	EXPECT_THROW(subject_encryption_key(std::string(31, 'm'), "alice"), std::invalid_argument);
	EXPECT_THROW(subject_encryption_key(kMasterHex, "alice"), std::invalid_argument); // hex, not bytes
	EXPECT_THROW(pseudonym_key(""), std::invalid_argument);
	EXPECT_THROW(master_key_id(std::string(33, 'm')), std::invalid_argument);
	EXPECT_THROW(subject_pseudonym(std::string(16, 'k'), "alice"), std::invalid_argument);
	EXPECT_THROW(subject_pseudonym(pseudonym_key(master()), ""), std::invalid_argument);
}

// The key of anonymised exports' pseudonyms is HKDF-SHA256 of the master key under its own info, and
// differs from the subject pseudonym key (docs/exports.md).
TEST(SubjectKeys, ExportPseudonymKey)
{
	const std::string master = from_hex("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
	const MasterKey key(master);
	EXPECT_EQ(key.export_pseudonym_key(), hkdf_sha256(master, "", "pg_witness export pseudonym key v1", 32));
	EXPECT_NE(key.export_pseudonym_key(), key.pseudonym_key());
	EXPECT_EQ(key.export_pseudonym_key().size(), 32u);
}
