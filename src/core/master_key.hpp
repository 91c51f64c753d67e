// One loaded master key and everything derived from it, computed once: its id, the pseudonym key and
// HKDF's pseudorandom key, so that sealing an entry's payload costs one HMAC for the subject's key and
// one AES-256-GCM pass, not two full key derivations (docs/personal-data.md, "Keys and ciphertext
// formats"). The results are exactly those of subject_keys.hpp and payload_cipher.hpp, which the unit
// tests check against independent vectors.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "hmac.hpp"

namespace witness
{

class MasterKey
{
  public:
	// Throws std::invalid_argument when master is not 32 bytes.
	explicit MasterKey(std::string_view master);
	~MasterKey();
	MasterKey(const MasterKey &) = delete;
	MasterKey &operator=(const MasterKey &) = delete;

	// master_key_id(master): 16 lower-case hex digits.
	const std::string &id_hex() const { return id_hex_; }
	// subject_pseudonym(pseudonym_key(master), subject): 32 raw bytes.
	std::string pseudonym(std::string_view subject) const;
	// pseudonym_key(master): 32 raw bytes, for keeping it (wrapped) after the master key is retired.
	const std::string &pseudonym_key() const { return pseudonym_key_; }
	// The key of the pseudonyms in anonymised exports (docs/exports.md): HKDF-SHA256 of the master key
	// with info "pg_witness export pseudonym key v1", 32 raw bytes. Wiped by the caller.
	std::string export_pseudonym_key() const;
	// subject_encryption_key(master, context): 32 raw bytes. Wiped by the caller.
	std::string encryption_key(std::string_view context) const;
	void encryption_key(std::string_view context, unsigned char out[32]) const;
	// encrypt_payload(master, context, plaintext, aad).
	std::string seal(std::string_view context, std::string_view plaintext, std::string_view aad) const;
	// decrypt_payload(master, context, sealed, aad), with its three kinds of failure.
	std::string open(std::string_view context, std::string_view sealed, std::string_view aad) const;

  private:
	std::unique_ptr<HmacSha256> prk_mac_;       // HMAC keyed with HKDF-Extract(salt = empty, master)
	std::unique_ptr<HmacSha256> pseudonym_mac_; // HMAC keyed with pseudonym_key(master)
	std::string id_raw_;                        // 8 bytes
	std::string id_hex_;
	std::string header_; // 0x01 || id_raw_
	std::string pseudonym_key_;
};

} // namespace witness
