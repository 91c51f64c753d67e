#include "pg/activity/activity_hooks.hpp"

#include <initializer_list>

#include "pg/activity/activity_queue.hpp"
#include "pg/activity/activity_sources.hpp"
#include "pg/activity/capture_control.hpp"
#include "pg/activity/utility_reads.hpp"
#include "pg/common/access_check.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/settings.hpp"

extern "C" {
#include "catalog/dependency.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_proc.h"
#include "utils/acl.h"
#include "utils/array.h"
#include "commands/extension.h"
#include "access/xlog.h"
#include "executor/executor.h"
#include "libpq/auth.h"
#include "libpq/hba.h"
#include "replication/walsender.h"
#include "access/parallel.h"
#include "postmaster/bgworker.h"
#include "nodes/parsenodes.h"
#include "nodes/pathnodes.h"
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

// A per-session hash table keyed by Oid, for the caches below.
HTAB *oid_hash(const char *name, Size entrysize)
{
	HASHCTL ctl;
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = entrysize;
	ctl.hcxt = TopMemoryContext;
	return hash_create(name, 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
}

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
		// Version 0.1 of the schema (ALTER EXTENSION pg_witness UPDATE not run yet) has no
		// witness.activity: no drain would ever take this database's events, which would hold
		// their slots (shared by every database) for kUnclaimedMs.
		if (OidIsValid(witness_namespace) && !OidIsValid(get_relname_relid("activity", witness_namespace)))
			witness_namespace = InvalidOid;
		namespace_known = true;
	}
	return OidIsValid(witness_namespace);
}

// pg_witness's own extension script runs (CREATE or ALTER EXTENSION pg_witness): another extension's
// script is recorded like any session's commands (taking any extension's script for pg_witness's
// let a superuser's event trigger, fired inside CREATE EXTENSION isn, call witness._begin_internal_ddl()
// and prune an unsealed entry with no record: found by a code review).
bool creating_witness()
{
	return creating_extension && CurrentExtensionObject == get_extension_oid("pg_witness", true);
}

// The tracked tables with capture_reads a query of witness.tracked_table returns (its one argument:
// relid), read as the bootstrap superuser: the reading role need not see pg_witness's configuration.
List *query_read_roots(const char *sql, Oid relid)
{
	// Version 0.1 of the schema (before ALTER EXTENSION pg_witness UPDATE) has no capture_reads.
	const Oid config = witness_relation_if_exists("tracked_table");
	if (!OidIsValid(config) || get_attnum(config, "capture_reads") == InvalidAttrNumber)
		return NIL;
	List *volatile roots = NIL;
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
		if (SPI_execute_with_args(sql, 1, argtypes, args, nullptr, true, 0) != SPI_OK_SELECT)
			elog(ERROR, "pg_witness: could not read witness.tracked_table");
		for (uint64 i = 0; i < SPI_processed; i++) {
			bool isnull;
			const Oid root = DatumGetObjectId(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			MemoryContext saved = MemoryContextSwitchTo(CurTransactionContext);
			roots = lappend_oid(roots, root);
			MemoryContextSwitchTo(saved);
		}
		SPI_finish();
	}
	PG_FINALLY();
	{
		looking_up = false;
		SetUserIdAndSecContext(saved_user, saved_context);
	}
	PG_END_TRY();
	return roots;
}

// The tracked table with capture_reads that relid belongs to (itself, or the table it is a
// partition or inheritance child of), or InvalidOid.
Oid lookup_read_root(Oid relid)
{
	// Any ancestor tracked with capture_reads, not only the nearest tracked one: a child tracked on its
	// own without capture_reads still holds rows of a table whose reads are recorded.
	List *roots = query_read_roots("SELECT t.relid::pg_catalog.oid FROM witness._inheritance_ancestors($1) a"
	                               " JOIN witness.tracked_table t ON t.relid::pg_catalog.oid OPERATOR(pg_catalog.=) a.relid"
	                               " WHERE t.capture_reads ORDER BY a.depth, t.relid::pg_catalog.oid LIMIT 1",
	                               relid);
	const Oid root = roots == NIL ? InvalidOid : linitial_oid(roots);
	list_free(roots);
	return root;
}

void relation_label(Oid relid, char *out)
{
	char *nsp = get_namespace_name(get_rel_namespace(relid));
	char *rel = get_rel_name(relid);
	snprintf(out, kActivityObjectBytes, "%s.%s", nsp ? nsp : "?", rel ? rel : "?");
}

// The table a TOAST table holds the out-of-line values of (named pg_toast_<its OID> by PostgreSQL, and
// checked), or relid itself: reading a TOAST table directly (pg_read_all_data, superusers) reads that
// table's values.
Oid toast_owner(Oid relid)
{
	if (get_rel_relkind(relid) != RELKIND_TOASTVALUE)
		return relid;
	const char *name = get_rel_name(relid);
	unsigned int owner = 0;
	if (name == nullptr || sscanf(name, "pg_toast_%u", &owner) != 1)
		return relid;
	HeapTuple tup = SearchSysCache1(RELOID, ObjectIdGetDatum((Oid)owner));
	if (!HeapTupleIsValid(tup))
		return relid;
	const bool holds = ((Form_pg_class)GETSTRUCT(tup))->reltoastrelid == relid;
	ReleaseSysCache(tup);
	return holds ? (Oid)owner : relid;
}

