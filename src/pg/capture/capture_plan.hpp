// Per-backend cache of how each tracked relation is captured ("capture plan"), rebuilt on relcache
// invalidation (ALTER TABLE, witness.track(), ...), so the hot path never queries the configuration.
#pragma once

#include "pg/common/pg_includes.hpp"

#include "core/entry_encoding.hpp"

namespace witness::pg
{

// How a column's value becomes JSON; chosen once per column from its (base) type.
enum class ValueCategory : uint8_t {
	Bool,
	Int16,
	Int32,
	Int64,
	Oid,
	Money,
	Numeric,
	Float4,
	Float8,
	Jsonb,
	Text,
	// Object references (reg* types): names built from the catalog, schema-qualified where the object
	// lives in a schema, whatever the search_path (docs/hashing.md, "Where the value text comes from").
	RegClass,
	RegType,
	RegProc,
	RegProcedure,
	RegOper,
	RegOperator,
	RegNamespace,
	RegRole,
	RegConfig,
	RegDictionary,
	RegCollation,
};

struct ColumnPlan {
	AttrNumber attnum;
	const char *name;
	size_t name_len;
	ValueCategory category;
	int16 typlen;
	bool typbyval;
	int64 tags;
	FmgrInfo output; // type output function (Text category)
};

struct CapturePlan {
	Oid relid; // the relation the trigger fired on (a partition for partitioned tables)
	bool valid;
	MemoryContext cxt;
	const char *schema_name; // of the tracked table (the partitioned parent for partitions)
	const char *table_name;
	const char *partition_name; // schema-qualified name of the partition fired on, or nullptr
	// An inheritance child's rows are keyed with this name too: no key is unique across an inheritance
	// tree, so a child's row may share its key with a row of the tracked table (docs/capture.md).
	const char *child_name;     // partition_name when the relation fired on is an inheritance child, else nullptr
	int64 table_tags;
	int ncols;
	ColumnPlan *cols; // captured (not excluded) columns, sorted by name bytewise
	int nkeys;
	int *keys;   // indexes into cols, ascending (so sorted by name)
	int subject; // index into cols, or -1
	// The tags of the key and subject columns: the row key and the subject are in every entry, so an
	// UPDATE's entry carries them whichever columns changed (masking, retention by classification).
	int64 key_subject_tags;
	// A Text column's type can hold object references (an array of regclass, a composite with a
	// regtype, ...): its output function names them relative to search_path, so the capture prints
	// it with the search path set to pg_catalog alone.
	bool fixed_search_path;
	// Payloads are stored sealed under the subject's key (witness.track(..., encrypt)).
	bool encrypt;
};

// Fills how a column of type typoid is captured (category, type length, output function in cxt); true
// when its values must be printed under the fixed search path (CapturePlan::fixed_search_path).
bool plan_column(ColumnPlan *c, Oid typoid, MemoryContext cxt);

// The capture plan for a relation with a capture trigger; raises ERROR if it is not tracked.
const CapturePlan *capture_plan_for(Relation rel);

void register_config_invalidation();

} // namespace witness::pg
