#include "pg/common/subtransaction.hpp"

extern "C" {
#include "access/xact.h"
#include "mb/pg_wchar.h"
#include "utils/resowner.h"
}

namespace witness::pg
{

bool run_in_subtransaction(void (*step)(void *arg), void *arg, char *message, size_t size)
{
	MemoryContext cxt = CurrentMemoryContext;
	ResourceOwner owner = CurrentResourceOwner;
	volatile bool done = false;
	BeginInternalSubTransaction(nullptr);
	MemoryContextSwitchTo(cxt);
	PG_TRY();
	{
		step(arg);
		ReleaseCurrentSubTransaction();
		done = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		ErrorData *e = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		// A cancel (statement_timeout included) cancels the caller too: a step may fail, a statement
		// must not go on as if the cancel had been a failure of that step (found by a concurrency
		// review: witness.seal() committed after its statement_timeout, with a WARNING).
		if (e->sqlerrcode == ERRCODE_QUERY_CANCELED) {
			MemoryContextSwitchTo(cxt);
			CurrentResourceOwner = owner;
			ReThrowError(e);
		}
		const char *text = e->message != nullptr ? e->message : "";
		int len = pg_mbcliplen(text, (int)strlen(text), (int)size - 1);
		memcpy(message, text, len);
		message[len] = '\0';
		FreeErrorData(e);
	}
	PG_END_TRY();
	MemoryContextSwitchTo(cxt);
	CurrentResourceOwner = owner;
	return done;
}

} // namespace witness::pg
