// The keys pg_witness derives from its master key, one per purpose, so that no key serves two ends.
// Every key is HKDF-SHA256 (RFC 5869) of the 32-byte master key with an empty salt (the master key is
// already uniformly random; RFC 5869 section 3.1) and one of these `info` strings. They are part of
// the stored format: changing one makes existing ciphertext and pseudonyms unreadable, so a new
// derivation gets a new string ("... v2") and the old one stays.
//
//   subject encryption key  32 bytes  info = "pg_witness subject encryption key v1" || 0x00 || subject
//   pseudonym key           32 bytes  info = "pg_witness subject pseudonym key v1"
//   master key id            8 bytes  info = "pg_witness master key id v1"   (shown as 16 hex digits)
//
// The fixed strings contain no 0x00 byte, so in the subject encryption key's info the first 0x00 ends
// the string and everything after it is the subject, whatever bytes it holds: no two (purpose,
// subject) pairs share an info. A subject's pseudonym is HMAC-SHA256(pseudonym key, subject).
// Subjects are byte strings; the caller passes each subject in one canonical form (e.g. its UTF-8
// text) so that the same subject always gives the same keys.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace witness
{

constexpr size_t kMasterKeySize = 32;
constexpr size_t kMasterKeyIdSize = 8;

constexpr std::string_view kSubjectEncryptionKeyInfo = "pg_witness subject encryption key v1";
constexpr std::string_view kPseudonymKeyInfo = "pg_witness subject pseudonym key v1";
constexpr std::string_view kMasterKeyIdInfo = "pg_witness master key id v1";

// The 32-byte master key held in a key file: exactly 64 hex digits (what `openssl rand -hex 32`
// writes), trailing whitespace ignored. Throws std::invalid_argument otherwise; the message never
// quotes the file's content.
std::string master_key_from_file_text(std::string_view file_text);

// The AES-256 key for one data subject's payloads (32 bytes). pg_witness passes the subject's
// pseudonym as `subject` (the reader of an entry has its pseudonym, not its subject), and an empty
// string for the entries of an encrypted table that have no subject. Throws std::invalid_argument
// when master is not 32 bytes.
std::string subject_encryption_key(std::string_view master, std::string_view subject);

// The HMAC key for subject pseudonyms (32 bytes). Throws std::invalid_argument when master is not
// 32 bytes.
std::string pseudonym_key(std::string_view master);

// The keyed pseudonym under which a subject is looked up: HMAC-SHA256(key, subject), 32 raw bytes.
// key is pseudonym_key(master). Throws std::invalid_argument when key is not 32 bytes or subject is
// empty.
std::string subject_pseudonym(std::string_view key, std::string_view subject);

// Names a master key without revealing it: 16 lower-case hex digits (8 bytes). Stored with each
// ciphertext so that a reader can tell which master key encrypted it (key rotation). Throws
// std::invalid_argument when master is not 32 bytes.
std::string master_key_id(std::string_view master);

} // namespace witness
