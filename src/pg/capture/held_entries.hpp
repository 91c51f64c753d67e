// Entries held back until the statement enclosing theirs has written its own (docs/capture.md, "Order
// inside nested statements").
//
// A statement that a BEFORE trigger, a user's AFTER trigger or a function in an expression runs while
// another statement that writes is still running fires its capture triggers before that statement
// fires its own. Where its change came later than one of that statement's to the same row (it changed
// a row version whose entry is not written yet, or it runs from that statement's AFTER triggers,
// statement_levels.hpp), taking its id then would put the row's later change first. So such an entry is formed in full but
// under a provisional id (0), and held, sorted by the command that made the change; when no writing
// statement runs any more, each takes its id in that order, its leaf hash is computed again under the
// id and an encrypted payload is sealed again for it (the id is its associated data). A held entry
// whose subtransaction rolls back is dropped with it. Held entries spill to a temporary file beyond
// work_mem; they hold nothing an entry row does not hold.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Holds an entry row (values, nulls: witness.entry's columns, id 0) made by command; encoding: its
// canonical bytes (canonical_bytes()), from which its leaf hash under its id is computed.
void hold_entry(const Datum *values, const bool *nulls, struct varlena *encoding, CommandId command);

bool have_held_entries();

// Whether an entry of a change made by command is held: a row version that command made has no
// entry written yet.
bool command_has_held_entries(CommandId command);

// Gives every held entry its id, in the order of the commands that made the changes, and queues it
// (store_entry).
void release_held_entries();

// A subtransaction rolled back: the entries it held are dropped; when that is all of them, nothing is
// held any more.
void held_entries_subxact_abort(SubTransactionId subxid);
// The transaction ended: nothing held survives it (on commit, release_held_entries() ran before).
void held_entries_forget();

} // namespace witness::pg
