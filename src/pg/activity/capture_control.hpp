// Capture control: changes that can switch capture, or the guards of pg_witness's own tables, off
// where pg_witness cannot refuse them (superusers, session_replication_role = replica, its event
// triggers disabled), recorded as activity whatever witness.record_activity says
// (docs/activity.md, "Capture control"). Two sources: PostgreSQL's object access hook, which every
// command that creates, alters or drops a catalog object calls, event triggers or not; and
// INSERT, UPDATE or DELETE of a system catalog, which no command sees.
#pragma once

#include "pg/common/pg_includes.hpp"

extern "C" {
#include "executor/execdesc.h"
}

namespace witness::pg
{

// From _PG_init, when preloaded (the activity queue exists only then).
void register_capture_control();

// The system catalog an INSERT, UPDATE, DELETE or MERGE writes, or InvalidOid (nearly always: a
// look at the statement's result relations).
Oid catalog_written(const PlannedStmt *stmt);

// The system catalog a utility command writes (COPY ... FROM, TRUNCATE with allow_system_table_mods),
// or InvalidOid.
Oid utility_catalog_written(const Node *stmt);

// Around a utility command: DROP EXTENSION pg_witness drops every object of schema witness, the
// table the records would go to included; nothing is recorded while it runs. begin says whether the
// command is that one; end takes what begin said.
bool capture_control_utility_begin(const PlannedStmt *pstmt);
void capture_control_utility_end(bool drops_witness);

// After a utility command that succeeded, while pg_witness's event triggers stand aside
// (session_replication_role = replica, one disabled): records what changes captured tables without
// touching a capture trigger: a table made an inheritance child of a captured one or taken from it,
// an enum value renamed.
void capture_control_after_utility(const PlannedStmt *pstmt);

} // namespace witness::pg
