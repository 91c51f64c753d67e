#include "pg/alerts/alert_pass.hpp"

#include "pg/seal/worker_step.hpp"

#include "pg/common/collector_mode.hpp"
#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "access/xact.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
}

namespace witness::pg
{
namespace
{

// Returns the number of alerts raised; -1 when this database has no witness.alert (pg_witness not
// updated to 0.2) or is a collector.
long evaluate()
{
	if (!OidIsValid(witness_relation_if_exists("alert")) || in_collector_database())
		return -1;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT pg_catalog.count(*) FROM witness.check_alerts()", false, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not evaluate the alert rules");
	bool isnull;
	long raised = (long)DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return raised;
}

} // namespace

void check_alerts_after_pass()
{
	long raised = 0;
	StepError e;
	if (!run_worker_step("pg_witness: checking alerts", [](void *arg) { *static_cast<long *>(arg) = evaluate(); }, &raised,
	                     &e)) {
		// A lock, a cancel, a damaged row: logged; the cursor did not move, so the next pass retries.
		ereport(WARNING, (errcode(e.sqlerrcode), errmsg("pg_witness: alert rules could not be evaluated: %s", e.message),
		                  e.detail[0] ? errdetail("%s", e.detail) : 0,
		                  errhint("Run SELECT * FROM witness.check_alerts() in that database to see the error.")));
		return;
	}
	if (raised > 0)
		ereport(LOG, (errmsg("pg_witness: %ld alerts raised", raised),
		              errhint("SELECT * FROM witness.alert ORDER BY alert_id DESC shows them.")));
}

} // namespace witness::pg
