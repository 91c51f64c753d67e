// Capture control (capture_control.hpp). What is recorded, as activity of kind "capture control":
// - any trigger of a table of schema witness (the guards of the trail) altered (enabled, disabled)
//   or dropped; on any other table, one of pg_witness's triggers (by name or function) when its event
//   triggers cannot refuse it (session_replication_role = replica, one of them disabled, or under the
//   internal mark);
// - an event trigger named witness_... created, altered or dropped;
// - a relation of schema witness created, altered or dropped, a function of it altered or dropped; a
//   captured table altered, dropped or given a rule while the event triggers do not check; while they
//   do not check, also a table made or unmade an inheritance child of a captured table, an enum value
//   renamed, and the attributes of a row type that columns elsewhere store renamed or dropped.
// What is refused (42501): rules and foreign or row-level BEFORE INSERT triggers on tables of schema
// witness; creating or replacing a function there; renaming or moving pg_witness's relations,
// functions, triggers and event triggers; ALTER EXTENSION pg_witness ADD or DROP; constraints,
// policies, defaults and column changes on its tables (but under its internal mark).
// pg_witness's own DDL (its functions, its extension script, its workers) is not recorded. Plain PostgreSQL
// calls only: no C++ object lives in these frames (docs/cpp-boundary.md, rule 4).
#include "pg/activity/capture_control.hpp"

#include "pg/activity/activity_hooks.hpp"
#include "pg/capture/internal_ddl.hpp"
#include "pg/common/trail_catalog.hpp"

#include <initializer_list>

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/relation.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_attrdef.h"
#include "catalog/pg_class.h"
#include "catalog/pg_constraint.h"
#include "catalog/pg_depend.h"
#include "catalog/pg_type.h"
#include "catalog/pg_event_trigger.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_policy.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_publication.h"
#include "catalog/pg_publication_rel.h"
#include "catalog/pg_rewrite.h"
#include "catalog/pg_trigger.h"
#include "commands/extension.h"
#include "commands/trigger.h"
#include "nodes/parsenodes.h"
#include "parser/parsetree.h"
#include "catalog/namespace.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"
#include "utils/syscache.h"
}

namespace witness::pg
{
namespace
{

object_access_hook_type prev_object_access = nullptr;
// DROP EXTENSION pg_witness is running: the objects it drops are not recorded.
bool dropping_witness = false;

// pg_witness's event triggers: when one of them does not fire, nothing refuses or records DDL on
// tracked tables (docs/capture.md).
const char *const kEventTriggers[] = {"witness_ddl_command_end", "witness_sql_drop", "witness_drop_start",
                                      "witness_table_rewrite"};

bool has_witness_prefix(const char *name)
{
	return strncmp(name, "witness_", 8) == 0;
}

// Whether pg_witness's event triggers fire for the current command (and do not stand aside).
bool event_triggers_check()
{
	// Under pg_witness's internal mark its event triggers let DDL through (their own, or what runs
	// nested in it).
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA || internal_ddl_active())
		return false;
	for (const char *name : kEventTriggers) {
		HeapTuple tup = SearchSysCache1(EVENTTRIGGERNAME, CStringGetDatum(name));
		if (!HeapTupleIsValid(tup))
			return false;
		const char enabled = ((Form_pg_event_trigger)GETSTRUCT(tup))->evtenabled;
		ReleaseSysCache(tup);
		if (enabled != TRIGGER_FIRES_ON_ORIGIN && enabled != TRIGGER_FIRES_ALWAYS)
			return false;
	}
	return true;
}

const char *firing_name(char enabled)
{
	switch (enabled) {
	case TRIGGER_FIRES_ON_ORIGIN:
		return "fires on origin";
	case TRIGGER_FIRES_ALWAYS:
		return "fires always";
	case TRIGGER_FIRES_ON_REPLICA:
		return "fires on replica only";
	case TRIGGER_DISABLED:
		return "disabled";
	}
	return "unknown";
}

const char *access_name(ObjectAccessType access)
{
	switch (access) {
	case OAT_POST_CREATE:
		return "created";
	case OAT_DROP:
		return "dropped";
	default:
		return "altered";
	}
}

// The catalog row of an object by OID as the command has just left it: SnapshotSelf sees the
// version the command wrote, which the hook runs before any command counter increment makes visible.
struct CatalogRow {
	Relation rel;
	SysScanDesc scan;
	HeapTuple tup;
};

CatalogRow open_row(Oid catalog, Oid index, AttrNumber oid_column, Oid oid, Snapshot snapshot = SnapshotSelf)
{
	CatalogRow row;
	row.rel = table_open(catalog, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, oid_column, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(oid));
	row.scan = systable_beginscan(row.rel, index, true, snapshot, 1, &key);
	row.tup = systable_getnext(row.scan);
	return row;
}

// The snapshot of the statement that is changing the catalogs: it sees an altered row as it was
// before (a rename, a move to another schema), which SnapshotSelf no longer shows.
Snapshot before_snapshot()
{
	return ActiveSnapshotSet() ? GetActiveSnapshot() : nullptr;
}

// Whether the row is the new version of an updated one: CREATE OR REPLACE of an existing object.
bool is_update(HeapTuple tup)
{
	return (tup->t_data->t_infomask & HEAP_UPDATED) != 0;
}

void close_row(CatalogRow &row)
{
	systable_endscan(row.scan);
	table_close(row.rel, AccessShareLock);
}

// What identifies a trigger as pg_witness's: its name (witness_...) or its function (of schema witness).
bool is_witness_trigger(Form_pg_trigger form, Oid witness_schema)
{
	return has_witness_prefix(NameStr(form->tgname)) || get_func_namespace(form->tgfoid) == witness_schema;
}

// A trigger on a table of schema witness must be pg_witness's: its function a member of the
// extension (the guards, the capture triggers; a restore recreates them). Another would see, and
// could drop, every row pg_witness writes there (activity, DDL records).
void refuse_foreign_trigger(Form_pg_trigger form, const char *table)
{
	const Oid extension = get_extension_oid("pg_witness", true);
	// A row-level BEFORE INSERT trigger can drop the row it is given, whatever its function.
	const bool drops_rows = TRIGGER_FOR_ROW(form->tgtype) && TRIGGER_FOR_BEFORE(form->tgtype) && TRIGGER_FOR_INSERT(form->tgtype);
	if (getExtensionOfObject(ProcedureRelationId, form->tgfoid) == extension && !drops_rows)
		return;
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("cannot create trigger \"%s\" on %s: the tables of pg_witness take no triggers but its own",
	                        NameStr(form->tgname), table),
	                errdetail("A trigger there could drop or change the records pg_witness writes.")));
}

