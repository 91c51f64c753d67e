// Builds one witness.entry row: attribution, id, leaf hash; entry_store.hpp queues and writes it.
// The layout of the row is the trail catalog's (trail_catalog.hpp).
#pragma once

#include "pg/common/pg_includes.hpp"

#include "core/entry_encoding.hpp"

namespace witness::pg
{

// What the capture triggers know about a change; the json datums hold the canonical text of view's JSON fields.
struct ChangeRecord {
	EntryView view; // op, names, tags, row key, subject, old and new values filled in by the caller
	Datum row_key;
	Datum old_values;
	Datum new_values;
	bool encrypt; // the table's payloads are stored sealed (capture_plan.hpp)
	// An UPDATE that changed the row's subject: the subject before (not NULL, not empty); its lookup key
	// goes into witness.entry.old_subject_key, so that that subject's erasure and export find the entry.
	TextField old_subject;
	// A row change (capture_trigger.cpp): the role its statement was started as, which the entry names as
	// current_user (InvalidOid: the current role); and, when the statement runs inside another writing
	// one (statement_levels.hpp), the command that made the change: the entry is then held back
	// (held_entries.hpp) and takes its id later, in the order of those commands.
	Oid acting_role = InvalidOid;
	bool hold = false;
	CommandId command = InvalidCommandId;
};

void write_entry(ChangeRecord *change);
} // namespace witness::pg
