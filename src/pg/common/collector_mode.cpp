#include "pg/common/collector_mode.hpp"

#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "utils/snapmgr.h"
}

namespace witness::pg
{
namespace
{

// Whether the relation has a row visible to the newest snapshot.
bool has_rows(Oid relid)
{
	Relation rel = table_open(relid, AccessShareLock);
	Snapshot snap = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snap, 0, nullptr);
	bool found = heap_getnext(scan, ForwardScanDirection) != nullptr;
	table_endscan(scan);
	UnregisterSnapshot(snap);
	table_close(rel, AccessShareLock);
	return found;
}

} // namespace

bool in_collector_database(bool warn)
{
	Oid collector = witness_relation_if_exists("collector");
	if (!OidIsValid(collector) || !has_rows(collector))
		return false;
	if (has_rows(witness_relation("tracked_table"))) {
		if (warn)
			ereport(WARNING,
			        (errmsg("pg_witness: witness.collector has a row, but this database tracks tables: it is sealed as a source"),
			         errdetail("witness.become_collector() makes a collector only of a database that tracks nothing."),
			         errhint("Someone inserted the row behind pg_witness's back; find out who in the server log.")));
		return false;
	}
	return true;
}

} // namespace witness::pg
