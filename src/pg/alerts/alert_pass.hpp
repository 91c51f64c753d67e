// Anomaly alerts (docs/alerts.md): after each seal pass the sealer worker of a database evaluates the
// alert rules over what that pass and earlier ones sealed, with witness.check_alerts().
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Runs witness.check_alerts() in its own transaction, where pg_witness 0.2 with alerts is installed
// and the database is not a collector. Raises no error: one is reported in the server log, and the
// next pass evaluates the same blocks again.
void check_alerts_after_pass();

} // namespace witness::pg