// Any trigger of a table of schema witness, or one of pg_witness's (by name or function, before or
// after the command) on any other table while the event triggers do not check: its description and
// state. Renaming one of pg_witness's triggers is refused: under a new name it would no longer be
// recognised.
bool describe_trigger(ObjectAccessType access, Oid trigger, Oid witness_schema, char *object, char *state,
                      bool *replaced)
{
	bool was_witness = false;
	char old_name[NAMEDATALEN] = "";
	Snapshot before = access == OAT_POST_ALTER ? before_snapshot() : nullptr;
	if (before != nullptr) {
		CatalogRow old = open_row(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid, trigger, before);
		if (HeapTupleIsValid(old.tup)) {
			auto *form = (Form_pg_trigger)GETSTRUCT(old.tup);
			was_witness = is_witness_trigger(form, witness_schema) || get_rel_namespace(form->tgrelid) == witness_schema;
			strlcpy(old_name, NameStr(form->tgname), sizeof(old_name));
		}
		close_row(old);
	}
	CatalogRow row = open_row(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid, trigger);
	HeapTuple tup = row.tup;
	bool found = false;
	if (HeapTupleIsValid(tup)) {
		auto *form = (Form_pg_trigger)GETSTRUCT(tup);
		const Oid table_schema = get_rel_namespace(form->tgrelid);
		const char *schema = get_namespace_name(table_schema);
		const char *table = get_rel_name(form->tgrelid);
		const char *label = psprintf("%s.%s", schema ? schema : "?", table ? table : "?");
		if (table_schema == witness_schema && access == OAT_POST_CREATE)
			refuse_foreign_trigger(form, label);
		// (Where the event triggers check, they refuse it themselves, as reserved_name.)
		if (was_witness && old_name[0] != '\0' && strcmp(old_name, NameStr(form->tgname)) != 0 &&
		    (table_schema == witness_schema || !event_triggers_check()))
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot rename pg_witness trigger \"%s\" of %s", old_name, label)));
		if (table_schema == witness_schema || ((was_witness || is_witness_trigger(form, witness_schema)) && !event_triggers_check())) {
			snprintf(object, kActivityObjectBytes, "trigger %s on %s", NameStr(form->tgname), label);
			strlcpy(state, firing_name(form->tgenabled), kActivityMessageBytes);
			*replaced = is_update(tup);
			found = true;
		}
	}
	close_row(row);
	return found;
}

// A rule on a table of schema witness is refused (it could drop what pg_witness writes there); one on
// any other table is recorded while the event triggers do not check (they record rules on tracked
// tables).
bool describe_rule(ObjectAccessType access, Oid rule, Oid witness_schema, char *object)
{
	CatalogRow row = open_row(RewriteRelationId, RewriteOidIndexId, Anum_pg_rewrite_oid, rule);
	bool found = false;
	if (HeapTupleIsValid(row.tup)) {
		auto *form = (Form_pg_rewrite)GETSTRUCT(row.tup);
		const Oid table_schema = get_rel_namespace(form->ev_class);
		const char kind = get_rel_relkind(form->ev_class);
		const char *table = get_rel_name(form->ev_class);
		const bool is_table = kind == RELKIND_RELATION || kind == RELKIND_PARTITIONED_TABLE;
		if (table_schema == witness_schema && is_table && access != OAT_DROP)
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot create rule \"%s\" on witness.%s: the tables of pg_witness take no rules",
			                        NameStr(form->rulename), table ? table : "?"),
			                errdetail("A rule there could drop or change the records pg_witness writes.")));
		if (is_table && (table_schema == witness_schema || !event_triggers_check())) {
			const char *schema = get_namespace_name(table_schema);
			snprintf(object, kActivityObjectBytes, "rule %s on %s.%s", NameStr(form->rulename), schema ? schema : "?",
			         table ? table : "?");
			found = true;
		}
	}
	close_row(row);
	return found;
}

