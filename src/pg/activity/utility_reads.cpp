#include "pg/activity/utility_reads.hpp"

extern "C" {
#include "access/genam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_index.h"
#include "access/xlog.h"
#include "commands/tablecmds.h"
#include "utils/acl.h"
#include "storage/lmgr.h"
#include "commands/defrem.h"
#include "nodes/makefuncs.h"
#include "nodes/parsenodes.h"
#include "parser/parse_type.h"
#include "utils/syscache.h"
#include "utils/fmgroids.h"
}

namespace witness::pg
{

namespace
{

// relid (its table, for an index), with its partitions and inheritance children when recurse.
List *add_relation(List *out, Oid relid, bool recurse)
{
	if (!OidIsValid(relid))
		return out;
	const char kind = get_rel_relkind(relid);
	if (kind == RELKIND_INDEX || kind == RELKIND_PARTITIONED_INDEX) {
		relid = IndexGetRelation(relid, true);
		if (!OidIsValid(relid))
			return out;
	}
	if (!recurse)
		return list_append_unique_oid(out, relid);
	List *all = find_all_inheritors(relid, NoLock, nullptr);
	out = list_concat_unique_oid(out, all);
	list_free(all);
	return out;
}

// A relation named in the statement: its table when it is an index (REINDEX INDEX, ALTER INDEX
// rebuild the index from the table's rows), with the partitions and inheritance children the command
// recurses into unless it said ONLY (an attack review added a CHECK constraint to an untracked
// parent, and its validation showed every value of a tracked child). Looked up without a lock, as the
// command has not run yet: a name that moves meanwhile is caught by the locks the command takes
// (activity_hooks.cpp, "watched").
List *add_named(List *out, RangeVar *rv, bool recurse)
{
	if (rv == nullptr)
		return out;
	return add_relation(out, RangeVarGetRelid(rv, NoLock, true), recurse && rv->inh);
}

// Every relation with a column of type, of a domain over it, or of an array, range or composite type
// holding it (pg_depend): the rows a domain's new or validated constraint is checked against (an attack
// review added CHECK (leak(VALUE)) to a domain of a tracked column and read every value).
List *add_domain_users(List *out, Oid type, List **seen)
{
	check_stack_depth();
	if (list_member_oid(*seen, type))
		return out;
	*seen = lappend_oid(*seen, type);
	List *types = NIL;
	Relation dep = table_open(DependRelationId, AccessShareLock);
	ScanKeyData key[2];
	ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(TypeRelationId));
	ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(type));
	SysScanDesc scan = systable_beginscan(dep, DependReferenceIndexId, true, nullptr, 2, key);
	HeapTuple tup;
	while (HeapTupleIsValid(tup = systable_getnext(scan))) {
		auto *d = (Form_pg_depend)GETSTRUCT(tup);
		if (d->classid == TypeRelationId) {
			types = lappend_oid(types, d->objid);
		} else if (d->classid == RelationRelationId && d->objsubid > 0) {
			if (get_rel_relkind(d->objid) == RELKIND_COMPOSITE_TYPE)
				types = lappend_oid(types, get_rel_type_id(d->objid));
			else
				out = list_append_unique_oid(out, d->objid);
		}
	}
	systable_endscan(scan);
	table_close(dep, AccessShareLock);
	ListCell *lc;
	foreach (lc, types) {
		CHECK_FOR_INTERRUPTS();
		out = add_domain_users(out, lfirst_oid(lc), seen);
	}
	list_free(types);
	return out;
}

// Whether a VACUUM statement rebuilds or samples rows (FULL, ANALYZE). A plain VACUUM evaluates the
// owner's expressions only in summarizing a BRIN index (has_brin_expression_index()).
bool vacuum_option(VacuumStmt *vac, const char *name)
{
	ListCell *lc;
	foreach (lc, vac->options) {
		auto *opt = (DefElem *)lfirst(lc);
		if (strcmp(opt->defname, name) == 0 && defGetBoolean(opt))
			return true;
	}
	return false;
}

bool vacuum_reads(VacuumStmt *vac)
{
	return !vac->is_vacuumcmd || vacuum_option(vac, "full") || vacuum_option(vac, "analyze");
}

List *alter_table_reads(AlterTableStmt *alter)
{
	List *out = add_named(NIL, alter->relation, true);
	ListCell *lc;
	foreach (lc, alter->cmds) {
		auto *cmd = (AlterTableCmd *)lfirst(lc);
		// ATTACH PARTITION checks the attached table's rows against the partition key, which may be an
		// expression the parent's owner wrote (an attack review read every value of a tracked table by
		// attaching it to a new parent within a transaction rolled back), and scans a default partition.
		if (cmd->subtype == AT_AttachPartition && IsA(cmd->def, PartitionCmd))
			out = add_named(out, ((PartitionCmd *)cmd->def)->name, true);
	}
	return out;
}

} // namespace

