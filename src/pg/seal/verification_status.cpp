// witness.verification_status: the last scheduled verification of this database, from the sealer's
// shared memory (docs/verification.md, "Scheduled verification").
#include "pg/common/pg_includes.hpp"

#include "pg/common/access_check.hpp"
#include "pg/common/settings.hpp"
#include "pg/seal/sealer_registry.hpp"

extern "C" {
#include "access/xlog.h"
}

using namespace witness::pg;

namespace
{

enum VerificationColumn {
	VSScheduled,
	VSLastStartedAt,
	VSLastVerifiedAt,
	VSStatus,
	VSProblems,
	VSFirstProblem,
	VSBlocks,
	VSEntries,
	VSPending,
	VSDuration,
	VSNextDueAt,
	VSNatts
};

// The stored first problem names a block and an entry and says what changed: to a role limited to a
// period, only its kind, as witness.verify() names no entry outside the period (a review read an
// entry id of another period here).
const char *first_problem_for_caller(const char *problem)
{
	TimestampTz since, till;
	if (!witness::pg::access_period(&since, &till))
		return problem;
	const char *paren = strstr(problem, " (");
	const int kind = paren != nullptr ? (int)(paren - problem) : (int)strlen(problem);
	return psprintf("%.*s (details withheld from a role limited to a period: witness.verify() names the problems of "
	                "its period)",
	                kind, problem);
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_verification_status);
Datum witness_verification_status(PG_FUNCTION_ARGS);

// witness._verification_status(): the one row of witness.verification_status.
Datum witness_verification_status(PG_FUNCTION_ARGS)
{
	check_access();
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE || desc->natts != VSNatts)
		elog(ERROR, "pg_witness: _verification_status must return a record of %d columns", VSNatts);
	desc = BlessTupleDesc(desc);
	VerificationSummary v;
	TimestampTz counting_from;
	const bool has = registry_verification(MyDatabaseId, &v, &counting_from);

	Datum values[VSNatts];
	bool nulls[VSNatts];
	memset(values, 0, sizeof(values));
	memset(nulls, true, sizeof(nulls));
	const char *scheduled = !sealer_registry_attached()       ? "not loaded"
	                        : RecoveryInProgress()            ? "standby"
	                        : setting_verify_interval_ms == 0 ? "off"
	                        : setting_seal_interval_ms == 0   ? "off (witness.seal_interval = 0)"
	                        : registry_launcher_running()     ? "on"
	                                                          : "not running";
	values[VSScheduled] = CStringGetTextDatum(scheduled);
	nulls[VSScheduled] = false;
	if (has) {
		values[VSLastStartedAt] = TimestampTzGetDatum(v.started_at);
		values[VSLastVerifiedAt] = TimestampTzGetDatum(v.finished_at);
		values[VSStatus] = CStringGetTextDatum(v.status);
		values[VSProblems] = Int64GetDatum(v.problems);
		values[VSBlocks] = Int64GetDatum(v.blocks_checked);
		values[VSEntries] = Int64GetDatum(v.entries_checked);
		values[VSPending] = Int64GetDatum(v.entries_pending);
		values[VSDuration] =
		    DirectFunctionCall2(timestamp_mi, TimestampTzGetDatum(v.finished_at), TimestampTzGetDatum(v.started_at));
		nulls[VSLastStartedAt] = nulls[VSLastVerifiedAt] = nulls[VSStatus] = nulls[VSProblems] = false;
		nulls[VSBlocks] = nulls[VSEntries] = nulls[VSPending] = nulls[VSDuration] = false;
		// An error leaves the counts unknown.
		if (strcmp(v.status, "error") == 0)
			nulls[VSBlocks] = nulls[VSEntries] = nulls[VSPending] = nulls[VSProblems] = true;
		if (v.first_problem[0] != '\0') {
			values[VSFirstProblem] = CStringGetTextDatum(first_problem_for_caller(v.first_problem));
			nulls[VSFirstProblem] = false;
		}
	}
	// Counted from the last start, or before the first from the sealer's first look after the start.
	if (strcmp(scheduled, "on") == 0 && counting_from != 0) {
		values[VSNextDueAt] =
		    TimestampTzGetDatum(TimestampTzPlusMilliseconds(counting_from, setting_verify_interval_ms));
		nulls[VSNextDueAt] = false;
	}
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
}
