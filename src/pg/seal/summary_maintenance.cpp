#include "pg/seal/summary_maintenance.hpp"

extern "C" {
#include "access/xact.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
}

namespace witness::pg
{
namespace
{

// Entries counted per pass at most (whole blocks: one larger block is counted at once): under a second
// of work (docs/monitoring.md measures 3 to 4 s per million on a busy machine), so that a backlog does
// not hold up the next seal long.
constexpr const char *kRefreshQuery = "SELECT witness._refresh_summary(false, 200000)";

// A trail not updated to 0.2 has no summary.
bool have_summary()
{
	return OidIsValid(DatumGetObjectId(
	    DirectFunctionCall1(to_regprocedure, CStringGetTextDatum("witness._refresh_summary(boolean,bigint)"))));
}

} // namespace

void refresh_summary_after_pass()
{
	MemoryContext cxt = CurrentMemoryContext;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "pg_witness: counting the daily summary");
		if (have_summary()) {
			if (SPI_connect() != SPI_OK_CONNECT)
				elog(ERROR, "pg_witness: SPI_connect failed");
			int rc = SPI_execute(kRefreshQuery, false, 0);
			if (rc != SPI_OK_SELECT)
				elog(ERROR, "pg_witness: counting the daily summary failed: %s", SPI_result_code_string(rc));
			SPI_finish();
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, nullptr);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		ErrorData *e = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		ereport(WARNING, (errcode(e->sqlerrcode),
		                  errmsg("pg_witness: could not count the daily summary: %s", e->message),
		                  errhint("The next pass of the sealer tries again from the same block.")));
		FreeErrorData(e);
	}
	PG_END_TRY();
}

} // namespace witness::pg
