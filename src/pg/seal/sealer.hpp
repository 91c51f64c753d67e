// The sealer: turns committed, unsealed entries into the next block of the chain.
#pragma once

#include "pg/common/pg_includes.hpp"
#include "pg/common/trail_catalog.hpp"

namespace witness::pg
{

enum class SealOutcome { Sealed, NothingToSeal, Busy };

// One sealing pass in the current transaction. With wait, waits for a concurrent sealer; without,
// returns Busy at once. On Sealed, the new block row is in values/nulls.
SealOutcome seal_once(bool wait, Datum values[BlockNatts], bool nulls[BlockNatts]);

// The transaction-id era the next seal will start, read under snap (docs/verification.md,
// "Transaction-id eras"): first_entry_id 0 when none is due.
struct DueEra {
	int64 first_entry_id;
	int64 first_block_no;
};
DueEra due_era(Snapshot snap);

} // namespace witness::pg
