// Encrypted entry payloads (entry_payload_seal.hpp) and the MasterKey that makes them: MasterKey
// derives exactly what subject_keys.hpp derives, payload bytes decode back to the fields they encode,
// and one sealed entry payload made by an independent implementation (Python: hkdf_sha256 as in
// test_subject_keys.cpp, AES-GCM from the `cryptography` package) opens and matches its commitment:
//
//   import struct
//   from cryptography.hazmat.primitives.ciphers.aead import AESGCM
//   master = bytes(range(32))
//   pk = hkdf_sha256(master, b"", b"pg_witness subject pseudonym key v1", 32)
//   pseudonym = hmac.new(pk, b"alice@example.com", hashlib.sha256).digest()
//   def field(t, b): return bytes([t]) + struct.pack(">I", len(b)) + b
//   payload = (field(3, b'{"id":42}') + field(2, b"alice@example.com") + b"\x00"
//              + field(3, b'{"email":"alice@example.com","id":42}'))
//   salt = b"\x11" * 16
//   key = hkdf_sha256(master, b"", b"pg_witness subject encryption key v1\x00" + pseudonym, 32)
//   head = b"\x01" + hkdf_sha256(master, b"", b"pg_witness master key id v1", 8)
//   iv = bytes(range(0xb0, 0xbc))
//   sealed = head + iv + AESGCM(key).encrypt(iv, salt + payload, head + struct.pack(">q", 42))
//   print(sealed.hex(), hashlib.sha256(b"\x03" + salt + payload).hexdigest())
//   print(hkdf_sha256(master, b"", b"pg_witness subject encryption key v1\x00", 32).hex())
#include "entry_payload_seal.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

#include "commitment.hpp"
#include "payload_cipher.hpp"
#include "sha256.hpp"
#include "subject_keys.hpp"

using namespace witness;

namespace
{

std::string master()
{
	std::string m;
	for (int i = 0; i < 32; i++)
		m += static_cast<char>(i);
	return m;
}

std::string hex(const std::string &s)
{
	return to_hex(reinterpret_cast<const uint8_t *>(s.data()), s.size());
}

const char *const kPythonSealedHex =
    "01dcfae3f1efe6f09eb0b1b2b3b4b5b6b7b8b9babb081f91b0bf49c4025fa922bff7f077b841c45a0c170c9a0fa272f84926fa27cff195"
    "364f703adc447b9287d13ea77cf8179d50f6ef5342c5672dfdce5184886403abc0d44eb1186c95a189142fddf105dc7ca03db8cdaaee0a"
    "63884cfb53d679fcb4c7c65634c84b6198db19f71dd3";
const char *const kPythonCommitmentHex = "246e06c35adeb99842f85d8d42b05ba57cc7209ecdbcc39f6e25ddf6119e7ce6";

// An INSERT's payload: row key {"id":42}, subject alice@example.com, new values.
struct Sample {
	std::string row_key = "{\"id\":42}";
	std::string subject = "alice@example.com";
	std::string new_values = "{\"email\":\"alice@example.com\",\"id\":42}";
	uint8_t salt[kCommitmentSaltSize];
	EntryView view;
	Sample(const MasterKey &key)
	{
		memset(salt, 0x11, sizeof(salt));
		view.id = 42;
		view.format = kEntryFormatCommitted;
		view.row_key = {true, nullptr, 0, row_key.data(), row_key.size()};
		view.subject = {true, subject.data(), subject.size()};
		view.new_values = {true, nullptr, 0, new_values.data(), new_values.size()};
		view.salt = salt;
		const std::string p = key.pseudonym(subject);
		view.has_pseudonym = true;
		memcpy(view.pseudonym.data(), p.data(), 32);
	}
	std::string_view pseudonym() const { return {reinterpret_cast<const char *>(view.pseudonym.data()), 32}; }
};

} // namespace

