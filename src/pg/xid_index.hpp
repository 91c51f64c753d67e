// witness.entry_xid, the BRIN index through which the sealer finds unsealed entries.
#pragma once

#include "pg/pg_includes.hpp"

namespace witness::pg
{

// Summarizes every page range of witness.entry that has filled up since the last call, so that the
// sealer's scan reads only the ranges that can hold unsealed entries.
void summarize_filled_xid_ranges();

} // namespace witness::pg
