// Lines read from a cursor in batches (line_cursor.hpp).
#include "pg/export/line_cursor.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "port.h"
#include "utils/portal.h"
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
	// A name no one can guess, left out of pg_cursors: an attack review closed the export's
	// "<unnamed portal N>" between two fetches and declared its own cursor of that name, whose rows the
	// export then read (a crash on a column of another type; ctids of entries outside the caller's
	// period, read past row-level security).
	uint8 random[16];
	if (!pg_strong_random(random, sizeof(random)))
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("could not generate random bytes for an export cursor")));
	char cursor_name[NAMEDATALEN];
	int len = snprintf(cursor_name, sizeof(cursor_name), "pg_witness export ");
	for (size_t i = 0; i < sizeof(random); i++)
		len += snprintf(cursor_name + len, sizeof(cursor_name) - len, "%02x", random[i]);
	Portal portal = SPI_cursor_open(cursor_name, plan, values, nulls, true);
	portal->visible = false;
	strlcpy(name, portal->name, NAMEDATALEN);
	SPI_finish();
	PopActiveSnapshot();
}

Portal find_cursor(const char *name, int natts, const Oid *types)
{
	Portal portal = SPI_cursor_find(name);
	if (portal == nullptr)
		ereport(ERROR, (errcode(ERRCODE_INVALID_CURSOR_STATE), errmsg("the export's cursor was closed before its last row"),
		                errdetail("CLOSE ALL, a rollback to a savepoint set before the export's first row, or the COMMIT of a "
		                          "transaction with a cursor WITH HOLD over the export still open, closes it."),
		                errhint("Run the export again. To keep an export past COMMIT, declare the cursor over "
		                        "SELECT * FROM the export function, which reads all of it first.")));
	TupleDesc desc = portal->tupDesc;
	bool matches = desc != nullptr && desc->natts == natts;
	for (int i = 0; matches && i < natts; i++)
		matches = TupleDescAttr(desc, i)->atttypid == types[i];
	if (!matches)
		ereport(ERROR, (errcode(ERRCODE_INVALID_CURSOR_STATE), errmsg("the export's cursor returns rows of another type")));
	return portal;
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
	const Oid text_type = TEXTOID;
	Portal portal = find_cursor(c->name, 1, &text_type);
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
