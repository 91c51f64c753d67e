// Where activity events come from (activity_queue.hpp): executor hooks for reads, fmgr_hook for calls
// of pg_witness's functions, emit_log_hook for refused attempts, ClientAuthentication_hook for logins.
#pragma once

#include "pg/activity/activity_queue.hpp"
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
// In the PG_CATCH of a utility command: the reads it made before it failed (never raises).
void activity_utility_failed(PlannedStmt *pstmt);

// In the PG_CATCH of a utility command or of ExecutorStart: records the error being raised when it is
// a refusal, before any exception handler of the caller can swallow it.
void activity_note_refusal();

// Whether a change made now may need a record: a recording backend, in a transaction, pg_witness 0.2
// installed here, neither its extension script nor its own lookups running. Sets *witness_schema to
// the OID of schema witness, and *in_witness_function to whether one of pg_witness's functions is
// running (whose own DDL is not recorded; what runs nested in it may be).
bool activity_session_change(Oid *witness_schema, bool *in_witness_function);

// Records a change the session made (capture_control.hpp) as done: waits for a slot and raises
// (53000) when none frees, so that the change never happens unrecorded.
void activity_record_change(ActivityKind kind, const char *object, const char *message);


} // namespace witness::pg
