// Builds one witness.entry row: attribution, id, leaf hash; entry_store.hpp queues and writes it.
#pragma once

#include "pg/pg_includes.hpp"

#include "core/entry_encoding.hpp"

namespace witness::pg
{

// What the capture triggers know about a change; the json datums hold the canonical text of view's JSON fields.
struct ChangeRecord {
	EntryView view; // op, names, tags, row key, subject, old and new values filled in by the caller
	Datum row_key;
	Datum old_values;
	Datum new_values;
};

void write_entry(ChangeRecord *change);

// Layout of witness.entry, in attribute order.
enum EntryColumn {
	EntryId = 1,
	EntryXid,
	EntryStmtTime,
	EntryBackendPid,
	EntryClientPort,
	EntryTags,
	EntryFormat,
	EntryOp,
	EntrySchemaName,
	EntryTableName,
	EntryRowKey,
	EntrySubject,
	EntryOldValues,
	EntryNewValues,
	EntrySessionUser,
	EntryCurrentUser,
	EntryApplicationName,
	EntryClientAddr,
	EntryActor,
	EntryReason,
	EntryContext,
	EntryLeafHash,
	EntryNatts = EntryLeafHash
};

// Reads a deformed witness.entry row into an EntryView (palloc'd data), as verification does.
void entry_view_from_row(const Datum *values, const bool *nulls, EntryView *view);

// The name of the first column that witness.entry declares NOT NULL and the canonical bytes need, but
// which is NULL in a deformed row; nullptr when there is none.
const char *entry_null_required_column(const bool *nulls);

// Raises ERROR unless desc is witness.entry as this library version knows it.
void check_entry_layout(TupleDesc desc);

// Microseconds between 1970-01-01 and PostgreSQL's epoch 2000-01-01.
constexpr int64 kUnixToPostgresEpochUs =
    (int64)(POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC;

} // namespace witness::pg
