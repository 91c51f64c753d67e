// Stored entries read back for hashing and verification: a witness.entry row as the core's EntryView.
#pragma once

#include "pg/common/pg_includes.hpp"

#include "core/entry_encoding.hpp"

namespace witness::pg
{

// Reads a deformed witness.entry row (trail_catalog.hpp's layout) into an EntryView over palloc'd data.
void entry_view_from_row(const Datum *values, const bool *nulls, EntryView *view);

} // namespace witness::pg
