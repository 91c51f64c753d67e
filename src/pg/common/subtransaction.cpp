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
