// The only write the trail ever takes after capture: witness.erase_subject() removes the payload
// (row key, subject, old and new values) and the salt of format-2 entries and keeps their commitment,
// so every leaf hash, Merkle root and block hash stays as it was (docs/personal-data.md). The rows are
// updated here, in C, past the append-only guard triggers, which no SQL caller can pass
// (common/entry_rewrite.hpp).
#include "pg/capture/internal_ddl.hpp"
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/entry_rewrite.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/trail_partitions.hpp"
#include "pg/verify/entry_hash.hpp"

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

// The entry with its payload and salt removed and the erasure named; the key of the subject an UPDATE
// moved the row from goes too (like a lookup row's keys, it would confirm a guessed subject). An entry
// in clear stores its commitment's first bytes only: the full commitment, which salt and payload
// reproduce now and nothing will once they are gone, is stored in their place. Where they no longer
// reproduce it (tampered, and listed so by the erasure record), the prefix stays.
HeapTuple erased_version(HeapTuple entry, TupleDesc desc, int64 erasure_id)
{
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	heap_deform_tuple(entry, desc, values, nulls);
	if (!nulls[EntryCommitment - 1] &&
	    VARSIZE_ANY_EXHDR(DatumGetByteaPP(values[EntryCommitment - 1])) == witness::kStoredCommitmentPrefix) {
		witness::EntryView view;
		entry_view_from_row(values, nulls, &view);
		if (view.commitment_source == witness::CommitmentSource::Reproduced)
			values[EntryCommitment - 1] = PointerGetDatum(hash_bytea(view.commitment.data()));
	}
	for (EntryColumn c : {EntryRowKey, EntrySubject, EntryOldValues, EntryNewValues, EntrySalt, EntrySealedPayload,
	                      EntryOldSubjectKey})
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
	witness::pg::require_own_declaration(fcinfo, "witness_erase_payloads");
	require_nargs(fcinfo, 4);
	require_not_null(fcinfo, 0, "entries");
	require_not_null(fcinfo, 1, "partitions");
	require_not_null(fcinfo, 2, "ids");
	require_not_null(fcinfo, 3, "erasure_id");
	ArrayType *tid_array = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType *part_array = PG_GETARG_ARRAYTYPE_P(1);
	ArrayType *id_array = PG_GETARG_ARRAYTYPE_P(2);
	int64 erasure_id = PG_GETARG_INT64(3);
	if (ARR_ELEMTYPE(tid_array) != TIDOID || ARR_ELEMTYPE(part_array) != OIDOID || ARR_ELEMTYPE(id_array) != INT8OID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("entries must be tid[], partitions oid[] and ids bigint[]")));
	Datum *tids, *parts, *ids;
	bool *tid_nulls, *part_nulls, *id_nulls;
	int ntids, nparts, nids;
	deconstruct_array(tid_array, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT, &tids, &tid_nulls, &ntids);
	deconstruct_array(part_array, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &parts, &part_nulls, &nparts);
	deconstruct_array(id_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &id_nulls, &nids);
	if (ntids != nids || nparts != nids)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("entries, partitions and ids must have the same length")));

	Relation entry = table_open(entry_relid(), RowExclusiveLock);
	if (check_entry_layout(RelationGetDescr(entry)) < 2)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("the trail has no format-2 columns to erase"),
		                errhint("Run ALTER EXTENSION pg_witness UPDATE.")));
	// Only witness.entry and its partitions: the oids come from the caller.
	List *leaves = entry_leaves(entry);
	Relation rel = nullptr;
	EntryIndexes ix = {};
	// Where each erased entry is now (the update wrote a new version of its row), NULL for the others.
	ItemPointerData *moved = (ItemPointerData *)palloc0(sizeof(ItemPointerData) * (ntids > 0 ? ntids : 1));
	Datum *moved_datums = (Datum *)palloc0(sizeof(Datum) * (ntids > 0 ? ntids : 1));
	bool *moved_nulls = (bool *)palloc(sizeof(bool) * (ntids > 0 ? ntids : 1));
	for (int i = 0; i < ntids; i++) {
		moved_nulls[i] = true;
		moved_datums[i] = PointerGetDatum(&moved[i]);
	}
	for (int i = 0; i < ntids; i++) {
		CHECK_FOR_INTERRUPTS();
		if (tid_nulls[i] || id_nulls[i] || part_nulls[i])
			continue;
		const Oid part = DatumGetObjectId(parts[i]);
		if (rel == nullptr || RelationGetRelid(rel) != part) { // entries come in id order: partition by partition
			if (!list_member_oid(leaves, part))
				ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				                errmsg("relation %u is not a partition of witness.entry", part)));
			if (rel != nullptr) {
				close_entry_indexes(&ix);
				if (rel != entry)
					table_close(rel, NoLock);
			}
			rel = part == RelationGetRelid(entry) ? entry : table_open(part, RowExclusiveLock);
			check_partition_layout(entry, rel);
			ix = open_entry_indexes(rel);
		}
		TupleDesc desc = RelationGetDescr(rel);
		HeapTuple found = fetch_erasable(rel, (ItemPointer)DatumGetPointer(tids[i]), DatumGetInt64(ids[i]));
		if (found == nullptr)
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			                errmsg("entry %lld changed while it was being erased", (long long)DatumGetInt64(ids[i])),
			                errhint("Run witness.erase_subject() again.")));
		HeapTuple updated = erased_version(found, desc, erasure_id);
		update_entry(rel, &ix, &found->t_self, updated);
		ItemPointerCopy(&updated->t_self, &moved[i]);
		moved_nulls[i] = false;
		heap_freetuple(updated);
		heap_freetuple(found);
	}
	if (rel != nullptr) {
		close_entry_indexes(&ix);
		if (rel != entry)
			table_close(rel, NoLock); // keep the lock until commit
	}
	table_close(entry, NoLock); // keep the lock until commit
	CommandCounterIncrement();
	int dims[1] = {ntids};
	int lbs[1] = {1};
	PG_RETURN_ARRAYTYPE_P(construct_md_array(moved_datums, moved_nulls, 1, dims, lbs, TIDOID, sizeof(ItemPointerData),
	                                         false, TYPALIGN_SHORT));
}
}
