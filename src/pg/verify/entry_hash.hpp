// Stored entries read back for hashing and verification: a witness.entry row as the core's EntryView.
#pragma once

#include "pg/common/pg_includes.hpp"

#include "core/entry_encoding.hpp"
#include "core/stored_leaf.hpp"

namespace witness::pg
{

// Deforms argument `arg` of fcinfo, a witness.entry row, into values/nulls (EntryNatts each; the
// format-2 columns NULL for a row of version 0.1). Raises ERROR when the argument is NULL or is not a
// complete entry.
void entry_row_from_arg(FunctionCallInfo fcinfo, int arg, Datum *values, bool *nulls);
// The same, NULLs where an entry needs values included: for readers that describe a tampered row
// rather than refuse it.
void entry_row_as_stored(FunctionCallInfo fcinfo, int arg, Datum *values, bool *nulls);

// Reads a deformed witness.entry row (trail_catalog.hpp's layout) into an EntryView over palloc'd data.
void entry_view_from_row(const Datum *values, const bool *nulls, EntryView *view);

// The hash of a deformed row's content into recomputed (32 bytes); false, and recomputed all 0xff, when
// it cannot be hashed: an unknown format, a NULL where the entry needs a value, a payload in clear that
// no longer reproduces its commitment's stored bytes. *view (when not null) holds the row read.
bool row_leaf_hash(const Datum *values, const bool *nulls, uint8_t *recomputed, EntryView *view = nullptr);

// The leaf hash a block's Merkle root covers for a deformed row (core/stored_leaf.hpp): what the
// sealer seals, and what proofs, chunks and exports use as the entry's leaf. recomputed and view (when
// not null) get what row_leaf_hash() gives.
SealedLeaf row_sealed_leaf(const Datum *values, const bool *nulls, Hash *recomputed = nullptr,
                           EntryView *view = nullptr);

// What open_stored_payload found.
enum class StoredPayload {
	Clear,      // no sealed payload: the payload columns are the payload (or it was erased)
	Opened,     // sealed, and opened into the view's payload fields and salt
	NoKey,      // sealed, and no master key is configured: the payload cannot be read or checked
	ForeignKey, // sealed under a key id that no setting holds: another key, or an altered header
	Unreadable, // sealed, and it does not open under the configured key that sealed it: altered
};

// For a row read by entry_view_from_row: when it holds a sealed payload (an encrypted table's
// entry), opens it with the configured master key that sealed it into v's payload fields and salt.
// For ForeignKey and Unreadable, *why says why (static or palloc'd text). Verification reports both as
// a changed payload; readers that would show or act on the payload (subject access, erasure) refuse a
// ForeignKey one rather than call it altered, since configuring the key may open it.
StoredPayload open_stored_payload(const Datum *values, const bool *nulls, EntryView *v, const char **why);

} // namespace witness::pg