RelationReads *relation(Oid relid)
{
	if (relation_reads == nullptr)
		relation_reads = oid_hash("pg_witness relation reads", sizeof(RelationReads));
	bool found;
	auto *r = (RelationReads *)hash_search(relation_reads, &relid, HASH_FIND, &found);
	if (found)
		return r;
	const Oid table = toast_owner(relid);
	const bool trail = get_rel_namespace(table) == witness_namespace;
	// A relation without the capture trigger is read with no query of the configuration.
	const Oid root = trail || !has_capture_trigger(table) ? InvalidOid : lookup_read_root(table);
	// The lookup may have run invalidations that dropped the table.
	if (relation_reads == nullptr)
		return relation(relid);
	r = (RelationReads *)hash_search(relation_reads, &relid, HASH_ENTER, &found);
	r->trail = trail;
	r->read_root = root;
	// Labels only for what is recorded: a new session's first statement should not pay two catalog
	// lookups per table for nothing.
	r->label[0] = r->root_label[0] = '\0';
	if (trail)
		relation_label(table, r->label);
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
// Someone else's event trigger fired by DDL that one of pg_witness's functions runs (track(), say)
// runs as the session's code, not as pg_witness's: what it does is recorded (capture_control.cpp).
// The depths it interrupted.
int saved_depths[32];
int nsaved = 0;
// The role the innermost running SECURITY DEFINER function of someone else's switched to (fmgr_hook),
// InvalidOid outside them: the role in force where one of pg_witness's functions is called, before its
// own switch to the extension's owner. Each call keeps the one it replaced in its private_data, so any
// depth unwinds (a fixed stack of 64 named the 64th owner for calls deeper down: the review of it).
Oid current_definer = InvalidOid;
// The role that called the outermost pg_witness function running (its own switch does not count: an
// attack review found calls recorded as the extension's owner's, then as the statement's role when a
// SECURITY DEFINER function of someone else's made them).
Oid witness_caller = InvalidOid;
// The role in force where the error being raised was raised, noted as it unwinds a SECURITY DEFINER
// function (which leaves its owner as the current user until the abort); forgotten at the abort.
Oid error_user = InvalidOid;

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
// Client sessions, database walsenders (replication=database runs SQL too), autovacuum workers and
// background workers of other extensions (pg_cron's, say); not parallel workers (their leader records
// the statement) nor pg_witness's own workers. An autovacuum worker runs a table owner's code, as that
// owner: the functions of its expression indexes, during ANALYZE (an attack review had a superuser's
// index function, run by auto-analyze, switch a tracked table's capture off, change a row and switch
// it on again, and nothing recorded it).
bool recording_process()
{
	if (MyBackendType == B_BACKEND || MyBackendType == B_AUTOVAC_WORKER)
		return true;
	if (MyBackendType == B_WAL_SENDER)
		return am_db_walsender;
	if (MyBackendType != B_BG_WORKER || IsParallelWorker())
		return false;
	return MyBgworkerEntry == nullptr || strcmp(MyBgworkerEntry->bgw_library_name, "pg_witness") != 0;
}

bool recording_backend()
{
	return recording_process() && activity_queue_attached() && !RecoveryInProgress();
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

// A read of a table tracked with capture_reads waits for a slot and is refused without one; a read of
// the trail does not wait (it is counted as lost): pg_witness must stay usable, for verify() among
// others, when no sealer empties the queue.
ActivityEvent *begin_read(const void *key, PlannedStmt *stmt, const char *text, ActivityKind kind, const char *object)
{
	// A session may not keep more than its share of the queue reserved (open cursors, nested
	// statements): past that, its own reads are refused, not everybody's (its reads of the trail are
	// counted as lost).
	// Reads of tables tracked with capture_reads and writes of system catalogs never happen unrecorded.
	const bool must_record = kind == ActivityKind::Read || kind == ActivityKind::CatalogWrite;
	if (nopen >= activity_open_limit()) {
		if (!must_record)
			return nullptr;
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
		                errmsg("pg_witness cannot record this statement: this session has %d recorded reads open", nopen),
		                errhint("Close cursors reading tables tracked with capture_reads, or raise witness.activity_queue_size.")));
	}
	ActivityEvent *e = activity_reserve(must_record ? ActivityPriority::Required : ActivityPriority::Privileged);
	if (e == nullptr)
		return nullptr;
	e->kind = kind;
	// object may point into relation_reads: copy it before fill_session(), whose catalog lookups can
	// process invalidations (forget_relations() frees the hash).
	strlcpy(e->object, object, sizeof(e->object));
	fill_session(e, true);
	e->rows = 0;
	e->query_id = (int64)stmt->queryId;
	fill_statement(e, text);
	remember(key, e);
	return e;
}

// What makes a relation of a statement read: SELECT, and the target of an UPDATE or DELETE, which
// need no SELECT privilege when they name no column (DELETE FROM t) but hand every row they change to
// the table's triggers (a review read a table through a BEFORE trigger in a rolled-back transaction);
// and the target of an INSERT, whose unique and exclusion constraints check the new rows against the
// stored ones: a violation tells that a row exists and, to a role that may select, its key (a review
// learned from failed INSERTs whether, and when, a patient was booked).
constexpr AclMode kReadingPerms = ACL_SELECT | ACL_UPDATE | ACL_DELETE | ACL_INSERT;

