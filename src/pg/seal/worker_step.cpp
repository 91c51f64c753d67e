#include "pg/seal/worker_step.hpp"

#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "access/xact.h"
#include "miscadmin.h"
#include "postmaster/interrupt.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "mb/pg_wchar.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
}

namespace witness::pg
{

void copy_text_cut(char *out, size_t size, const char *text)
{
	if (text == nullptr)
		text = "";
	int len = pg_mbcliplen(text, (int)strlen(text), (int)size - 1);
	memcpy(out, text, len);
	out[len] = '\0';
}

bool run_worker_step(const char *activity, void (*step)(void *arg), void *arg, StepError *error)
{
	MemoryContext cxt = CurrentMemoryContext;
	volatile bool committed = false;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		const bool installed = hold_witness_extension();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, activity);
		if (installed)
			step(arg);
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_stat(true);
		pgstat_report_activity(STATE_IDLE, nullptr);
		committed = true;
	}
	PG_CATCH();
	{
		// A lock, a cancel, a row that cannot be read: the caller reports it; the worker goes on.
		MemoryContextSwitchTo(cxt);
		ErrorData *e = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		pgstat_report_activity(STATE_IDLE, nullptr);
		error->sqlerrcode = e->sqlerrcode;
		copy_text_cut(error->message, sizeof(error->message), e->message);
		copy_text_cut(error->detail, sizeof(error->detail), e->detail);
		FreeErrorData(e);
	}
	PG_END_TRY();
	return committed;
}

void worker_nap(long timeout_ms)
{
	(void)WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, timeout_ms, PG_WAIT_EXTENSION);
	ResetLatch(MyLatch);
	CHECK_FOR_INTERRUPTS();
	if (ConfigReloadPending) {
		ConfigReloadPending = false;
		ProcessConfigFile(PGC_SIGHUP);
	}
}

} // namespace witness::pg
