// Moving the activity queue's events of this database into witness.activity (activity_drain.cpp).
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// In a transaction with an active snapshot: writes every waiting event of this database into
// witness.activity (and a row counting events lost to a full queue). The events leave the queue
// when the transaction commits. Returns how many rows it wrote; 0 when pg_witness 0.2 is not here.
// *events (when not nullptr): how many events it took from the queue.
int64 drain_activity(int *events = nullptr);

} // namespace witness::pg