// The relations the statement reads that are recorded: one event per tracked table with
// capture_reads (its partitions and children count as the table), one for the trail's tables.
void record_reads(QueryDesc *query)
{
	PlannedStmt *stmt = query->plannedstmt;
	const int nrte = list_length(stmt->rtable);
	// Which range table entries the statement reads: those it needs SELECT on, and the partitions and
	// inheritance children the planner expanded them into (PostgreSQL checks privileges on the parent
	// only, so their requiredPerms is 0).
	bool *reads = (bool *)palloc0(sizeof(bool) * (nrte + 1));
	ListCell *lc;
	int index = 0;
	foreach (lc, stmt->rtable) {
		auto *rte = (RangeTblEntry *)lfirst(lc);
		index++;
		reads[index] = rte->rtekind == RTE_RELATION && (rte->requiredPerms & kReadingPerms) != 0;
	}
	for (bool changed = true; changed;) {
		changed = false;
		foreach (lc, stmt->appendRelations) {
			auto *ai = (AppendRelInfo *)lfirst(lc);
			if (ai->parent_relid <= (Index)nrte && ai->child_relid <= (Index)nrte && reads[ai->parent_relid] &&
			    !reads[ai->child_relid]) {
				reads[ai->child_relid] = true;
				changed = true;
			}
		}
	}
	List *roots = NIL;
	List *trail_read = NIL; // each table of the trail named once, however often the statement reads it
	StringInfoData trail;
	trail.data = nullptr;
	index = 0;
	foreach (lc, stmt->rtable) {
		auto *rte = (RangeTblEntry *)lfirst(lc);
		index++;
		if (rte->rtekind != RTE_RELATION || !reads[index])
			continue;
		RelationReads *r = relation(rte->relid);
		// The trail's tables as the statement names them: witness.entry, not each partition it reads.
		if (r->trail && rte->relkind != RELKIND_VIEW && (rte->requiredPerms & ACL_SELECT) != 0 &&
		    setting_record_activity == RecordActivityAll && !list_member_oid(trail_read, rte->relid)) {
			trail_read = lappend_oid(trail_read, rte->relid);
			if (trail.data == nullptr)
				initStringInfo(&trail);
			else if (trail.len < kActivityObjectBytes)
				appendStringInfoString(&trail, ", ");
			if (trail.len < kActivityObjectBytes)
				appendStringInfoString(&trail, r->label);
		}
		if (OidIsValid(r->read_root) && !list_member_oid(roots, r->read_root)) {
			roots = lappend_oid(roots, r->read_root);
			char label[kActivityObjectBytes];
			strlcpy(label, r->root_label, sizeof(label));
			begin_read(query, stmt, query->sourceText, ActivityKind::Read, label);
		}
	}
	if (trail.data != nullptr)
		begin_read(query, stmt, query->sourceText, ActivityKind::TrailRead, trail.data);
	list_free(roots);
	list_free(trail_read);
	pfree(reads);
}

// On a standby: a read of a table tracked with capture_reads cannot be recorded, so it is refused.
void refuse_unrecordable_reads(QueryDesc *query)
{
	ListCell *lc;
	foreach (lc, query->plannedstmt->rtable) {
		auto *rte = (RangeTblEntry *)lfirst(lc);
		if (rte->rtekind != RTE_RELATION || (rte->requiredPerms & kReadingPerms) == 0)
			continue;
		RelationReads *r = relation(rte->relid);
		if (OidIsValid(r->read_root))
			ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			                errmsg("cannot read %s on a standby: its reads are recorded", r->root_label),
			                errdetail("The table is tracked with capture_reads; a standby cannot write the trail."),
			                errhint("Read it on the primary.")));
	}
}

