// The relations a utility command may hand the values of to expressions their owners write
// (activity_hooks.cpp records each as a read of the tracked table with capture_reads it belongs to).
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Which tables a command naming none may read the rows of.
enum class EveryTable {
	None,
	All,                 // REINDEX SCHEMA or DATABASE, CLUSTER, VACUUM FULL or ANALYZE naming no table
	WithBrinExpressions, // a plain VACUUM naming no table: those it summarizes a BRIN index of
};

// The OIDs of the relations stmt reads the rows of (indexes mapped to their tables), and in
// *every_table which others it may read.
List *utility_read_relations(Node *stmt, EveryTable *every_table);

// Whether stmt is one of the commands utility_read_relations() knows and names relations.
bool utility_names_relations(Node *stmt);

// Whether stmt is a VACUUM without FULL or ANALYZE (reads a table only through a BRIN expression index).
bool utility_is_plain_vacuum(Node *stmt);

// Whether relid has a BRIN index with expressions or a predicate (summarized by VACUUM).
bool has_brin_expression_index(Oid relid);

} // namespace witness::pg
