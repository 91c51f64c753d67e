#include "pg/seal/partition_maintenance.hpp"

#include "pg/common/trail_catalog.hpp"
#include "pg/seal/worker_step.hpp"

extern "C" {
#include "utils/timestamp.h"
}

namespace witness::pg
{
namespace
{

// Often enough that a missed month is made long before it starts; rarely enough to cost nothing.
constexpr long kCheckEveryMs = 60L * 60 * 1000;
// After a call that could not finish.
constexpr long kRetryMs = 10L * 1000;

// A 0.1 trail (before ALTER EXTENSION pg_witness UPDATE) has no partitions and no such function.
// (Asked by relation: to_regprocedure() returns NULL for a missing function, which DirectFunctionCall
// refuses with an error, at every pass.)
bool have_partitions()
{
	return OidIsValid(witness_relation_if_exists("entry_default"));
}

void create_partitions()
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	int rc = SPI_execute("SELECT pg_catalog.count(*) FROM witness.create_entry_partitions(2)", false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: making the partitions of witness.entry failed: %s", SPI_result_code_string(rc));
	SPI_finish();
}

} // namespace

void prepare_partitions_if_due(TimestampTz *checked_at)
{
	if (*checked_at != 0 && !TimestampDifferenceExceeds(*checked_at, GetCurrentTimestamp(), kCheckEveryMs))
		return;
	// A trail not updated to partitions yet is asked again at the next pass, so that its partitions are
	// made right after ALTER EXTENSION pg_witness UPDATE, before its entries fill the default partition.
	bool partitioned = false; // stays so when the step is left out (pg_witness dropped meanwhile): asked again
	StepError e;
	auto step = [](void *arg) {
		bool *partitioned = static_cast<bool *>(arg);
		*partitioned = have_partitions();
		if (*partitioned)
			create_partitions();
	};
	const bool done = run_worker_step("pg_witness: making partitions", step, &partitioned, &e);
	if (!done)
		ereport(WARNING, (errcode(e.sqlerrcode),
		                  errmsg("pg_witness: could not make the partitions of witness.entry ahead of time: %s", e.message),
		                  errhint("The sealer tries again in 10 s; until then entries of a month without a partition go to witness.entry_default.")));
	if (done && !partitioned)
		return;
	const TimestampTz now = GetCurrentTimestamp();
	*checked_at = done ? now : now - (kCheckEveryMs - kRetryMs) * 1000;
}

} // namespace witness::pg