// A relation of the trail read with another role's privileges (a view's or rule's owner,
// checkAsUser): a time-limited auditor's limits must bind such a read too (access_check.cpp).
void check_borrowed_reads(PlannedStmt *stmt)
{
	ListCell *lc;
	foreach (lc, stmt->rtable) {
		auto *rte = (RangeTblEntry *)lfirst(lc);
		if (rte->rtekind != RTE_RELATION || !OidIsValid(rte->checkAsUser) || rte->checkAsUser == GetUserId())
			continue;
		if (!witness_here())
			return;
		if (relation(rte->relid)->trail)
			check_trail_read_as(rte->checkAsUser);
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
		if (!looking_up)
			check_borrowed_reads(query->plannedstmt);
	}
	PG_CATCH();
	{
		activity_note_refusal();
		PG_RE_THROW();
	}
	PG_END_TRY();
	// EXPLAIN without ANALYZE reads nothing.
	if ((eflags & EXEC_FLAG_EXPLAIN_ONLY) != 0 || looking_up || !recording_process() || !activity_queue_attached() ||
	    !witness_here())
		return;
	// A system catalog written by INSERT, UPDATE or DELETE (a superuser's way around every command),
	// whatever runs the statement: pg_witness's own code writes no catalog that way, code nested in its
	// functions (someone's event trigger) or another extension's script may.
	if (!RecoveryInProgress() && !creating_witness()) {
		const Oid catalog = catalog_written(query->plannedstmt);
		if (OidIsValid(catalog)) {
			char label[kActivityObjectBytes];
			relation_label(catalog, label);
			begin_read(query, query->plannedstmt, query->sourceText, ActivityKind::CatalogWrite, label);
		}
	}
	// pg_witness's own queries are recorded as its calls.
	if (witness_depth > 0 || creating_witness())
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

// A login that passed authentication is not a successful login yet: InitPostgres may still refuse
// it (role not permitted to log in, no CONNECT privilege, connection limits, no such role or
// database under trust). Published as a success when InitPostgres commits its transaction, as
// denied by the FATAL that refuses it.
ActivityEvent *pending_login = nullptr;
bool login_unreserved = false; // authenticated, no slot yet (reserve_late_login)
bool pending_login_callback = false;
void publish_pending_login(ActivityOutcome outcome, const ErrorData *edata);
void pending_login_on_exit(int, Datum);
ActivityEvent *fill_login(Port *port, ActivityOutcome outcome, const char *method, const char *message,
                          ActivityPriority priority = ActivityPriority::Anyone, bool count_lost = true);

// Whether a role's logins take the privileged share of the queue: it reads the trail (an auditor, an
// admin) or can do anything (a superuser). Anyone else's logins could fill it (a review's role with no
// privilege logged in 180 times and an auditor's events were lost).
bool trail_role(Oid role)
{
	return superuser_or_member_of(role, {"witness_auditor", "witness_admin", "witness_reader"});
}

// A login that found no slot of anyone's share when it authenticated: at the end of InitPostgres,
// where role and database exist, one of the privileged share, if this database has pg_witness and
// the role is one of the trail's (trail_role).
void reserve_late_login()
{
	login_unreserved = false;
	if (MyProcPort == nullptr || !OidIsValid(MyDatabaseId) || !witness_here() || !trail_role(GetSessionUserId())) {
		activity_count_lost();
		return;
	}
	const char *method = MyProcPort->hba != nullptr ? hba_authname(MyProcPort->hba->auth_method) : "none";
	pending_login = fill_login(MyProcPort, ActivityOutcome::Success, method, nullptr, ActivityPriority::Privileged);
}

// A utility command that reads rows, watched from its start to its end. Its names are looked up before
// it runs, without a lock: a name can move while the command waits for its lock (a review renamed an
// untracked decoy and the tracked table meanwhile, and built an index over every value of the tracked
// one with no read recorded; waiting out lock holders in the hook was beaten by a rename queued
// behind the hook's own wait, and taking the command's locks early made new deadlocks). So the tables
// of capture_reads configurations and the locks the transaction held on them are noted before, and
// a table the command locked anew was reached, whatever name led there: a read, recorded when the
// command ends or fails.
struct WatchedTable {
	Oid relid;
	int root; // index into watched_roots
	uint16 held;
	bool counts; // false: a plain VACUUM's table without a BRIN expression index (it reads nothing)
};
struct WatchedRoot {
	Oid relid;
	bool recorded;
	char label[kActivityObjectBytes];
};
const void *watched_stmt = nullptr;
const char *watched_text = nullptr;
int watched_level = 0; // the (sub)transaction nest level the command started in
WatchedTable *watched_tables = nullptr;
int nwatched_tables = 0;
WatchedRoot *watched_roots = nullptr;
int nwatched_roots = 0;

// The lock modes this transaction holds on relid, one bit each (no catalog access: safe in PG_CATCH).
uint16 held_modes(Oid relid)
{
	LOCKTAG tag;
	SET_LOCKTAG_RELATION(tag, MyDatabaseId, relid);
	uint16 modes = 0;
	for (LOCKMODE mode = AccessShareLock; mode <= AccessExclusiveLock; mode++)
		if (LockHeldByMe(&tag, mode))
			modes |= (uint16)(1 << mode);
	return modes;
}

void forget_watch()
{
	if (watched_tables != nullptr)
		pfree(watched_tables);
	if (watched_roots != nullptr)
		pfree(watched_roots);
	watched_tables = nullptr;
	watched_roots = nullptr;
	nwatched_tables = nwatched_roots = 0;
	watched_stmt = nullptr;
	watched_text = nullptr;
}

// Notes every table of a capture_reads configuration and the locks held on it; recorded: the roots
// the command's named relations already recorded a read of.
void start_watch(const void *stmt, const char *text, List *recorded, bool brin_only)
{
	if (watched_stmt != nullptr)
		return; // a command nested in one watched: the outer watch sees its locks too
	List *roots = query_read_roots("SELECT t.relid::pg_catalog.oid FROM witness.tracked_table t"
	                               " WHERE t.capture_reads AND $1 IS NOT NULL ORDER BY 1", InvalidOid);
	if (roots == NIL)
		return;
	List *all = NIL, *owner = NIL;
	ListCell *lc, *lc2;
	foreach (lc, roots) {
		List *tree = find_all_inheritors(lfirst_oid(lc), NoLock, nullptr);
		foreach (lc2, tree) {
			all = lappend_oid(all, lfirst_oid(lc2));
			owner = lappend_int(owner, foreach_current_index(lc));
		}
		list_free(tree);
	}
	MemoryContext saved = MemoryContextSwitchTo(TopMemoryContext);
	watched_roots = (WatchedRoot *)palloc0(sizeof(WatchedRoot) * list_length(roots));
	watched_tables = (WatchedTable *)palloc0(sizeof(WatchedTable) * list_length(all));
	MemoryContextSwitchTo(saved);
	nwatched_roots = list_length(roots);
	foreach (lc, roots) {
		WatchedRoot &r = watched_roots[foreach_current_index(lc)];
		r.relid = lfirst_oid(lc);
		relation_label(lfirst_oid(lc), r.label);
		r.recorded = list_member_oid(recorded, lfirst_oid(lc));
	}
	forboth (lc, all, lc2, owner) {
		WatchedTable &t = watched_tables[nwatched_tables++];
		t.relid = lfirst_oid(lc);
		t.root = lfirst_int(lc2);
		t.held = held_modes(t.relid);
		t.counts = !brin_only || has_brin_expression_index(t.relid);
	}
	watched_stmt = stmt;
	watched_text = text;
	watched_level = GetCurrentTransactionNestLevel();
	list_free(roots);
	list_free(all);
	list_free(owner);
}

// The watched roots whose tables the command locked anew and whose read is not recorded yet: each
// marked recorded, passed to record (which must not raise when failed). also_held: also tables the
// transaction held a lock on before and still does (a lock taken again looks like no new one: the
// review of the watch held the tracked table's lock with LOCK TABLE first, then raced a rename).
template <typename Record>
void reached_roots(bool also_held, Record record)
{
	for (int i = 0; i < nwatched_tables; i++) {
		const WatchedTable &t = watched_tables[i];
		WatchedRoot &r = watched_roots[t.root];
		const uint16 now = held_modes(t.relid);
		if (r.recorded || !t.counts || ((now & ~t.held) == 0 && !(also_held && (now & t.held) != 0)))
			continue;
		r.recorded = true;
		record(r.label);
	}
}

void on_xact(XactEvent event, void *)
{
	// A watched command that commits transactions of its own (CREATE INDEX CONCURRENTLY, VACUUM,
	// REINDEX CONCURRENTLY) lets its locks go at each: the tables it reached are noted before.
	if (event == XACT_EVENT_PRE_COMMIT && watched_stmt != nullptr)
		reached_roots(false, [](const char *label) {
			begin_read(watched_stmt, (PlannedStmt *)watched_stmt, watched_text, ActivityKind::Read, label);
		});
	if (event == XACT_EVENT_PRE_COMMIT && login_unreserved)
		reserve_late_login();
	// The transaction of InitPostgres: every check of the connection passed.
	if (event == XACT_EVENT_COMMIT && pending_login != nullptr)
		publish_pending_login(ActivityOutcome::Success, nullptr);
	if ((event == XACT_EVENT_ABORT || event == XACT_EVENT_COMMIT) && nopen > 0)
		close_reads(nullptr, 0, event == XACT_EVENT_ABORT ? ActivityOutcome::Failed : ActivityOutcome::Success);
	if (event == XACT_EVENT_ABORT) {
		witness_depth = 0;
		nsaved = 0;
		current_definer = InvalidOid;
		forget_watch();
		noted_code = 0;
		error_user = InvalidOid;
	}
}

void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void *)
{
	if (event == SUBXACT_EVENT_ABORT_SUB) {
		noted_code = 0;
		error_user = InvalidOid;
		// Only a watch started in the subtransaction that aborts: one the command's own code rolls
		// back inside it (an exception block of an expression's function) must not end the command's.
		if (watched_stmt != nullptr && watched_level >= GetCurrentTransactionNestLevel())
			forget_watch();
	}
	if (event == SUBXACT_EVENT_ABORT_SUB && nopen > 0)
		close_reads(nullptr, GetCurrentTransactionNestLevel(), ActivityOutcome::Failed);
	// RELEASE: a cursor declared in the subtransaction lives on in its parent (AtSubCommit_Portals);
	// so does its read, which a later ROLLBACK TO of a sibling savepoint must not close.
	if (event == SUBXACT_EVENT_COMMIT_SUB) {
		const int level = GetCurrentTransactionNestLevel();
		for (int i = 0; i < nopen; i++)
			if (open_reads[i].nest_level >= level)
				open_reads[i].nest_level = level - 1;
	}
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
	bool names_subject; // it takes a data subject (erase_subject, subject_export, ...): no statement kept
	bool names_secret;  // it takes a passphrase or a key (export_encrypted, export): no statement kept
	bool user_event_trigger; // an event trigger function of someone else's: runs as the session's code
	bool secdef;             // SECURITY DEFINER
	char name[NAMEDATALEN];
};
HTAB *functions = nullptr;

