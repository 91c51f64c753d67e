// Sealed payloads: a version byte and master key id, then AES-256-GCM under the subject's key.
#include "payload_cipher.hpp"

#include <openssl/crypto.h>

#include "aes_gcm.hpp"
#include "random_bytes.hpp"
#include "sha256.hpp"
#include "subject_keys.hpp"

namespace witness
{

namespace
{

// A derived key that is wiped from memory when it goes out of scope.
struct SubjectKey {
	std::string bytes;
	SubjectKey(std::string_view master, std::string_view subject) : bytes(subject_encryption_key(master, subject)) {}
	~SubjectKey() { OPENSSL_cleanse(bytes.data(), bytes.size()); }
	SubjectKey(const SubjectKey &) = delete;
	SubjectKey &operator=(const SubjectKey &) = delete;
};

std::string header(std::string_view master)
{
	std::string h(1, kSealedPayloadVersion);
	h += from_hex(master_key_id(master));
	return h;
}

std::string gcm_aad(std::string_view head, std::string_view aad)
{
	std::string a(head);
	a += aad;
	return a;
}

// Checks the format and returns the header; the key id is not compared here.
std::string_view parse_header(std::string_view sealed)
{
	if (sealed.size() < kSealedPayloadOverhead)
		throw std::invalid_argument("sealed payload is too short: " + std::to_string(sealed.size()) +
		                            " bytes, the format needs at least " + std::to_string(kSealedPayloadOverhead));
	if (sealed[0] != kSealedPayloadVersion)
		throw std::invalid_argument("sealed payload has unknown format version " +
		                            std::to_string(static_cast<unsigned char>(sealed[0])));
	return sealed.substr(0, kSealedPayloadHeaderSize);
}

std::string hex(std::string_view bytes)
{
	return to_hex(reinterpret_cast<const uint8_t *>(bytes.data()), bytes.size());
}

} // namespace

std::string encrypt_payload(std::string_view master, std::string_view subject, std::string_view plaintext,
                            std::string_view aad)
{
	const SubjectKey key(master, subject);
	const std::string head = header(master);
	const std::string iv = random_bytes(kAes256GcmIvSize);
	return head + iv + aes256gcm_seal(key.bytes, iv, gcm_aad(head, aad), plaintext);
}

std::string decrypt_payload(std::string_view master, std::string_view subject, std::string_view sealed,
                            std::string_view aad)
{
	const std::string_view head = parse_header(sealed);
	const std::string expected = header(master);
	if (head != expected)
		throw std::invalid_argument("sealed payload was encrypted under another master key (id " + hex(head.substr(1)) +
		                            "); the master key in use has id " + hex(std::string_view(expected).substr(1)));
	const SubjectKey key(master, subject);
	const std::string_view iv = sealed.substr(kSealedPayloadHeaderSize, kAes256GcmIvSize);
	const std::string_view body = sealed.substr(kSealedPayloadHeaderSize + kAes256GcmIvSize);
	std::string plaintext;
	if (!aes256gcm_open(key.bytes, iv, gcm_aad(head, aad), body, plaintext))
		throw PayloadAuthError("sealed payload failed authentication: wrong data subject or associated data, "
		                       "or altered bytes");
	return plaintext;
}

std::string sealed_payload_key_id(std::string_view sealed)
{
	return hex(parse_header(sealed).substr(1));
}

} // namespace witness
