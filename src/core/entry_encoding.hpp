// Canonical byte encoding of one trail entry (format version 1) and its leaf hash.
//
// This header has no PostgreSQL dependency: the capture trigger, SQL verification and the
// standalone verifier all encode entries through it, so a hash computed at capture time can be
// recomputed anywhere from stored data. The byte format is specified in docs/hashing.md.
//
// canonical_bytes(entry) =
//     0x01                                   format version
//     INT id, INT xid, INT stmt_time_us      (stmt_time_us: microseconds since 1970-01-01 00:00:00 UTC)
//     TEXT op                                ("INSERT", "UPDATE", "DELETE" or "TRUNCATE")
//     TEXT schema_name, TEXT table_name
//     INT tags                               (bit mask, see Tag below)
//     JSON|NULL row_key, TEXT|NULL subject, JSON|NULL old_values, JSON|NULL new_values
//     TEXT session_user, TEXT current_user, TEXT|NULL application_name, TEXT|NULL client_addr,
//     INT|NULL client_port, INT backend_pid, TEXT|NULL actor, TEXT|NULL reason, JSON|NULL context
// where each field is one type byte then its payload:
//     NULL 0x00 (no payload)
//     INT  0x01, 8 bytes big-endian two's complement
//     TEXT 0x02, 4-byte big-endian length, UTF-8 bytes
//     JSON 0x03, 4-byte big-endian length, canonical JSON text (see canonical_json.hpp)
// leaf_hash = SHA-256(0x00 || canonical_bytes)
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "commitment.hpp"
#include "hash.hpp"

namespace witness
{

constexpr uint8_t kEntryFormatVersion = 1;
// Format 2: the leaf covers the header and a commitment to the payload (docs/hashing.md, "format 2").
constexpr uint8_t kEntryFormatCommitted = 2;

// Classification bits stored in an entry's tags.
enum Tag : int64_t {
	kTagPii = 1,
	kTagFinancial = 2,
	kTagConfidential = 4,
	kTagRestricted = 8,
	kTagInternal = 16,
};

// How a captured value appears inside a canonical JSON object.
enum class JsonKind : uint8_t {
	Null,   // text ignored
	Bool,   // text is "true" or "false"
	Number, // text is the decimal number exactly as PostgreSQL's numeric_out prints it
	String, // text is the raw UTF-8 value; the encoder escapes it
	Raw,    // text is already canonical JSON (a nested jsonb value)
};

struct JsonField {
	const char *name = nullptr;
	size_t name_len = 0;
	JsonKind kind = JsonKind::Null;
	const char *text = nullptr;
	size_t text_len = 0;
};

// A JSON object field of an entry. Either SQL NULL (present == false), a flat object given as
// fields sorted by name (byte order, unique), or already-canonical JSON text (canonical != nullptr).
struct JsonDoc {
	bool present = false;
	const JsonField *fields = nullptr;
	size_t nfields = 0;
	const char *canonical = nullptr;
	size_t canonical_len = 0;
};

struct TextField {
	bool present = false;
	const char *ptr = nullptr;
	size_t len = 0;
};

// Where an entry's commitment came from (format 2).
enum class CommitmentSource : uint8_t {
	Stored,     // stored in full (or missing or malformed: zeros, and the leaf then fails)
	Reproduced, // salt and payload reproduced the stored prefix (kStoredCommitmentPrefix)
	Lost,       // only the prefix is stored and salt and payload do not reproduce it: the payload was
	            // changed or removed, and the leaf hash cannot be recomputed
};

struct IntField {
	bool present = false;
	int64_t value = 0;
};

// Borrowed view of one entry; nothing here is owned.
struct EntryView {
	int64_t id = 0;
	int64_t xid = 0;
	int64_t stmt_time_us = 0;
	char op = 'I'; // 'I', 'U', 'D' or 'T'
	TextField schema_name;
	TextField table_name;
	int64_t tags = 0;
	JsonDoc row_key;
	TextField subject;
	JsonDoc old_values;
	JsonDoc new_values;
	TextField session_user;
	TextField current_user;
	TextField application_name;
	TextField client_addr;
	IntField client_port;
	int64_t backend_pid = 0;
	TextField actor;
	TextField reason;
	JsonDoc context;

