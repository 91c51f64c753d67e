// witness.audit_report(since, until): the signed audit report (docs/report.md), built by the core's
// AuditReportBuilder over the lines of witness.export_trail() — the stream witness-verify report
// reads from a file — with witness.verify()'s result, and signed with the digest keys.
#include "pg/common/pg_includes.hpp"

extern "C" {
#include "common/int.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "utils/array.h"
#include "utils/fmgrprotos.h"
#include "utils/backend_status.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"
}

#include <string>

#include "core/audit_report.hpp"
#include "core/signatures.hpp"
#include "core/utf8.hpp"
#include "pg/activity/activity_queue.hpp"
#include "pg/seal/sealer_registry.hpp"
#include "pg/common/access_check.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/common/setting_file.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/trail_catalog.hpp"

using namespace witness;
using namespace witness::pg;

namespace
{

// Static, so that no C++ object with a destructor lives in a frame an ERROR can leave; each call
// starts by throwing away what an earlier, failed call left.
AuditReportBuilder *builder = nullptr;
ReportVerification verification;
std::string document;

constexpr long kLineBatch = 1000;

void reset_state()
{
	run_core(ERRCODE_INTERNAL_ERROR, "could not start the audit report", [&] {
		delete builder;
		builder = nullptr;
		verification = ReportVerification();
		document.clear();
		document.shrink_to_fit();
	});
}

// t as microseconds since 1970; past the largest of those (a time in the year 294,000), just short
// of it: later than every entry, and still before an open end (a robustness review found the addition
// overflowing).
int64 unix_us(TimestampTz t)
{
	int64 us;
	if (pg_add_s64_overflow(t, kUnixToPostgresEpochUs, &us))
		return kReportNoEnd - 1;
	return us;
}

// Argument arg as a bound of the report's period in Unix microseconds; NULL gives open.
int64 bound_us(FunctionCallInfo fcinfo, int arg, int64 open)
{
	if (PG_ARGISNULL(arg))
		return open;
	const TimestampTz t = PG_GETARG_TIMESTAMPTZ(arg);
	// -infinity is the open start and infinity the open end, on either side: since => 'infinity' is an
	// empty period, refused as one, not an open one (a helper's review).
	if (TIMESTAMP_IS_NOBEGIN(t))
		return kReportNoBound;
	if (TIMESTAMP_IS_NOEND(t))
		return kReportNoEnd;
	return unix_us(t);
}

// A report is of a period that is over: one that ends (or begins) after it is made would list what
// happened so far under a period that reads as complete (an attack review's report of next year said
// "no entries in the period", valid). An open end is "now", the time it is made.
void refuse_unfinished_period(int64 from, int64 until, int64 now)
{
	if (from >= now)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("the report's period has not begun yet"),
		                errdetail("It begins at %s.", timestamptz_to_str(from - kUnixToPostgresEpochUs)),
		                errhint("Report on a period that is over.")));
	if (until != kReportNoEnd && until > now)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("the report's period has not ended yet"),
		                errdetail("It ends at %s: what happens until then would be missing from a report that reads "
		                          "as complete.",
		                          timestamptz_to_str(until - kUnixToPostgresEpochUs)),
		                errhint("Pass until => NULL for a report up to now, or wait until the period is over.")));
}

// A session of this database that may still commit entries dated before until: its transaction
// wrote (has a transaction id) and began before until, or a statement of it that began before until
// is running (it may write yet, dated at its start).
struct OpenWriter {
	int pid = 0;
	TransactionId xid = InvalidTransactionId; // invalid: a running statement that has not written yet
};

// A walsender streaming changes (to a collector, docs/central.md) runs START_REPLICATION for as long
// as it is connected: a review's reports polled it for good. An SQL statement a walsender runs (a
// replication=database connection) is polled as any other (the review of the fix wrote through one).
bool streaming(const PgBackendStatus &b)
{
	if (b.st_backendType != B_WAL_SENDER || b.st_activity_raw == nullptr)
		return false;
	const char *command = b.st_activity_raw;
	while (*command == ' ' || *command == '\t' || *command == '\n' || *command == '\r')
		command++;
	return pg_strncasecmp(command, "START_REPLICATION", strlen("START_REPLICATION")) == 0;
}

