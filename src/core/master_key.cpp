#include "master_key.hpp"

#include <cstring>
#include <stdexcept>

#include <openssl/crypto.h>

#include "aes_gcm.hpp"
#include "hkdf.hpp"
#include "hmac.hpp"
#include "payload_cipher.hpp"
#include "random_bytes.hpp"
#include "sha256.hpp"
#include "subject_keys.hpp"

namespace witness
{

namespace
{

void wipe(std::string &s)
{
	OPENSSL_cleanse(s.data(), s.size());
}

// A derived key that is wiped when it goes out of scope.
struct KeyBytes {
	std::string bytes;
	explicit KeyBytes(std::string b) : bytes(std::move(b)) {}
	~KeyBytes() { wipe(bytes); }
	KeyBytes(const KeyBytes &) = delete;
	KeyBytes &operator=(const KeyBytes &) = delete;
};

std::string hex(std::string_view bytes)
{
	return to_hex(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
}

} // namespace

MasterKey::MasterKey(std::string_view master)
{
	if (master.size() != kMasterKeySize)
		throw std::invalid_argument("the master key must be 32 bytes");
	// RFC 5869 2.2: an absent salt is HashLen zero bytes.
	std::string prk = hmac_sha256(std::string(32, '\0'), master);
	std::string pk = witness::pseudonym_key(master);
	prk_mac_ = std::make_unique<HmacSha256>(prk);
	pseudonym_mac_ = std::make_unique<HmacSha256>(pk);
	pseudonym_key_ = pk;
	wipe(prk);
	wipe(pk);
	id_hex_ = master_key_id(master);
	id_raw_ = from_hex(id_hex_);
	header_ = std::string(1, kSealedPayloadVersion) + id_raw_;
}

MasterKey::~MasterKey()
{
	wipe(pseudonym_key_);
}

std::string MasterKey::pseudonym(std::string_view subject) const
{
	if (subject.empty())
		throw std::invalid_argument("the data subject is empty");
	return pseudonym_mac_->mac(subject);
}

// HKDF-Expand for one 32-byte block, as below; the info has no 0x00 byte, so it is no subject key's.
std::string MasterKey::export_pseudonym_key() const
{
	return prk_mac_->mac(std::string("pg_witness export pseudonym key v1\x01"));
}

// HKDF-Expand for one 32-byte block: T(1) = HMAC(PRK, info || 0x00 || context || 0x01).
void MasterKey::encryption_key(std::string_view context, unsigned char out[32]) const
{
	const std::string_view info[] = {kSubjectEncryptionKeyInfo, std::string_view("\0", 1), context,
	                                 std::string_view("\x01", 1)};
	prk_mac_->mac(info, 4, out);
}

std::string MasterKey::encryption_key(std::string_view context) const
{
	std::string key(32, '\0');
	encryption_key(context, reinterpret_cast<unsigned char *>(key.data()));
	return key;
}

// header || IV || AES-256-GCM(ciphertext || tag), written into the one string returned: sealing is per
// captured entry, and building it from pieces cost more allocations than the cipher's own work.
std::string MasterKey::seal(std::string_view context, std::string_view plaintext, std::string_view aad) const
{
	unsigned char key[kAes256GcmKeySize];
	encryption_key(context, key);
	std::string sealed(header_.size() + kAes256GcmIvSize + plaintext.size() + kAes256GcmTagSize, '\0');
	auto *out = reinterpret_cast<unsigned char *>(sealed.data());
	memcpy(out, header_.data(), header_.size());
	unsigned char *iv = out + header_.size();
	try {
		random_fill_pooled(iv, kAes256GcmIvSize);
		aes256gcm_seal_to(std::string_view(reinterpret_cast<const char *>(key), sizeof(key)),
		                  std::string_view(reinterpret_cast<const char *>(iv), kAes256GcmIvSize), header_, aad,
		                  plaintext, iv + kAes256GcmIvSize);
	} catch (...) {
		OPENSSL_cleanse(key, sizeof(key));
		throw;
	}
	OPENSSL_cleanse(key, sizeof(key));
	return sealed;
}

std::string MasterKey::open(std::string_view context, std::string_view sealed, std::string_view aad) const
{
	const std::string_view head = sealed_payload_header(sealed);
	if (head != header_)
		throw std::invalid_argument("sealed payload was encrypted under another master key (id " + hex(head.substr(1)) +
		                            "); the master key in use has id " + id_hex_);
	const KeyBytes key(encryption_key(context));
	const std::string_view iv = sealed.substr(kSealedPayloadHeaderSize, kAes256GcmIvSize);
	const std::string_view body = sealed.substr(kSealedPayloadHeaderSize + kAes256GcmIvSize);
	std::string plaintext;
	if (!aes256gcm_open(key.bytes, iv, header_ + std::string(aad), body, plaintext))
		throw PayloadAuthError("sealed payload failed authentication: wrong data subject or associated data, "
		                       "or altered bytes");
	return plaintext;
}

} // namespace witness
