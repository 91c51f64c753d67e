// Lines read from a cursor in batches (line_cursor.hpp).
#include "pg/export/line_cursor.hpp"

extern "C" {
#include "utils/snapmgr.h"
}

namespace witness::pg
{

namespace
{
constexpr long kLineBatch = 1000; // lines per cursor fetch
}

void open_cursor(const char *query, Snapshot snapshot, char *name, int nargs, Oid *argtypes, Datum *values,
                 const char *nulls)
{
	PushActiveSnapshot(snapshot);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	SPIPlanPtr plan = SPI_prepare_cursor(query, nargs, argtypes, CURSOR_OPT_NO_SCROLL);
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the export query: %s", SPI_result_code_string(SPI_result));
	Portal portal = SPI_cursor_open(nullptr, plan, values, nulls, true);
	strlcpy(name, portal->name, NAMEDATALEN);
	SPI_finish();
	PopActiveSnapshot();
}

void close_cursor(char *name)
{
	if (name[0] == '\0')
		return;
	Portal portal = SPI_cursor_find(name);
	if (portal != nullptr)
		SPI_cursor_close(portal);
	name[0] = '\0';
}

void line_cursor_open(LineCursor *c, MemoryContext parent, const char *query, Snapshot snapshot, int nargs,
                      Oid *argtypes, Datum *values, const char *nulls)
{
	c->batch_cxt = AllocSetContextCreate(parent, "pg_witness export lines", ALLOCSET_DEFAULT_SIZES);
	c->lines = nullptr;
	c->nbatch = c->next = 0;
	c->done = false;
	open_cursor(query, snapshot, c->name, nargs, argtypes, values, nulls);
}

// Fetches the next batch into c->lines (copied into batch_cxt).
static void fetch_lines(LineCursor *c)
{
	MemoryContextReset(c->batch_cxt);
	c->nbatch = c->next = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	Portal portal = SPI_cursor_find(c->name);
	if (portal == nullptr)
		elog(ERROR, "pg_witness: export cursor \"%s\" is gone", c->name);
	SPI_cursor_fetch(portal, true, kLineBatch);
	long n = (long)SPI_processed;
	c->lines = (text **)MemoryContextAlloc(c->batch_cxt, sizeof(text *) * Max(n, 1));
	for (long i = 0; i < n; i++) {
		bool isnull;
		Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		if (isnull)
			elog(ERROR, "pg_witness: the export query returned a NULL line");
		MemoryContext old = MemoryContextSwitchTo(c->batch_cxt);
		c->lines[i] = DatumGetTextPCopy(d);
		MemoryContextSwitchTo(old);
	}
	c->nbatch = n;
	c->done = n < kLineBatch;
	SPI_finish();
}

text *line_cursor_next(LineCursor *c)
{
	if (c->next == c->nbatch) {
		if (c->done || c->name[0] == '\0')
			return nullptr;
		fetch_lines(c);
		if (c->nbatch == 0)
			return nullptr;
	}
	return c->lines[c->next++];
}

void line_cursor_close(LineCursor *c)
{
	close_cursor(c->name);
}

} // namespace witness::pg