	// Format 2 only. The payload (row_key, subject, old_values, new_values) is hashed into
	// `commitment` with `salt`; once erased, salt is nullptr and the payload fields are absent, and
	// the stored commitment stands in for them.
	uint8_t format = kEntryFormatVersion;
	const uint8_t *salt = nullptr; // kCommitmentSaltSize bytes
	Hash commitment{};
	CommitmentSource commitment_source = CommitmentSource::Stored;
	bool has_pseudonym = false; // the keyed pseudonym of the subject, when the entry has a subject
	Hash pseudonym{};
};

// Appends the canonical JSON object {"name":value,...} of fields (sorted by name bytewise, unique)
// to out: the text stored in an entry's JSON columns and covered by its hash.
// Throws std::invalid_argument on malformed fields.
void write_fields_object(const JsonField *fields, size_t nfields, std::string &out);

// Appends canonical_bytes(entry) to out. Throws std::invalid_argument on malformed input
// (unsorted or duplicate field names, unknown op, a field longer than 2^32-1 bytes).
void encode_entry(const EntryView &entry, std::string &out);

// SHA-256(0x00 || canonical_bytes(entry)); reuses a per-thread buffer, so it allocates rarely.
// For format 2 the stored entry.commitment is hashed, whether or not the payload is still there.
Hash entry_leaf_hash(const EntryView &entry);

// The leaf hash an entry would have had under another id: encoding is canonical_bytes(entry) as
// encode_entry wrote it, whose first field after the format byte is the id. What verification uses
// to tell that two entries traded ids when each stores only the first bytes of its leaf hash.
// Throws std::invalid_argument when encoding does not start with a format byte and an integer.
Hash leaf_hash_under_id(std::string_view encoding, int64_t id);

// Format 2: appends the canonical payload bytes (row_key, subject, old_values, new_values).
void encode_payload(const EntryView &entry, std::string &out);

// Format 2: the inverse of encode_payload. Points entry's row_key, subject, old_values and new_values
// into bytes (which must outlive them). Throws std::invalid_argument on bytes encode_payload cannot
// have written.
void decode_payload(std::string_view bytes, EntryView *entry);

// Format 2: SHA-256(0x03 || salt || canonical payload bytes) of the entry's payload; throws
// std::invalid_argument when the entry has no salt (its payload was erased).
Hash entry_payload_commitment(const EntryView &entry);

// Format 2: whether anything of the entry's payload (row key, subject, old or new values) or its salt
// is there in clear. An erasure leaves none of them.
bool payload_in_clear(const EntryView &entry) noexcept;

// Format 2: whether the leaf hash can be checked against what is stored. Not where only the
// commitment's prefix is stored and the payload in clear no longer reproduces it: the payload check
// reports that entry as changed. Without payload and salt a lost prefix is checked (and fails): an
// erasure stores the whole commitment, so a prefix there was cut, and the header must not go unchecked.
bool leaf_checkable(const EntryView &entry) noexcept;

// Format 2: sets entry->commitment and entry->commitment_source from a stored commitment of len bytes
// (docs/hashing.md, "How entries store their commitment"): all 32 bytes, or the first
// kStoredCommitmentPrefix completed from entry's salt and payload (set before the call). Any other
// length leaves zeros. Never throws on a malformed payload: that one is Lost.
void restore_commitment(EntryView *entry, const uint8_t *stored, size_t len);

// The operation word for an op code ("INSERT" for 'I', ...); nullptr for an unknown code.
const char *op_name(char op) noexcept;

} // namespace witness
