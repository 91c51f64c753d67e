#include "pg/common/entry_rewrite.hpp"

#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "access/heapam.h"
#include "executor/executor.h"
#include "storage/bufmgr.h"
#include "utils/snapmgr.h"
}

namespace witness::pg
{

EntryIndexes open_entry_indexes(Relation rel)
{
	EntryIndexes ix;
	ix.indexes = CatalogOpenIndexes(rel);
	ix.estate = CreateExecutorState();
	ix.slot = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	return ix;
}

void close_entry_indexes(EntryIndexes *ix)
{
	ExecDropSingleTupleTableSlot(ix->slot);
	FreeExecutorState(ix->estate);
	CatalogCloseIndexes(ix->indexes);
}

HeapTuple fetch_entry(Relation rel, ItemPointer tid, int64 id)
{
	HeapTupleData tuple;
	tuple.t_self = *tid;
	Buffer buffer;
	if (!heap_fetch(rel, GetActiveSnapshot(), &tuple, &buffer, false))
		return nullptr;
	HeapTuple copy = heap_copytuple(&tuple);
	ReleaseBuffer(buffer);
	bool is_null;
	if (DatumGetInt64(heap_getattr(copy, EntryId, RelationGetDescr(rel), &is_null)) != id || is_null) {
		heap_freetuple(copy);
		return nullptr;
	}
	return copy;
}

void update_entry(Relation rel, EntryIndexes *ix, ItemPointer otid, HeapTuple updated)
{
	simple_heap_update(rel, otid, updated);
	if (HeapTupleIsHeapOnly(updated))
		return;
	ExecStoreHeapTuple(updated, ix->slot, false);
	ExecInsertIndexTuples(ix->indexes, ix->slot, ix->estate, false, false, nullptr, NIL);
	ExecClearTuple(ix->slot);
	ResetPerTupleExprContext(ix->estate);
}

} // namespace witness::pg