// The calls recorded in the current statement: a function called once per row is recorded once.
TimestampTz recorded_statement = 0;
Oid recorded_calls[8];
int nrecorded = 0;

FunctionInfo *function_info(Oid oid)
{
	if (functions == nullptr)
		functions = oid_hash("pg_witness functions", sizeof(FunctionInfo));
	bool found;
	auto *f = (FunctionInfo *)hash_search(functions, &oid, HASH_ENTER, &found);
	if (!found) {
		f->witness = false;
		f->recorded = false;
		f->names_subject = false;
		f->names_secret = false;
		f->user_event_trigger = false;
		f->secdef = false;
		HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(oid));
		if (HeapTupleIsValid(tup)) {
			auto *proc = (Form_pg_proc)GETSTRUCT(tup);
			// pg_witness's own: of schema witness and a member of the extension.
			f->witness = witness_here() && proc->pronamespace == witness_namespace &&
			             getExtensionOfObject(ProcedureRelationId, oid) == get_extension_oid("pg_witness", true);
			f->user_event_trigger = !f->witness && proc->prorettype == EVENT_TRIGGEROID;
			f->secdef = proc->prosecdef;
			// Public functions that PUBLIC may not call reveal or change the trail; those everyone may
			// call (the helpers of views and row-level security policies) reveal nothing by themselves.
			// Of the internal ones, _begin_internal_ddl() lets its caller past the guards of
			// pg_witness's tables, and _erase_payloads() and _reseal_payloads() write the trail without
			// it: called by a session rather than by pg_witness, they are recorded too.
			const char *name = NameStr(proc->proname);
			f->recorded = f->witness &&
			              (name[0] != '_' || strcmp(name, "_begin_internal_ddl") == 0 ||
			               strcmp(name, "_erase_payloads") == 0 || strcmp(name, "_reseal_payloads") == 0) &&
			              pg_proc_aclcheck(oid, ACL_ID_PUBLIC, ACL_EXECUTE) != ACLCHECK_OK;
			strlcpy(f->name, NameStr(proc->proname), NAMEDATALEN);
			bool isnull;
			Datum names = SysCacheGetAttr(PROCOID, tup, Anum_pg_proc_proargnames, &isnull);
			if (!isnull) {
				Datum *elems;
				int n;
				deconstruct_array(DatumGetArrayTypeP(names), TEXTOID, -1, false, TYPALIGN_INT, &elems, nullptr, &n);
				for (int i = 0; i < n; i++) {
					const char *arg = TextDatumGetCString(elems[i]);
					f->names_subject |= strcmp(arg, "subject") == 0;
					f->names_secret |= strcmp(arg, "passphrase") == 0 || strcmp(arg, "pseudonym_key") == 0;
				}
			}
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

needs_fmgr_hook_type prev_needs_fmgr = nullptr;

bool activity_needs_fmgr(Oid fn)
{
	if (prev_needs_fmgr != nullptr && prev_needs_fmgr(fn))
		return true;
	if (!IsTransactionState() || !activity_queue_attached() || !witness_here())
		return false;
	const FunctionInfo *f = function_info(fn);
	return f->user_event_trigger || f->secdef;
}

// The role in force for the code now calling a function that switched to its owner: the role the
// innermost SECURITY DEFINER function of someone else's runs as, or the statement's.
Oid role_before_switch()
{
	if (OidIsValid(current_definer))
		return current_definer;
	return OidIsValid(statement_user) ? statement_user : GetUserId();
}

// The role an event is about: inside pg_witness's functions, the role that called them; elsewhere the
// role the error was raised as (a refusal) or the current one.
Oid acting_user()
{
	if (witness_depth > 0 && OidIsValid(witness_caller))
		return witness_caller;
	return OidIsValid(error_user) ? error_user : GetUserId();
}

// private_data of a call of someone else's function: flags in the low three bits, above them the
// definer it replaced (0 for any other function; pg_witness's own hold 1, or the event of their
// recorded call, a pointer, whose low three bits are 0).
constexpr uintptr_t kSavedDepth = 2;    // its event trigger interrupted pg_witness's depth
constexpr uintptr_t kPushedDefiner = 4; // a SECURITY DEFINER function: current_definer replaced
constexpr int kDefinerShift = 8;

bool is_flags(Datum d)
{
	const uintptr_t v = (uintptr_t)d;
	return v != 1 && (v & 7) != 0;
}

// private_data holds 0 for a call of another function, 1 for a pg_witness function not recorded, 2
// for someone else's event trigger run at depth 0, else the event (a pointer) of a recorded call.
void activity_fmgr(FmgrHookEventType event, FmgrInfo *flinfo, Datum *private_data)
{
	if (prev_fmgr != nullptr)
		prev_fmgr(event, flinfo, private_data);
	switch (event) {
	case FHET_START: {
		*private_data = (Datum)0;
		if (!recording_backend() || !IsTransactionState() || creating_witness())
			return;
		FunctionInfo *f = function_info(flinfo->fn_oid);
		if (!f->witness) {
			uintptr_t flags = 0;
			if (f->user_event_trigger && witness_depth > 0 && nsaved < (int)lengthof(saved_depths)) {
				saved_depths[nsaved++] = witness_depth;
				witness_depth = 0;
				flags |= kSavedDepth;
			}
			if (f->secdef) {
				flags |= kPushedDefiner | ((uintptr_t)current_definer << kDefinerShift);
				current_definer = GetUserId();
			}
			*private_data = (Datum)flags;
			return;
		}
		if (witness_depth == 0)
			witness_caller = f->secdef ? role_before_switch() : GetUserId();
		ActivityEvent *e = nullptr;
		// Like a read of the trail, a call does not wait for a slot (activity_reserve counts it as lost).
		// _begin_internal_ddl() called by a session lets it past the guards of the trail: recorded
		// whatever witness.record_activity says.
		if (witness_depth == 0 && f->recorded &&
		    (setting_record_activity == RecordActivityAll || strcmp(f->name, "_begin_internal_ddl") == 0) &&
		    first_call_in_statement(flinfo->fn_oid))
			e = activity_reserve(ActivityPriority::Privileged);
		if (e != nullptr) {
			e->kind = ActivityKind::Call;
			fill_session(e, true, witness_caller);
			snprintf(e->object, sizeof(e->object), "witness.%s", f->name);
			if (f->names_subject)
				e->statement_length = (int32)strlcpy(e->statement, kWithheldSubject, sizeof(e->statement));
			else if (f->names_secret)
				e->statement_length = (int32)strlcpy(e->statement, kWithheldSecret, sizeof(e->statement));
			else
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
		if (is_flags(*private_data)) {
			const uintptr_t flags = (uintptr_t)*private_data;
			if (flags & kPushedDefiner) {
				if (event == FHET_ABORT && !OidIsValid(error_user))
					error_user = current_definer;
				current_definer = (Oid)(flags >> kDefinerShift);
			}
			if ((flags & kSavedDepth) && nsaved > 0)
				witness_depth = saved_depths[--nsaved];
			*private_data = (Datum)0;
			return;
		}
		if (witness_depth > 0)
			witness_depth--;
		if (event == FHET_ABORT && witness_depth == 0 && !OidIsValid(error_user))
			error_user = witness_caller;
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

ActivityEvent *fill_login(Port *port, ActivityOutcome outcome, const char *method, const char *message,
                          ActivityPriority priority, bool count_lost)
{
	login_recorded = true;
	if (setting_record_activity != RecordActivityAll)
		return nullptr;
	ActivityEvent *e = activity_reserve(priority, count_lost);
	if (e == nullptr)
		return nullptr;
	e->kind = ActivityKind::Login;
	e->outcome = outcome;
	e->pid = MyProcPid;
	// Raw bytes from the startup packet: any encoding, or none, and cut anywhere by PostgreSQL. The
	// database name is kept as sent: the drain takes the event only in the database of that name.
	if (port->database_name != nullptr)
		strlcpy(e->database_name, port->database_name, NAMEDATALEN);
	if (port->user_name != nullptr)
		copy_ascii(e->session_user, NAMEDATALEN, port->user_name);
	if (port->application_name != nullptr)
		strlcpy(e->application_name, port->application_name, NAMEDATALEN);
	if (port->remote_host != nullptr && port->raddr.addr.ss_family != AF_UNIX)
		strlcpy(e->client_addr, port->remote_host, sizeof(e->client_addr));
	strlcpy(e->object, method, sizeof(e->object));
	if (message != nullptr)
		copy_ascii(e->message, sizeof(e->message), message);
	return e;
}

void record_login(Port *port, ActivityOutcome outcome, const char *method, const char *message)
{
	ActivityEvent *e = fill_login(port, outcome, method, message);
	if (e != nullptr)
		activity_publish(e);
}

void publish_pending_login(ActivityOutcome outcome, const ErrorData *edata)
{
	ActivityEvent *e = pending_login;
	pending_login = nullptr;
	e->outcome = outcome;
	if (edata != nullptr) {
		strlcpy(e->sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(e->sqlstate));
		if (edata->message != nullptr)
			copy_clipped(e->message, sizeof(e->message), edata->message);
	}
	activity_publish(e);
}

void record_refusal(const ErrorData *edata)
{
	ActivityEvent *e = activity_reserve(ActivityPriority::Anyone);
	if (e == nullptr)
		return;
	e->kind = ActivityKind::Denied;
	e->outcome = ActivityOutcome::Denied;
	fill_session(e, IsTransactionState(), acting_user());
	strlcpy(e->sqlstate, unpack_sql_state(edata->sqlerrcode), sizeof(e->sqlstate));
	if (edata->message != nullptr)
		copy_clipped(e->message, sizeof(e->message), edata->message);
	fill_statement(e, debug_query_string);
	activity_publish(e);
}

bool refusals_recorded_here()
{
	// Known not installed here: nothing would ever take the event.
	return recording_process() && OidIsValid(MyDatabaseId) && activity_queue_attached() &&
	       setting_record_activity == RecordActivityAll && !RecoveryInProgress() &&
	       !(namespace_known && !OidIsValid(witness_namespace));
}

void pending_login_on_exit(int, Datum)
{
	if (login_unreserved) {
		login_unreserved = false;
		activity_count_lost();
	}
	if (pending_login != nullptr)
		publish_pending_login(ActivityOutcome::Failed, nullptr);
}

void activity_emit_log(ErrorData *edata)
{
	if (prev_emit_log != nullptr)
		prev_emit_log(edata);
	if (!activity_queue_attached())
		return;
	if (pending_login != nullptr && edata->elevel >= FATAL) {
		publish_pending_login(ActivityOutcome::Denied, edata);
		return;
	}
	if (is_unhooked_login_failure(edata)) {
		record_login(MyProcPort, ActivityOutcome::Denied,
		             MyProcPort->hba != nullptr ? hba_authname(MyProcPort->hba->auth_method) : "none", edata->message);
		return;
	}
	if (!is_refusal(edata))
		return;
	// Not installed here: nothing would ever take the event. Unknown outside a transaction: kept.
	if (!namespace_known && IsTransactionState())
		(void)witness_here();
	if (!refusals_recorded_here())
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
	const char *method = port->hba != nullptr ? hba_authname(port->hba->auth_method) : "none";
	if (status != STATUS_OK) {
		record_login(port, ActivityOutcome::Denied, method, "authentication failed");
		return;
	}
	// Neither the role nor the database is known to exist yet: anyone's share of the queue. When that
	// is full, the login takes a slot of the privileged share once it is through, in a database with
	// pg_witness (reserve_late_login); a review kept three quarters of the queue full with logins to a
	// database without pg_witness, whose events no drain takes for ten minutes.
	pending_login = fill_login(port, ActivityOutcome::Success, method, nullptr, ActivityPriority::Anyone, false);
	login_unreserved = pending_login == nullptr && setting_record_activity == RecordActivityAll;
	if (!pending_login_callback) {
		before_shmem_exit(pending_login_on_exit, (Datum)0);
		pending_login_callback = true;
	}
}

} // namespace

// Whether root or one of its partitions and inheritance children has a BRIN index with expressions.
bool tree_has_brin_expression_index(Oid root)
{
	List *all = find_all_inheritors(root, NoLock, nullptr);
	bool found = false;
	ListCell *lc;
	foreach (lc, all)
		if (!found && has_brin_expression_index(lfirst_oid(lc)))
			found = true;
	list_free(all);
	return found;
}

void activity_utility_begin(PlannedStmt *pstmt, const char *query_string)
{
	if (witness_depth == 0 && !InLocalUserIdChange())
		statement_user = GetUserId();
	if (looking_up || !recording_backend() || !IsTransactionState() || !witness_here())
		return;
	// COPY into or TRUNCATE of a system catalog: recorded like a catalog write by the executor.
	const Oid catalog = creating_witness() ? InvalidOid : utility_catalog_written(pstmt->utilityStmt);
	if (OidIsValid(catalog)) {
		char label[kActivityObjectBytes];
		relation_label(catalog, label);
		begin_read(pstmt, pstmt, query_string, ActivityKind::CatalogWrite, label);
		return;
	}
	if (witness_depth > 0 || creating_witness())
		return;
	EveryTable every_table = EveryTable::None;
	List *volatile targets = NIL;
	// The lookups check permissions as the command's own would (utility_reads.cpp): a refusal there is
	// noted before an exception handler of the caller can swallow it.
	PG_TRY();
	{
		targets = utility_read_relations(pstmt->utilityStmt, &every_table);
	}
	PG_CATCH();
	{
		activity_note_refusal();
		PG_RE_THROW();
	}
	PG_END_TRY();
	List *roots = NIL;
	bool trail_read = false;
	ListCell *lc;
	// A command that may read any table (REINDEX DATABASE, VACUUM FULL, ...) reads each table tracked
	// with capture_reads, through an expression index or statistics of its owner.
	if (every_table != EveryTable::None) {
		List *all = query_read_roots("SELECT t.relid::pg_catalog.oid FROM witness.tracked_table t"
		                             " WHERE t.capture_reads AND $1 IS NOT NULL ORDER BY 1", InvalidOid);
		foreach (lc, all) {
			CHECK_FOR_INTERRUPTS();
			if (every_table == EveryTable::WithBrinExpressions && !tree_has_brin_expression_index(lfirst_oid(lc)))
				continue;
			char label[kActivityObjectBytes];
			relation_label(lfirst_oid(lc), label);
			begin_read(pstmt, pstmt, query_string, ActivityKind::Read, label);
		}
		list_free(all);
	}
	foreach (lc, targets) {
		CHECK_FOR_INTERRUPTS();
		RelationReads *r = relation(lfirst_oid(lc));
		if (r->trail && setting_record_activity == RecordActivityAll && !trail_read) {
			trail_read = true;
			begin_read(pstmt, pstmt, query_string, ActivityKind::TrailRead, r->label);
		} else if (OidIsValid(r->read_root) && !list_member_oid(roots, r->read_root)) {
			roots = lappend_oid(roots, r->read_root);
			char label[kActivityObjectBytes];
			strlcpy(label, r->root_label, sizeof(label));
			begin_read(pstmt, pstmt, query_string, ActivityKind::Read, label);
		}
	}
	// Every command that names relations to read is watched, also when none it names now is tracked (a
	// plain VACUUM of a decoy's name: the review of the watch).
	if ((targets != NIL || utility_names_relations(pstmt->utilityStmt)) && every_table == EveryTable::None)
		start_watch(pstmt, query_string, roots, utility_is_plain_vacuum(pstmt->utilityStmt));
	list_free(roots);
	list_free(targets);
}

void activity_utility_end(PlannedStmt *pstmt, QueryCompletion *qc)
{
	// The command holds its locks now: its names point where it read, and a table it reached under a
	// name that moved meanwhile is a read. So is a tracked table it holds a lock on, taken anew or
	// before (the review of the watch shadowed the tracked table on the search_path by a decoy dropped
	// while the command waited and made again before its end; and ran a raced command nested in
	// another): a command that only locked one (FOREIGN KEY ... NOT VALID, INHERIT) is counted too.
	if (watched_stmt == pstmt) {
		reached_roots(true, [&](const char *label) { begin_read(pstmt, pstmt, watched_text, ActivityKind::Read, label); });
		EveryTable every_table = EveryTable::None;
		List *now = utility_read_relations(pstmt->utilityStmt, &every_table);
		ListCell *lc;
		foreach (lc, now) {
			const Oid root = relation(lfirst_oid(lc))->read_root;
			for (int i = 0; i < nwatched_roots; i++)
				if (watched_roots[i].relid == root && !watched_roots[i].recorded) {
					watched_roots[i].recorded = true;
					begin_read(pstmt, pstmt, watched_text, ActivityKind::Read, watched_roots[i].label);
				}
		}
		list_free(now);
		forget_watch();
	}
	for (int i = 0; i < nopen; i++)
		if (open_reads[i].query == pstmt && qc != nullptr)
			open_reads[i].event->rows = (int64)qc->nprocessed;
	if (nopen > 0)
		close_reads(pstmt, 0, ActivityOutcome::Success);
}

// A watched utility command failed: the tables it reached are reads all the same, published now,
// failed; no slot is waited for and nothing is raised here (a full queue counts them as lost).
void activity_utility_failed(PlannedStmt *pstmt)
{
	// Also a command nested in a watched one: its locks go with the subtransaction that catches it.
	if (watched_stmt == nullptr)
		return;
	reached_roots(true, [&](const char *label) {
		ActivityEvent *e = activity_reserve(ActivityPriority::Privileged);
		if (e == nullptr)
			return;
		e->kind = ActivityKind::Read;
		strlcpy(e->object, label, sizeof(e->object));
		fill_session(e, IsTransactionState(), acting_user());
		e->rows = 0;
		fill_statement(e, watched_text);
		e->outcome = ActivityOutcome::Failed;
		activity_publish(e);
	});
	if (watched_stmt == pstmt)
		forget_watch();
}

void activity_note_refusal()
{
	if (witness_depth > 0 || !refusals_recorded_here())
		return;
	MemoryContext saved = MemoryContextSwitchTo(TopMemoryContext);
	ErrorData *edata = CopyErrorData();
	MemoryContextSwitchTo(saved);
	// Already noted on its way out of an inner hook: the executor of an EXECUTE, EXPLAIN ANALYZE or
	// CREATE TABLE AS refused it before the utility command's hook saw it (it was recorded twice).
	const bool noted = noted_code == edata->sqlerrcode && edata->message != nullptr &&
	                   strncmp(noted_message, edata->message, sizeof(noted_message) - 1) == 0;
	if (is_refusal(edata) && !noted) {
		record_refusal(edata);
		noted_code = edata->sqlerrcode;
		strlcpy(noted_message, edata->message != nullptr ? edata->message : "", sizeof(noted_message));
	}
	FreeErrorData(edata);
}

bool activity_session_change(Oid *witness_schema, bool *in_witness_function)
{
	if (looking_up || !recording_backend() || !IsTransactionState() || !witness_here() || creating_witness())
		return false;
	*witness_schema = witness_namespace;
	*in_witness_function = witness_depth > 0;
	return true;
}

void activity_record_change(ActivityKind kind, const char *object, const char *message)
{
	ActivityEvent *e = activity_reserve(ActivityPriority::Required);
	if (e == nullptr)
		return;
	e->kind = kind;
	strlcpy(e->object, object, sizeof(e->object));
	fill_session(e, true, acting_user());
	copy_clipped(e->message, sizeof(e->message), message);
	e->rows = -1;
	fill_statement(e, debug_query_string);
	e->outcome = ActivityOutcome::Success;
	activity_publish(e);
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
	prev_needs_fmgr = needs_fmgr_hook;
	needs_fmgr_hook = activity_needs_fmgr;
	prev_emit_log = emit_log_hook;
	emit_log_hook = activity_emit_log;
	if (preloaded) {
		prev_client_auth = ClientAuthentication_hook;
		ClientAuthentication_hook = activity_client_auth;
	}
}

} // namespace witness::pg
