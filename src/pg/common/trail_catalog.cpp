#include "pg/common/trail_catalog.hpp"

#include <cstring>

extern "C" {
#include "catalog/pg_extension.h"
#include "commands/extension.h"
#include "storage/lmgr.h"
}

namespace witness::pg
{
namespace
{

const char *const kEntryColumnNames[EntryNatts] = {
    "id",         "xid",        "stmt_time",         "backend_pid",       "client_port",      "tags",
    "format",     "op",         "schema_name",       "table_name",        "row_key",          "subject",
    "old_values", "new_values", "session_user_name", "current_user_name", "application_name", "client_addr",
    "actor",      "reason",     "context",           "leaf_hash",         "salt",             "commitment",
    "subject_pseudonym", "erasure_id", "sealed_payload", "old_subject_key"};

const char *const kBlockColumnNames[BlockNatts] = {"block_no",       "snapshot",    "entry_count",
                                                   "first_entry_id", "last_entry_id", "merkle_root",
                                                   "prev_hash",      "sealed_at",   "block_hash"};

// The relations whose Oids are cached, in the order of `cached`.
const char *const kCachedNames[] = {"entry", "entry_id_seq", "block", "tracked_table"};
constexpr int kCached = sizeof(kCachedNames) / sizeof(kCachedNames[0]);
Oid cached[kCached];

void on_relcache_invalidation(Datum, Oid relid)
{
	bool forget = relid == InvalidOid;
	for (int i = 0; i < kCached; i++)
		forget = forget || relid == cached[i];
	if (forget)
		memset(cached, 0, sizeof(cached));
}

Oid cached_relid(int i)
{
	if (!OidIsValid(cached[i]))
		cached[i] = witness_relation(kCachedNames[i]);
	return cached[i];
}

// True when desc has exactly the columns names, in order, none dropped.
bool has_columns(TupleDesc desc, const char *const *names, int n)
{
	bool ok = desc->natts == n;
	for (int i = 0; ok && i < n; i++)
		ok = !TupleDescAttr(desc, i)->attisdropped && strcmp(NameStr(TupleDescAttr(desc, i)->attname), names[i]) == 0;
	return ok;
}

void refuse_layout(const char *table)
{
	ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
	                errmsg("table witness.%s does not have the layout pg_witness expects", table),
	                errhint("Was witness.%s altered? Reinstall or update the pg_witness extension.", table)));
}

} // namespace

int check_entry_layout(TupleDesc desc)
{
	if (has_columns(desc, kEntryColumnNames, EntryNatts))
		return 2;
	if (has_columns(desc, kEntryColumnNames, kEntryNattsV1))
		return 1;
	refuse_layout("entry");
	return 0;
}

void check_block_layout(TupleDesc desc)
{
	if (!has_columns(desc, kBlockColumnNames, BlockNatts))
		refuse_layout("block");
}

const char *entry_null_required_column(const bool *nulls)
{
	// The NOT NULL columns of witness.entry that the canonical bytes need (leaf_hash is not one of them).
	static const EntryColumn required[] = {EntryId,        EntryXid,         EntryStmtTime,   EntryBackendPid,
	                                       EntryTags,      EntryFormat,      EntryOp,         EntrySchemaName,
	                                       EntryTableName, EntrySessionUser, EntryCurrentUser};
	for (EntryColumn c : required)
		if (nulls[c - 1])
			return kEntryColumnNames[c - 1];
	return nullptr;
}

Oid witness_relation_if_exists(const char *name)
{
	Oid nsp = get_namespace_oid("witness", true);
	return OidIsValid(nsp) ? get_relname_relid(name, nsp) : InvalidOid;
}

bool hold_witness_extension()
{
	const Oid extension = get_extension_oid("pg_witness", true);
	if (!OidIsValid(extension))
		return false;
	LockDatabaseObject(ExtensionRelationId, extension, 0, AccessShareLock);
	// Taking the lock took in the invalidations of a drop it waited for: look again.
	return get_extension_oid("pg_witness", true) == extension;
}

Oid witness_relation(const char *name)
{
	Oid relid = witness_relation_if_exists(name);
	if (!OidIsValid(relid))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("relation witness.%s does not exist", name),
		                errhint("Is the pg_witness extension installed in this database?")));
	return relid;
}

Oid entry_relid()
{
	return cached_relid(0);
}

Oid entry_seq_relid()
{
	return cached_relid(1);
}

Oid block_relid()
{
	return cached_relid(2);
}

Oid tracked_table_relid()
{
	return cached_relid(3);
}

Oid relation_owner(Oid relid)
{
	HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum(relid));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "pg_witness: cache lookup failed for relation %u", relid);
	Oid owner = ((Form_pg_class)GETSTRUCT(tup))->relowner;
	ReleaseSysCache(tup);
	return owner;
}

bool has_capture_trigger(Oid relid)
{
	Relation rel = RelationIdGetRelation(relid);
	if (rel == nullptr)
		return false;
	bool found = false;
	for (int i = 0; rel->trigdesc != nullptr && i < rel->trigdesc->numtriggers && !found; i++)
		found = strcmp(rel->trigdesc->triggers[i].tgname, "witness_capture") == 0;
	RelationClose(rel);
	return found;
}

void register_catalog_invalidation()
{
	CacheRegisterRelcacheCallback(on_relcache_invalidation, (Datum)0);
}

} // namespace witness::pg
