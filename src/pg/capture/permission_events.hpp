// Role, privilege and setting commands recorded in witness.ddl_event (docs/capture.md, "Schema and
// permission changes"). Event triggers do not fire for role commands or ALTER SYSTEM, and report no
// objects for GRANT, so the utility hook (entry_store.cpp) asks here, for each utility command,
// whether it needs a record: one switch on the node tag, nothing more for every other command.
#pragma once

#include "pg/common/pg_includes.hpp"

extern "C" {
#include "nodes/plannodes.h"
}

namespace witness::pg
{

struct PermissionEvent;

// Before the command runs: nullptr when it needs no record (nearly always), or when pg_witness 0.2 is
// not installed in this database; otherwise the command's summary and the state it may change.
PermissionEvent *permission_event_begin(PlannedStmt *pstmt);

// After the command succeeded, in its transaction: writes the record rows.
void permission_event_end(PermissionEvent *event);

} // namespace witness::pg
