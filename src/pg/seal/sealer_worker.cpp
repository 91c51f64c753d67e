#include "pg/seal/sealer_worker.hpp"

#include "pg/common/pg_includes.hpp"
#include "pg/digest/digest_log.hpp"
#include "pg/seal/sealer.hpp"

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
#include "tcop/tcopprot.h"
#include "utils/ps_status.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void witness_launcher_main(Datum arg);
PGDLLEXPORT void witness_sealer_main(Datum arg);
}

namespace witness::pg
{

int seal_interval_ms = 1000;

namespace
{

constexpr int kLauncherNaptimeMs = 5000;
constexpr int kReprobeMs = 60000; // a database without pg_witness is looked at again after this
constexpr int kMaxDatabases = 256;

struct SealerSlot {
	Oid database;
	BackgroundWorkerHandle *handle;
	TimestampTz started;
	bool warned; // about a missing worker slot
};

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

// Databases a sealer may connect to.
int list_databases(Oid *out, int max)
{
	int n = 0;
	StartTransactionCommand();
	Relation rel = table_open(DatabaseRelationId, AccessShareLock);
	TableScanDesc scan = table_beginscan_catalog(rel, 0, nullptr);
	HeapTuple tup;
	while (n < max && (tup = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		auto *db = (Form_pg_database)GETSTRUCT(tup);
		if (db->datallowconn && !db->datistemplate)
			out[n++] = db->oid;
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return n;
}

void start_sealer(SealerSlot *slot)
{
	BackgroundWorker w;
	fill_worker(&w, "witness_sealer_main", "pg_witness sealer");
	w.bgw_restart_time = BGW_NEVER_RESTART; // the launcher starts it again
	w.bgw_main_arg = ObjectIdGetDatum(slot->database);
	w.bgw_notify_pid = MyProcPid;
	if (RegisterDynamicBackgroundWorker(&w, &slot->handle)) {
		slot->warned = false;
		return;
	}
	slot->handle = nullptr; // no free worker slot now; retried on the next round
	if (!slot->warned)
		ereport(WARNING, (errmsg("pg_witness: no background worker slot for the sealer of database %u", slot->database),
		                  errhint("Each database with pg_witness needs one; raise max_worker_processes.")));
	slot->warned = true;
}

bool running(const SealerSlot *slot)
{
	pid_t pid;
	return slot->handle != nullptr && GetBackgroundWorkerPid(slot->handle, &pid) != BGWH_STOPPED;
}

void wait_or_exit(int timeout_ms)
{
	WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ShutdownRequestPending)
		proc_exit(0);
	if (ConfigReloadPending) {
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

// pg_witness is installed here, in a version with a block table.
bool extension_installed()
{
	if (!OidIsValid(get_extension_oid("pg_witness", true)))
		return false;
	return OidIsValid(witness_relation_if_exists("block"));
}

// One pass in its own transaction; false when the extension is gone from this database.
bool seal_pass()
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "pg_witness: sealing");
	bool installed = extension_installed();
	if (installed) {
		Datum values[BlockNatts];
		bool nulls[BlockNatts];
		if (seal_once(false, values, nulls) == SealOutcome::Sealed)
			log_digest_after_seal();
	}
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, nullptr);
	return installed;
}

} // namespace

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

void witness_launcher_main(Datum)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(nullptr, nullptr, 0);

	static SealerSlot slots[kMaxDatabases];
	int nslots = 0;
	int last_interval = seal_interval_ms;
	for (;;) {
		// Sealing switched back on: every sealer stopped because of the switch, start them all now.
		if (last_interval == 0 && seal_interval_ms > 0)
			for (int j = 0; j < nslots; j++)
				slots[j].handle = nullptr;
		last_interval = seal_interval_ms;
		Oid databases[kMaxDatabases];
		int n = list_databases(databases, kMaxDatabases);
		// Forget dropped databases, so that the table never fills up with them.
		int kept = 0;
		for (int j = 0; j < nslots; j++) {
			bool exists = false;
			for (int i = 0; i < n && !exists; i++)
				exists = slots[j].database == databases[i];
			if (exists)
				slots[kept++] = slots[j];
		}
		nslots = kept;
		for (int i = 0; i < n; i++) {
			SealerSlot *slot = nullptr;
			for (int j = 0; j < nslots && slot == nullptr; j++)
				if (slots[j].database == databases[i])
					slot = &slots[j];
			if (slot == nullptr && nslots < kMaxDatabases) {
				slot = &slots[nslots++];
				slot->database = databases[i];
				slot->handle = nullptr;
				slot->warned = false;
			}
			// A sealer that stopped soon after starting found no pg_witness: probe that database rarely,
			// since even a short connection makes DROP DATABASE fail.
			if (slot != nullptr && seal_interval_ms > 0 && !running(slot) &&
			    (slot->handle == nullptr ||
			     TimestampDifferenceExceeds(slot->started, GetCurrentTimestamp(), kReprobeMs))) {
				slot->started = GetCurrentTimestamp();
				start_sealer(slot);
			}
		}
		wait_or_exit(kLauncherNaptimeMs);
	}
}

void witness_sealer_main(Datum arg)
{
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(DatumGetObjectId(arg), InvalidOid, 0);
	pgstat_report_appname("pg_witness sealer");

	MemoryContext pass_cxt = AllocSetContextCreate(TopMemoryContext, "pg_witness sealer pass", ALLOCSET_DEFAULT_SIZES);
	for (;;) {
		if (seal_interval_ms == 0)
			proc_exit(0); // background sealing switched off: hold no connection
		volatile bool installed = true;
		MemoryContext old = MemoryContextSwitchTo(pass_cxt);
		PG_TRY();
		{
			installed = seal_pass();
		}
		PG_CATCH();
		{
			// Report, roll back, and try again after the interval, like autovacuum does.
			MemoryContextSwitchTo(pass_cxt);
			EmitErrorReport();
			FlushErrorState();
			AbortCurrentTransaction();
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		MemoryContextReset(pass_cxt);
		if (!installed)
			proc_exit(0); // no pg_witness here (any more); the launcher looks again later
		wait_or_exit(seal_interval_ms);
	}
}
}
