// How an entry of an encrypted table keeps its payload (docs/personal-data.md, "Encryption at rest"):
//
//   sealed_payload = seal(context = the entry's subject pseudonym (32 bytes), or empty without a subject,
//                         plaintext = salt (16) || payload bytes (docs/hashing.md, format 2),
//                         aad = the entry's id as 8 bytes big-endian)
//
// in the sealed format of payload_cipher.hpp. The key context is the pseudonym, not the subject, so
// that whoever holds the master key can open an entry from its header alone (verification, key
// rotation) without knowing whose it is. The salt travels inside: with salt and commitment in clear, a
// guessed payload could be confirmed by hashing it. The aad ties the ciphertext to its entry.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "entry_encoding.hpp"
#include "master_key.hpp"

namespace witness
{

// The 8-byte associated data of entry `id`.
std::string entry_payload_aad(int64_t id);

// Seals entry's salt and payload (entry.salt set, payload fields as captured) under key, using
// entry.id and, when entry.has_pseudonym, entry.pseudonym. With commitment, also sets it to the
// payload's commitment (entry_payload_commitment), from the same encoding of the payload.
std::string seal_entry_payload(const MasterKey &key, const EntryView &entry, Hash *commitment = nullptr);

// Opens a sealed payload of entry `id` into salt || payload bytes (at least 16 bytes). Throws what
// MasterKey::open throws, and std::invalid_argument when the plaintext is shorter than a salt.
std::string open_entry_payload(const MasterKey &key, int64_t id, std::string_view pseudonym,
                               std::string_view sealed);

// Key rotation: opens a sealed payload of entry `id` under `from` and seals the same salt || payload
// bytes under `to` (fresh IV, same aad and key context), so that nothing a leaf hash covers changes.
// Throws what open_entry_payload throws.
std::string reseal_entry_payload(const MasterKey &from, const MasterKey &to, int64_t id, std::string_view pseudonym,
                                 std::string_view sealed);

// An entry sealed under a provisional id and given its id later (a change held back until an enclosing
// statement's entries are written, docs/capture.md): the payload sealed for entry `from_id` opened and
// sealed again for entry `to_id` under the same key. Throws what open_entry_payload throws.
std::string move_entry_payload(const MasterKey &key, int64_t from_id, int64_t to_id, std::string_view pseudonym,
                               std::string_view sealed);

} // namespace witness
