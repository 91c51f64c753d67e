// Scheduled retention (docs/retention.md, "Retention"): once a day, at witness.retention_time (UTC),
// the sealer worker of each database runs witness.apply_retention() after its seal pass.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Runs witness.apply_retention() in its own transaction when witness.retention_time is set and no
// retention run happened since the clock last passed it. Raises no error: one that failed is
// reported in the server log, and tried again with the next seal pass.
void apply_retention_if_due();

} // namespace witness::pg