// One of pg_witness's event triggers (named witness_..., before or after the command); renaming one is
// refused.
bool describe_event_trigger(ObjectAccessType access, Oid trigger, char *object, char *state)
{
	char old_name[NAMEDATALEN] = "";
	Snapshot before = access == OAT_POST_ALTER ? before_snapshot() : nullptr;
	if (before != nullptr) {
		CatalogRow old = open_row(EventTriggerRelationId, EventTriggerOidIndexId, Anum_pg_event_trigger_oid, trigger, before);
		if (HeapTupleIsValid(old.tup))
			strlcpy(old_name, NameStr(((Form_pg_event_trigger)GETSTRUCT(old.tup))->evtname), sizeof(old_name));
		close_row(old);
	}
	CatalogRow row = open_row(EventTriggerRelationId, EventTriggerOidIndexId, Anum_pg_event_trigger_oid, trigger);
	bool found = false;
	if (HeapTupleIsValid(row.tup)) {
		auto *form = (Form_pg_event_trigger)GETSTRUCT(row.tup);
		if (has_witness_prefix(old_name) && strcmp(old_name, NameStr(form->evtname)) != 0)
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot rename pg_witness event trigger \"%s\"", old_name)));
		found = has_witness_prefix(NameStr(form->evtname));
		if (found) {
			snprintf(object, kActivityObjectBytes, "event trigger %s", NameStr(form->evtname));
			strlcpy(state, firing_name(form->evtenabled), kActivityMessageBytes);
		}
	}
	close_row(row);
	return found;
}

// Whether the relation has one of pg_witness's capture triggers (a trigger whose function is of schema
// witness): a tracked table, or a partition or child of one.
bool is_captured(Oid relid, Oid witness_schema)
{
	Relation rel = RelationIdGetRelation(relid);
	if (rel == nullptr)
		return false;
	bool found = false;
	for (int i = 0; rel->trigdesc != nullptr && i < rel->trigdesc->numtriggers && !found; i++)
		found = get_func_namespace(rel->trigdesc->triggers[i].tgfoid) == witness_schema;
	RelationClose(rel);
	return found;
}

// An OID column of an object's catalog row (its schema, its table), InvalidOid when there is none, as
// the given snapshot sees the row (nullptr: no snapshot, InvalidOid).
Oid oid_column_of(Oid catalog, Oid index, AttrNumber oid_column, AttrNumber column, Oid oid, Snapshot snapshot)
{
	if (snapshot == nullptr)
		return InvalidOid;
	CatalogRow row = open_row(catalog, index, oid_column, oid, snapshot);
	Oid value = InvalidOid;
	if (HeapTupleIsValid(row.tup)) {
		bool isnull;
		Datum d = heap_getattr(row.tup, column, RelationGetDescr(row.rel), &isnull);
		if (!isnull)
			value = DatumGetObjectId(d);
	}
	close_row(row);
	return value;
}

// Whether the object belongs to the extension: what pg_witness finds by name (its monthly partitions,
// which a DBA may detach and rename, do not).
bool is_member(Oid catalog, Oid oid)
{
	const Oid extension = get_extension_oid("pg_witness", true);
	return OidIsValid(extension) && getExtensionOfObject(catalog, oid) == extension;
}

void refuse_move(const char *what, const char *name)
{
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("cannot move %s %s out of schema witness", what, name),
	                errdetail("pg_witness finds its objects in schema witness.")));
}

bool describe_function(ObjectAccessType access, Oid function, Oid witness_schema, char *object, bool *replaced)
{
	// The schema it was in before the command (a move out of schema witness is refused).
	const Oid was = oid_column_of(ProcedureRelationId, ProcedureOidIndexId, Anum_pg_proc_oid, Anum_pg_proc_pronamespace,
	                              function, access == OAT_POST_ALTER ? before_snapshot() : nullptr);
	CatalogRow row = open_row(ProcedureRelationId, ProcedureOidIndexId, Anum_pg_proc_oid, function);
	bool found = false;
	if (HeapTupleIsValid(row.tup)) {
		auto *form = (Form_pg_proc)GETSTRUCT(row.tup);
		if (was == witness_schema && form->pronamespace != witness_schema && is_member(ProcedureRelationId, function))
			refuse_move("function", NameStr(form->proname));
		found = form->pronamespace == witness_schema;
		if (found)
			snprintf(object, kActivityObjectBytes, "function witness.%s", NameStr(form->proname));
		*replaced = is_update(row.tup);
		// Code of schema witness runs as pg_witness's own, unrecorded: only its extension script puts
		// any there.
		if (found && access == OAT_POST_CREATE)
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot %s function witness.%s: schema witness holds pg_witness's functions only",
			                       *replaced ? "replace" : "create", NameStr(form->proname))));
	}
	close_row(row);
	return found;
}

