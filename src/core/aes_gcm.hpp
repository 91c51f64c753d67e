// AES-256-GCM authenticated encryption over OpenSSL 3's EVP_CIPHER: 32-byte key, 12-byte IV,
// 16-byte tag, optional associated data (authenticated, not encrypted).
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace witness
{

constexpr size_t kAes256GcmKeySize = 32;
constexpr size_t kAes256GcmIvSize = 12;
constexpr size_t kAes256GcmTagSize = 16;

// Encrypts plaintext and returns ciphertext || tag (plaintext.size() + 16 bytes). Never reuse an IV
// with the same key. Throws std::invalid_argument on a key that is not 32 bytes or an IV that is not
// 12, std::runtime_error if libcrypto fails.
std::string aes256gcm_seal(std::string_view key32, std::string_view iv12, std::string_view aad,
                           std::string_view plaintext);

// The same into out (plaintext.size() + 16 bytes), for callers that place the ciphertext inside a
// larger buffer; the associated data is aad_head followed by aad_tail, fed without joining them.
void aes256gcm_seal_to(std::string_view key32, std::string_view iv12, std::string_view aad_head,
                       std::string_view aad_tail, std::string_view plaintext, unsigned char *out);

// Checks and decrypts ciphertext || tag. True with the plaintext in plaintext_out; false (and
// plaintext_out cleared) when the tag does not match: wrong key, IV or aad, or altered bytes. Throws
// std::invalid_argument on bad key or IV sizes or when sealed is shorter than the tag.
bool aes256gcm_open(std::string_view key32, std::string_view iv12, std::string_view aad, std::string_view sealed,
                    std::string &plaintext_out);

} // namespace witness
