// Collector mode (docs/central.md): a database that holds another database's trail, shipped by
// logical replication, and seals nothing of its own.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Whether this database is a pg_witness collector: witness.collector has its row and nothing is
// tracked. Read past privileges and row-level security (it is pg_witness's own question, asked for any
// caller of witness.seal()). A row beside tracked tables was not made by witness.become_collector():
// a WARNING says so (unless warn is false: readers asking in passing) and the database stays a
// source, so that such a row cannot stop its sealing.
bool in_collector_database(bool warn = true);

} // namespace witness::pg
