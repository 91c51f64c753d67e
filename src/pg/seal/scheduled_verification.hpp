// Scheduled verification (docs/verification.md, "Scheduled verification"): every
// witness.verify_interval the sealer worker of a database, after its seal pass, verifies the whole
// trail as witness.verify() does, keeps the result in shared memory for witness.verification_status,
// records it as a row of witness.verification_run, and warns in the server log when it is not valid.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Runs one verification in its own transaction when one is due in the current database. Raises no
// error: a verification that raised is reported (server log, status "error") and the worker goes on.
void verify_if_due();

} // namespace witness::pg
