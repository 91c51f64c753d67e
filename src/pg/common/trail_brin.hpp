// The BRIN indexes of witness.entry: entry_xid (how the sealer finds unsealed entries) and entry_id
// (lookups by id).
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// The trail's BRIN indexes at the end of an open index list: capture may skip them for an entry that is
// neither the first nor the last of its batch in a page range (entry_store.cpp).
struct TrailBrins {
	int count = 0;
	BlockNumber pages_per_range[2] = {0, 0};
};

// Summarizes every page range of witness.entry (of each of its partitions) that has filled up since the
// last call, in both indexes, so that scans through them read only the ranges that can match.
void summarize_filled_ranges();

// How far the trail's BRIN indexes (two per partition) are known to be summarized in this process. The
// background sealer runs each pass in a new process and carries this from one to the next
// (sealer_registry.hpp), so that a pass does not walk every range of a long trail again.
struct BrinProgress {
	Oid index; // InvalidOid for an unused slot
	BlockNumber upto;
};
constexpr int kBrinProgressSlots = 8;
void trail_brin_progress(BrinProgress out[kBrinProgressSlots]);
void trail_brin_resume(const BrinProgress in[kBrinProgressSlots]);

// Plans the queries opened until close_brin_scans(level) without sequential scans, and without the JIT
// that the penalty for them would start: a block's members are a narrow range of ids and transaction
// ids that the BRIN indexes find, but for a partition that has no statistics yet (a new month's, or
// before autovacuum's first ANALYZE) the planner read the whole partition at every seal. Returns the
// level to close; an error in between restores the settings with the (sub)transaction.
int open_brin_scans();
void close_brin_scans(int level);

// A plain min/max BRIN index on the column: the summary of a page range is then the smallest and the
// largest value in it, which inserting a batch's smallest and largest values keeps covering the rest.
bool is_minmax_brin(Relation index, IndexInfo *info, AttrNumber column);

// Moves entry_xid and entry_id, where each is the plain min/max BRIN index pg_witness creates, to the end
// of witness.entry's open index list.
TrailBrins move_trail_brins_last(ResultRelInfo *indexes);

} // namespace witness::pg
