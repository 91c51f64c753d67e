// Sealed payloads: a version byte and master key id, then AES-256-GCM under the subject's key.
#include "payload_cipher.hpp"

#include <openssl/crypto.h>

#include "master_key.hpp"
#include "sha256.hpp"
#include "subject_keys.hpp"

namespace witness
{

std::string_view sealed_payload_header(std::string_view sealed)
{
	if (sealed.size() < kSealedPayloadOverhead)
		throw std::invalid_argument("sealed payload is too short: " + std::to_string(sealed.size()) +
		                            " bytes, the format needs at least " + std::to_string(kSealedPayloadOverhead));
	if (sealed[0] != kSealedPayloadVersion)
		throw std::invalid_argument("sealed payload has unknown format version " +
		                            std::to_string(static_cast<unsigned char>(sealed[0])));
	return sealed.substr(0, kSealedPayloadHeaderSize);
}

std::string encrypt_payload(std::string_view master, std::string_view subject, std::string_view plaintext,
                            std::string_view aad)
{
	return MasterKey(master).seal(subject, plaintext, aad);
}

std::string decrypt_payload(std::string_view master, std::string_view subject, std::string_view sealed,
                            std::string_view aad)
{
	return MasterKey(master).open(subject, sealed, aad);
}

std::string sealed_payload_key_id(std::string_view sealed)
{
	const std::string_view id = sealed_payload_header(sealed).substr(1);
	return to_hex(reinterpret_cast<const uint8_t *>(id.data()), id.size());
}

} // namespace witness
