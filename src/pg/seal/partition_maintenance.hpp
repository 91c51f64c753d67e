// The partitions of witness.entry made ahead of time (docs/scaling.md): the sealer worker of a database,
// after its seal pass, makes the partitions of the current UTC month and the next two that are missing,
// so that capture at a month boundary finds its partition already there.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Calls witness.create_entry_partitions() in its own transaction when the last call was more than an
// hour before *checked_at (or never, 0), and sets *checked_at to now. Raises no error: one that could
// not finish (a lock it gave up on: an autovacuum of the default partition, say) is reported as a
// WARNING and tried again 10 s later, not at the next pass, which would make capture into the default
// partition wait behind the lock request again every seal interval; nor an hour later, which left a
// new database without its months' partitions for an hour after one unlucky first try. A trail with
// no partitions yet (a 0.1 trail not updated) leaves *checked_at as it is: asked again next pass.
void prepare_partitions_if_due(TimestampTz *checked_at);

} // namespace witness::pg