// A relation of schema witness, or one of its columns. Renaming one of the extension's is refused too:
// pg_witness finds its tables by name.
bool describe_relation(ObjectAccessType access, Oid relid, int column, Oid witness_schema, char *object)
{
	char old_name[NAMEDATALEN] = "";
	Oid was = InvalidOid;
	Snapshot before = access == OAT_POST_ALTER ? before_snapshot() : nullptr;
	if (before != nullptr) {
		CatalogRow old = open_row(RelationRelationId, ClassOidIndexId, Anum_pg_class_oid, relid, before);
		if (HeapTupleIsValid(old.tup)) {
			was = ((Form_pg_class)GETSTRUCT(old.tup))->relnamespace;
			strlcpy(old_name, NameStr(((Form_pg_class)GETSTRUCT(old.tup))->relname), sizeof(old_name));
		}
		close_row(old);
	}
	CatalogRow row = open_row(RelationRelationId, ClassOidIndexId, Anum_pg_class_oid, relid);
	bool found = false;
	if (HeapTupleIsValid(row.tup)) {
		auto *form = (Form_pg_class)GETSTRUCT(row.tup);
		const bool member = was == witness_schema && is_member(RelationRelationId, relid);
		if (column > 0 && form->relnamespace == witness_schema && !internal_ddl_active() && is_member(RelationRelationId, relid))
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot change the columns of witness.%s", NameStr(form->relname)),
			                errdetail("A column added, retyped (USING rewrites every row) or given a default would change what pg_witness writes or has written.")));
		if (member && form->relnamespace != witness_schema)
			refuse_move("relation", old_name);
		// pg_witness's DDL takes what is in schema witness for its own: a tracked table moved in and
		// out again lost its capture triggers, still listed as tracked (found by a robustness review).
		if (OidIsValid(was) && was != witness_schema && form->relnamespace == witness_schema && !internal_ddl_active()) {
			const char *from = get_namespace_name(was);
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot move relation %s.%s into schema witness", from ? from : "?", old_name),
			                errdetail("pg_witness takes the relations of schema witness for its own.")));
		}
		if (member && strcmp(old_name, NameStr(form->relname)) != 0)
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot rename relation witness.%s", old_name),
			                errdetail("pg_witness finds its tables by name.")));
		found = form->relnamespace == witness_schema;
		if (found && column > 0)
			snprintf(object, kActivityObjectBytes, "column %d of witness.%s", column, NameStr(form->relname));
		else if (found)
			snprintf(object, kActivityObjectBytes, "relation witness.%s", NameStr(form->relname));
		else if ((access != OAT_POST_CREATE || column > 0) &&
		         (form->relkind == RELKIND_RELATION || form->relkind == RELKIND_PARTITIONED_TABLE) &&
		         !event_triggers_check() && is_captured(relid, witness_schema)) {
			// A captured table changed while nothing records its DDL (renamed, say, so that another
			// table takes its name), or given a column: with a constant default every row reads it,
			// rewritten by nothing (an attack review).
			const char *schema = get_namespace_name(form->relnamespace);
			snprintf(object, kActivityObjectBytes, "%s %s.%s", column > 0 ? "a column of table" : "table",
			         schema ? schema : "?", NameStr(form->relname));
			found = true;
		}
	}
	close_row(row);
	return found;
}

// A constraint, a row-level security policy or a column default on a table of schema witness: each
// could make pg_witness's writes fail (a CHECK constraint, even NOT VALID, on witness.activity stops the
// drain and with it the sealer), hide its rows from auditors, or change them. Refused.
void refuse_on_witness_table(Oid relid, Oid witness_schema, const char *what)
{
	// Under pg_witness's internal mark (a superuser's deliberate witness._begin_internal_ddl(), itself
	// recorded), let through: the tests break pg_witness's tables on purpose this way.
	if (!OidIsValid(relid) || get_rel_namespace(relid) != witness_schema || internal_ddl_active())
		return;
	const char *name = get_rel_name(relid);
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("cannot add a %s to witness.%s: the tables of pg_witness take none but its own", what,
	                       name ? name : "?")));
}

constexpr char kTrailPublication[] = "witness_trail";

// The publication a collector subscribes to (witness.publish_trail()), altered or dropped, or a table
// taken from it: paused, it let a source's superuser rewrite entries before they shipped, with no
// trace of the pause (an attack review of the central collector). A table added is not seen: the
// hook runs before the new pg_publication_rel row is visible to the catalog cache.
bool describe_publication(Oid publication, const char *table, char *object)
{
	const char *name = get_publication_name(publication, true);
	if (name == nullptr || strcmp(name, kTrailPublication) != 0)
		return false;
	if (table != nullptr)
		snprintf(object, kActivityObjectBytes, "publication %s table %s", name, table);
	else
		snprintf(object, kActivityObjectBytes, "publication %s", name);
	return true;
}

bool describe_publication_rel(Oid membership, char *object)
{
	HeapTuple tup = SearchSysCache1(PUBLICATIONREL, ObjectIdGetDatum(membership));
	if (!HeapTupleIsValid(tup))
		return false;
	auto *form = (Form_pg_publication_rel)GETSTRUCT(tup);
	const Oid publication = form->prpubid;
	const char *table = get_rel_name(form->prrelid);
	ReleaseSysCache(tup);
	return describe_publication(publication, table != nullptr ? table : "?", object);
}

