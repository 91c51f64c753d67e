// The partitions of witness.entry made ahead of time (docs/scaling.md): the sealer worker of a database,
// after its seal pass, makes the partitions of the current UTC month and the next two that are missing,
// so that capture at a month boundary finds its partition already there.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Calls witness.create_entry_partitions() in its own transaction when the last call was more than an
// hour before now (or never, last_done 0). Raises no error: one that could not finish (a lock it gave
// up on) is reported as a WARNING and tried again an hour later, not at the next pass, which would
// make capture wait behind the lock request again every seal interval. True when it was called; false
// when it was not due or the trail has no partitions yet (a 0.1 trail not updated).
bool prepare_partitions_if_due(TimestampTz last_done);

} // namespace witness::pg
