#include "pg/activity/activity_hooks.hpp"

#include "pg/activity/activity_queue.hpp"
#include "pg/activity/activity_sources.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/settings.hpp"

extern "C" {
#include "catalog/pg_authid.h"
#include "catalog/pg_proc.h"
#include "utils/acl.h"
#include "commands/extension.h"
#include "access/xlog.h"
#include "executor/executor.h"
#include "libpq/auth.h"
#include "libpq/hba.h"
#include "replication/walsender.h"
#include "nodes/parsenodes.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/syscache.h"
}

namespace witness::pg
{
namespace
{

// ---------------------------------------------------------------------------------------------
// What pg_witness knows of this database, per backend: its schema, and per relation whether reads
// of it are recorded. Forgotten on any relcache invalidation (track() sends one for its table).

Oid witness_namespace = InvalidOid;
bool namespace_known = false;

struct RelationReads {
	Oid relid;     // hash key
	bool trail;    // a relation of schema witness
	Oid read_root; // the tracked table with capture_reads this relation belongs to, or InvalidOid
	char label[kActivityObjectBytes];      // the relation, schema-qualified
	char root_label[kActivityObjectBytes]; // read_root, schema-qualified
};
HTAB *relation_reads = nullptr;
bool looking_up = false; // our own lookup query runs: nothing it reads is recorded

void forget_relations(Datum, Oid)
{
	if (relation_reads != nullptr) {
		hash_destroy(relation_reads);
		relation_reads = nullptr;
	}
	namespace_known = false;
}

// In a transaction. pg_witness is installed here (its schema exists).
bool witness_here()
{
	if (!namespace_known) {
		witness_namespace = get_namespace_oid("witness", true);
		namespace_known = true;
	}
	return OidIsValid(witness_namespace);
}

// The tracked table with capture_reads that relid belongs to (itself, or the table it is a
// partition or inheritance child of), or InvalidOid.
Oid lookup_read_root(Oid relid)
{
	// Version 0.1 of the schema (before ALTER EXTENSION pg_witness UPDATE) has no capture_reads.
	const Oid config = witness_relation_if_exists("tracked_table");
	if (!OidIsValid(config) || get_attnum(config, "capture_reads") == InvalidAttrNumber)
		return InvalidOid;
	volatile Oid root = InvalidOid;
	// Read as the bootstrap superuser: the reading role need not see pg_witness's configuration.
	Oid saved_user;
	int saved_context;
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	looking_up = true;
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pg_witness: SPI_connect failed");
		Oid argtypes[1] = {OIDOID};
		Datum args[1] = {ObjectIdGetDatum(relid)};
		if (SPI_execute_with_args("SELECT t.relid::pg_catalog.oid FROM witness.tracked_table t"
		                          " WHERE t.capture_reads AND t.relid OPERATOR(pg_catalog.=) witness._tracked_root($1)",
		                          1, argtypes, args, nullptr, true, 1) != SPI_OK_SELECT)
			elog(ERROR, "pg_witness: could not read witness.tracked_table");
		if (SPI_processed == 1) {
			bool isnull;
			root = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		looking_up = false;
		SetUserIdAndSecContext(saved_user, saved_context);
	}
	PG_END_TRY();
	return root;
}

void relation_label(Oid relid, char *out)
{
	char *nsp = get_namespace_name(get_rel_namespace(relid));
	char *rel = get_rel_name(relid);
	snprintf(out, kActivityObjectBytes, "%s.%s", nsp ? nsp : "?", rel ? rel : "?");
}

// Every tracked table and each of its partitions and children has pg_witness's capture trigger (a
// name no other trigger may take): a relation without it is read with no query of the configuration.
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

RelationReads *relation(Oid relid)
{
	if (relation_reads == nullptr) {
		HASHCTL ctl;
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(RelationReads);
		ctl.hcxt = TopMemoryContext;
		relation_reads = hash_create("pg_witness relation reads", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	bool found;
	auto *r = (RelationReads *)hash_search(relation_reads, &relid, HASH_FIND, &found);
	if (found)
		return r;
	const bool trail = get_rel_namespace(relid) == witness_namespace;
	const Oid root = trail || !has_capture_trigger(relid) ? InvalidOid : lookup_read_root(relid);
	// The lookup may have run invalidations that dropped the table.
	if (relation_reads == nullptr)
		return relation(relid);
	r = (RelationReads *)hash_search(relation_reads, &relid, HASH_ENTER, &found);
	r->trail = trail;
	r->read_root = root;
	relation_label(relid, r->label);
	if (OidIsValid(root))
		relation_label(root, r->root_label);
	return r;
}

// ---------------------------------------------------------------------------------------------
// Reads: an event reserved when the statement starts (so that a full queue refuses it before it
// reads anything), counted while it runs, published when it ends or its (sub)transaction aborts.

struct OpenRead {
	const void *query; // the QueryDesc, or the PlannedStmt of a COPY
	ActivityEvent *event;
	int nest_level;
};
OpenRead *open_reads = nullptr;
int nopen = 0;
int maxopen = 0;

ExecutorStart_hook_type prev_start = nullptr;
ExecutorRun_hook_type prev_run = nullptr;
ExecutorEnd_hook_type prev_end = nullptr;
fmgr_hook_type prev_fmgr = nullptr;
emit_log_hook_type prev_emit_log = nullptr;
ClientAuthentication_hook_type prev_client_auth = nullptr;

int witness_depth = 0; // functions of schema witness running (fmgr_hook)

// A refusal recorded as it passed through the executor or ProcessUtility (note_refusal), which the
// error report must not record a second time; forgotten at the next (sub)transaction abort.
char noted_message[kActivityMessageBytes];
int noted_code = 0;
// The role that started the current statement, outside pg_witness's functions. An error leaves a
// SECURITY DEFINER function's owner as the current user until the abort: a refusal raised inside
// one (a pg_witness guard, say) names this role instead.
Oid statement_user = InvalidOid;


// A standby cannot write the trail, and no sealer runs there: it records nothing (its trail is
// the primary's), and refuses reads of tables tracked with capture_reads (record_reads).
bool recording_backend()
{
	return MyBackendType == B_BACKEND && activity_queue_attached() && !RecoveryInProgress();
}

void on_exit(int, Datum);
bool exit_callback_registered = false;

void remember(const void *query, ActivityEvent *e)
{
	if (nopen == maxopen) {
		maxopen = Max(8, maxopen * 2);
		open_reads = open_reads == nullptr
		                 ? (OpenRead *)MemoryContextAlloc(TopMemoryContext, sizeof(OpenRead) * maxopen)
		                 : (OpenRead *)repalloc(open_reads, sizeof(OpenRead) * maxopen);
	}
	open_reads[nopen++] = {query, e, GetCurrentTransactionNestLevel()};
	if (!exit_callback_registered) {
		before_shmem_exit(on_exit, (Datum)0);
		exit_callback_registered = true;
	}
}

// Publishes the open reads of query (nullptr: all of nest level >= level) with outcome.
void close_reads(const void *query, int level, ActivityOutcome outcome)
{
	for (int i = nopen - 1; i >= 0; i--) {
		OpenRead &r = open_reads[i];
		if (query != nullptr ? r.query != query : r.nest_level < level)
			continue;
		r.event->outcome = outcome;
		activity_publish(r.event);
		open_reads[i] = open_reads[--nopen];
	}
}

ActivityEvent *begin_read(const void *key, PlannedStmt *stmt, const char *text, ActivityKind kind, const char *object)
{
	ActivityEvent *e = activity_reserve(true);
	e->kind = kind;
	fill_session(e, true);
	strlcpy(e->object, object, sizeof(e->object));
	e->rows = 0;
	e->query_id = (int64)stmt->queryId;
	fill_statement(e, text);
	remember(key, e);
	return e;
}

// The relations the statement reads that are recorded: one event per tracked table with
// capture_reads (its partitions and children count as the table), one for the trail's tables.
void record_reads(QueryDesc *query)
{
	Oid roots[16];
	int nroots = 0;
	StringInfoData trail;
	trail.data = nullptr;
	ListCell *lc;
	foreach (lc, query->plannedstmt->rtable) {
		auto *rte = (RangeTblEntry *)lfirst(lc);
		if (rte->rtekind != RTE_RELATION || (rte->requiredPerms & ACL_SELECT) == 0)
			continue;
		RelationReads *r = relation(rte->relid);
		if (r->trail && rte->relkind != RELKIND_VIEW && setting_record_activity == RecordActivityAll) {
			if (trail.data == nullptr)
				initStringInfo(&trail);
			else if (trail.len < kActivityObjectBytes)
				appendStringInfoString(&trail, ", ");
			if (trail.len < kActivityObjectBytes)
				appendStringInfoString(&trail, r->label);
		}
		if (OidIsValid(r->read_root)) {
			bool seen = false;
			for (int i = 0; i < nroots; i++)
				seen |= roots[i] == r->read_root;
			if (!seen && nroots < 16) {
				roots[nroots++] = r->read_root;
				begin_read(query, query->plannedstmt, query->sourceText, ActivityKind::Read, r->root_label);
			}
		}
	}
	if (trail.data != nullptr)
		begin_read(query, query->plannedstmt, query->sourceText, ActivityKind::TrailRead, trail.data);
}

// On a standby: a read of a table tracked with capture_reads cannot be recorded, so it is refused.
void refuse_unrecordable_reads(QueryDesc *query)
{
	ListCell *lc;
	foreach (lc, query->plannedstmt->rtable) {
		auto *rte = (RangeTblEntry *)lfirst(lc);
		if (rte->rtekind != RTE_RELATION || (rte->requiredPerms & ACL_SELECT) == 0)
			continue;
		RelationReads *r = relation(rte->relid);
		if (OidIsValid(r->read_root))
			ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			                errmsg("cannot read %s on a standby: its reads are recorded", r->root_label),
			                errdetail("The table is tracked with capture_reads; a standby cannot write the trail."),
			                errhint("Read it on the primary.")));
	}
}

void activity_executor_start(QueryDesc *query, int eflags)
{
	if (witness_depth == 0 && !InLocalUserIdChange())
		statement_user = GetUserId();
	// Privileges are checked here: a refusal is recorded even when the caller's own exception
	// handler catches it and it is never reported.
	PG_TRY();
	{
		if (prev_start != nullptr)
			prev_start(query, eflags);
		else
			standard_ExecutorStart(query, eflags);
	}
	PG_CATCH();
	{
		activity_note_refusal();
		PG_RE_THROW();
	}
	PG_END_TRY();
	// EXPLAIN without ANALYZE reads nothing; pg_witness's own queries are recorded as its calls.
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 || looking_up || witness_depth > 0 || creating_extension ||
	    MyBackendType != B_BACKEND || !activity_queue_attached() || !witness_here())
		return;
	if (RecoveryInProgress())
		refuse_unrecordable_reads(query);
	else
		record_reads(query);
}

void activity_executor_run(QueryDesc *query, ScanDirection direction, uint64 count, bool execute_once)
{
	if (prev_run != nullptr)
		prev_run(query, direction, count, execute_once);
	else
		standard_ExecutorRun(query, direction, count, execute_once);
	for (int i = 0; i < nopen; i++)
		if (open_reads[i].query == query)
			open_reads[i].event->rows += (int64)query->estate->es_processed;
}

void activity_executor_end(QueryDesc *query)
{
	if (nopen > 0)
		close_reads(query, 0, ActivityOutcome::Success);
	if (prev_end != nullptr)
		prev_end(query);
	else
		standard_ExecutorEnd(query);
}

void on_xact(XactEvent event, void *)
{
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT) && nopen > 0)
		close_reads(nullptr, 0, event == XACT_EVENT_ABORT ? ActivityOutcome::Failed : ActivityOutcome::Success);
	if (event == XACT_EVENT_ABORT) {
		witness_depth = 0;
		noted_code = 0;
	}
}