// The first open writer before until, or pid 0 when there is none.
OpenWriter open_writer_before(TimestampTz until)
{
	pgstat_clear_backend_activity_snapshot();
	const int n = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= n; i++) {
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		if (local == nullptr)
			continue;
		const PgBackendStatus &b = local->backendStatus;
		if (b.st_procpid <= 0 || b.st_procpid == MyProcPid || b.st_databaseid != MyDatabaseId)
			continue;
		if (TransactionIdIsValid(local->backend_xid) && b.st_xact_start_timestamp < until)
			return OpenWriter{b.st_procpid, local->backend_xid};
		// A statement running since before until, or a function called through the fastpath protocol
		// (whose start only the state's timestamp tells: a review's was missed).
		const bool running = b.st_state == STATE_RUNNING && b.st_activity_start_timestamp < until;
		const bool fastpath = b.st_state == STATE_FASTPATH && b.st_state_start_timestamp < until;
		if ((running || fastpath) && !streaming(b))
			return OpenWriter{b.st_procpid, InvalidTransactionId};
	}
	return OpenWriter{};
}

// A statement the report polls for cannot end while it waits, directly or through others, for a lock
// this transaction holds: a deadlock the lock manager cannot see (the report waits on no lock), so it
// is reported as one. The chain of blockers is followed (a review's cycle went through a third
// session), each process once.
void refuse_waiting_on_us(int pid)
{
	int *queue = (int *)palloc(sizeof(int) * (MaxBackends + 1));
	int head = 0, tail = 0;
	queue[tail++] = pid;
	while (head < tail) {
		CHECK_FOR_INTERRUPTS();
		const int next = queue[head++];
		ArrayType *blockers = DatumGetArrayTypeP(DirectFunctionCall1(pg_blocking_pids, Int32GetDatum(next)));
		Datum *pids;
		int count;
		deconstruct_array(blockers, INT4OID, sizeof(int32), true, TYPALIGN_INT, &pids, nullptr, &count);
		for (int i = 0; i < count; i++) {
			const int blocker = DatumGetInt32(pids[i]);
			if (blocker == MyProcPid)
				ereport(ERROR, (errcode(ERRCODE_T_R_DEADLOCK_DETECTED), errmsg("deadlock detected"),
				                errdetail("The report waits for the statement of process %d to end, and that statement "
				                          "waits, through process %d, for a lock this transaction holds.",
				                          pid, next),
				                errhint("Make the report in a transaction that holds no locks on tracked tables.")));
			bool seen = false;
			for (int j = 0; j < tail && !seen; j++)
				seen = queue[j] == blocker;
			if (!seen && tail <= MaxBackends)
				queue[tail++] = blocker;
		}
	}
	pfree(queue);
}

// Waits for one open writer: on its transaction's lock when it has written, so that the lock
// manager's deadlock detector sees the wait (the last session's latch polling hung for good when the
// writer waited for a lock the report's own transaction held); otherwise polls its statement.
void wait_for(const OpenWriter &w)
{
	if (TransactionIdIsValid(w.xid)) {
		XactLockTableWait(w.xid, nullptr, nullptr, XLTW_None);
		return;
	}
	refuse_waiting_on_us(w.pid);
	(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
}

// Refuses while a prepared transaction of this database exists: it may hold entries of the period
// for good.
void refuse_prepared()
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT p.gid FROM pg_catalog.pg_prepared_xacts p"
	                " WHERE p.database OPERATOR(pg_catalog.=) pg_catalog.current_database() LIMIT 1",
	                true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: reading pg_prepared_xacts failed");
	if (SPI_processed > 0) {
		char *gid = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1);
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("a prepared transaction may still add entries to the report's period"),
		                errdetail("Transaction \"%s\" of this database is prepared.", gid != nullptr ? gid : "?"),
		                errhint("COMMIT PREPARED or ROLLBACK PREPARED it, then make the report.")));
	}
	SPI_finish();
}

// A period that has ended may still get entries: a transaction open across its end commits them
// later, dated when their statements began (the review of the check made a report of a period over
// by the clock while a transaction that had written in it slept, and the report said "no entries",
// valid). So the report waits for those transactions (cancellable, statement_timeout and
// lock_timeout apply, and a deadlock with them is detected), and refuses while a prepared
// transaction, which may hold such entries for good, exists. An open end is the time the report is
// made: what is committed then.
// Returns whether it waited: the statement's snapshot does not see what they committed.
bool wait_for_open_writers(int64 until_unix_us)
{
	if (until_unix_us == kReportNoEnd)
		return false;
	refuse_prepared();
	const TimestampTz until = (TimestampTz)(until_unix_us - kUnixToPostgresEpochUs);
	if (IsolationUsesXactSnapshot() && open_writer_before(until).pid != 0)
		ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
		                errmsg("a transaction still open may add entries to the report's period"),
		                errdetail("The report would wait for it, but this transaction's snapshot would not see what it commits."),
		                errhint("Make the report at READ COMMITTED.")));
	// Its own transaction id, so that another report waiting for this one waits on its lock, where a
	// report waiting for the other in turn is a deadlock the lock manager finds (a review's two
	// reports, each polling the other's statement, waited for good).
	if (!RecoveryInProgress() && !XactReadOnly)
		(void)GetTopTransactionId();
	bool waited = false;
	for (OpenWriter w = open_writer_before(until); w.pid != 0; w = open_writer_before(until)) {
		waited = true;
		wait_for(w);
		CHECK_FOR_INTERRUPTS();
	}
	// A writer seen (or not yet seen) before it had a transaction id may have prepared its transaction
	// meanwhile (a review's did, within one poll, and its entry was missing from a report that read as
	// complete).
	refuse_prepared();
	return waited;
}

