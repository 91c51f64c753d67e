#include "pg/seal/sealer_worker.hpp"

#include "pg/common/settings.hpp"

#include "pg/common/pg_includes.hpp"
#include "pg/digest/digest_log.hpp"
#include "pg/seal/sealer.hpp"
#include "pg/activity/activity_drain.hpp"
#include "pg/seal/sealer_registry.hpp"
#include "pg/seal/partition_maintenance.hpp"
#include "pg/seal/maintainer_worker.hpp"
#include "pg/common/trail_brin.hpp"
#include "pg/seal/worker_step.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/pg_database.h"
#include "commands/extension.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/ps_status.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void witness_launcher_main(Datum arg);
PGDLLEXPORT void witness_sealer_main(Datum arg);
}

namespace witness::pg
{


namespace
{

constexpr int kIdleNaptimeMs = 5000;  // while background sealing is off
constexpr int kRescanMs = 1000;       // pg_database is read again after this
constexpr int kNoSlotRetryMs = 250;   // no free background worker slot: try again after this
constexpr int kReprobeMs = 300 * 1000; // a database without pg_witness is looked at again after this

const char *const kSealerType = "pg_witness sealer";

struct RunningSealer {
	Oid database;
	BackgroundWorkerHandle *handle;
};

// The databases a sealer may connect to, into the registry. Returns how many found no record.
int scan_databases(MemoryContext scratch)
{
	MemoryContext old = MemoryContextSwitchTo(scratch);
	int n = 0, capacity = 64;
	Oid *databases = (Oid *)palloc(sizeof(Oid) * capacity);
	StartTransactionCommand();
	(void)MemoryContextSwitchTo(scratch);
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tup;
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		auto *db = (Form_pg_database)GETSTRUCT(tup);
		if (!db->datallowconn || db->datistemplate)
			continue;
		if (n == capacity) {
			capacity *= 2;
			databases = (Oid *)repalloc(databases, sizeof(Oid) * capacity);
		}
		databases[n++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	int unrecorded = registry_sync(databases, n);
	MemoryContextSwitchTo(old);
	MemoryContextReset(scratch);
	return unrecorded;
}

BackgroundWorkerHandle *start_sealer(Oid database)
{
	BackgroundWorker w;
	fill_worker(&w, "witness_sealer_main", kSealerType);
	w.bgw_restart_time = BGW_NEVER_RESTART; // one pass; the launcher starts the next
	w.bgw_main_arg = ObjectIdGetDatum(database);
	w.bgw_notify_pid = MyProcPid; // the launcher's latch is set when it stops
	BackgroundWorkerHandle *handle;
	return RegisterDynamicBackgroundWorker(&w, &handle) ? handle : nullptr;
}

// Whether a worker started now could connect to the database at once. Not while another session
// holds a lock on it that a new connection waits for (DROP DATABASE, ALTER DATABASE ... RENAME or SET
// TABLESPACE, CREATE DATABASE copying it; read from the lock table), and not once it is gone (a drop
// committed since the launcher last read pg_database): the worker would wait, or fail to connect.
bool database_connectable(Oid database)
{
	if (database_locked_by_others(database))
		return false;
	StartTransactionCommand(); // takes in the catalog invalidations of a committed drop
	bool exists = SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(database));
	CommitTransactionCommand();
	return exists;
}

void wait_or_exit(long timeout_ms)
{
	(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	// Exit code 1, so that the postmaster starts the launcher again (bgw_restart_time): with 0, a
	// pg_terminate_backend() of it stopped background sealing until the server restarted (found by
	// a concurrency review). At shutdown the postmaster restarts nothing.
	if (ShutdownRequestPending)
		proc_exit(1);
	if (ConfigReloadPending) {
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

// pg_witness is installed here, in a version with a block table; its extension object is held until
// the pass ends (hold_witness_extension).
bool extension_installed()
{
	if (!hold_witness_extension())
		return false;
	return OidIsValid(witness_relation_if_exists("block"));
}

// Whether the current pass found pg_witness; static, so that it survives the longjmp of an error.
bool pass_found_extension = false;

// The activity queue's events of this database into witness.activity, in a transaction of its own
// before the seal, so that the block sealed next takes them. While drains find the queue busy (a
// stream of reads), the worker stays and drains again every kDrainPauseMs, for up to
// kDrainBudgetMs, before it seals: starting a worker for every few thousand events cost more than
// the events themselves, and a drain per handful of events is a commit per handful.
constexpr long kDrainBudgetMs = 1000;
constexpr long kDrainPauseMs = 20;
constexpr int kBusyDrainEvents = 256;

void drain_pass()
{
	const TimestampTz until = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kDrainBudgetMs);
	for (;;) {
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "pg_witness: writing activity");
		int events = 0;
		if (extension_installed())
			(void)drain_activity(&events);
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, nullptr);
		if (events < kBusyDrainEvents || GetCurrentTimestamp() >= until)
			break;
		(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, kDrainPauseMs, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

// One pass in its own transaction. The digest of a sealed block is made before the commit and
// returned in *digest (allocated in keep), to be written only once the commit has succeeded.
PassResult seal_pass(MemoryContext keep, TimestampTz digest_logged_at, char **digest)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "pg_witness: sealing");
	PassResult result = PassResult::NotInstalled;
	pass_found_extension = extension_installed();
	if (pass_found_extension) {
		Datum values[BlockNatts];
		bool nulls[BlockNatts];
		switch (seal_once(false, values, nulls)) {
		case SealOutcome::Sealed:
			result = PassResult::Sealed;
			*digest = digest_for_log(keep, digest_logged_at);
			break;
		case SealOutcome::NothingToSeal:
			result = PassResult::NothingToSeal;
			break;
		case SealOutcome::Busy:
			result = PassResult::Busy;
			break;
		}
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, nullptr);
	return result;
}

// One pass: the activity queue, the seal, the digest of the block once committed, the coming
// partitions, the pass reported, and the work after it handed to the maintainer.
PassResult one_pass(Oid database, MemoryContext keep)
{
	PassMemory memory;
	registry_begin_pass(database, &memory);
	trail_brin_resume(memory.brin);
	volatile PassResult result = PassResult::Failed;
	char *volatile digest = nullptr;
	char *volatile error = nullptr;
	pass_found_extension = false;
	PG_TRY();
	{
		char *made = nullptr;
		drain_pass();
		result = seal_pass(keep, memory.digest_logged_at, &made);
		digest = made;
	}
	PG_CATCH();
	{
		// Report, roll back (the digest made for the block goes with it), and leave the retry to the
		// launcher, one interval later.
		MemoryContextSwitchTo(keep);
		ErrorData *e = CopyErrorData();
		error = e->message;
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		result = PassResult::Failed;
	}
	PG_END_TRY();
	// The block is committed: its digest may now name it.
	if (digest != nullptr && append_digest_line(digest))
		memory.digest_logged_at = GetCurrentTimestamp();
	// The coming months' partitions of witness.entry, in a transaction of their own (docs/scaling.md).
	if (pass_found_extension)
		prepare_partitions_if_due(&memory.partitions_checked_at);
	trail_brin_progress(memory.brin);
	registry_end_pass(database, result, pass_found_extension, error, &memory);
	// The work that follows a seal (lookup table, summary, verification, retention, alerts) goes to
	// a worker of its own, so that the next seal does not wait for it; with no worker slot free it
	// is done here, after the seal.
	if (pass_found_extension && !start_maintainer(database))
		run_maintenance_steps();
	return result;
}

// A sealer stays for its database's next passes at most this long: starting a process and
// connecting for every pass cost a busy two-core machine more CPU than the seal itself
// (docs/performance.md, "Workers that stay").
constexpr long kSealerStayMs = 60 * 1000;
// How many times a pass of the last round tries again, a second apart, when it finds the trail busy.
constexpr int kLastPassBusyRetries = 60;
// The interval the last round picks databases with when sealing is off: none is due by time.
constexpr int kLastRoundNeverMs = 1000 * 1000 * 1000;
// How often a waiting sealer looks whether it must leave (a DROP DATABASE waits for it).
constexpr long kSealerLookMs = 200;

// Waits until the next pass is due, one interval after the last one started (true, the pass
// recorded as started), or returns false when the worker should leave instead: its time is up,
// sealing was switched off, another database is due and every sealer place is taken, or a session
// waits for this database's sessions to leave.
bool wait_for_next_pass(Oid database, TimestampTz arrived, TimestampTz pass_started)
{
	for (;;) {
		const TimestampTz now = GetCurrentTimestamp();
		const int places = Min(setting_max_sealers, kMaxSealersLimit);
		if (setting_seal_interval_ms <= 0 || TimestampDifferenceExceeds(arrived, now, kSealerStayMs) ||
		    registry_other_waits(now, setting_seal_interval_ms, kReprobeMs, places) ||
		    database_locked_by_others(database))
			return false;
		const TimestampTz due = TimestampTzPlusMilliseconds(pass_started, setting_seal_interval_ms);
		const long left = TimestampDifferenceMilliseconds(now, due);
		if (left <= 0)
			return registry_sealer_passes_again(database, now);
		worker_nap(Min(left, kSealerLookMs));
	}
}

} // namespace

bool database_locked_by_others(Oid database)
{
	LOCKTAG tag;
	SET_LOCKTAG_OBJECT(tag, InvalidOid, DatabaseRelationId, database, 0);
	int count = 0;
	VirtualTransactionId *holders = GetLockConflicts(&tag, RowExclusiveLock, &count);
	pfree(holders);
	return count > 0;
}

void leave_if_database_locked(Oid database)
{
	if (!database_locked_by_others(database))
		return;
	elog(DEBUG1, "pg_witness: database %u is locked by another session, the worker leaves", database);
	proc_exit(0);
}

void fill_worker(BackgroundWorker *w, const char *function, const char *name)
{
	memset(w, 0, sizeof(*w));
	w->bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w->bgw_start_time = BgWorkerStart_RecoveryFinished;
	snprintf(w->bgw_library_name, BGW_MAXLEN, "pg_witness");
	snprintf(w->bgw_function_name, BGW_MAXLEN, "%s", function);
	snprintf(w->bgw_name, BGW_MAXLEN, "%s", name);
	snprintf(w->bgw_type, BGW_MAXLEN, "%s", name);
}

void register_launcher()
{
	BackgroundWorker w;
	fill_worker(&w, "witness_launcher_main", "pg_witness launcher");
	w.bgw_restart_time = 5;
	RegisterBackgroundWorker(&w);
}

} // namespace witness::pg

using namespace witness::pg;

extern "C" {

// The launcher connects to no database. Every seal interval it starts, for each database with
// pg_witness and no sealer, a sealer worker that connects to that database and seals, once or for
// as long as it stays (witness_sealer_main); at most
// witness.max_sealers run at once, and the database whose entries have waited longest goes first
// (docs/verification.md, "The background sealer").
void witness_launcher_main(Datum)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);
	registry_launcher_started(MyLatch);

