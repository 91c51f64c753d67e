// The only write the trail ever takes after capture: witness.erase_subject() removes the payload
// (row key, subject, old and new values) and the salt of format-2 entries and keeps their commitment,
// so every leaf hash, Merkle root and block hash stays as it was (docs/personal-data.md). The rows are
// updated here, in C, past the append-only guard triggers, which no SQL caller can pass
// (common/entry_rewrite.hpp).
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/entry_rewrite.hpp"
#include "pg/common/trail_catalog.hpp"

#include <initializer_list>

#include "core/entry_encoding.hpp"

extern "C" {
#include "utils/array.h"
#include "utils/lsyscache.h"
}

namespace
{

using namespace witness::pg;

// The entry at tid, copied, when it is the format-2 entry `id` and not erased yet; nullptr otherwise.
HeapTuple fetch_erasable(Relation rel, ItemPointer tid, int64 id)
{
	HeapTuple copy = fetch_entry(rel, tid, id);
	if (copy == nullptr)
		return nullptr;
	bool is_null;
	TupleDesc desc = RelationGetDescr(rel);
	bool ok = DatumGetInt16(heap_getattr(copy, EntryFormat, desc, &is_null)) == witness::kEntryFormatCommitted && !is_null;
	heap_getattr(copy, EntryErasureId, desc, &is_null);
	return ok && is_null ? copy : nullptr;
}

// The entry with its payload and salt removed and the erasure named.
HeapTuple erased_version(HeapTuple entry, TupleDesc desc, int64 erasure_id)
{
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	heap_deform_tuple(entry, desc, values, nulls);
	for (EntryColumn c : {EntryRowKey, EntrySubject, EntryOldValues, EntryNewValues, EntrySalt, EntrySealedPayload})
		nulls[c - 1] = true;
	values[EntryErasureId - 1] = Int64GetDatum(erasure_id);
	nulls[EntryErasureId - 1] = false;
	return heap_form_tuple(desc, values, nulls);
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_erase_payloads);
Datum witness_erase_payloads(PG_FUNCTION_ARGS);

Datum witness_erase_payloads(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 3);
	require_not_null(fcinfo, 0, "entries");
	require_not_null(fcinfo, 1, "ids");
	require_not_null(fcinfo, 2, "erasure_id");
	ArrayType *tid_array = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType *id_array = PG_GETARG_ARRAYTYPE_P(1);
	int64 erasure_id = PG_GETARG_INT64(2);
	if (ARR_ELEMTYPE(tid_array) != TIDOID || ARR_ELEMTYPE(id_array) != INT8OID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("entries must be tid[] and ids bigint[]")));
	Datum *tids, *ids;
	bool *tid_nulls, *id_nulls;
	int ntids, nids;
	deconstruct_array(tid_array, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT, &tids, &tid_nulls, &ntids);
	deconstruct_array(id_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &id_nulls, &nids);
	if (ntids != nids)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("entries and ids must have the same length")));

	Relation rel = table_open(entry_relid(), RowExclusiveLock);
	TupleDesc desc = RelationGetDescr(rel);
	if (check_entry_layout(desc) < 2)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("the trail has no format-2 columns to erase"),
		                errhint("Run ALTER EXTENSION pg_witness UPDATE.")));
	EntryIndexes ix = open_entry_indexes(rel);
	int64 erased = 0;
	for (int i = 0; i < ntids; i++) {
		CHECK_FOR_INTERRUPTS();
		if (tid_nulls[i] || id_nulls[i])
			continue;
		HeapTuple entry = fetch_erasable(rel, (ItemPointer)DatumGetPointer(tids[i]), DatumGetInt64(ids[i]));
		if (entry == nullptr)
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			                errmsg("entry %lld changed while it was being erased", (long long)DatumGetInt64(ids[i])),
			                errhint("Run witness.erase_subject() again.")));
		HeapTuple updated = erased_version(entry, desc, erasure_id);
		update_entry(rel, &ix, &entry->t_self, updated);
		heap_freetuple(updated);
		heap_freetuple(entry);
		erased++;
	}
	close_entry_indexes(&ix);
	table_close(rel, NoLock); // keep the lock until commit
	CommandCounterIncrement();
	PG_RETURN_INT64(erased);
}
}
