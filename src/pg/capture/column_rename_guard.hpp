// Renames of configured columns the configuration cannot follow (docs/capture.md, "DDL on tracked
// tables"): refused before the command runs, where the old name is still known.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Refuses ALTER TABLE ... RENAME COLUMN of a column a tracked table's configuration names (excluded,
// tagged, key or subject) on one of its partitions or inheritance children.
void refuse_unfollowable_column_rename(const PlannedStmt *pstmt);

} // namespace witness::pg
