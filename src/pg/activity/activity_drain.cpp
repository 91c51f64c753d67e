#include "pg/activity/activity_drain.hpp"

#include "pg/activity/activity_queue.hpp"
#include "pg/capture/internal_ddl.hpp"
#include "pg/common/trail_catalog.hpp"

#include <initializer_list>

extern "C" {
#include "access/table.h"
#include "catalog/dependency.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_trigger.h"
#include "commands/trigger.h"
#include "commands/dbcommands.h"
#include "commands/extension.h"
#include "common/hashfn.h"
#include "utils/inet.h"
#include "utils/rel.h"
}

namespace witness::pg
{
namespace
{

constexpr int kColumns = 20;
const Oid kTypes[kColumns] = {TEXTOID, TEXTOID, TIMESTAMPTZOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
                              TEXTOID, INT4OID, TEXTOID, TEXTOID, INT8OID, INT8OID, TEXTOID,
                              TEXTOID, TEXTOID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZARRAYOID, INT8ARRAYOID};

// Reads of one session by one statement (one query id) drained together are one row: a busy
// application repeats its statements thousands of times a second, and a row (and an entry) for
// each was most of the cost of recording reads. Every read keeps its time and row count, in the
// row's arrays, in order.
struct GroupKey {
	ActivityKind kind;
	ActivityOutcome outcome;
	int32 pid;
	int64 query_id;
	char session_user[NAMEDATALEN];
	char current_user[NAMEDATALEN];
	char application_name[NAMEDATALEN];
	char client_addr[48];
	char actor[NAMEDATALEN];
	char object[kActivityObjectBytes];
	char sqlstate[6];
	char message[64]; // enough to tell the reasons of refused logins apart
	uint32 text_hash; // of a refusal's whole message and statement
};

struct Group {
	GroupKey key; // hash key
	int first;    // the slot of its first event
	int count;
	int capacity;
	TimestampTz *times;
	int64 *rows;
};

// One row to write: a single event (group == nullptr) or a group.
struct Row {
	int slot;
	Group *group;
};

// Logins are grouped too, by role, database, address, method, outcome and reason (not by process:
// every login is a process of its own; the row names the first one's): an application that connects
// for every transaction logs in hundreds of times a second. So are a session's refusals of the same
// statement with the same error: a role without any privilege repeated one in a loop, 8,500 rows
// (and entries) a second (an attack review).
bool groupable(const ActivityEvent &e)
{
	return ((e.kind == ActivityKind::Read || e.kind == ActivityKind::TrailRead) && e.query_id != 0) ||
	       e.kind == ActivityKind::Login || e.kind == ActivityKind::Denied;
}

void make_key(const ActivityEvent &e, GroupKey *k)
{
	memset(k, 0, sizeof(*k));
	k->kind = e.kind;
	k->outcome = e.outcome;
	k->pid = e.kind == ActivityKind::Login ? 0 : e.pid;
	k->query_id = e.query_id;
	strlcpy(k->session_user, e.session_user, NAMEDATALEN);
	strlcpy(k->current_user, e.current_user, NAMEDATALEN);
	strlcpy(k->application_name, e.application_name, NAMEDATALEN);
	strlcpy(k->client_addr, e.client_addr, sizeof(k->client_addr));
	strlcpy(k->actor, e.actor, NAMEDATALEN);
	strlcpy(k->object, e.object, sizeof(k->object));
	strlcpy(k->sqlstate, e.sqlstate, sizeof(k->sqlstate));
	strlcpy(k->message, e.message, sizeof(k->message));
	if (e.kind == ActivityKind::Denied) {
		const uint32 m = hash_bytes((const unsigned char *)e.message, (int)strlen(e.message));
		k->text_hash = hash_combine(m, hash_bytes((const unsigned char *)e.statement, (int)strlen(e.statement)));
	}
}

void add_to_group(Group *g, const ActivityEvent &e)
{
	if (g->count == g->capacity) {
		g->capacity *= 2;
		g->times = (TimestampTz *)repalloc(g->times, sizeof(TimestampTz) * g->capacity);
		g->rows = (int64 *)repalloc(g->rows, sizeof(int64) * g->capacity);
	}
	g->times[g->count] = e.at;
	g->rows[g->count] = e.rows;
	g->count++;
}

// The rows to write, in the order of their first event; groups filled.
int plan_rows(const int *taken, int n, Row *out)
{
	HASHCTL ctl;
	ctl.keysize = sizeof(GroupKey);
	ctl.entrysize = sizeof(Group);
	ctl.hcxt = CurrentMemoryContext;
	HTAB *groups = hash_create("pg_witness activity groups", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	int nrows = 0;
	for (int i = 0; i < n; i++) {
		const ActivityEvent &e = *activity_slot(taken[i]);
		if (!groupable(e)) {
			out[nrows++] = {taken[i], nullptr};
			continue;
		}
		GroupKey key;
		make_key(e, &key);
		bool found;
		auto *g = (Group *)hash_search(groups, &key, HASH_ENTER, &found);
		if (!found) {
			g->first = taken[i];
			g->count = 0;
			g->capacity = 16;
			g->times = (TimestampTz *)palloc(sizeof(TimestampTz) * g->capacity);
			g->rows = (int64 *)palloc(sizeof(int64) * g->capacity);
			out[nrows++] = {taken[i], g};
		}
		add_to_group(g, e);
	}
	return nrows;
}

SPIPlanPtr prepare_insert()
{
	SPIPlanPtr plan = SPI_prepare(
	    "INSERT INTO witness.activity (kind, outcome, happened_at, database_name, session_user_name,"
	    " current_user_name, application_name, client_addr, backend_pid, actor, object_name, row_count, query_id,"
	    " sqlstate, message, statement, statement_count, last_happened_at, statement_times, statement_rows)"
	    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)",
	    kColumns, const_cast<Oid *>(kTypes));
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the insert into witness.activity: %s",
		     SPI_result_code_string(SPI_result));
	return plan;
}

// NULL for an empty string.
void text_or_null(const char *s, Datum *value, char *null)
{
	if (s[0] == '\0') {
		*null = 'n';
		return;
	}
	*value = CStringGetTextDatum(s);
	*null = ' ';
}

void insert_event(SPIPlanPtr plan, const ActivityEvent &e, const Group *g)
{
	Datum v[kColumns];
	char n[kColumns + 1];
	memset(n, ' ', kColumns);
	n[kColumns] = '\0';
	v[0] = CStringGetTextDatum(activity_kind_name(e.kind));
	v[1] = CStringGetTextDatum(activity_outcome_name(e.outcome));
	v[2] = TimestampTzGetDatum(e.at);
	text_or_null(e.database_name, &v[3], &n[3]);
	text_or_null(e.session_user, &v[4], &n[4]);
	text_or_null(e.current_user, &v[5], &n[5]);
	text_or_null(e.application_name, &v[6], &n[6]);
	text_or_null(e.client_addr, &v[7], &n[7]);
	v[8] = Int32GetDatum(e.pid);
	text_or_null(e.actor, &v[9], &n[9]);
	text_or_null(e.object, &v[10], &n[10]);
	v[11] = Int64GetDatum(e.rows);
	n[11] = e.rows < 0 ? 'n' : ' ';
	v[12] = Int64GetDatum(e.query_id);
	n[12] = e.query_id == 0 ? 'n' : ' ';
	text_or_null(e.sqlstate, &v[13], &n[13]);
	text_or_null(e.message, &v[14], &n[14]);
	if (e.statement_length > (int32)strlen(e.statement)) {
		v[15] = CStringGetTextDatum(psprintf("%s... (%d bytes in all)", e.statement, e.statement_length));
		n[15] = ' ';
	} else {
		text_or_null(e.statement, &v[15], &n[15]);
	}
	v[16] = Int32GetDatum(g != nullptr ? g->count : 1);
	if (g != nullptr && g->count > 1) {
		int64 total = 0;
		bool known = true;
		Datum *times = (Datum *)palloc(sizeof(Datum) * g->count);
		Datum *rows = (Datum *)palloc(sizeof(Datum) * g->count);
		for (int i = 0; i < g->count; i++) {
			times[i] = TimestampTzGetDatum(g->times[i]);
			rows[i] = Int64GetDatum(g->rows[i]);
			known &= g->rows[i] >= 0;
			total += g->rows[i];
		}
		v[11] = Int64GetDatum(total);
		n[11] = known ? ' ' : 'n';
		v[17] = TimestampTzGetDatum(g->times[g->count - 1]);
		v[18] = PointerGetDatum(construct_array(times, g->count, TIMESTAMPTZOID, sizeof(TimestampTz), true, TYPALIGN_DOUBLE));
		v[19] = PointerGetDatum(construct_array(rows, g->count, INT8OID, sizeof(int64), true, TYPALIGN_DOUBLE));
	} else {
		n[17] = n[18] = n[19] = 'n';
	}
	if (SPI_execute_plan(plan, v, n, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "pg_witness: could not insert into witness.activity");
}

// A row of kind lost, failed, at `at`: row_count how many (nullptr: not known), and why.
void insert_lost_row(SPIPlanPtr plan, TimestampTz at, const int64 *row_count, const char *message)
{
	Datum v[kColumns];
	char n[kColumns + 1];
	memset(n, 'n', kColumns);
	n[kColumns] = '\0';
	v[0] = CStringGetTextDatum("lost");
	v[1] = CStringGetTextDatum("failed");
	v[2] = TimestampTzGetDatum(at);
	v[8] = Int32GetDatum(MyProcPid);
	v[14] = CStringGetTextDatum(message);
	v[16] = Int32GetDatum(1);
	for (int k : std::initializer_list<int>{0, 1, 2, 8, 14, 16})
		n[k] = ' ';
	if (row_count != nullptr) {
		v[11] = Int64GetDatum(*row_count);
		n[11] = ' ';
	}
	if (SPI_execute_plan(plan, v, n, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "pg_witness: could not insert into witness.activity");
}

// The row that says how many events no trail will show, and whose they were (the login role and
// database of each, as far as activity_lost.cpp kept them).
void insert_lost(SPIPlanPtr plan, uint64 lost, const char *whose)
{
	const int64 count = (int64)lost;
	insert_lost_row(plan, GetCurrentTimestamp(), &count,
	                psprintf("events lost: the activity queue was full, or their database had no pg_witness sealer%s", whose));
}

// The row saying that the server restarted without saving the queue: events of every database
// queued before `at` are lost, and how many is not known (row_count NULL).
void insert_restart(SPIPlanPtr plan, TimestampTz at)
{
	insert_lost_row(plan, at, nullptr,
	                "events lost: the server restarted without saving the activity queue (it crashed, or the "
	                "postmaster was killed); the events queued before, of every database, are not recorded, and "
	                "how many is not known");
}

// Whether this database's trail has an entry captured before `at`: a database whose trail began
// after a restart lost nothing in it, and is told nothing of it.
bool trail_began_before(TimestampTz at)
{
	if (SPI_execute("SELECT e.stmt_time FROM witness.entry e ORDER BY e.id LIMIT 1", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read witness.entry");
	if (SPI_processed == 0)
		return false;
	bool isnull;
	const Datum first = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	return !isnull && DatumGetTimestampTz(first) < at;
}

// Whether rows inserted into witness.activity reach it as written: no rule or CHECK constraint on it,
// and no trigger but pg_witness's own (its function a member of the extension, none row-level BEFORE
// INSERT). A rule or a trigger of someone else's
// could drop the very rows that record it (docs/activity.md, "Capture control"); creating either is
// refused, but a superuser can write the catalogs directly.
bool activity_table_clean(Oid relid)
{
	Relation rel = table_open(relid, AccessShareLock);
	// No rule, no CHECK constraint (one that refused a row would fail every pass of the sealer).
	bool clean = !rel->rd_rel->relhasrules && (rel->rd_att->constr == nullptr || rel->rd_att->constr->num_check == 0);
	const Oid extension = get_extension_oid("pg_witness", true);
	for (int i = 0; clean && rel->trigdesc != nullptr && i < rel->trigdesc->numtriggers; i++) {
		const Trigger &t = rel->trigdesc->triggers[i];
		// A row-level BEFORE INSERT trigger can drop the row it is given, whatever its function.
		clean = getExtensionOfObject(ProcedureRelationId, t.tgfoid) == extension &&
		        !(TRIGGER_FOR_ROW(t.tgtype) && TRIGGER_FOR_BEFORE(t.tgtype) && TRIGGER_FOR_INSERT(t.tgtype));
	}
	table_close(rel, AccessShareLock);
	return clean;
}

} // namespace

int64 drain_activity(int *events)
{
	if (events != nullptr)
		*events = 0;
	const Oid activity = witness_relation_if_exists("activity");
	if (!activity_queue_attached() || !OidIsValid(activity))
		return 0;
	// The events stay queued, and once the queue is full what must be recorded is refused.
	if (!activity_table_clean(activity)) {
		ereport(WARNING, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                  errmsg("pg_witness: witness.activity has a rule or a trigger that pg_witness did not make; activity is not written"),
		                  errdetail("Such a rule or trigger could drop the rows that record it. The events stay queued."),
		                  errhint("Drop it; the next pass of the sealer writes the queued events.")));
		return 0;
	}
	// In replica mode the capture trigger of witness.activity does not fire: rows written then would
	// be no entries of the chain. The background sealer drains in origin mode.
	if (SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA) {
		ereport(WARNING, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                  errmsg("pg_witness: activity is not written while session_replication_role is replica"),
		                  errdetail("The capture trigger of witness.activity does not fire in replica mode. The events stay queued."),
		                  errhint("Flush with session_replication_role = origin; the background sealer does.")));
		return 0;
	}
	int *taken = (int *)palloc(sizeof(int) * activity_queue_capacity());
	const char *dbname = get_database_name(MyDatabaseId);
	const int n = activity_take(MyDatabaseId, dbname != nullptr ? dbname : "", taken);
	StringInfoData whose;
	initStringInfo(&whose);
	TimestampTz restarted_at;
	const uint64 lost = activity_take_lost(&whose, &restarted_at);
	if (events != nullptr)
		*events = n;
	if (n == 0 && lost == 0 && restarted_at == 0)
		return 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	SPIPlanPtr plan = prepare_insert();
	MemoryContext rows = AllocSetContextCreate(CurrentMemoryContext, "pg_witness activity rows", ALLOCSET_DEFAULT_SIZES);
	Row *planned = (Row *)palloc(sizeof(Row) * Max(n, 1));
	const int nrows = plan_rows(taken, n, planned);
	internal_ddl_begin();
	for (int i = 0; i < nrows; i++) {
		CHECK_FOR_INTERRUPTS();
		MemoryContext saved = MemoryContextSwitchTo(rows);
		insert_event(plan, *activity_slot(planned[i].slot), planned[i].group);
		MemoryContextSwitchTo(saved);
		MemoryContextReset(rows);
	}
	if (lost > 0)
		insert_lost(plan, lost, whose.data);
	const bool tell_restart = restarted_at != 0 && trail_began_before(restarted_at);
	if (tell_restart)
		insert_restart(plan, restarted_at);
	internal_ddl_end();
	SPI_finish();
	return nrows + (lost > 0 ? 1 : 0) + (tell_restart ? 1 : 0);
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_flush_activity);
Datum witness_flush_activity(PG_FUNCTION_ARGS);

// witness.flush_activity(): the drain the sealer runs, now, in the caller's transaction.
Datum witness_flush_activity(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(witness::pg::drain_activity());
}
}
