#include "pg/common/trail_partitions.hpp"

#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "utils/partcache.h"
}

namespace witness::pg
{
namespace
{

TimestampTz bound_value(PartitionBoundInfo bounds, int i, TimestampTz infinite)
{
	if (i < 0 || i >= bounds->ndatums || bounds->kind[i][0] != PARTITION_RANGE_DATUM_VALUE)
		return infinite;
	return DatumGetTimestampTz(bounds->datums[i][0]);
}

} // namespace

List *entry_leaves(Relation entry)
{
	if (entry->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		return list_make1_oid(RelationGetRelid(entry));
	PartitionDesc desc = RelationGetPartitionDesc(entry, true);
	List *leaves = NIL;
	Oid default_partition = InvalidOid;
	for (int i = 0; i < desc->nparts; i++) {
		if (!desc->is_leaf[i])
			ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
			                errmsg("partition %s of witness.entry is partitioned itself", get_rel_name(desc->oids[i])),
			                errhint("The partitions of witness.entry are plain tables (docs/scaling.md).")));
		if (desc->boundinfo != nullptr && i == desc->boundinfo->default_index)
			default_partition = desc->oids[i];
		else
			leaves = lappend_oid(leaves, desc->oids[i]);
	}
	if (OidIsValid(default_partition))
		leaves = lappend_oid(leaves, default_partition);
	return leaves;
}

// As PostgreSQL's own tuple routing (get_partition_for_tuple) for a range key of one column.
EntryRoute route_entry(Relation entry, TimestampTz t)
{
	EntryRoute route;
	if (entry->rd_rel->relkind != RELKIND_PARTITIONED_TABLE) {
		route.lo = DT_NOBEGIN;
		route.hi = DT_NOEND;
		route.relid = RelationGetRelid(entry);
		return route;
	}
	PartitionKey key = RelationGetPartitionKey(entry);
	PartitionDesc desc = RelationGetPartitionDesc(entry, true);
	PartitionBoundInfo bounds = desc->boundinfo;
	if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 || key->parttypid[0] != TIMESTAMPTZOID ||
	    key->partattrs[0] != EntryStmtTime)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("witness.entry is not partitioned by range of stmt_time"),
		                errhint("Recreate the extension, or see docs/scaling.md.")));
	if (bounds == nullptr) // no partition at all
		return route;
	int part = -1;
	if (bounds->ndatums > 0) {
		bool equal = false;
		Datum value = TimestampTzGetDatum(t);
		int offset = partition_range_datum_bsearch(key->partsupfunc, key->partcollation, bounds, 1, &value, &equal);
		part = bounds->indexes[offset + 1];
		route.lo = bound_value(bounds, offset, DT_NOBEGIN);
		route.hi = bound_value(bounds, offset + 1, DT_NOEND); // MINVALUE and MAXVALUE: unbounded
	} else {
		route.lo = DT_NOBEGIN;
		route.hi = DT_NOEND;
	}
	if (part < 0)
		part = bounds->default_index;
	if (part >= 0)
		route.relid = desc->oids[part];
	return route;
}

void check_partition_layout(Relation entry, Relation partition)
{
	if (partition == entry)
		return;
	if (partition->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
		                errmsg("partition %s of witness.entry is not a plain table", RelationGetRelationName(partition)),
		                errhint("The partitions of witness.entry are plain tables (docs/scaling.md).")));
	TupleDesc parent = RelationGetDescr(entry);
	TupleDesc desc = RelationGetDescr(partition);
	bool same = desc->natts == parent->natts;
	for (int i = 0; same && i < desc->natts; i++) {
		Form_pg_attribute a = TupleDescAttr(desc, i);
		Form_pg_attribute b = TupleDescAttr(parent, i);
		same = a->attisdropped == b->attisdropped && a->atttypid == b->atttypid &&
		       strcmp(NameStr(a->attname), NameStr(b->attname)) == 0;
	}
	if (!same)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("partition %s of witness.entry does not have the columns of witness.entry in their order",
		                       RelationGetRelationName(partition)),
		                errhint("Partitions of witness.entry are made by pg_witness (docs/scaling.md).")));
}

} // namespace witness::pg
