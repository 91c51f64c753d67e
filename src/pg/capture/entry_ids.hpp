// Entry ids handed out from shared memory in runs reserved from witness.entry_id_seq
// (docs/capture.md, "Entry ids"). One counter per database, shared by all its backends, so the ids
// follow the order in which changes were captured exactly as an uncached sequence's would; the
// sequence is touched once per run instead of once per entry. Without shared memory (pg_witness not
// in shared_preload_libraries) every id is a nextval() of the sequence, as before.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

void entry_ids_request();
void entry_ids_startup();

// The next entry id of this database's trail, whose id sequence is seq.
int64 next_entry_id(Oid seq);

} // namespace witness::pg