// COPY ... TO, COPY ... FROM (its unique and exclusion constraints check the new rows against the
// stored ones, as an INSERT's do: activity_hooks.cpp, kReadingPerms), and the commands that hand rows
// to expressions the table's owner writes (an index on leak(column), a CHECK constraint validated, a
// column retyped USING, a partition key, a domain's constraint, extended statistics) or rebuild them
// (CLUSTER, REINDEX, VACUUM FULL, ANALYZE, which evaluates expression statistics and indexes). COPY
// (query) TO and REFRESH MATERIALIZED VIEW run through the executor.
List *utility_read_relations(Node *stmt, EveryTable *every_table)
{
	*every_table = EveryTable::None;
	switch (nodeTag(stmt)) {
	case T_CopyStmt: {
		auto *copy = (CopyStmt *)stmt;
		return add_named(NIL, copy->relation, copy->is_from);
	}
	case T_IndexStmt: {
		auto *index = (IndexStmt *)stmt;
		return add_named(NIL, index->relation, true);
	}
	case T_AlterTableStmt:
		return alter_table_reads((AlterTableStmt *)stmt);
	case T_AlterDomainStmt: {
		// C: ADD CONSTRAINT, V: VALIDATE CONSTRAINT, O: SET NOT NULL check every row of the domain.
		auto *alter = (AlterDomainStmt *)stmt;
		if (alter->subtype != 'C' && alter->subtype != 'V' && alter->subtype != 'O')
			return NIL;
		Type found = LookupTypeName(nullptr, makeTypeNameFromNameList(alter->typeName), nullptr, true);
		if (found == nullptr)
			return NIL; // the command reports it
		const Oid type = typeTypeId(found);
		ReleaseSysCache(found);
		List *seen = NIL;
		List *out = add_domain_users(NIL, type, &seen);
		list_free(seen);
		return out;
	}
	case T_CreateStmt:
	case T_CreateForeignTableStmt: {
		// CREATE [FOREIGN] TABLE ... PARTITION OF checks the parent's default partition's rows against
		// the new partition's bounds, through the partition key (the review of these reads used a
		// foreign table, a statement of its own).
		auto *create = IsA(stmt, CreateStmt) ? (CreateStmt *)stmt : &((CreateForeignTableStmt *)stmt)->base;
		if (create->partbound == nullptr || create->inhRelations == NIL)
			return NIL;
		return add_named(NIL, (RangeVar *)linitial(create->inhRelations), true);
	}
	case T_ReindexStmt: {
		auto *reindex = (ReindexStmt *)stmt;
		if (reindex->relation != nullptr)
			return add_named(NIL, reindex->relation, true);
		// REINDEX SYSTEM rebuilds the system catalogs' indexes only (the review found every table
		// recorded as read).
		*every_table = reindex->kind == REINDEX_OBJECT_SYSTEM ? EveryTable::None : EveryTable::All;
		return NIL;
	}
	case T_ClusterStmt: {
		auto *cluster = (ClusterStmt *)stmt;
		if (cluster->relation != nullptr)
			return add_named(NIL, cluster->relation, true);
		*every_table = EveryTable::All;
		return NIL;
	}
	case T_CreateStatsStmt: {
		List *out = NIL;
		ListCell *lc;
		foreach (lc, ((CreateStatsStmt *)stmt)->relations)
			if (IsA(lfirst(lc), RangeVar))
				out = add_named(out, (RangeVar *)lfirst(lc), true);
		return out;
	}
	case T_VacuumStmt: {
		auto *vac = (VacuumStmt *)stmt;
		const bool reads = vacuum_reads(vac);
		if (vac->rels == NIL) {
			*every_table = reads ? EveryTable::All : EveryTable::WithBrinExpressions;
			return NIL;
		}
		List *out = NIL;
		ListCell *lc;
		foreach (lc, vac->rels)
			out = add_named(out, ((VacuumRelation *)lfirst(lc))->relation, true);
		if (reads)
			return out;
		List *brin = NIL;
		foreach (lc, out)
			if (has_brin_expression_index(lfirst_oid(lc)))
				brin = lappend_oid(brin, lfirst_oid(lc));
		list_free(out);
		return brin;
	}
	default:
		return NIL;
	}
}

bool utility_names_relations(Node *stmt)
{
	switch (nodeTag(stmt)) {
	case T_VacuumStmt:
		return ((VacuumStmt *)stmt)->rels != NIL;
	case T_CopyStmt:
		return ((CopyStmt *)stmt)->relation != nullptr;
	case T_IndexStmt:
	case T_AlterTableStmt:
	case T_CreateStatsStmt:
		return true;
	case T_ReindexStmt:
		return ((ReindexStmt *)stmt)->relation != nullptr;
	case T_ClusterStmt:
		return ((ClusterStmt *)stmt)->relation != nullptr;
	default:
		return false;
	}
}

bool utility_is_plain_vacuum(Node *stmt)
{
	return IsA(stmt, VacuumStmt) && !vacuum_reads((VacuumStmt *)stmt);
}

// A BRIN index with expressions or a predicate: VACUUM summarizes new page ranges through them (the
// review of these reads replaced the expression's function and read every value with a plain VACUUM).
bool has_brin_expression_index(Oid relid)
{
	bool found = false;
	Relation index_rel = table_open(IndexRelationId, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, Anum_pg_index_indrelid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(relid));
	SysScanDesc scan = systable_beginscan(index_rel, IndexIndrelidIndexId, true, nullptr, 1, &key);
	HeapTuple tup;
	while (!found && HeapTupleIsValid(tup = systable_getnext(scan))) {
		auto *index = (Form_pg_index)GETSTRUCT(tup);
		if (heap_attisnull(tup, Anum_pg_index_indexprs, nullptr) && heap_attisnull(tup, Anum_pg_index_indpred, nullptr))
			continue;
		HeapTuple rel = SearchSysCache1(RELOID, ObjectIdGetDatum(index->indexrelid));
		if (HeapTupleIsValid(rel)) {
			found = ((Form_pg_class)GETSTRUCT(rel))->relam == BRIN_AM_OID;
			ReleaseSysCache(rel);
		}
	}
	systable_endscan(scan);
	table_close(index_rel, AccessShareLock);
	return found;
}

} // namespace witness::pg
