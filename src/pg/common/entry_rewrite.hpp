// In-place rewrites of witness.entry rows after capture, past the append-only guard triggers, which no
// SQL caller can pass. Two callers: the erasure of payloads (erase/erase_payloads.cpp) and the
// re-encryption of sealed payloads under a new master key (rotate/reseal_payloads.cpp). Neither
// changes anything a leaf hash covers.
#pragma once

#include "pg/common/pg_includes.hpp"

extern "C" {
#include "access/htup.h"
#include "catalog/indexing.h"
#include "nodes/execnodes.h"
#include "utils/rel.h"
}

namespace witness::pg
{

// witness.entry's indexes, maintained for the updated rows the way the capture maintains them for new
// ones (entry_store.cpp): through the executor, which honours partial-index predicates and evaluates
// index expressions (witness.entry_subject is both). CatalogTupleUpdate() would do neither: it
// inserted every new row version into every index, and crashed on an expression index.
struct EntryIndexes {
	CatalogIndexState indexes;
	EState *estate;
	TupleTableSlot *slot;
};

EntryIndexes open_entry_indexes(Relation rel);
void close_entry_indexes(EntryIndexes *ix);

// A copy of the row version at tid that the active snapshot sees, when it is entry `id`; nullptr
// when it is not visible or is another entry.
HeapTuple fetch_entry(Relation rel, ItemPointer tid, int64 id);

// Replaces the row version at otid with updated, and indexes the new version unless it is heap-only.
void update_entry(Relation rel, EntryIndexes *ix, ItemPointer otid, HeapTuple updated);

} // namespace witness::pg
