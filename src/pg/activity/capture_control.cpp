// Capture control (capture_control.hpp). What is recorded, as activity of kind "capture control":
// - any trigger of a table of schema witness (the guards of the trail) created, replaced, altered
//   (enabled, disabled, renamed) or dropped; on any other table, a trigger named witness_... (the
//   capture triggers) when pg_witness's event triggers cannot refuse it (session_replication_role =
//   replica, or one of them disabled);
// - an event trigger named witness_... created, altered or dropped;
// - a function or relation of schema witness created, altered or dropped;
// - ALTER EXTENSION pg_witness ADD or DROP of a member.
// pg_witness's own DDL (its functions, its extension script, its workers) is not. Plain PostgreSQL
// calls only: no C++ object lives in these frames (docs/cpp-boundary.md, rule 4).
#include "pg/activity/capture_control.hpp"

#include "pg/activity/activity_hooks.hpp"

extern "C" {
#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/catalog.h"
#include "catalog/dependency.h"
#include "catalog/indexing.h"
#include "catalog/objectaccess.h"
#include "catalog/pg_class.h"
#include "catalog/pg_event_trigger.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_proc.h"
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
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
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

CatalogRow open_row(Oid catalog, Oid index, AttrNumber oid_column, Oid oid)
{
	CatalogRow row;
	row.rel = table_open(catalog, AccessShareLock);
	ScanKeyData key;
	ScanKeyInit(&key, oid_column, BTEqualStrategyNumber, F_OIDEQ, ObjectIdGetDatum(oid));
	row.scan = systable_beginscan(row.rel, index, true, SnapshotSelf, 1, &key);
	row.tup = systable_getnext(row.scan);
	return row;
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

// Any trigger of a table of schema witness, or one named witness_... on any table while the event
// triggers do not check: its description and state.
bool describe_trigger(Oid trigger, Oid witness_schema, char *object, char *state, bool *replaced)
{
	CatalogRow row = open_row(TriggerRelationId, TriggerOidIndexId, Anum_pg_trigger_oid, trigger);
	HeapTuple tup = row.tup;
	bool found = false;
	if (HeapTupleIsValid(tup)) {
		auto *form = (Form_pg_trigger)GETSTRUCT(tup);
		const Oid table_schema = get_rel_namespace(form->tgrelid);
		if (table_schema == witness_schema || (has_witness_prefix(NameStr(form->tgname)) && !event_triggers_check())) {
			const char *schema = get_namespace_name(table_schema);
			const char *table = get_rel_name(form->tgrelid);
			snprintf(object, kActivityObjectBytes, "trigger %s on %s.%s", NameStr(form->tgname), schema ? schema : "?",
			         table ? table : "?");
			strlcpy(state, firing_name(form->tgenabled), kActivityMessageBytes);
			*replaced = is_update(tup);
			found = true;
		}
	}
	close_row(row);
	return found;
}

bool describe_event_trigger(Oid trigger, char *object, char *state)
{
	CatalogRow row = open_row(EventTriggerRelationId, EventTriggerOidIndexId, Anum_pg_event_trigger_oid, trigger);
	bool found = false;
	if (HeapTupleIsValid(row.tup)) {
		auto *form = (Form_pg_event_trigger)GETSTRUCT(row.tup);
		found = has_witness_prefix(NameStr(form->evtname));
		if (found) {
			snprintf(object, kActivityObjectBytes, "event trigger %s", NameStr(form->evtname));
			strlcpy(state, firing_name(form->evtenabled), kActivityMessageBytes);
		}
	}
	close_row(row);
	return found;
}

bool describe_function(Oid function, Oid witness_schema, char *object, bool *replaced)
{
	CatalogRow row = open_row(ProcedureRelationId, ProcedureOidIndexId, Anum_pg_proc_oid, function);
	bool found = false;
	if (HeapTupleIsValid(row.tup)) {
		auto *form = (Form_pg_proc)GETSTRUCT(row.tup);
		found = form->pronamespace == witness_schema;
		if (found)
			snprintf(object, kActivityObjectBytes, "function witness.%s", NameStr(form->proname));
		*replaced = is_update(row.tup);
	}
	close_row(row);
	return found;
}

// A relation of schema witness, or one of its columns.
bool describe_relation(Oid relid, int column, Oid witness_schema, char *object)
{
	CatalogRow row = open_row(RelationRelationId, ClassOidIndexId, Anum_pg_class_oid, relid);
	bool found = false;
	if (HeapTupleIsValid(row.tup)) {
		auto *form = (Form_pg_class)GETSTRUCT(row.tup);
		found = form->relnamespace == witness_schema;
		if (found && column > 0)
			snprintf(object, kActivityObjectBytes, "column %d of witness.%s", column, NameStr(form->relname));
		else if (found)
			snprintf(object, kActivityObjectBytes, "relation witness.%s", NameStr(form->relname));
	}
	close_row(row);
	return found;
}

// Whether the access to the object is recorded; then what it is and, for triggers, how it fires now.
bool describe(ObjectAccessType access, Oid class_id, Oid object_id, int sub_id, Oid witness_schema, char *object,
              char *state, bool *replaced)
{
	switch (class_id) {
	case TriggerRelationId:
		return describe_trigger(object_id, witness_schema, object, state, replaced);
	case EventTriggerRelationId:
		return describe_event_trigger(object_id, object, state);
	case ProcedureRelationId:
		return describe_function(object_id, witness_schema, object, replaced);
	case RelationRelationId:
		return describe_relation(object_id, sub_id, witness_schema, object);
	case ExtensionRelationId:
		if (access != OAT_POST_ALTER || object_id != get_extension_oid("pg_witness", true))
			return false;
		strlcpy(object, "extension pg_witness", kActivityObjectBytes);
		return true;
	default:
		return false;
	}
}

// What PostgreSQL itself does as part of a command (a table's row type, its TOAST table, the
// triggers a DROP TABLE takes with it are not: they are the user's command's).
bool is_internal(ObjectAccessType access, void *arg)
{
	if (arg == nullptr)
		return false;
	switch (access) {
	case OAT_POST_CREATE:
		return ((ObjectAccessPostCreate *)arg)->is_internal;
	case OAT_POST_ALTER:
		return ((ObjectAccessPostAlter *)arg)->is_internal;
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
	if (class_id != TriggerRelationId && class_id != EventTriggerRelationId && class_id != ProcedureRelationId &&
	    class_id != RelationRelationId && class_id != ExtensionRelationId)
		return;
	Oid witness_schema;
	if (is_internal(access, arg) || !activity_session_change(&witness_schema))
		return;
	char object[kActivityObjectBytes];
	char state[kActivityMessageBytes];
	state[0] = '\0';
	bool replaced = false;
	if (!describe(access, class_id, object_id, sub_id, witness_schema, object, state, &replaced))
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

} // namespace

Oid catalog_written(const PlannedStmt *stmt)
{
	ListCell *lc;
	foreach (lc, stmt->resultRelations) {
		const RangeTblEntry *rte = rt_fetch(lfirst_int(lc), stmt->rtable);
		if (rte->rtekind == RTE_RELATION && IsCatalogRelationOid(rte->relid))
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
		return OidIsValid(relid) && IsCatalogRelationOid(relid) ? relid : InvalidOid;
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

bool capture_control_utility_begin(const PlannedStmt *pstmt)
{
	const Node *stmt = pstmt->utilityStmt;
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

void register_capture_control()
{
	prev_object_access = object_access_hook;
	object_access_hook = on_object_access;
	RegisterXactCallback(on_xact_end, nullptr);
}

} // namespace witness::pg
