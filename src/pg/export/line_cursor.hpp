// Lines of text read from a query through a cursor, a batch at a time: how the exports stream
// (witness.export_trail(), witness.export(), witness.export_encrypted()) without keeping more than one
// batch in memory, however long the trail.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

struct LineCursor {
	char name[NAMEDATALEN]; // the portal; "" when closed
	MemoryContext batch_cxt; // the current batch; reset per batch
	text **lines;
	long nbatch, next; // lines in the batch, next one to return
	bool done;         // the cursor returned fewer lines than asked: nothing more
};

// Opens a read-only cursor on query (one text column) under snapshot, with nargs parameters; the
// batch context is made under parent.
void line_cursor_open(LineCursor *c, MemoryContext parent, const char *query, Snapshot snapshot, int nargs = 0,
                      Oid *argtypes = nullptr, Datum *values = nullptr, const char *nulls = nullptr);

// The next line (valid until the next call), or nullptr after the last; raises on a NULL line.
text *line_cursor_next(LineCursor *c);

// Closes the cursor, if open. Safe to call twice.
void line_cursor_close(LineCursor *c);

// A cursor on query, without the batch machinery: for callers that fetch themselves. Keeps its name.
void open_cursor(const char *query, Snapshot snapshot, char *name, int nargs = 0, Oid *argtypes = nullptr,
                 Datum *values = nullptr, const char *nulls = nullptr);
void close_cursor(char *name);
// The cursor of that name, checked to return natts columns of these types; raises 24000 when it was
// closed (CLOSE ALL, a rolled-back savepoint) or returns anything else. Within SPI.
Portal find_cursor(const char *name, int natts, const Oid *types);

} // namespace witness::pg