void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void *)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		noted_code = 0;
	if (event == SUBXACT_EVENT_ABORT_SUB && nopen > 0)
		close_reads(nullptr, GetCurrentTransactionNestLevel(), ActivityOutcome::Failed);
}

void on_exit(int, Datum)
{
	if (nopen > 0)
		close_reads(nullptr, 0, ActivityOutcome::Failed);
}

// ---------------------------------------------------------------------------------------------
// Calls of pg_witness's functions. Every one of them has a SET clause (the upgrade script sees to
// it), so PostgreSQL runs it through fmgr_security_definer, which calls fmgr_hook around it.

struct FunctionInfo {
	Oid oid; // hash key
	bool witness;
	bool recorded; // a public function: its calls are recorded
	bool drains;   // witness.flush_activity(), which frees the queue: never waits for a slot
	char name[NAMEDATALEN];
};
HTAB *functions = nullptr;

// The calls recorded in the current statement: a function called once per row is recorded once.
TimestampTz recorded_statement = 0;
Oid recorded_calls[8];
int nrecorded = 0;

FunctionInfo *function_info(Oid oid)
{
	if (functions == nullptr) {
		HASHCTL ctl;
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(FunctionInfo);
		ctl.hcxt = TopMemoryContext;
		functions = hash_create("pg_witness functions", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	bool found;
	auto *f = (FunctionInfo *)hash_search(functions, &oid, HASH_ENTER, &found);
	if (!found) {
		f->witness = false;
		f->recorded = false;
		f->drains = false;
		HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(oid));
		if (HeapTupleIsValid(tup)) {
			auto *proc = (Form_pg_proc)GETSTRUCT(tup);
			f->witness = witness_here() && proc->pronamespace == witness_namespace;
			// Public functions that PUBLIC may not call reveal or change the trail; those everyone may
			// call (the helpers of views and row-level security policies) reveal nothing by themselves.
			f->recorded = f->witness && NameStr(proc->proname)[0] != '_' &&
			              pg_proc_aclcheck(oid, ACL_ID_PUBLIC, ACL_EXECUTE) != ACLCHECK_OK;
			strlcpy(f->name, NameStr(proc->proname), NAMEDATALEN);
			f->drains = f->witness && strcmp(f->name, "flush_activity") == 0;
			ReleaseSysCache(tup);
		}
	}
	return f;
}

bool first_call_in_statement(Oid oid)
{
	const TimestampTz now = GetCurrentStatementStartTimestamp();
	if (now != recorded_statement) {
		recorded_statement = now;
		nrecorded = 0;
	}
	for (int i = 0; i < nrecorded; i++)
		if (recorded_calls[i] == oid)
			return false;
	if (nrecorded < 8)
		recorded_calls[nrecorded++] = oid;
	return true;
}

// private_data holds 0 for a call of another function, 1 for a pg_witness function not recorded,
// else the event (a pointer) of a recorded call.
void activity_fmgr(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private_data)
{
	if (prev_fmgr != nullptr)
		prev_fmgr(event, flinfo, private_data);
	switch (event) {
	case FHET_START: {
		*private_data = (Datum)0;
		if (!recording_backend() || !IsTransactionState() || creating_extension)
			return;
		FunctionInfo *f = function_info(flinfo->fn_oid);
		if (!f->witness)
			return;
		// Reserved before the depth counts the call: a full queue raises here, and no FHET_ABORT follows.
		ActivityEvent *e = nullptr;
		if (witness_depth == 0 && f->recorded && setting_record_activity == RecordActivityAll &&
		    first_call_in_statement(flinfo->fn_oid))
			e = activity_reserve(!f->drains);
		if (e != nullptr) {
			e->kind = ActivityKind::Call;
			fill_session(e, true);
			snprintf(e->object, sizeof(e->object), "witness.%s", f->name);
			fill_statement(e, debug_query_string);
		}
		witness_depth++;
		*private_data = e != nullptr ? PointerGetDatum(e) : (Datum)1;
		return;
	}
	case FHET_END:
	case FHET_ABORT:
		if (*private_data == (Datum)0)
			return;
		if (witness_depth > 0)
			witness_depth--;
		if (*private_data != (Datum)1) {
			auto *e = (ActivityEvent *)DatumGetPointer(*private_data);
			e->outcome = event == FHET_END ? ActivityOutcome::Success : ActivityOutcome::Failed;
			activity_publish(e);
		}
		*private_data = (Datum)0;
		return;
	}
}

// ---------------------------------------------------------------------------------------------
// Refused attempts: every ERROR for lack of privilege (42501), and pg_witness's refusals to let
// capture be switched off (55006, 42939 naming pg_witness). Runs while the error is being reported:
// reads no catalog, never waits, never raises; a full queue counts the event as lost.

bool login_recorded = false;

bool is_refusal(const ErrorData *edata)
{
	if (edata->elevel != ERROR)
		return false;
	if (edata->sqlerrcode == ERRCODE_INSUFFICIENT_PRIVILEGE)
		return true;
	return (edata->sqlerrcode == ERRCODE_OBJECT_IN_USE || edata->sqlerrcode == ERRCODE_RESERVED_NAME) &&
	       edata->message != nullptr && strstr(edata->message, "pg_witness") != nullptr;
}

// An authentication failure PostgreSQL reports without calling ClientAuthentication_hook (no
// pg_hba.conf line, for one).
bool is_unhooked_login_failure(const ErrorData *edata)
{
	return edata->elevel == FATAL && !login_recorded && MyProcPort != nullptr && !OidIsValid(MyDatabaseId) &&
	       (edata->sqlerrcode == ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION ||
	        edata->sqlerrcode == ERRCODE_INVALID_PASSWORD);
}

void record_login(Port *port, ActivityOutcome outcome, const char *method, const char *message)
{
	login_recorded = true;
	if (setting_record_activity != RecordActivityAll)
		return;
	ActivityEvent *e = activity_reserve(false);
	if (e == nullptr)
		return;
	e->kind = ActivityKind::Login;
	e->outcome = outcome;
	e->pid = MyProcPid;
	if (port->database_name != nullptr)
		strlcpy(e->database_name, port->database_name, NAMEDATALEN);
	if (port->user_name != nullptr)
		strlcpy(e->session_user, port->user_name, NAMEDATALEN);
	if (port->application_name != nullptr)
		strlcpy(e->application_name, port->application_name, NAMEDATALEN);
	if (port->remote_host != nullptr && port->raddr.addr.ss_family != AF_UNIX)
		strlcpy(e->client_addr, port->remote_host, sizeof(e->client_addr));
	strlcpy(e->object, method, sizeof(e->object));
	if (message != nullptr)
		strlcpy(e->message, message, sizeof(e->message));
	activity_publish(e);
}

void record_refusal(const ErrorData *edata)
{
	ActivityEvent *e = activity_reserve(false);
	if (e == nullptr)
		return;
	e->kind = ActivityKind::Denied;
	e->outcome = ActivityOutcome::Denied;
	fill_session(e, IsTransactionState(), InLocalUserIdChange() ? statement_user : InvalidOid);
	strlcpy(e->sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(e->sqlstate));
	if (edata->message != nullptr)
		strlcpy(e->message, edata->message, sizeof(e->message));
	fill_statement(e, debug_query_string);
	activity_publish(e);
}

bool refusals_recorded_here()
{
	// Known not installed here: nothing would ever take the event.
	return MyBackendType == B_BACKEND && OidIsValid(MyDatabaseId) && activity_queue_attached() &&
	       setting_record_activity == RecordActivityAll && !RecoveryInProgress() &&
	       !(namespace_known && !OidIsValid(witness_namespace));
}

void activity_emit_log(ErrorData *edata)
{
	if (prev_emit_log != nullptr)
		prev_emit_log(edata);
	if (!activity_queue_attached())
		return;
	if (is_unhooked_login_failure(edata)) {
		record_login(MyProcPort, ActivityOutcome::Denied,
		             MyProcPort->hba != nullptr ? hba_authname(MyProcPort->hba->auth_method) : "none", edata->message);
		return;
	}
	if (!is_refusal(edata) || !refusals_recorded_here())
		return;
	const bool noted = noted_code == edata->sqlerrcode && edata->message != nullptr &&
	                   strncmp(noted_message, edata->message, sizeof(noted_message) - 1) == 0;
	noted_code = 0;
	if (!noted)
		record_refusal(edata);
}

void activity_client_auth(Port *port, int status)
{
	if (prev_client_auth != nullptr)
		prev_client_auth(port, status);
	// A physical replication connection names no database whose trail could hold it.
	if (am_walsender && !am_db_walsender)
		return;
	record_login(port, status == STATUS_OK ? ActivityOutcome::Success : ActivityOutcome::Denied,
	             port->hba != nullptr ? hba_authname(port->hba->auth_method) : "none",
	             status == STATUS_OK ? nullptr : "authentication failed");
}

} // namespace

