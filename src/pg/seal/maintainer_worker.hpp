// The work that follows a seal in a database (the lookup table, the daily summary, scheduled
// verification and retention, the alert rules), in a background worker of its own, so that sealing
// keeps its interval whatever that work costs (docs/verification.md, "The background sealer").
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Starts a maintainer for database, or finds one running there (true); false when witness.max_sealers
// maintainers run already or no background worker slot is free: the caller runs the steps itself.
// True, starting none, while another session holds the database locked (a DROP DATABASE).
bool start_maintainer(Oid database);

// The steps, in this process, each in a transaction of its own.
void run_maintenance_steps();

} // namespace witness::pg
