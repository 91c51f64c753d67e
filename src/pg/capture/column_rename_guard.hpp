// Column renames the capture configuration cannot follow, or that give a captured column an excluded
// name (docs/capture.md, "DDL on tracked tables"): refused before the command runs.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Refuses ALTER TABLE ... RENAME COLUMN (or ALTER TYPE ... RENAME ATTRIBUTE) that gives a column of a
// captured relation an excluded name, or renames in a partition or child a column the tracked table's
// configuration names (excluded, tagged, key or subject).
void refuse_unfollowable_column_rename(const PlannedStmt *pstmt);

} // namespace witness::pg
