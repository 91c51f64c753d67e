// Retention deletes entries (docs/retention.md, "Retention"): the one write besides the erasure of
// payloads that the trail takes after capture. witness.apply_retention() decides which entries (sealed,
// expired, not held), keeps their leaf hashes in witness.pruned_leaf and records the run in the chain;
// the rows are deleted here, in C, past the append-only guard triggers, which no SQL caller can pass.
#include "pg/common/pg_includes.hpp"

#include "pg/capture/internal_ddl.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/entry_rewrite.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/trail_partitions.hpp"

extern "C" {
#include "access/heapam.h"
#include "utils/array.h"
}

using namespace witness::pg;

extern "C" {
PG_FUNCTION_INFO_V1(witness_prune_entries);
Datum witness_prune_entries(PG_FUNCTION_ARGS);

// witness._prune_entries(entries tid[], ids bigint[], partitions oid[]): deletes each entry at its tid
// in its partition of witness.entry (docs/scaling.md), which must still be the entry of that id; returns
// how many. partitions may be NULL only while witness.entry is not partitioned (a 0.1 trail).
Datum witness_prune_entries(PG_FUNCTION_ARGS)
{
	require_own_declaration(fcinfo, "witness_prune_entries");
	require_nargs(fcinfo, 3);
	require_not_null(fcinfo, 0, "entries");
	require_not_null(fcinfo, 1, "ids");
	// Only inside witness.apply_retention(), which records what it deletes before it deletes it.
	if (!internal_ddl_active())
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("cannot delete entries of the trail"),
		                errdetail("Entries are deleted only by witness.apply_retention(), which records each run in "
		                          "the chain."),
		                errhint("Set a rule with witness.set_retention() and call witness.apply_retention().")));
	ArrayType *tid_array = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType *id_array = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_ELEMTYPE(tid_array) != TIDOID || ARR_ELEMTYPE(id_array) != INT8OID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("entries must be tid[] and ids bigint[]")));
	Datum *tids, *ids;
	bool *tid_nulls, *id_nulls;
	int ntids, nids;
	deconstruct_array(tid_array, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT, &tids, &tid_nulls, &ntids);
	deconstruct_array(id_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &id_nulls, &nids);
	if (ntids != nids)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("entries and ids must have the same length")));
	Datum *parts = nullptr;
	bool *part_nulls = nullptr;
	int nparts = 0;
	if (!PG_ARGISNULL(2)) {
		ArrayType *part_array = PG_GETARG_ARRAYTYPE_P(2);
		if (ARR_ELEMTYPE(part_array) != OIDOID)
			ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("partitions must be oid[]")));
		deconstruct_array(part_array, OIDOID, sizeof(Oid), true, TYPALIGN_INT, &parts, &part_nulls, &nparts);
		if (nparts != nids)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("entries, ids and partitions must have the same length")));
	}

	Relation entry_rel = table_open(entry_relid(), RowExclusiveLock);
	if (parts == nullptr && entry_rel->rd_rel->relkind == RELKIND_PARTITIONED_TABLE && ntids > 0)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("partitions must not be null"),
		                errdetail("witness.entry is partitioned: a ctid names a row of one partition.")));
	List *leaves = entry_leaves(entry_rel);
	Relation rel = nullptr;
	int64 deleted = 0;
	for (int i = 0; i < ntids; i++) {
		CHECK_FOR_INTERRUPTS();
		if (tid_nulls[i] || id_nulls[i] || (parts != nullptr && part_nulls[i]))
			ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("entry %d must not be null", i)));
		const Oid part = parts != nullptr ? DatumGetObjectId(parts[i]) : RelationGetRelid(entry_rel);
		if (rel == nullptr || RelationGetRelid(rel) != part) { // entries come in id order: partition by partition
			if (!list_member_oid(leaves, part))
				ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				                errmsg("relation %u is not a partition of witness.entry", part)));
			if (rel != nullptr && rel != entry_rel)
				table_close(rel, NoLock);
			rel = part == RelationGetRelid(entry_rel) ? entry_rel : table_open(part, RowExclusiveLock);
			check_partition_layout(entry_rel, rel);
		}
		ItemPointer tid = (ItemPointer)DatumGetPointer(tids[i]);
		HeapTuple entry = fetch_entry(rel, tid, DatumGetInt64(ids[i]));
		if (entry == nullptr)
			ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			                errmsg("entry %lld changed while retention was deleting it", (long long)DatumGetInt64(ids[i])),
			                errhint("Run witness.apply_retention() again.")));
		heap_freetuple(entry);
		// Indexes need nothing: VACUUM removes their pointers to the deleted rows.
		simple_heap_delete(rel, tid);
		deleted++;
	}
	if (rel != nullptr && rel != entry_rel)
		table_close(rel, NoLock); // keep the lock until commit
	table_close(entry_rel, NoLock);
	CommandCounterIncrement();
	PG_RETURN_INT64(deleted);
}
}
