// witness.entry_xid, the BRIN index through which the sealer finds unsealed entries.
#pragma once

#include "pg/pg_includes.hpp"

namespace witness::pg
{

// Summarizes every page range of witness.entry that has filled up since the last call, so that the
// sealer's scan reads only the ranges that can hold unsealed entries.
void summarize_filled_xid_ranges();

// Moves witness.entry_xid, when it is the plain BRIN index on xid, to the end of witness.entry's open
// index list and returns its pages per range; 0 when it is not there as such.
BlockNumber move_xid_brin_last(ResultRelInfo *indexes);

} // namespace witness::pg
