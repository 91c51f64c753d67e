// The partitions of witness.entry (docs/scaling.md): monthly ranges of stmt_time and a default
// partition. Capture routes each entry to its partition; readers that work on the heap itself
// (verification, export, erasure, rotation, BRIN summarization) go through every partition.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// The relations that hold witness.entry's rows, as a List of Oids in partition bound order (the default
// partition last): witness.entry itself when it is not partitioned. entry is open and locked.
List *entry_leaves(Relation entry);

// The partition an entry of stmt_time t goes to, and the range [lo, hi) of stmt_time it is chosen for
// (entries of that range go to the same partition). InvalidOid when no partition accepts t.
struct EntryRoute {
	TimestampTz lo = 0;
	TimestampTz hi = 0;
	Oid relid = InvalidOid;
};
EntryRoute route_entry(Relation entry, TimestampTz t);

// Raises ERROR unless partition (of witness.entry) is a plain table with witness.entry's columns at the
// same attribute numbers: capture forms one tuple for whichever partition it goes to.
void check_partition_layout(Relation entry, Relation partition);

} // namespace witness::pg