	MemoryContext launcher_cxt = AllocSetContextCreate(TopMemoryContext, "pg_witness launcher", ALLOCSET_DEFAULT_SIZES);
	MemoryContext scan_cxt = AllocSetContextCreate(launcher_cxt, "pg_witness launcher scan", ALLOCSET_DEFAULT_SIZES);
	static RunningSealer running[kMaxSealersLimit];
	int nrunning = 0;
	TimestampTz last_scan = 0;
	bool warned_slots = false, warned_records = false;
	// The interval a launcher saw last is kept in shared memory: a launcher started again after
	// sealing was switched off while none ran (pg_terminate_backend()) sees the switch too (the review
	// of the last round). A server started with sealing off runs no pass.
	bool last_round = false;
	for (;;) {
		TimestampTz now = GetCurrentTimestamp();
		if (last_scan == 0 || TimestampDifferenceExceeds(last_scan, now, kRescanMs)) {
			int unrecorded = scan_databases(scan_cxt);
			if (unrecorded > 0 && !warned_records)
				ereport(WARNING, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				                  errmsg("pg_witness: %d databases are not sealed in the background", unrecorded),
				                  errdetail("The background sealer keeps track of at most %d databases.",
				                            kMaxSealedDatabases)));
			warned_records = unrecorded > 0;
			last_scan = now;
		}
		for (int i = 0; i < nrunning;) {
			pid_t pid;
			if (GetBackgroundWorkerPid(running[i].handle, &pid) == BGWH_STOPPED) {
				registry_worker_stopped(running[i].database);
				pfree(running[i].handle);
				running[i] = running[--nrunning];
			} else {
				i++;
			}
		}
		// Sealing switched off (witness.seal_interval = 0): one last pass in every database, so that the
		// entry recording the change is sealed and the alert rules see it (an attack review paused the
		// sealer, and its capture_off alert waited for sealing to be switched on again).
		if (registry_swap_seal_interval(setting_seal_interval_ms) > 0 && setting_seal_interval_ms <= 0) {
			registry_wake_all();
			last_round = true;
		}
		long timeout_ms = setting_seal_interval_ms > 0 || last_round ? kRescanMs : kIdleNaptimeMs;
		while ((setting_seal_interval_ms > 0 || last_round) && nrunning < Min(setting_max_sealers, kMaxSealersLimit)) {
			long wait_ms;
			// In the last round only the databases marked for it are due.
			const int interval_ms = setting_seal_interval_ms > 0 ? setting_seal_interval_ms : kLastRoundNeverMs;
			Oid db = registry_next_due(now, interval_ms, setting_seal_interval_ms > 0 ? kReprobeMs : kLastRoundNeverMs, kRescanMs, &wait_ms);
			if (!OidIsValid(db)) {
				// Over once no marked database waits and every sealer it started has stopped.
				if (setting_seal_interval_ms <= 0 && nrunning == 0)
					last_round = false;
				timeout_ms = Min(timeout_ms, wait_ms);
				break;
			}
			if (!database_connectable(db)) {
				registry_postpone(db, now);
				continue;
			}
			// Recorded first: a quick worker reports its pass before RegisterDynamicBackgroundWorker
			// has even returned here.
			PassStart previous = registry_worker_starting(db, now);
			MemoryContext old = MemoryContextSwitchTo(launcher_cxt);
			BackgroundWorkerHandle *handle = start_sealer(db);
			MemoryContextSwitchTo(old);
			if (handle == nullptr) {
				registry_worker_not_started(db, previous);
				// Parallel query and other extensions draw from the same max_worker_processes.
				if (!warned_slots)
					ereport(WARNING,
					        (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
					         errmsg("pg_witness: no background worker slot for a sealer"),
					         errdetail("%d of witness.max_sealers = %d sealers are running.", nrunning, setting_max_sealers),
					         errhint("Raise max_worker_processes; witness.seal_status shows how long entries wait.")));
				warned_slots = true;
				timeout_ms = Min(timeout_ms, (long)kNoSlotRetryMs);
				break;
			}
			warned_slots = false;
			elog(DEBUG2, "pg_witness: sealer started for database %u", db);
			running[nrunning++] = {db, handle};
		}
		wait_or_exit(timeout_ms);
	}
}