// Whether the access to the object is recorded; then what it is and, for triggers, how it fires now.
bool describe(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, Oid witness_schema, char *object,
              char *state, bool *replaced)
{
	switch (class_id) {
	case TriggerRelationId:
		return describe_trigger(access, object_id, witness_schema, object, state, replaced);
	case RewriteRelationId:
		return describe_rule(access, object_id, witness_schema, object);
	case EventTriggerRelationId:
		return describe_event_trigger(access, object_id, object, state);
	case ProcedureRelationId:
		return describe_function(access, object_id, witness_schema, object, replaced);
	case RelationRelationId:
		return describe_relation(access, object_id, sub_id, witness_schema, object);
	case PublicationRelationId:
		return describe_publication(object_id, nullptr, object);
	case PublicationRelRelationId:
		return describe_publication_rel(object_id, object);
	case ConstraintRelationId:
		if (access == OAT_POST_CREATE)
			refuse_on_witness_table(oid_column_of(ConstraintRelationId, ConstraintOidIndexId, Anum_pg_constraint_oid,
			                                      Anum_pg_constraint_conrelid, object_id, SnapshotSelf),
			                        witness_schema, "constraint");
		return false;
	case PolicyRelationId:
		if (access == OAT_POST_CREATE)
			refuse_on_witness_table(oid_column_of(PolicyRelationId, PolicyOidIndexId, Anum_pg_policy_oid,
			                                      Anum_pg_policy_polrelid, object_id, SnapshotSelf),
			                        witness_schema, "row-level security policy");
		return false;
	case AttrDefaultRelationId:
		// PostgreSQL names a default by its table and column here, not by its own OID.
		if (access == OAT_POST_CREATE)
			refuse_on_witness_table(object_id, witness_schema, "column default");
		return false;
	case ExtensionRelationId:
		// Members added or dropped would pass for pg_witness's own code (its triggers, its functions).
		if (access == OAT_POST_ALTER && object_id == get_extension_oid("pg_witness", true))
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("cannot add objects to or drop objects from extension pg_witness"),
			                errhint("ALTER EXTENSION pg_witness UPDATE installs a new version.")));
		return false;
	default:
		return false;
	}
}

// What PostgreSQL itself does as part of a command (a table's row type, its TOAST table, the
// triggers a DROP TABLE takes with it are not: they are the user's command's). A relation dropped
// internally is the transient copy that VACUUM FULL, CLUSTER or a rewrite swaps in and drops
// (pg_temp_N, in the table's schema), or an index REINDEX CONCURRENTLY or a column's new type rebuilt;
// retention.md advises VACUUM FULL of the trail, and each left a false "dropped" (a helper's review).
// No user's DROP is internal; triggers dropped internally (a partition detached) are still recorded.
bool is_internal(ObjectAccessType access, Oid class_id, void *arg)
{
	if (arg == nullptr)
		return false;
	switch (access) {
	case OAT_POST_CREATE:
		return ((ObjectAccessPostCreate *)arg)->is_internal;
	case OAT_POST_ALTER:
		return ((ObjectAccessPostAlter *)arg)->is_internal;
	case OAT_DROP:
		return class_id == RelationRelationId && (((ObjectAccessDrop *)arg)->dropflags & PERFORM_DELETION_INTERNAL) != 0;
	default:
		return false;
	}
}

void on_object_access(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, void *arg)
{
	if (prev_object_access != nullptr)
		prev_object_access(access, class_id, object_id, sub_id, arg);
	if ((access != OAT_POST_CREATE && access != OAT_POST_ALTER && access != OAT_DROP) || dropping_witness)
		return;
	if (class_id != TriggerRelationId && class_id != RewriteRelationId && class_id != EventTriggerRelationId &&
	    class_id != ProcedureRelationId && class_id != RelationRelationId && class_id != ExtensionRelationId &&
	    class_id != ConstraintRelationId && class_id != PolicyRelationId && class_id != AttrDefaultRelationId &&
	    class_id != PublicationRelationId && class_id != PublicationRelRelationId)
		return;
	Oid witness_schema;
	bool in_witness_function;
	if (is_internal(access, class_id, arg) || !activity_session_change(&witness_schema, &in_witness_function))
		return;
	// pg_witness's own functions create, enable (always) and drop its triggers and partitions: not
	// recorded. What else runs inside them (an event trigger of someone else's, fired by their DDL)
	// is recorded when it disables a trigger or makes it fire on replica only.
	if (in_witness_function && (access != OAT_POST_ALTER || (class_id != TriggerRelationId && class_id != EventTriggerRelationId)))
		return;
	char object[kActivityObjectBytes];
	char state[kActivityMessageBytes];
	state[0] = '\0';
	bool replaced = false;
	if (!describe(access, class_id, object_id, sub_id, witness_schema, object, state, &replaced))
		return;
	if (in_witness_function && strcmp(state, firing_name(TRIGGER_DISABLED)) != 0 &&
	    strcmp(state, firing_name(TRIGGER_FIRES_ON_REPLICA)) != 0)
		return;
	const char *action = access == OAT_POST_CREATE && replaced ? "replaced" : access_name(access);
	char message[kActivityMessageBytes];
	if (state[0] != '\0' && access != OAT_DROP)
		snprintf(message, sizeof(message), "%s: now %s", action, state);
	else
		strlcpy(message, action, sizeof(message));
	activity_record_change(ActivityKind::CaptureControl, object, message);
}

