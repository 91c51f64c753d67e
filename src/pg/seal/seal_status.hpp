// How far sealing is behind in this database (witness.seal_status, witness.verify()).
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

struct PendingSummary {
	bool has_block;
	int64 last_block_no;
	TimestampTz last_sealed_at;
	int64 entries_pending; // committed (visible to the caller's snapshot) and in no block
	bool has_pending;
	TimestampTz oldest_pending_since; // the smallest stmt_time among them
};

// Read with the caller's snapshot.
PendingSummary pending_summary();

// Now minus since, as an interval Datum.
Datum pending_age(TimestampTz since);

} // namespace witness::pg