// witness.verify() over the whole trail, as the caller may see it, into `verification`.
void run_verification()
{
	if (SPI_execute("SELECT status, blocks_checked, entries_checked, entries_pending, problem, block_no, entry_id, "
	                "detail, entries_erased, entries_pruned FROM witness.verify()",
	                true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: witness.verify() failed");
	const uint64 n = SPI_processed;
	for (uint64 i = 0; i < n; i++) {
		HeapTuple tup = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		char *status = SPI_getvalue(tup, desc, 1);
		char *blocks = SPI_getvalue(tup, desc, 2);
		char *entries = SPI_getvalue(tup, desc, 3);
		char *pending = SPI_getvalue(tup, desc, 4);
		char *problem = SPI_getvalue(tup, desc, 5);
		char *block_no = SPI_getvalue(tup, desc, 6);
		char *entry_id = SPI_getvalue(tup, desc, 7);
		char *detail = SPI_getvalue(tup, desc, 8);
		char *erased = SPI_getvalue(tup, desc, 9);
		char *pruned = SPI_getvalue(tup, desc, 10); // a helper's review: the report said 0 after retention
		run_core(ERRCODE_INTERNAL_ERROR, "could not read the verification", [&] {
			auto num = [](const char *s) -> int64_t { return s == nullptr ? 0 : std::stoll(s); };
			verification.status = status ? status : "";
			verification.blocks_checked = num(blocks);
			verification.entries_checked = num(entries);
			verification.entries_pending = num(pending);
			verification.entries_erased = num(erased);
			verification.entries_pruned = num(pruned);
			if (problem != nullptr) {
				verification.problem_count++;
				if (verification.problems.size() < 20)
					verification.problems.push_back(std::string("block ") + (block_no ? block_no : "-") + ", entry " +
					                                (entry_id ? entry_id : "-") + ": " + problem + ": " +
					                                (detail ? detail : ""));
			}
		});
	}
	run_core(ERRCODE_INTERNAL_ERROR, "could not read the verification", [&] {
		verification.method = "witness.verify() in the database: every leaf hash, Merkle root and block hash recomputed";
	});
}

// Every line of witness.export_trail(), in batches, into the builder.
void read_export()
{
	SPIPlanPtr plan = SPI_prepare("SELECT line FROM (SELECT witness.export_trail()) AS t(line)", 0, nullptr);
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the export");
	Portal portal = SPI_cursor_open(nullptr, plan, nullptr, nullptr, true);
	// A SQL_ASCII database stores whatever bytes it is given: those that are not UTF-8 are shown as U+FFFD.
	const bool sql_ascii = GetDatabaseEncoding() == PG_SQL_ASCII;
	for (;;) {
		SPI_cursor_fetch(portal, true, kLineBatch);
		const uint64 n = SPI_processed;
		if (n == 0)
			break;
		for (uint64 i = 0; i < n; i++) {
			bool isnull;
			Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
			if (isnull)
				elog(ERROR, "pg_witness: the export query returned a NULL line");
			text *t = DatumGetTextPP(d);
			// The lines are text of the database encoding; the report reads them as UTF-8 (a robustness
			// review found every report of a LATIN1 database failing once one name was not ASCII).
			size_t len;
			const char *data = to_utf8(VARDATA_ANY(t), VARSIZE_ANY_EXHDR(t), &len);
			run_core(ERRCODE_DATA_CORRUPTED, "could not read an export line", [&] {
				if (sql_ascii)
					builder->add_line(utf8::replace_ill_formed(data, len));
				else
					builder->add_line(std::string_view(data, len));
			});
			if (data != VARDATA_ANY(t))
				pfree((void *)data);
			if ((Pointer)t != DatumGetPointer(d))
				pfree(t);
		}
		SPI_freetuptable(SPI_tuptable);
		CHECK_FOR_INTERRUPTS();
	}
	SPI_cursor_close(portal);
}

// Events of the period still in the activity queue: the report waits until the sealer has written
// them (a review's refused attempt, made just before the period's end, waited for the sealer's next
// pass and was in no report), asking it for a pass. With no background sealer it does not wait, and
// *left is how many the report leaves out, which it states. The report does not drain the queue
// itself: an auditor holding its transaction open then kept the events from every other drain (the
// review of that version). Returns whether it waited.
bool wait_for_queued_activity(int64 until_unix_us, int *left)
{
	*left = 0;
	if (until_unix_us == kReportNoEnd)
		return false;
	const TimestampTz until = (TimestampTz)(until_unix_us - kUnixToPostgresEpochUs);
	bool waited = false;
	for (int queued = activity_queued_before(MyDatabaseId, until); queued > 0;
	     queued = activity_queued_before(MyDatabaseId, until)) {
		if (setting_seal_interval_ms == 0) {
			*left = queued;
			break;
		}
		if (IsolationUsesXactSnapshot())
			ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
			                errmsg("%d activity events of the period are not written to the trail yet", queued),
			                errdetail("The report would wait for the sealer to write them, but this transaction's snapshot would not see them."),
			                errhint("Make the report at READ COMMITTED.")));
		if (!waited && sealer_registry_attached())
			registry_wake(MyDatabaseId);
		waited = true;
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 100, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	return waited;
}

// A reader restricted to a period (docs/access.md) gets a report of what it can see, which says so.
void state_restriction()
{
	TimestampTz since, till;
	if (!access_period(&since, &till))
		return;
	const char *role = GetUserNameFromId(GetUserId(), false);
	const int64 since_us = TIMESTAMP_NOT_FINITE(since) ? kReportNoBound : unix_us(since);
	const int64 till_us = TIMESTAMP_NOT_FINITE(till) ? kReportNoEnd : unix_us(till);
	run_core(ERRCODE_INTERNAL_ERROR, "could not start the audit report",
	         [&] { builder->set_restriction(role, since_us, till_us); });
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_audit_report);
Datum witness_audit_report(PG_FUNCTION_ARGS);

// witness.audit_report(since timestamptz, until timestamptz) RETURNS text: the signed HTML report.
Datum witness_audit_report(PG_FUNCTION_ARGS)
{
	check_access();
	require_nargs(fcinfo, 2);
	const int64 from = bound_us(fcinfo, 0, kReportNoBound);
	const int64 until = bound_us(fcinfo, 1, kReportNoEnd);
	if (until <= from)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("until must be after since")));
	refuse_unfinished_period(from, until, GetCurrentTimestamp() + kUnixToPostgresEpochUs);
	if (!is_set(setting_hmac_key_file) && !is_set(setting_ed25519_key_file))
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("no key to sign the report with"),
		                errdetail("Neither witness.hmac_key_file nor witness.ed25519_key_file is set."),
		                errhint("The report is signed with the keys of witness.digest() (docs/verification.md, \"Keys\").")));
	const char *hmac =
	    is_set(setting_hmac_key_file) ? read_setting_file("witness.hmac_key_file", setting_hmac_key_file) : "";
	const char *ed_key =
	    is_set(setting_ed25519_key_file) ? read_setting_file("witness.ed25519_key_file", setting_ed25519_key_file) : "";

	// Only once the keys are known to be there: a report that cannot be signed does not wait.
	// After a wait, the report reads (verification and export) under a snapshot that sees what the
	// transactions it waited for committed.
	const bool waited_for_writers = wait_for_open_writers(until);
	int activity_left = 0;
	const bool waited_for_activity = wait_for_queued_activity(until, &activity_left);
	const bool fresh_snapshot = waited_for_writers || waited_for_activity;
	if (fresh_snapshot)
		PushActiveSnapshot(GetTransactionSnapshot());
	reset_state();
	run_core(ERRCODE_INTERNAL_ERROR, "could not start the audit report", [&] {
		builder = new AuditReportBuilder(from, until);
		builder->set_activity_queued(activity_left);
	});
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	run_verification();
	read_export();
	SPI_finish();
	if (fresh_snapshot)
		PopActiveSnapshot();

	state_restriction();
	const int64 now_us = GetCurrentTimestamp() + kUnixToPostgresEpochUs;
	run_core(ERRCODE_INVALID_PARAMETER_VALUE, "could not sign the audit report",
	         "Check witness.hmac_key_file and witness.ed25519_key_file.", [&] {
		         builder->set_verification(std::move(verification));
		         const std::string key = *hmac != '\0' ? hmac_key_from_file_text(hmac) : std::string();
		         document = sign_report(builder->content(now_us, "witness.audit_report()"), key, ed_key);
	         });
	// Signed as UTF-8, returned as text of the database's encoding: a client reading it in UTF8 gets
	// the signed bytes back (as for witness.export_trail()).
	const char *server = pg_any_to_server(document.data(), static_cast<int>(document.size()), PG_UTF8);
	text *result = cstring_to_text_with_len(server, server == document.data() ? static_cast<int>(document.size())
	                                                                          : static_cast<int>(strlen(server)));
	reset_state();
	PG_RETURN_TEXT_P(result);
}
}