void activity_utility_begin(PlannedStmt *pstmt, const char *query_string)
{
	if (witness_depth == 0 && !InLocalUserIdChange())
		statement_user = GetUserId();
	if (!IsA(pstmt->utilityStmt, CopyStmt) || looking_up || witness_depth > 0 || creating_extension ||
	    !recording_backend() || !IsTransactionState() || !witness_here())
		return;
	auto *copy = (CopyStmt *)pstmt->utilityStmt;
	if (copy->is_from || copy->relation == nullptr)
		return; // COPY FROM is captured as rows; COPY (query) TO runs through the executor
	const Oid relid = RangeVarGetRelid(copy->relation, NoLock, true);
	if (!OidIsValid(relid))
		return;
	RelationReads *r = relation(relid);
	if (r->trail && setting_record_activity == RecordActivityAll)
		begin_read(pstmt, pstmt, query_string, ActivityKind::TrailRead, r->label);
	else if (OidIsValid(r->read_root))
		begin_read(pstmt, pstmt, query_string, ActivityKind::Read, r->root_label);
}

void activity_utility_end(PlannedStmt *pstmt, QueryCompletion *qc)
{
	for (int i = 0; i < nopen; i++)
		if (open_reads[i].query == pstmt && qc != nullptr)
			open_reads[i].event->rows = (int64)qc->nprocessed;
	if (nopen > 0)
		close_reads(pstmt, 0, ActivityOutcome::Success);
}