// Passes in one database, one per witness.seal_interval, while wait_for_next_pass() lets the
// worker stay; between passes it holds no lock, and it leaves as soon as a DROP DATABASE waits.
void witness_sealer_main(Datum arg)
{
	Oid database = DatumGetObjectId(arg);
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	leave_if_database_locked(database);
	BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
	pgstat_report_appname(kSealerType);
	// Scheduled retention runs at READ COMMITTED only, whatever a site configured as the default.
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	// Origin whatever a site configured (ALTER SYSTEM SET session_replication_role = replica): in replica
	// mode the capture triggers of pg_witness's own tables do not fire, and the drain refuses to write
	// activity (a review's setting kept every event queued, a restart's note among them).
	SetConfigOption("session_replication_role", "origin", PGC_SUSET, PGC_S_OVERRIDE);

	MemoryContext keep = AllocSetContextCreate(TopMemoryContext, "pg_witness sealer pass", ALLOCSET_DEFAULT_SIZES);
	const TimestampTz arrived = GetCurrentTimestamp();
	TimestampTz pass_started = arrived;
	int busy_retries = 0;
	for (;;) {
		const PassResult result = one_pass(database, keep);
		MemoryContextReset(keep);
		elog(DEBUG1, "pg_witness: sealer pass in database %u: %s", database, pass_result_name(result));
		// The last pass after sealing was switched off found the trail busy (witness.seal() elsewhere, or
		// a lock on witness.block): it tries again, once a second, for a minute; nothing else would, and
		// the change that switched sealing off stayed unsealed and unalerted (the review of the last round).
		if (setting_seal_interval_ms <= 0 && result == PassResult::Busy) {
			if (busy_retries++ < kLastPassBusyRetries) {
				worker_nap(1000);
				continue;
			}
			ereport(WARNING, (errmsg("pg_witness: the last pass after sealing was switched off found the trail busy for a minute"),
			                  errdetail("Entries committed since the last seal stay unsealed, and no alert rule sees them."),
			                  errhint("Run SELECT witness.seal() and SELECT witness.check_alerts() in the database, or switch sealing on again.")));
		}
		const bool may_stay = pass_found_extension && (result == PassResult::Sealed ||
		                      result == PassResult::NothingToSeal || result == PassResult::Busy);
		if (!may_stay || !wait_for_next_pass(database, arrived, pass_started))
			break;
		pass_started = GetCurrentTimestamp();
	}
	proc_exit(0);
}
}
