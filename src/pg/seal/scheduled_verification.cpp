#include "pg/seal/scheduled_verification.hpp"

#include "pg/common/settings.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/seal/sealer_registry.hpp"
#include "pg/seal/worker_step.hpp"
#include "pg/verify/checkpoint.hpp"

extern "C" {
#include "commands/dbcommands.h"
}

namespace witness::pg
{
namespace
{

// Static: they survive the longjmp of an error in the verification.
VerificationSummary summary;
char database_name[NAMEDATALEN];
int error_code;

// Verifies, from the newest checkpoint unless a full verification is due
// (witness.full_verify_interval), and records the run: captured, it becomes an entry of the chain,
// sealed by the next pass, and a valid one is the next checkpoint. Returns false when this database
// has no witness.verification_run (pg_witness missing, or not updated to 0.2), which is then left alone.
bool verify_and_record()
{
	if (!OidIsValid(witness_relation_if_exists("verification_run")))
		return false;
	const char *name = get_database_name(MyDatabaseId);
	copy_text_cut(database_name, sizeof(database_name), name);
	ResumedVerification rv;
	verify_resuming(!full_verification_due(setting_full_verify_interval_s), false, &rv);
	const VerifyResult &r = rv.outcome.result;
	summary.finished_at = GetCurrentTimestamp();
	copy_text_cut(summary.status, sizeof(summary.status), r.status);
	summary.problems = r.nproblems;
	summary.blocks_checked = r.blocks_checked;
	summary.entries_checked = r.entries_checked;
	summary.entries_pending = r.entries_pending;
	copy_text_cut(summary.first_problem, sizeof(summary.first_problem), first_problem_text(r));
	record_verification_run(rv, summary.started_at, summary.first_problem);
	return true;
}

} // namespace

void verify_if_due()
{
	if (setting_verify_interval_ms <= 0)
		return;
	const TimestampTz now = GetCurrentTimestamp();
	if (!registry_verification_due(MyDatabaseId, now, setting_verify_interval_ms))
		return;
	memset(&summary, 0, sizeof(summary));
	summary.started_at = now;
	snprintf(database_name, sizeof(database_name), "%u", MyDatabaseId);
	bool ran = false; // the step is left out when pg_witness was dropped meanwhile
	StepError e;
	if (!run_worker_step("pg_witness: verifying", [](void *arg) { *static_cast<bool *>(arg) = verify_and_record(); },
	                     &ran, &e)) {
		// The verification could not finish (a lock, a cancel, a damaged row it cannot read): reported
		// as an error, loud like a failed one, and tried again one interval later.
		summary.finished_at = GetCurrentTimestamp();
		copy_text_cut(summary.status, sizeof(summary.status), "error");
		copy_text_cut(summary.first_problem, sizeof(summary.first_problem), e.message);
		error_code = e.sqlerrcode;
		ran = true;
	}
	if (!ran)
		return;
	registry_record_verification(MyDatabaseId, &summary);
	if (strcmp(summary.status, "error") == 0)
		ereport(WARNING,
		        (errcode(error_code),
		         errmsg("pg_witness: scheduled verification of database \"%s\" could not finish", database_name),
		         errdetail("%s", summary.first_problem),
		         errhint("Run SELECT * FROM witness.verify() in that database.")));
	else if (strcmp(summary.status, "valid") != 0)
		ereport(WARNING,
		        (errcode(ERRCODE_DATA_CORRUPTED),
		         errmsg("pg_witness: scheduled verification of database \"%s\" found the trail %s", database_name,
		                summary.status),
		         errdetail_plural("%lld problem; the first: %s", "%lld problems; the first: %s",
		                          (unsigned long)summary.problems, (long long)summary.problems, summary.first_problem),
		         errhint("Run SELECT * FROM witness.verify() in that database for every problem.")));
}

} // namespace witness::pg
