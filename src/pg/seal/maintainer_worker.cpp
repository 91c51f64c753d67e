#include "pg/seal/maintainer_worker.hpp"

#include "pg/alerts/alert_pass.hpp"
#include "pg/seal/lookup_maintenance.hpp"
#include "pg/seal/scheduled_retention.hpp"
#include "pg/seal/scheduled_verification.hpp"
#include "pg/seal/sealer_registry.hpp"
#include "pg/seal/sealer_worker.hpp"
#include "pg/common/settings.hpp"
#include "pg/seal/summary_maintenance.hpp"
#include "pg/seal/worker_step.hpp"

extern "C" {
#include "pgstat.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"

PGDLLEXPORT void witness_maintainer_main(Datum arg);
}

namespace witness::pg
{
namespace
{

const char *const kMaintainerType = "pg_witness maintainer";

// Ends this maintainer's claim in the registry on every way out of the process.
void release_claim(int, Datum database)
{
	registry_release_maintainer(DatumGetObjectId(database), MyProcPid);
}

// A maintainer stays for the rounds the following seals ask for, at most this long: starting a
// process and connecting for every seal cost more CPU than the work after a small seal
// (docs/performance.md, "Workers that stay").
constexpr long kStayMs = 60 * 1000;
// With no round asked for this long (the database went quiet, or its sealer stopped), it leaves.
constexpr long kIdleMs = 10 * 1000;
// How often a waiting maintainer looks whether it must leave (a DROP DATABASE waits for it).
constexpr long kLookMs = 200;

// Waits until a sealer asks for the next round (true), or until the maintainer should leave
// instead (false): its time is up, it idled, background sealing was switched off, another database
// needs its place, or a session waits for this database's sessions to leave.
bool wait_for_round(Oid database, TimestampTz arrived, uint64 no_room_at_arrival)
{
	const TimestampTz waiting_since = GetCurrentTimestamp();
	for (;;) {
		if (registry_maintainer_take_round(database, MyProcPid))
			return true;
		const TimestampTz now = GetCurrentTimestamp();
		if (setting_seal_interval_ms <= 0 || TimestampDifferenceExceeds(arrived, now, kStayMs) ||
		    TimestampDifferenceExceeds(waiting_since, now, kIdleMs) ||
		    registry_maintainer_no_room() != no_room_at_arrival || database_locked_by_others(database))
			return false;
		worker_nap(kLookMs);
	}
}

} // namespace

bool start_maintainer(Oid database)
{
	// A DROP DATABASE waits for the sealer to leave: a maintainer would wait for the drop, then fail
	// to connect. Whatever this round would have done, the round after the next seal does.
	if (database_locked_by_others(database))
		return true;
	switch (registry_claim_maintainer(database, setting_max_sealers)) {
	case MaintainerClaim::AlreadyRunning:
		// Its round, or the one after the next seal, takes this block.
		return true;
	case MaintainerClaim::NoRoom:
		return false;
	case MaintainerClaim::Claimed:
		break;
	}
	BackgroundWorker w;
	fill_worker(&w, "witness_maintainer_main", kMaintainerType);
	w.bgw_restart_time = BGW_NEVER_RESTART; // the next seal starts the next one
	w.bgw_main_arg = ObjectIdGetDatum(database);
	BackgroundWorkerHandle *handle;
	if (RegisterDynamicBackgroundWorker(&w, &handle))
		return true;
	registry_release_maintainer(database, 0);
	return false;
}

void run_maintenance_steps()
{
	// What the readers' lookups need (docs/views.md), once the block is committed.
	maintain_lookup_after_pass();
	refresh_summary_after_pass();
	verify_if_due();
	apply_retention_if_due();
	// After the verification, so that a failed one is alerted in the same pass.
	check_alerts_after_pass();
}

} // namespace witness::pg

using namespace witness::pg;

extern "C" {

// Rounds of the steps in one database: one at once, then one for each later seal that asks, until
// wait_for_round() sends it away. While it runs the sealers start no other one for the database.
void witness_maintainer_main(Datum arg)
{
	Oid database = DatumGetObjectId(arg);
	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	// Registered first: a claim taken is given back however the process ends (release_claim gives
	// back only a claim that names this process).
	before_shmem_exit(release_claim, ObjectIdGetDatum(database));
	if (!registry_maintainer_started(database, MyProcPid, MyLatch))
		proc_exit(0);
	leave_if_database_locked(database);
	BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
	pgstat_report_appname(kMaintainerType);
	// Scheduled retention runs at READ COMMITTED only, whatever a site configured as the default.
	SetConfigOption("default_transaction_isolation", "read committed", PGC_SUSET, PGC_S_OVERRIDE);
	// Origin whatever a site configured (ALTER SYSTEM SET session_replication_role = replica): in replica
	// mode the capture triggers of pg_witness's own tables do not fire, and the drain refuses to write
	// activity (a review's setting kept every event queued, a restart's note among them).
	SetConfigOption("session_replication_role", "origin", PGC_SUSET, PGC_S_OVERRIDE);
	const TimestampTz arrived = GetCurrentTimestamp();
	const uint64 no_room = registry_maintainer_no_room();
	MemoryContext round_cxt = AllocSetContextCreate(TopMemoryContext, "pg_witness maintainer round", ALLOCSET_DEFAULT_SIZES);
	do {
		MemoryContext old = MemoryContextSwitchTo(round_cxt);
		run_maintenance_steps();
		MemoryContextSwitchTo(old);
		MemoryContextReset(round_cxt);
	} while (wait_for_round(database, arrived, no_room));
	proc_exit(0);
}
}
