#include "pg/seal/scheduled_retention.hpp"

#include "pg/common/collector_mode.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/seal/worker_step.hpp"

namespace witness::pg
{
namespace
{

// Whether a run is due here (witness._retention_due()), and if so runs it; false when this database
// has no witness.retention_run (pg_witness missing, or not updated to 0.2) or is a collector, whose
// entries are the source's and go when the source's retention says (docs/central.md).
bool run_when_due()
{
	if (!OidIsValid(witness_relation_if_exists("retention_run")) || in_collector_database())
		return false;
	Oid argtypes[1] = {TEXTOID};
	Datum args[1] = {CStringGetTextDatum(setting_retention_time)};
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute_with_args("SELECT witness._retention_due($1)", 1, argtypes, args, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not tell whether retention is due");
	bool isnull;
	bool due = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull)) && !isnull;
	if (due) {
		if (SPI_execute("SELECT run_id, entries_pruned, held_kept FROM witness.apply_retention()", false, 1) !=
		    SPI_OK_SELECT)
			elog(ERROR, "pg_witness: could not apply retention");
		HeapTuple row = SPI_tuptable->vals[0];
		TupleDesc desc = SPI_tuptable->tupdesc;
		ereport(LOG, (errmsg("pg_witness: retention run %lld pruned %lld entries, kept %lld held ones",
		                     (long long)DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull)),
		                     (long long)DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull)),
		                     (long long)DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull)))));
	}
	SPI_finish();
	return due;
}

} // namespace

void apply_retention_if_due()
{
	if (setting_retention_time == nullptr || setting_retention_time[0] == '\0')
		return;
	StepError e;
	if (run_worker_step("pg_witness: applying retention", [](void *) { run_when_due(); }, nullptr, &e))
		return;
	// A lock, a cancel, an encrypted entry under a hold without the master key: logged, and tried again
	// with the next pass.
	ereport(WARNING, (errcode(e.sqlerrcode), errmsg("pg_witness: scheduled retention could not run: %s", e.message),
	                  e.detail[0] ? errdetail("%s", e.detail) : 0,
	                  errhint("Run SELECT * FROM witness.apply_retention() in that database to see the error.")));
}

} // namespace witness::pg