void on_xact_end(XactEvent event, void *)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
	    event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
		dropping_witness = false;
}

// A table of schema witness that replica mode opens to inserts nobody records:
// - one whose rows are entries of the chain through its own capture trigger: witness.tracked_table
//   and the record tables (witness.ddl_event, witness.alert_rule, witness.legal_hold, ...). That
//   trigger fires on origin only, so that a restore loads their rows without recording them twice;
// - one whose insert guard (witness_insert_only_by_capture, _by_sealer, _by_pg_witness,
//   witness_inserted_by_pg_witness) fires on origin only, for restores and replication apply
//   workers: the trail (witness.entry and its partitions), the chain (witness.block,
//   witness.block_chunk), witness.pruned_leaf, witness.era, witness.collector, and the state of the
//   alert rules and summaries (witness.alert_state, ...: one row there can switch alert evaluation
//   off for every later block). pg_witness writes the first in C, past the executor, the others under
//   its internal mark; a row inserted by SQL there in replica mode, an entry made up before the
//   sealer takes it included, is none of its own (found by an attack review and a code review).
bool replica_open_witness_table(Oid relid)
{
	if (relid == tracked_table_relid())
		return true;
	const Oid nsp = get_namespace_oid("witness", true);
	if (!OidIsValid(nsp) || get_rel_namespace(relid) != nsp)
		return false;
	Relation rel = try_relation_open(relid, AccessShareLock);
	if (rel == nullptr)
		return false;
	static const char kInsertGuard[] = "witness_insert_only_by_", kWrittenGuard[] = "witness_inserted_by_";
	bool found = false;
	for (int i = 0; rel->trigdesc != nullptr && i < rel->trigdesc->numtriggers && !found; i++) {
		const Trigger *trigger = &rel->trigdesc->triggers[i];
		const bool insert_guard = strncmp(trigger->tgname, kInsertGuard, sizeof(kInsertGuard) - 1) == 0 ||
		                          strncmp(trigger->tgname, kWrittenGuard, sizeof(kWrittenGuard) - 1) == 0;
		found = strcmp(trigger->tgname, "witness_capture") == 0 ||
		        (insert_guard && trigger->tgenabled == TRIGGER_FIRES_ON_ORIGIN);
	}
	relation_close(rel, AccessShareLock);
	return found;
}

// Such a table written while its capture trigger or insert guard does not fire
// (session_replication_role = replica): a row that is no entry of the chain, or one pg_witness did not
// write. For witness.tracked_table a change of how tables are captured (its guard refuses an UPDATE
// or DELETE then, but for pg_witness's own under its internal mark); for the record tables a rule,
// hold or release that takes effect (an alert rule switched off, a hold released) without its entry,
// pg_witness's own functions called in replica mode included; for the trail and the chain a row
// that verification may take for pg_witness's. A restore, which loads them this way, is recorded too.
bool uncaptured_config_write(Oid relid)
{
	return SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA && replica_open_witness_table(relid);
}

} // namespace

Oid catalog_written(const PlannedStmt *stmt)
{
	ListCell *lc;
	foreach (lc, stmt->resultRelations) {
		const RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);
		if (rte->rtekind == RTE_RELATION && (IsCatalogRelationOid(rte->relid) || uncaptured_config_write(rte->relid)))
			return rte->relid;
	}
	return InvalidOid;
}

Oid utility_catalog_written(const Node *stmt)
{
	if (IsA(stmt, CopyStmt)) {
		const CopyStmt *copy = castNode(CopyStmt, stmt);
		if (!copy->is_from || copy->relation == nullptr)
			return InvalidOid;
		const Oid relid = RangeVarGetRelid(copy->relation, NoLock, true);
		return OidIsValid(relid) && (IsCatalogRelationOid(relid) || uncaptured_config_write(relid)) ? relid : InvalidOid;
	}
	if (IsA(stmt, TruncateStmt)) {
		ListCell *lc;
		foreach (lc, castNode(TruncateStmt, stmt)->relations) {
			const Oid relid = RangeVarGetRelid(lfirst_node(RangeVar, lc), NoLock, true);
			if (OidIsValid(relid) && IsCatalogRelationOid(relid))
				return relid;
		}
	}
	return InvalidOid;
}

namespace
{
void record_concurrent_detach(const AlterTableStmt *alter);
} // namespace

bool capture_control_utility_begin(const PlannedStmt *pstmt)
{
	const Node *stmt = pstmt->utilityStmt;
	if (stmt != nullptr && IsA(stmt, AlterTableStmt))
		record_concurrent_detach(castNode(AlterTableStmt, stmt));
	if (stmt == nullptr || !IsA(stmt, DropStmt) || castNode(DropStmt, stmt)->removeType != OBJECT_EXTENSION)
		return false;
	ListCell *lc;
	foreach (lc, castNode(DropStmt, stmt)->objects)
		if (strcmp(strVal(lfirst(lc)), "pg_witness") == 0)
			dropping_witness = true;
	return dropping_witness;
}