void activity_note_refusal()
{
	if (witness_depth > 0 || !refusals_recorded_here())
		return;
	MemoryContext saved = MemoryContextSwitchTo(TopMemoryContext);
	ErrorData *edata = CopyErrorData();
	MemoryContextSwitchTo(saved);
	if (is_refusal(edata)) {
		record_refusal(edata);
		noted_code = edata->sqlerrcode;
		strlcpy(noted_message, edata->message != nullptr ? edata->message : "", sizeof(noted_message));
	}
	FreeErrorData(edata);
}

bool inside_witness_function()
{
	return witness_depth > 0;
}

void register_activity_hooks(bool preloaded)
{
	CacheRegisterRelcacheCallback(forget_relations, (Datum)0);
	RegisterXactCallback(on_xact, nullptr);
	RegisterSubXactCallback(on_subxact, nullptr);
	prev_start = ExecutorStart_hook;
	ExecutorStart_hook = activity_executor_start;
	prev_run = ExecutorRun_hook;
	ExecutorRun_hook = activity_executor_run;
	prev_end = ExecutorEnd_hook;
	ExecutorEnd_hook = activity_executor_end;
	prev_fmgr = fmgr_hook;
	fmgr_hook = activity_fmgr;
	prev_emit_log = emit_log_hook;
	emit_log_hook = activity_emit_log;
	if (preloaded) {
		prev_client_auth = ClientAuthentication_hook;
		ClientAuthentication_hook = activity_client_auth;
	}
}

} // namespace witness::pg
