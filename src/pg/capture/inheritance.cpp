// Walks pg_inherits (partitions and inheritance children alike) through the catalog snapshot, which
// always shows the newest committed state. The SQL catalogs seen by a REPEATABLE READ transaction
// are frozen at its start, so an event trigger reading them could miss a table that another session
// has just made part of a tracked table, and leave a new child of it uncaptured.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"

extern "C" {
#include "access/genam.h"
#include "miscadmin.h"
#include "utils/fmgroids.h"
}

namespace
{

// The columns of witness._inheritance_descendants() and _inheritance_ancestors(), in order.
enum TreeColumn { TRelid, TDepth, TRelkind, TIsPartition, TIsTemp, TIsOtherTemp, TNatts };

// One row: a relation, how far it is from the start, and what PostgreSQL says of it now.
void put_relation(ReturnSetInfo *rsinfo, Oid relid, int depth)
{
	HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		return; // dropped meanwhile
	auto *form = (Form_pg_class)GETSTRUCT(tup);
	Datum values[TNatts];
	bool nulls[TNatts];
	memset(nulls, 0, sizeof(nulls));
	bool temp = form->relpersistence == RELPERSISTENCE_TEMP;
	values[TRelid] = ObjectIdGetDatum(relid);
	values[TDepth] = Int32GetDatum(depth);
	values[TRelkind] = CharGetDatum(form->relkind);
	values[TIsPartition] = BoolGetDatum(form->relispartition);
	values[TIsTemp] = BoolGetDatum(temp);
	values[TIsOtherTemp] = BoolGetDatum(temp && isOtherTempNamespace(form->relnamespace));
	ReleaseSysCache(tup);
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

// The direct parents of a relation, from pg_inherits' index on inhrelid.
List *parents_of(Oid relid)
{
	Relation inherits = table_open(InheritsRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_inherits_inhrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	SysScanDesc scan = systable_beginscan(inherits, InheritsRelidSeqnoIndexId, true, nullptr, 1, &key);
	List *parents = NIL;
	HeapTuple tup;
	while ((tup = systable_getnext(scan)) != nullptr)
		parents = lappend_oid(parents, ((Form_pg_inherits)GETSTRUCT(tup))->inhparent);
	systable_endscan(scan);
	table_close(inherits, AccessShareLock);
	return parents;
}

// Breadth-first from start, upwards or downwards; pg_inherits has no cycles, a visited list keeps
// diamonds (multiple inheritance) from being walked twice.
void walk(ReturnSetInfo *rsinfo, Oid start, bool down)
{
	List *level = list_make1_oid(start);
	List *seen = list_make1_oid(start);
	put_relation(rsinfo, start, 0);
	for (int depth = 1; level != NIL; depth++) {
		List *next = NIL;
		ListCell *lc;
		foreach (lc, level) {
			CHECK_FOR_INTERRUPTS();
			List *found = down ? find_inheritance_children_extended(lfirst_oid(lc), false, NoLock, nullptr, nullptr)
			                   : parents_of(lfirst_oid(lc));
			ListCell *fc;
			foreach (fc, found) {
				Oid rel = lfirst_oid(fc);
				if (list_member_oid(seen, rel))
					continue;
				seen = lappend_oid(seen, rel);
				next = lappend_oid(next, rel);
				put_relation(rsinfo, rel, depth);
			}
		}
		level = next;
	}
}

Datum walk_call(FunctionCallInfo fcinfo, bool down)
{
	witness::pg::require_nargs(fcinfo, 1);
	witness::pg::require_not_null(fcinfo, 0, "relation");
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	if (rsinfo->setDesc->natts != TNatts)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("function %s must return %d columns", format_procedure(fcinfo->flinfo->fn_oid), TNatts)));
	// A relation dropped meanwhile (or never there) has no tree: an empty result, not an error.
	if (SearchSysCacheExists1(RELOID, ObjectIdGetDatum(PG_GETARG_OID(0))))
		walk((ReturnSetInfo *)fcinfo->resultinfo, PG_GETARG_OID(0), down);
	return (Datum)0;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_inheritance_descendants);
PG_FUNCTION_INFO_V1(witness_inheritance_ancestors);
Datum witness_inheritance_descendants(PG_FUNCTION_ARGS);
Datum witness_inheritance_ancestors(PG_FUNCTION_ARGS);

Datum witness_inheritance_descendants(PG_FUNCTION_ARGS)
{
	return walk_call(fcinfo, true);
}

Datum witness_inheritance_ancestors(PG_FUNCTION_ARGS)
{
	return walk_call(fcinfo, false);
}
}
