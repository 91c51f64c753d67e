// Where activity events come from (activity_queue.hpp): executor hooks for reads, fmgr_hook for calls
// of pg_witness's functions, emit_log_hook for refused attempts, ClientAuthentication_hook for logins.
#pragma once

#include "pg/common/pg_includes.hpp"

extern "C" {
#include "tcop/cmdtag.h"
#include "nodes/plannodes.h"
}

namespace witness::pg
{

// From _PG_init, in every backend (the login hook only when preloaded).
void register_activity_hooks(bool preloaded);

// Around a utility command (from the ProcessUtility hook of capture/entry_store.cpp): COPY ... TO
// of a table tracked with capture_reads or of the trail is a read.
void activity_utility_begin(PlannedStmt *pstmt, const char *query_string);
void activity_utility_end(PlannedStmt *pstmt, QueryCompletion *qc);

// In the PG_CATCH of a utility command or of ExecutorStart: records the error being raised when it is
// a refusal, before any exception handler of the caller can swallow it.
void activity_note_refusal();


} // namespace witness::pg