void capture_control_utility_end(bool drops_witness)
{
	if (drops_witness)
		dropping_witness = false;
}

namespace
{

// "schema.name" of a relation, palloc'd.
const char *relation_label(Oid relid)
{
	const char *schema = get_namespace_name(get_rel_namespace(relid));
	const char *name = get_rel_name(relid);
	return psprintf("%s.%s", schema ? schema : "?", name ? name : "?");
}

// A table joined to, or taken from, a captured table by inheritance while pg_witness's event
// triggers stand aside: no capture trigger is created or dropped, so the object access hook sees
// nothing of pg_witness's, and the child's rows would become part of the tracked table, changeable
// through it, without an entry (found by an attack review).
void record_inheritance(Oid child, const RangeVar *parent_name, bool joined, Oid witness_schema)
{
	const Oid parent = parent_name != nullptr ? RangeVarGetRelid(parent_name, NoLock, true) : InvalidOid;
	if (!OidIsValid(child) || !OidIsValid(parent) || !is_captured(parent, witness_schema))
		return;
	char object[kActivityObjectBytes], message[kActivityMessageBytes];
	const char *parent_label = relation_label(parent);
	snprintf(object, sizeof(object), "table %s", relation_label(child));
	snprintf(message, sizeof(message),
	         joined ? "made an inheritance child of captured table %s; its rows are not captured until pg_witness's event triggers install its capture triggers"
	                : "no longer an inheritance child of captured table %s; its rows left it without a left event",
	         parent_label);
	activity_record_change(ActivityKind::CaptureControl, object, message);
}

// A table attached to, or detached from, a captured partitioned table while pg_witness's event
// triggers stand aside: the rows it holds join (or leave) the tracked table with no entry and no
// ddl_event; only its cloned capture trigger's creation showed, which alerts nobody (an attack review
// attached a filled table so).
void record_partition(const RangeVar *parent_name, const RangeVar *partition_name, const char *format, Oid witness_schema)
{
	const Oid parent = parent_name != nullptr ? RangeVarGetRelid(parent_name, NoLock, true) : InvalidOid;
	const Oid partition = partition_name != nullptr ? RangeVarGetRelid(partition_name, NoLock, true) : InvalidOid;
	if (!OidIsValid(partition) || !OidIsValid(parent) || !is_captured(parent, witness_schema))
		return;
	char object[kActivityObjectBytes], message[kActivityMessageBytes];
	snprintf(object, sizeof(object), "table %s", relation_label(partition));
	snprintf(message, sizeof(message), format, relation_label(parent));
	activity_record_change(ActivityKind::CaptureControl, object, message);
}

constexpr char kAttached[] = "attached as a partition of captured table %s; the rows it held joined it without entries";
constexpr char kDetached[] = "detached from captured table %s; its rows left it without a left event";

// DETACH PARTITION ... CONCURRENTLY commits a first transaction that takes the partition's rows out of
// the captured table, and waits in a second one that can be cancelled: nothing after the command then
// runs (no event trigger's ddl_command_end, no hook after it), and the rows are gone from the tracked
// table with no trace (an attack review, as the table's owner, with the event triggers on). Recorded
// before the command starts, whatever comes of it.
void record_concurrent_detach(const AlterTableStmt *alter)
{
	ListCell *lc;
	foreach (lc, alter->cmds) {
		const AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
		if (cmd->subtype != AT_DetachPartition || !castNode(PartitionCmd, cmd->def)->concurrent)
			continue;
		Oid witness_schema;
		bool in_witness_function;
		if (!activity_session_change(&witness_schema, &in_witness_function) || in_witness_function)
			return;
		record_partition(alter->relation, castNode(PartitionCmd, cmd->def)->name,
		                 "detaching concurrently from captured table %s: its rows leave it when the first of the "
		                 "command's two transactions commits, even if the second is cancelled",
		                 witness_schema);
	}
}

// Whether a column of another relation, or a domain, has the type (or an array of it): stored values
// that a change to the type's attributes renames or drops. Read from pg_depend, which records each.
bool type_stored_elsewhere(Oid type, Oid own_relation)
{
	for (Oid t : {type, get_array_type(type)}) {
		if (!OidIsValid(t))
			continue;
		Relation depend = table_open(DependRelationId, AccessShareLock);
		ScanKeyData key[2];
		ScanKeyInit(&key[0], Anum_pg_depend_refclassid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(TypeRelationId));
		ScanKeyInit(&key[1], Anum_pg_depend_refobjid, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(t));
		SysScanDesc scan = systable_beginscan(depend, DependReferenceIndexId, true, nullptr, 2, key);
		bool found = false;
		HeapTuple tup;
		while (!found && HeapTupleIsValid(tup = systable_getnext(scan))) {
			const Form_pg_depend d = (Form_pg_depend)GETSTRUCT(tup);
			found = d->deptype == DEPENDENCY_NORMAL &&
			        ((d->classid == RelationRelationId && d->objsubid > 0 && d->objid != own_relation) ||
			         d->classid == TypeRelationId);
		}
		systable_endscan(scan);
		table_close(depend, AccessShareLock);
		if (found)
			return true;
	}
	return false;
}

// A relation's row type (a composite type, or a table's) changed while pg_witness's event triggers
// stand aside: attributes renamed or dropped change the stored values of every column of that
// type, in tracked tables too, without touching them (an attack review swapped two attributes' names
// and dropped one, with no entry and no record). Recorded when something stores the type.
void record_row_type_change(const RangeVar *name, const char *what, Oid witness_schema)
{
	const Oid relid = name != nullptr ? RangeVarGetRelid(name, NoLock, true) : InvalidOid;
	if (!OidIsValid(relid) || is_captured(relid, witness_schema))
		return; // a captured table's own changes are recorded by the object access hook
	const Oid type = get_rel_type_id(relid);
	if (!OidIsValid(type) || !type_stored_elsewhere(type, relid))
		return;
	char object[kActivityObjectBytes], message[kActivityMessageBytes];
	snprintf(object, sizeof(object), "type %s", relation_label(relid));
	snprintf(message, sizeof(message), "%s; stored values of this type elsewhere changed with it", what);
	activity_record_change(ActivityKind::CaptureControl, object, message);
}

// Whether an ALTER TABLE or ALTER TYPE command drops an attribute of its relation's row type
// (retyping one is refused by PostgreSQL while a column stores the type).
bool drops_attribute(const AlterTableStmt *alter)
{
	ListCell *lc;
	foreach (lc, alter->cmds)
		if (lfirst_node(AlterTableCmd, lc)->subtype == AT_DropColumn)
			return true;
	return false;
}

} // namespace