TEST(MasterKey, DerivesWhatSubjectKeysDerive)
{
	const MasterKey key(master());
	EXPECT_EQ(key.id_hex(), master_key_id(master()));
	EXPECT_EQ(key.pseudonym("bob"), subject_pseudonym(pseudonym_key(master()), "bob"));
	const std::string binary(32, '\xa5');
	for (const std::string &context : {std::string("alice@example.com"), std::string(), binary})
		EXPECT_EQ(key.encryption_key(context), subject_encryption_key(master(), context));
	EXPECT_EQ(hex(key.encryption_key("")), "1e8d243c3de556ff96db98e2b1cd3c230c1367a1518b5bec2c30f6f44f37d2b5");
	EXPECT_THROW(MasterKey(std::string(31, 'm')), std::invalid_argument);
}

TEST(MasterKey, SealsInThePayloadCipherFormat)
{
	const MasterKey key(master());
	const std::string sealed = key.seal("alice", "{\"a\":1}", "entry 7");
	EXPECT_EQ(decrypt_payload(master(), "alice", sealed, "entry 7"), "{\"a\":1}");
	EXPECT_EQ(key.open("alice", encrypt_payload(master(), "alice", "x", "y"), "y"), "x");
	EXPECT_EQ(sealed_payload_key_id(sealed), key.id_hex());
}

TEST(EntryPayloadSeal, DecodePayloadInvertsEncodePayload)
{
	const MasterKey key(master());
	Sample s(key);
	std::string bytes;
	encode_payload(s.view, bytes);
	EntryView back;
	decode_payload(bytes, &back);
	std::string again;
	encode_payload(back, again);
	EXPECT_EQ(again, bytes);
	EXPECT_EQ(std::string(back.subject.ptr, back.subject.len), s.subject);
	EXPECT_FALSE(back.old_values.present);
	EXPECT_THROW(decode_payload(bytes.substr(0, bytes.size() - 1), &back), std::invalid_argument);
	EXPECT_THROW(decode_payload(bytes + "x", &back), std::invalid_argument);
	EXPECT_THROW(decode_payload(std::string("\x05", 1), &back), std::invalid_argument);
	EXPECT_THROW(decode_payload("", &back), std::invalid_argument);
}

TEST(EntryPayloadSeal, RoundTripKeepsTheCommitment)
{
	const MasterKey key(master());
	Sample s(key);
	const Hash commitment = entry_payload_commitment(s.view);
	Hash from_seal{};
	const std::string sealed = seal_entry_payload(key, s.view, &from_seal);
	EXPECT_EQ(from_seal, commitment); // one encoding serves both
	EXPECT_EQ(sealed.size(), kSealedPayloadOverhead + kCommitmentSaltSize + 5 + s.row_key.size() + 5 +
	                             s.subject.size() + 1 + 5 + s.new_values.size());
	const std::string plain = open_entry_payload(key, 42, s.pseudonym(), sealed);
	EntryView opened;
	decode_payload(std::string_view(plain).substr(kCommitmentSaltSize), &opened);
	opened.salt = reinterpret_cast<const uint8_t *>(plain.data());
	EXPECT_EQ(entry_payload_commitment(opened), commitment);
}

TEST(EntryPayloadSeal, OpensWhatAnIndependentImplementationSealed)
{
	const MasterKey key(master());
	Sample s(key);
	const std::string plain = open_entry_payload(key, 42, s.pseudonym(), from_hex(kPythonSealedHex));
	EXPECT_EQ(plain.substr(0, kCommitmentSaltSize), std::string(kCommitmentSaltSize, '\x11'));
	EntryView opened;
	decode_payload(std::string_view(plain).substr(kCommitmentSaltSize), &opened);
	opened.salt = reinterpret_cast<const uint8_t *>(plain.data());
	const Hash c = entry_payload_commitment(opened);
	EXPECT_EQ(to_hex(c.data(), c.size()), kPythonCommitmentHex);
	EXPECT_EQ(c, entry_payload_commitment(s.view));
}

TEST(EntryPayloadSeal, BoundToItsEntryAndSubject)
{
	const MasterKey key(master());
	Sample s(key);
	const std::string sealed = seal_entry_payload(key, s.view);
	EXPECT_THROW(open_entry_payload(key, 43, s.pseudonym(), sealed), PayloadAuthError);
	const std::string other = key.pseudonym("bob");
	EXPECT_THROW(open_entry_payload(key, 42, other, sealed), PayloadAuthError);
	EXPECT_THROW(open_entry_payload(key, 42, "", sealed), PayloadAuthError);
	std::string altered = sealed;
	altered[40] ^= 1;
	EXPECT_THROW(open_entry_payload(key, 42, s.pseudonym(), altered), PayloadAuthError);
	std::string other_master = master();
	other_master[0] = 'x';
	const MasterKey key2(other_master);
	EXPECT_THROW(open_entry_payload(key2, 42, s.pseudonym(), sealed), std::invalid_argument);
}

