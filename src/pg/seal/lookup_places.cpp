// witness._move_lookup_places_in_place(ids, places): tells the lookup rows of entries that an erasure
// or a rotation wrote elsewhere where the new row versions are (witness.entry_lookup.entry_tid), by
// overwriting the place in the row as it is, the way VACUUM writes a table's statistics into pg_class.
//
// Why not an UPDATE: a place is a hint (a reader checks the id it finds there and reads by id
// otherwise), and an UPDATE of a full page writes a new row version elsewhere with an entry in each
// of the table's seven indexes: 18 us a row, more than the re-encryption it follows (a rotation of a
// million entries took 30.5 s, 17.7 s of it in that UPDATE; docs/performance.md). Overwriting keeps
// the row's length and its index entries (and, the table being unlogged, writes no WAL). It is not
// transactional: when the erasure or the rotation rolls back, the place names a row version that
// never became visible, which costs a read by id, as any stale place does. PostgreSQL 15's
// heap_inplace_update() does not wait for a concurrent updater of the row: every writer of the lookup
// rows takes the lock witness._move_lookup_places() holds, and one that did not could at worst leave
// a place stale.
//
// NULL when the table has anything an UPDATE would have to run or maintain (a row trigger, a rule, a
// CHECK constraint, forced row-level security, an index that covers entry_tid), or is not a plain heap
// table: the caller updates through SQL then.
#include "pg/common/pg_includes.hpp"

#include "pg/capture/internal_ddl.hpp"
#include "pg/common/arguments.hpp"

extern "C" {
#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/sysattr.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "catalog/pg_am.h"
#include "catalog/pg_class.h"
#include "nodes/bitmapset.h"
#include "utils/relcache.h"
#include "catalog/pg_type.h"
#include "utils/array.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(witness_move_lookup_places_in_place);
Datum witness_move_lookup_places_in_place(PG_FUNCTION_ARGS);
}

namespace
{

ItemPointer as_place(Datum d)
{
	return reinterpret_cast<ItemPointer>(DatumGetPointer(d));
}

// A row trigger, rule, CHECK constraint or forced row-level security that an UPDATE would run, an
// index on column tid_attno (an overwrite leaves index entries as they are), or another kind of table.
bool update_needs_executor(Relation rel, AttrNumber tid_attno)
{
	if (rel->rd_rel->relkind != RELKIND_RELATION || rel->rd_rel->relam != HEAP_TABLE_AM_OID)
		return true;
	Bitmapset *indexed = RelationGetIndexAttrBitmap(rel, INDEX_ATTR_BITMAP_ALL);
	if (bms_is_member(tid_attno - FirstLowInvalidHeapAttributeNumber, indexed))
		return true;
	TupleDesc desc = RelationGetDescr(rel);
	if (desc->constr != nullptr && desc->constr->num_check > 0)
		return true;
	TriggerDesc *trig = rel->trigdesc;
	if (trig != nullptr && (trig->trig_update_before_row || trig->trig_update_after_row ||
	                        trig->trig_update_instead_row || trig->trig_update_new_table || trig->trig_update_old_table))
		return true;
	return rel->rd_rules != nullptr || rel->rd_rel->relforcerowsecurity;
}

// The lookup row of entry `id` gets `place` when it has another one; false when there is no such row,
// or its place is NULL (rows written through SQL keep theirs: a NULL is shorter than a place).
bool move_one(Relation rel, Oid pkey, AttrNumber id_attno, AttrNumber tid_attno, Snapshot snapshot, int64 id,
              ItemPointer place)
{
	ScanKeyData key; // on the table's column: systable_beginscan() maps it to the index's
	ScanKeyInit(&key, id_attno, BTEqualStrategyNumber, F_INT8EQ, Int64GetDatum(id));
	SysScanDesc scan = systable_beginscan(rel, pkey, true, snapshot, 1, &key);
	HeapTuple row = systable_getnext(scan);
	bool moved = false;
	if (HeapTupleIsValid(row)) {
		TupleDesc desc = RelationGetDescr(rel);
		bool isnull;
		Datum old = heap_getattr(row, tid_attno, desc, &isnull);
		if (!isnull && !ItemPointerEquals(as_place(old), place)) {
			HeapTuple copy = heap_copytuple(row);
			// entry_tid is fixed-width and not null: overwrite its bytes in the copy's data area.
			Datum now = heap_getattr(copy, tid_attno, desc, &isnull);
			ItemPointerCopy(place, as_place(now));
			heap_inplace_update(rel, copy);
			heap_freetuple(copy);
			moved = true;
		}
	}
	systable_endscan(scan);
	return moved;
}

} // namespace

using namespace witness::pg;

Datum witness_move_lookup_places_in_place(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "ids");
	require_not_null(fcinfo, 1, "places");
	if (!internal_ddl_active())
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("cannot update witness.entry_lookup"),
		                errdetail("The lookup table of witness.search() and witness.entity_history() is written only by pg_witness.")));
	ArrayType *id_array = PG_GETARG_ARRAYTYPE_P(0);
	ArrayType *place_array = PG_GETARG_ARRAYTYPE_P(1);
	if (ARR_ELEMTYPE(id_array) != INT8OID || ARR_ELEMTYPE(place_array) != TIDOID)
		ereport(ERROR, (errcode(ERRCODE_DATATYPE_MISMATCH), errmsg("ids must be bigint[] and places tid[]")));
	Datum *ids, *places;
	bool *id_nulls, *place_nulls;
	int nids, nplaces;
	deconstruct_array(id_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &id_nulls, &nids);
	deconstruct_array(place_array, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT, &places, &place_nulls, &nplaces);
	if (nids != nplaces)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("ids and places must have the same length")));

	const Oid relid = get_relname_relid("entry_lookup", get_namespace_oid("witness", false));
	if (!OidIsValid(relid))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("witness.entry_lookup does not exist")));
	Relation rel = table_open(relid, RowExclusiveLock);
	const AttrNumber id_attno = get_attnum(relid, "id");
	const AttrNumber tid_attno = get_attnum(relid, "entry_tid");
	const Oid pkey = RelationGetPrimaryKeyIndex(rel);
	// The primary key on id alone, and a tid column: the layout this was written for.
	bool layout = id_attno != InvalidAttrNumber && tid_attno != InvalidAttrNumber && OidIsValid(pkey) &&
	              TupleDescAttr(RelationGetDescr(rel), tid_attno - 1)->atttypid == TIDOID;
	if (layout) {
		Relation index = index_open(pkey, AccessShareLock);
		layout = index->rd_index->indnkeyatts == 1 && index->rd_index->indkey.values[0] == id_attno;
		index_close(index, AccessShareLock);
	}
	if (!layout || update_needs_executor(rel, tid_attno)) {
		table_close(rel, RowExclusiveLock);
		PG_RETURN_NULL();
	}
	// The rows as this statement sees them, the caller's own earlier updates included.
	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	int64 moved = 0;
	for (int i = 0; i < nids; i++) {
		CHECK_FOR_INTERRUPTS();
		if (id_nulls[i] || place_nulls[i])
			continue;
		if (move_one(rel, pkey, id_attno, tid_attno, snapshot, DatumGetInt64(ids[i]), as_place(places[i])))
			moved++;
	}
	UnregisterSnapshot(snapshot);
	table_close(rel, NoLock);
	PG_RETURN_INT64(moved);
}
