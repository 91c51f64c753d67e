// Stored entries read back for hashing and verification: a witness.entry row as the core's EntryView.
#pragma once

#include "pg/common/pg_includes.hpp"

#include "core/entry_encoding.hpp"

namespace witness::pg
{

// Deforms argument `arg` of fcinfo, a witness.entry row, into values/nulls (EntryNatts each; the
// format-2 columns NULL for a row of version 0.1). Raises ERROR when the argument is NULL or is not a
// complete entry.
void entry_row_from_arg(FunctionCallInfo fcinfo, int arg, Datum *values, bool *nulls);

// Reads a deformed witness.entry row (trail_catalog.hpp's layout) into an EntryView over palloc'd data.
void entry_view_from_row(const Datum *values, const bool *nulls, EntryView *view);

} // namespace witness::pg
