// The relations a utility command may hand the values of to expressions their owners write
// (activity_hooks.cpp records each as a read of the tracked table with capture_reads it belongs to).
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// The OIDs of the relations stmt reads the rows of (indexes mapped to their tables). *every_table is
// set when it may read any table of the database (REINDEX SCHEMA or DATABASE, CLUSTER, VACUUM FULL
// or ANALYZE naming no table).
List *utility_read_relations(Node *stmt, bool *every_table);

} // namespace witness::pg
