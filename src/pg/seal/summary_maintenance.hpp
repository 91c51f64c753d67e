// The daily summary (docs/monitoring.md): after each seal pass, the sealer worker of a database counts
// the entries of the blocks sealed since its last count into witness.daily_count.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Calls witness._refresh_summary() in its own transaction, for up to 200,000 entries (a backlog, after
// an update from 0.1 or a bulk load, is worked off over several passes). Never waits for a refresh
// under way and raises no error: a failure is reported as a WARNING, and the next pass goes on from the
// same block.
void refresh_summary_after_pass();

} // namespace witness::pg
