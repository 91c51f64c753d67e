// Role, privilege and setting commands recorded in witness.ddl_event (docs/capture.md, "Schema and
// permission changes").
//
// The C side only reads the parse tree: it says what the command names (roles, tables, settings) as a
// JSON summary, asks witness._permission_state() for the state the command may change before it runs,
// and hands both to witness._record_permission_event() after it succeeded, in the same transaction.
// Both are SECURITY DEFINER SQL functions of the extension, not executable by PUBLIC: they are called
// through the function manager, which checks no EXECUTE privilege, so that any role's command is
// recorded and no role can write a record itself. Plain PostgreSQL calls only: no C++ object lives in
// these frames (docs/cpp-boundary.md, rule 4).
#include "pg/capture/permission_events.hpp"

extern "C" {
#include "access/xlog.h"
#include "catalog/dependency.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
#include "nodes/parsenodes.h"
#include "parser/parser.h"
#include "tcop/tcopprot.h"
#include "parser/parse_func.h"
#include "tcop/cmdtag.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/json.h"
}

namespace witness::pg
{

struct PermissionEvent {
	const char *command_tag;
	Datum summary; // jsonb
	Datum before;  // jsonb
	Oid record_fn;
};

namespace
{

// The settings whose changes are recorded besides witness.*: session_replication_role, under which
// pg_witness's event triggers stand aside (set for a role or database, it is there in every one of
// its sessions), and allow_system_table_mods, which lets the catalogs be changed.
bool is_capture_setting(const char *name)
{
	return pg_strncasecmp(name, "witness.", 8) == 0 || pg_strcasecmp(name, "session_replication_role") == 0 ||
	       pg_strcasecmp(name, "allow_system_table_mods") == 0;
}

// Setting names are case-insensitive: SET "WITNESS.x" sets witness.x.
bool is_witness_setting(const VariableSetStmt *set)
{
	return set != nullptr && (set->kind == VAR_RESET_ALL || (set->name != nullptr && is_capture_setting(set->name)));
}

// The one test every utility command of every session goes through: a switch on the node tag, and for
// the few tags that may need a record a look at one field.
bool needs_record(Node *stmt)
{
	switch (nodeTag(stmt)) {
	case T_CreateRoleStmt:
	case T_AlterRoleStmt:
	case T_DropRoleStmt:
	case T_GrantRoleStmt:
	case T_ReassignOwnedStmt:
	case T_DropOwnedStmt:
		return true;
	case T_RenameStmt:
		return castNode(RenameStmt, stmt)->renameType == OBJECT_ROLE;
	case T_GrantStmt:
		switch (castNode(GrantStmt, stmt)->objtype) {
		case OBJECT_TABLE:
		case OBJECT_FUNCTION:
		case OBJECT_PROCEDURE:
		case OBJECT_ROUTINE:
		case OBJECT_SCHEMA:
		case OBJECT_PARAMETER_ACL:
			return true;
		default:
			return false;
		}
	case T_AlterRoleSetStmt:
		return is_witness_setting(castNode(AlterRoleSetStmt, stmt)->setstmt);
	case T_AlterDatabaseSetStmt:
		return is_witness_setting(castNode(AlterDatabaseSetStmt, stmt)->setstmt);
	case T_AlterSystemStmt: {
		// shared_preload_libraries too: taking pg_witness out of it switches capture off at the next start.
		const VariableSetStmt *set = castNode(AlterSystemStmt, stmt)->setstmt;
		return is_witness_setting(set) ||
		       (set != nullptr && set->name != nullptr && pg_strcasecmp(set->name, "shared_preload_libraries") == 0);
	}
	default:
		return false;
	}
}

// The function of pg_witness named name, when it exists and belongs to the installed extension: a
// function of that name in a schema witness that some other role made is never called. Looked up in
// the catalog, not through name resolution, which would need USAGE on schema witness from the role
// that runs the command.
Oid extension_function(Oid extension, const char *name, int nargs, const Oid *argtypes)
{
	const Oid schema = get_namespace_oid("witness", true);
	if (!OidIsValid(schema))
		return InvalidOid;
	oidvector *args = buildoidvector(argtypes, nargs);
	const Oid fn = GetSysCacheOid3(PROCNAMEARGSNSP, Anum_pg_proc_oid, CStringGetDatum(name), PointerGetDatum(args),
	                               ObjectIdGetDatum(schema));
	if (!OidIsValid(fn) || getExtensionOfObject(ProcedureRelationId, fn) != extension)
		return InvalidOid;
	return fn;
}

void append_key(StringInfo buf, const char *key)
{
	if (buf->data[buf->len - 1] != '{')
		appendStringInfoChar(buf, ',');
	escape_json(buf, key);
	appendStringInfoChar(buf, ':');
}

void append_text(StringInfo buf, const char *key, const char *value)
{
	append_key(buf, key);
	if (value == nullptr)
		appendStringInfoString(buf, "null");
	else
		escape_json(buf, value);
}

void append_bool(StringInfo buf, const char *key, bool value)
{
	append_key(buf, key);
	appendStringInfoString(buf, value ? "true" : "false");
}

void append_element(StringInfo buf, const char *value)
{
	if (buf->data[buf->len - 1] != '[')
		appendStringInfoChar(buf, ',');
	escape_json(buf, value);
}

// A role as the command names it; the special names resolve to whom they mean now. NULL for PUBLIC
// and for a role that does not exist (the command then fails, or names nobody).
const char *role_name(const RoleSpec *role)
{
	if (role == nullptr)
		return nullptr;
	switch (role->roletype) {
	case ROLESPEC_CSTRING:
		return role->rolename;
	case ROLESPEC_CURRENT_ROLE:
	case ROLESPEC_CURRENT_USER:
		return GetUserNameFromId(GetUserId(), true);
	case ROLESPEC_SESSION_USER:
		return GetUserNameFromId(GetSessionUserId(), true);
	case ROLESPEC_PUBLIC:
		return nullptr;
	}
	return nullptr;
}

// "roles": the names of a list of RoleSpec nodes (or, for GRANT role, of AccessPriv nodes).
void append_role_list(StringInfo buf, const char *key, List *roles)
{
	append_key(buf, key);
	appendStringInfoChar(buf, '[');
	ListCell *lc;
	foreach (lc, roles) {
		Node *node = (Node *)lfirst(lc);
		const char *name = nullptr;
		if (IsA(node, RoleSpec))
			name = role_name(castNode(RoleSpec, node));
		else if (IsA(node, AccessPriv))
			name = castNode(AccessPriv, node)->priv_name;
		else if (IsA(node, String))
			name = strVal(node);
		if (name != nullptr)
			append_element(buf, name);
		else if (IsA(node, RoleSpec) && castNode(RoleSpec, node)->roletype == ROLESPEC_PUBLIC)
			append_element(buf, "PUBLIC");
	}
	appendStringInfoChar(buf, ']');
}

// Whether a CREATE or ALTER ROLE sets a password (PASSWORD, ENCRYPTED PASSWORD, PASSWORD NULL): its
// statement text then holds the password and is not recorded.
bool sets_password(List *options)
{
	ListCell *lc;
	foreach (lc, options)
		if (strcmp(castNode(DefElem, lfirst(lc))->defname, "password") == 0)
			return true;
	return false;
}

// Whether any statement of the client's query string sets a role's password. The statement recorded is
// that whole string (current_query()), so a GRANT sent with CREATE ROLE ... PASSWORD in one string
// recorded the password (an attack review). Parsed once per client message; a string that does not
// parse alone counts as setting one.
bool query_sets_password()
{
	static const char *checked_string = nullptr;
	static TimestampTz checked_at = 0;
	static bool checked_result = false;
	if (debug_query_string == nullptr)
		return false;
	const TimestampTz at = GetCurrentStatementStartTimestamp();
	if (checked_string == debug_query_string && checked_at == at)
		return checked_result;
	bool found = false;
	MemoryContext cxt = CurrentMemoryContext;
	PG_TRY();
	{
		List *parsed = raw_parser(debug_query_string, RAW_PARSE_DEFAULT);
		ListCell *lc;
		foreach (lc, parsed) {
			Node *stmt = castNode(RawStmt, lfirst(lc))->stmt;
			if ((IsA(stmt, CreateRoleStmt) && sets_password(castNode(CreateRoleStmt, stmt)->options)) ||
			    (IsA(stmt, AlterRoleStmt) && sets_password(castNode(AlterRoleStmt, stmt)->options)))
				found = true;
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		FlushErrorState();
		found = true;
	}
	PG_END_TRY();
	checked_string = debug_query_string;
	checked_at = at;
	checked_result = found;
	return found;
}

// "setting", "operation" and "value" of a SET or RESET subcommand; the value as the command gives it.
void append_setting(StringInfo buf, const VariableSetStmt *set)
{
	append_text(buf, "setting", set->kind == VAR_RESET_ALL ? nullptr : set->name);
	const char *operation = "set";
	const char *value = nullptr;
	switch (set->kind) {
	case VAR_SET_VALUE:
		value = ExtractSetVariableArgs(const_cast<VariableSetStmt *>(set));
		break;
	case VAR_SET_CURRENT:
		operation = "set from current";
		break;
	case VAR_SET_DEFAULT:
	case VAR_RESET:
		operation = "reset";
		break;
	case VAR_RESET_ALL:
		operation = "reset all";
		break;
	case VAR_SET_MULTI:
		break;
	}
	append_text(buf, "operation", operation);
	append_text(buf, "value", value);
}

// What a GRANT or REVOKE names: the tables or functions (resolved now, before the command, as the
// command resolves them), the schemas of ALL ... IN SCHEMA, the schemas or settings granted on, the
// privileges with their columns, the grantees and the grantor it names.
void append_grant(StringInfo buf, const GrantStmt *grant)
{
	const bool is_table = grant->objtype == OBJECT_TABLE;
	const bool is_function = grant->objtype == OBJECT_FUNCTION || grant->objtype == OBJECT_PROCEDURE ||
	                         grant->objtype == OBJECT_ROUTINE;
	append_text(buf, "kind", "grant");
	append_text(buf, "object_type",
	            is_table ? "table" : is_function ? "function" : grant->objtype == OBJECT_SCHEMA ? "schema" : "parameter");
	append_bool(buf, "is_grant", grant->is_grant);
	append_bool(buf, "grant_option", grant->grant_option);
	append_bool(buf, "cascade", grant->behavior == DROP_CASCADE);
	append_key(buf, is_table ? "relations" : "functions");
	appendStringInfoChar(buf, '[');
	if (grant->targtype == ACL_TARGET_OBJECT && (is_table || is_function)) {
		bool first = true;
		ListCell *lc;
		foreach (lc, grant->objects) {
			const Oid oid = is_table ? RangeVarGetRelid(castNode(RangeVar, lfirst(lc)), NoLock, true)
			                         : LookupFuncWithArgs(grant->objtype, castNode(ObjectWithArgs, lfirst(lc)), true);
			if (!OidIsValid(oid))
				continue;
			appendStringInfo(buf, first ? "%u" : ",%u", oid);
			first = false;
		}
	}
	appendStringInfoChar(buf, ']');
	const bool in_schema = grant->targtype == ACL_TARGET_ALL_IN_SCHEMA;
	append_role_list(buf, "in_schemas", in_schema ? grant->objects : NIL);
	append_role_list(buf, "schemas", !in_schema && grant->objtype == OBJECT_SCHEMA ? grant->objects : NIL);
	append_role_list(buf, "parameters", grant->objtype == OBJECT_PARAMETER_ACL ? grant->objects : NIL);
	append_key(buf, "privileges");
	appendStringInfoChar(buf, '[');
	if (grant->privileges == NIL)
		appendStringInfoString(buf, "{\"privilege\":\"all\",\"columns\":[]}");
	ListCell *lc;
	foreach (lc, grant->privileges) {
		AccessPriv *priv = castNode(AccessPriv, lfirst(lc));
		if (lc != list_head(grant->privileges))
			appendStringInfoChar(buf, ',');
		appendStringInfoChar(buf, '{');
		append_text(buf, "privilege", priv->priv_name != nullptr ? priv->priv_name : "all");
		append_role_list(buf, "columns", priv->cols);
		appendStringInfoChar(buf, '}');
	}
	appendStringInfoChar(buf, ']');
	append_role_list(buf, "grantees", grant->grantees);
	append_text(buf, "granted_by", role_name(grant->grantor));
}

// The summary of a command that needs_record() accepted, as JSON text.
char *summarize(Node *stmt, bool *redact_statement)
{
	StringInfoData buf;
	initStringInfo(&buf);
	appendStringInfoChar(&buf, '{');
	*redact_statement = false;
	switch (nodeTag(stmt)) {
	case T_CreateRoleStmt: {
		CreateRoleStmt *create = castNode(CreateRoleStmt, stmt);
		append_text(&buf, "kind", "role");
		append_key(&buf, "targets");
		appendStringInfoChar(&buf, '[');
		append_element(&buf, create->role);
		appendStringInfoChar(&buf, ']');
		*redact_statement = sets_password(create->options);
		break;
	}
	case T_AlterRoleStmt: {
		AlterRoleStmt *alter = castNode(AlterRoleStmt, stmt);
		append_text(&buf, "kind", "role");
		// ALTER GROUP ... ADD USER / DROP USER changes memberships only, like GRANT role.
		append_role_list(&buf, alter->action != 0 ? "granted_roles" : "targets", list_make1(alter->role));
		*redact_statement = sets_password(alter->options);
		break;
	}
	case T_DropRoleStmt:
		append_text(&buf, "kind", "role");
		append_role_list(&buf, "targets", castNode(DropRoleStmt, stmt)->roles);
		break;
	case T_RenameStmt:
		append_text(&buf, "kind", "role");
		append_key(&buf, "targets");
		appendStringInfoChar(&buf, '[');
		append_element(&buf, castNode(RenameStmt, stmt)->subname);
		appendStringInfoChar(&buf, ']');
		break;
	case T_GrantRoleStmt: {
		GrantRoleStmt *grant = castNode(GrantRoleStmt, stmt);
		append_text(&buf, "kind", "role");
		append_role_list(&buf, "granted_roles", grant->granted_roles);
		append_role_list(&buf, "grantees", grant->grantee_roles);
		append_text(&buf, "granted_by", role_name(grant->grantor));
		break;
	}
	case T_ReassignOwnedStmt:
		append_text(&buf, "kind", "owned");
		append_role_list(&buf, "roles", castNode(ReassignOwnedStmt, stmt)->roles);
		break;
	case T_DropOwnedStmt:
		append_text(&buf, "kind", "owned");
		append_role_list(&buf, "roles", castNode(DropOwnedStmt, stmt)->roles);
		break;
	case T_GrantStmt:
		append_grant(&buf, castNode(GrantStmt, stmt));
		break;
	case T_AlterRoleSetStmt: {
		AlterRoleSetStmt *alter = castNode(AlterRoleSetStmt, stmt);
		const char *role = role_name(alter->role);
		append_text(&buf, "kind", "setting");
		append_text(&buf, "scope",
		            alter->role == nullptr ? (alter->database == nullptr ? "all roles" : "all roles in database")
		                                   : (alter->database == nullptr ? "role" : "role in database"));
		append_text(&buf, "role", role);
		append_text(&buf, "database", alter->database);
		append_setting(&buf, alter->setstmt);
		break;
	}
	case T_AlterDatabaseSetStmt: {
		AlterDatabaseSetStmt *alter = castNode(AlterDatabaseSetStmt, stmt);
		append_text(&buf, "kind", "setting");
		append_text(&buf, "scope", "database");
		append_text(&buf, "database", alter->dbname);
		append_setting(&buf, alter->setstmt);
		break;
	}
	case T_AlterSystemStmt:
		append_text(&buf, "kind", "setting");
		append_text(&buf, "scope", "system");
		append_setting(&buf, castNode(AlterSystemStmt, stmt)->setstmt);
		break;
	default:
		break;
	}
	append_text(&buf, "current_user", GetUserNameFromId(GetUserId(), true));
	*redact_statement = *redact_statement || query_sets_password();
	append_bool(&buf, "statement_withheld", *redact_statement);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

} // namespace

PermissionEvent *permission_event_begin(PlannedStmt *pstmt)
{
	Node *stmt = pstmt->utilityStmt;
	if (stmt == nullptr || !needs_record(stmt) || !IsTransactionState())
		return nullptr;
	// Only the database the command runs in can hold its record, and only if pg_witness (0.2, which
	// has the functions) is installed there; never while its own script runs, nor on a standby, which
	// cannot write (ALTER SYSTEM is the one such command a standby accepts).
	const Oid extension = get_extension_oid("pg_witness", true);
	if (!OidIsValid(extension) || (creating_extension && CurrentExtensionObject == extension) ||
	    RecoveryInProgress())
		return nullptr;
	const Oid jsonb_args[3] = {TEXTOID, JSONBOID, JSONBOID};
	const Oid state_fn = extension_function(extension, "_permission_state", 1, jsonb_args + 1);
	const Oid record_fn = extension_function(extension, "_record_permission_event", 3, jsonb_args);
	if (!OidIsValid(state_fn) || !OidIsValid(record_fn))
		return nullptr;
	// ALTER SYSTEM writes its file whatever the transaction does next and runs in a read-only
	// transaction: refuse it there rather than change a setting that cannot be recorded.
	if (IsA(stmt, AlterSystemStmt) && XactReadOnly)
		ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
		                errmsg("cannot change pg_witness settings with ALTER SYSTEM in a read-only transaction"),
		                errdetail("pg_witness records every change of its settings, and a read-only transaction cannot write the record.")));
	bool redact = false;
	char *summary_text = summarize(stmt, &redact);

	PermissionEvent *event = static_cast<PermissionEvent *>(palloc0(sizeof(PermissionEvent)));
	event->command_tag = GetCommandTagName(CreateCommandTag(stmt));
	event->summary = DirectFunctionCall1(jsonb_in, CStringGetDatum(summary_text));
	event->before = OidFunctionCall1(state_fn, event->summary);
	event->record_fn = record_fn;
	return event;
}

void permission_event_end(PermissionEvent *event)
{
	if (event == nullptr)
		return;
	// The record reads the catalogs as the command left them.
	CommandCounterIncrement();
	(void)OidFunctionCall3(event->record_fn, CStringGetTextDatum(event->command_tag), event->summary, event->before);
}

} // namespace witness::pg