TEST(EntryPayloadSeal, WithoutSubjectUsesTheEmptyContext)
{
	const MasterKey key(master());
	Sample s(key);
	s.view.has_pseudonym = false;
	const std::string sealed = seal_entry_payload(key, s.view);
	EXPECT_EQ(open_entry_payload(key, 42, "", sealed).substr(0, 16), std::string(16, '\x11'));
	EXPECT_THROW(open_entry_payload(key, 42, s.pseudonym(), sealed), PayloadAuthError);
	s.view.salt = nullptr;
	EXPECT_THROW(seal_entry_payload(key, s.view), std::invalid_argument);
}

TEST(EntryPayloadSeal, ResealMovesAPayloadToAnotherKeyAndKeepsItsPlaintext)
{
	const MasterKey old_key(master());
	std::string other_master = master();
	other_master[0] = 'x';
	const MasterKey new_key(other_master);
	Sample s(old_key);
	const std::string sealed = seal_entry_payload(old_key, s.view);
	const std::string resealed = reseal_entry_payload(old_key, new_key, 42, s.pseudonym(), sealed);
	EXPECT_EQ(sealed_payload_key_id(resealed), new_key.id_hex());
	EXPECT_EQ(resealed.size(), sealed.size());
	EXPECT_NE(resealed.substr(9, 12), sealed.substr(9, 12)); // a fresh IV
	EXPECT_EQ(open_entry_payload(new_key, 42, s.pseudonym(), resealed), open_entry_payload(old_key, 42, s.pseudonym(), sealed));
	// Still bound to its entry and subject, and no longer readable with the old key.
	EXPECT_THROW(open_entry_payload(new_key, 43, s.pseudonym(), resealed), PayloadAuthError);
	EXPECT_THROW(open_entry_payload(new_key, 42, "", resealed), PayloadAuthError);
	EXPECT_THROW(open_entry_payload(old_key, 42, s.pseudonym(), resealed), std::invalid_argument);
	// Only the key that sealed it can open it for resealing; an altered payload is refused.
	EXPECT_THROW(reseal_entry_payload(new_key, old_key, 42, s.pseudonym(), sealed), std::invalid_argument);
	std::string altered = sealed;
	altered[40] ^= 1;
	EXPECT_THROW(reseal_entry_payload(old_key, new_key, 42, s.pseudonym(), altered), PayloadAuthError);
	// Without a subject: the empty context is kept.
	s.view.has_pseudonym = false;
	const std::string plain_sealed = seal_entry_payload(old_key, s.view);
	const std::string plain_resealed = reseal_entry_payload(old_key, new_key, 42, "", plain_sealed);
	EXPECT_EQ(open_entry_payload(new_key, 42, "", plain_resealed).substr(0, 16), std::string(16, '\x11'));
}

TEST(EntryPayloadSeal, MoveGivesAPayloadSealedUnderAProvisionalIdItsRealOne)
{
	const MasterKey key(master());
	Sample s(key);
	s.view.id = 0; // a held entry is sealed before it has its id
	const std::string held = seal_entry_payload(key, s.view);
	const std::string moved = move_entry_payload(key, 0, 77, s.pseudonym(), held);
	EXPECT_EQ(moved.size(), held.size());
	EXPECT_EQ(open_entry_payload(key, 77, s.pseudonym(), moved), open_entry_payload(key, 0, s.pseudonym(), held));
	// Bound to the new id only, and still to its subject.
	EXPECT_THROW(open_entry_payload(key, 0, s.pseudonym(), moved), PayloadAuthError);
	EXPECT_THROW(open_entry_payload(key, 77, "", moved), PayloadAuthError);
	// It opens only under the id it was sealed for.
	EXPECT_THROW(move_entry_payload(key, 1, 77, s.pseudonym(), held), PayloadAuthError);
}
