#include "pg/seal/maintainer_worker.hpp"

#include "pg/alerts/alert_pass.hpp"
#include "pg/seal/lookup_maintenance.hpp"
#include "pg/seal/scheduled_retention.hpp"
#include "pg/seal/scheduled_verification.hpp"
#include "pg/seal/sealer_registry.hpp"
#include "pg/seal/sealer_worker.hpp"
#include "pg/common/settings.hpp"
#include "pg/seal/summary_maintenance.hpp"

extern "C" {
#include "pgstat.h"
#include "storage/ipc.h"
#include "tcop/tcopprot.h"

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

} // namespace

bool start_maintainer(Oid database)
{
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

// One round of the steps in one database, then exit. While it runs the sealer starts no other one
// for the database: the next round, after the next seal, takes the blocks sealed meanwhile.
void witness_maintainer_main(Datum arg)
{
	Oid database = DatumGetObjectId(arg);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	// Registered first: a claim taken is given back however the process ends (release_claim gives
	// back only a claim that names this process).
	before_shmem_exit(release_claim, ObjectIdGetDatum(database));
	if (!registry_maintainer_started(database, MyProcPid))
		proc_exit(0);
	BackgroundWorkerInitializeConnectionByOid(database, InvalidOid, 0);
	pgstat_report_appname(kMaintainerType);
	run_maintenance_steps();
	proc_exit(0);
}
}