void capture_control_after_utility(const PlannedStmt *pstmt)
{
	const Node *stmt = pstmt->utilityStmt;
	if (stmt == nullptr ||
	    !(IsA(stmt, CreateStmt) || IsA(stmt, AlterTableStmt) || IsA(stmt, AlterEnumStmt) || IsA(stmt, RenameStmt)))
		return;
	Oid witness_schema;
	bool in_witness_function;
	if (!activity_session_change(&witness_schema, &in_witness_function) || in_witness_function || event_triggers_check())
		return;
	if (IsA(stmt, CreateStmt)) {
		const CreateStmt *create = castNode(CreateStmt, stmt);
		if (create->partbound != nullptr)
			return; // a partition gets its parent's capture triggers, which the hook records
		const Oid child = create->inhRelations != NIL ? RangeVarGetRelid(create->relation, NoLock, true) : InvalidOid;
		ListCell *lc;
		foreach (lc, create->inhRelations)
			record_inheritance(child, lfirst_node(RangeVar, lc), true, witness_schema);
	} else if (IsA(stmt, RenameStmt)) {
		const RenameStmt *rename = castNode(RenameStmt, stmt);
		if (rename->renameType == OBJECT_ATTRIBUTE || rename->renameType == OBJECT_COLUMN)
			record_row_type_change(rename->relation,
			                       psprintf("attribute \"%s\" renamed to \"%s\"", rename->subname, rename->newname),
			                       witness_schema);
	} else if (IsA(stmt, AlterTableStmt)) {
		const AlterTableStmt *alter = castNode(AlterTableStmt, stmt);
		if (drops_attribute(alter))
			record_row_type_change(alter->relation, "attribute dropped", witness_schema);
		Oid child = InvalidOid;
		ListCell *lc;
		foreach (lc, alter->cmds) {
			const AlterTableCmd *cmd = lfirst_node(AlterTableCmd, lc);
			if (cmd->subtype == AT_AttachPartition || cmd->subtype == AT_DetachPartition ||
			    cmd->subtype == AT_DetachPartitionFinalize) {
				record_partition(alter->relation, castNode(PartitionCmd, cmd->def)->name,
				                 cmd->subtype == AT_AttachPartition ? kAttached : kDetached, witness_schema);
				continue;
			}
			if (cmd->subtype != AT_AddInherit && cmd->subtype != AT_DropInherit)
				continue;
			if (!OidIsValid(child))
				child = RangeVarGetRelid(alter->relation, NoLock, true);
			record_inheritance(child, (const RangeVar *)cmd->def, cmd->subtype == AT_AddInherit, witness_schema);
		}
	} else {
		// ALTER TYPE ... RENAME VALUE changes what stored values of every table using the type mean;
		// with the event triggers standing aside nothing says which tables, so it is recorded whatever
		// uses the type.
		const AlterEnumStmt *alter = castNode(AlterEnumStmt, stmt);
		if (alter->oldVal == nullptr)
			return;
		char object[kActivityObjectBytes], message[kActivityMessageBytes];
		snprintf(object, sizeof(object), "type %s", NameListToString(alter->typeName));
		snprintf(message, sizeof(message), "value '%s' renamed to '%s'", alter->oldVal, alter->newVal);
		activity_record_change(ActivityKind::CaptureControl, object, message);
	}
}

void register_capture_control()
{
	prev_object_access = object_access_hook;
	object_access_hook = on_object_access;
	RegisterXactCallback(on_xact_end, nullptr);
}

} // namespace witness::pg
