// The stored form of an encrypted payload: self-describing, so that a reader knows the format
// version and which master key encrypted it (for key rotation) before trying to decrypt.
//
//   sealed = 0x01 || key_id (8) || iv (12) || ciphertext || tag (16)
//
// 0x01 is the format version; key_id is master_key_id(master) as 8 raw bytes; iv is fresh random
// bytes per call; ciphertext || tag is AES-256-GCM under subject_encryption_key(master, subject)
// with associated data 0x01 || key_id || aad (the 9-byte header, then the caller's aad), so the header
// is authenticated too. The ciphertext is as long as the plaintext: 37 bytes of overhead in all.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

#include "aes_gcm.hpp"
#include "subject_keys.hpp"

namespace witness
{

constexpr char kSealedPayloadVersion = 0x01;
constexpr size_t kSealedPayloadHeaderSize = 1 + kMasterKeyIdSize; // version, key id
constexpr size_t kSealedPayloadOverhead = kSealedPayloadHeaderSize + kAes256GcmIvSize + kAes256GcmTagSize; // 37

// A sealed payload that fails authentication under the master key that encrypted it: the subject or
// aad differ from those it was sealed with, or its bytes were altered.
struct PayloadAuthError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// Encrypts plaintext for one data subject. aad (e.g. the entry's identity) is authenticated, not
// stored: decrypting needs the same bytes. Throws std::invalid_argument on a master key that is not
// 32 bytes or an empty subject, std::runtime_error if libcrypto fails.
std::string encrypt_payload(std::string_view master, std::string_view subject, std::string_view plaintext,
                            std::string_view aad);

// The plaintext of a sealed payload. Throws PayloadAuthError when authentication fails, and
// std::invalid_argument when sealed is not in this format (too short, unknown version) or was
// encrypted under another master key, or on the argument errors of encrypt_payload.
std::string decrypt_payload(std::string_view master, std::string_view subject, std::string_view sealed,
                            std::string_view aad);

// The 9-byte header (version, key id) of a sealed payload. Throws std::invalid_argument when sealed is
// too short or of an unknown version.
std::string_view sealed_payload_header(std::string_view sealed);

// The id (16 hex digits) of the master key that encrypted a sealed payload, without decrypting it.
// Throws std::invalid_argument when sealed is not in this format.
std::string sealed_payload_key_id(std::string_view sealed);

} // namespace witness
