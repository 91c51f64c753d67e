#include "pg/common/trail_brin.hpp"

#include "pg/common/trail_catalog.hpp"
#include "pg/common/trail_partitions.hpp"

#include <utility>

extern "C" {
#include "access/brin.h"
#include "access/brin_internal.h"
#include "access/genam.h"
#include "catalog/index.h"
#include "catalog/pg_am.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/guc.h"
#include "utils/relcache.h"
}

namespace witness::pg
{
namespace
{

// Pages at the end of witness.entry that may still be filling: concurrent backends each fill their own
// page, and PostgreSQL extends a contended relation by up to 512 pages at once.
constexpr BlockNumber kFillingTail = 512;

// The trail's BRIN indexes: name (on witness.entry before it was partitioned) and the column each
// covers. On a partitioned trail each partition has its own (<partition>_xid, <partition>_id).
struct TrailBrin {
	const char *name;
	AttrNumber column;
};
const TrailBrin trail_brins[] = {{"entry_xid", EntryXid}, {"entry_id", EntryId}};

// Ranges below upto are known to be summarized in index (per process; the background sealer carries
// them from one pass to the next, trail_brin_progress). The oldest is forgotten first.
BrinProgress progress[kBrinProgressSlots] = {};
int next_slot = 0;

BrinProgress *progress_of(Oid index)
{
	for (BrinProgress &p : progress)
		if (p.index == index)
			return &p;
	return nullptr;
}

// One of the trail's BRIN indexes: witness.<name> on witness.entry itself (not partitioned: a 0.1
// trail), or the partition's own (<partition>_xid, <partition>_id). Any plain min/max BRIN index on
// the column keeps covering what capture skips (move_trail_brins_last), whatever its name.
bool is_trail_index(Relation index, IndexInfo *info, const TrailBrin &brin)
{
	return is_minmax_brin(index, info, brin.column);
}

// Summarizes the ranges of an index that have filled up in a table of nblocks pages, when it is BRIN
// and the caller owns it. An index this process knows nothing about is first probed at its last filled
// range: already summarized there means summarized before it too (ranges are summarized in order),
// which spares a pass over every range of each older partition.
void summarize_index(Oid index, BlockNumber nblocks)
{
	if (!pg_class_ownercheck(index, GetUserId()))
		return;
	Relation irel = index_open(index, AccessShareLock);
	bool is_brin = irel->rd_rel->relam == BRIN_AM_OID;
	BlockNumber pages_per_range = is_brin ? BrinGetPagesPerRange(irel) : 0;
	index_close(irel, AccessShareLock);
	if (pages_per_range == 0)
		return;
	BlockNumber settled = nblocks > kFillingTail ? nblocks - kFillingTail : 0;
	BlockNumber filled = settled - settled % pages_per_range;
	BrinProgress *p = progress_of(index);
	if (p == nullptr) {
		p = &progress[next_slot];
		next_slot = (next_slot + 1) % kBrinProgressSlots;
		p->index = index;
		p->upto = 0;
		if (filled > 0 &&
		    DatumGetInt32(DirectFunctionCall2(brin_summarize_range, ObjectIdGetDatum(index),
		                                      Int64GetDatum((int64)(filled - pages_per_range)))) == 0)
			p->upto = filled;
	}
	for (BlockNumber blk = p->upto; blk < filled; blk += pages_per_range) {
		CHECK_FOR_INTERRUPTS();
		DirectFunctionCall2(brin_summarize_range, ObjectIdGetDatum(index), Int64GetDatum((int64)blk));
	}
	p->upto = Max(p->upto, filled);
}

// Summarizes the trail BRIN indexes of one partition (or of witness.entry when it is not partitioned).
void summarize_leaf(Oid leaf)
{
	if (!ConditionalLockRelationOid(leaf, ShareUpdateExclusiveLock))
		return;
	Relation rel = table_open(leaf, NoLock);
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	List *indexes = RelationGetIndexList(rel);
	table_close(rel, NoLock);
	ListCell *lc;
	foreach (lc, indexes) {
		Oid index = lfirst_oid(lc);
		Relation irel = index_open(index, AccessShareLock);
		IndexInfo *info = BuildIndexInfo(irel);
		bool trail = false;
		for (const TrailBrin &brin : trail_brins)
			trail = trail || is_trail_index(irel, info, brin);
		index_close(irel, AccessShareLock);
		if (trail)
			summarize_index(index, nblocks);
	}
	UnlockRelationOid(leaf, ShareUpdateExclusiveLock);
}

} // namespace

// A plain min/max BRIN index on the column: the summary of a page range is then the smallest and the
// largest value in it, which inserting a batch's smallest and largest values keeps covering the rest.
bool is_minmax_brin(Relation index, IndexInfo *info, AttrNumber column)
{
	return index->rd_rel->relam == BRIN_AM_OID && info->ii_NumIndexAttrs == 1 &&
	       info->ii_IndexAttrNumbers[0] == column && info->ii_Expressions == NIL && info->ii_Predicate == NIL &&
	       index_getprocid(index, 1, BRIN_PROCNUM_OPCINFO) == F_BRIN_MINMAX_OPCINFO;
}

void trail_brin_progress(BrinProgress out[kBrinProgressSlots])
{
	for (int i = 0; i < kBrinProgressSlots; i++)
		out[i] = progress[i];
}

// An index that was dropped and made again has another oid: summarize_index() then starts over.
void trail_brin_resume(const BrinProgress in[kBrinProgressSlots])
{
	for (int i = 0; i < kBrinProgressSlots; i++)
		progress[i] = in[i];
}

TrailBrins move_trail_brins_last(ResultRelInfo *indexes)
{
	TrailBrins found;
	int n = indexes->ri_NumIndices;
	for (const TrailBrin &brin : trail_brins) {
		for (int i = 0; i < n - found.count; i++) {
			Relation index = indexes->ri_IndexRelationDescs[i];
			if (!is_trail_index(index, indexes->ri_IndexRelationInfo[i], brin))
				continue;
			int last = n - 1 - found.count;
			std::swap(indexes->ri_IndexRelationDescs[i], indexes->ri_IndexRelationDescs[last]);
			std::swap(indexes->ri_IndexRelationInfo[i], indexes->ri_IndexRelationInfo[last]);
			found.pages_per_range[found.count++] = BrinGetPagesPerRange(index);
			break;
		}
	}
	return found;
}

// A range is summarized only once it is full and 512 pages behind the end: a summary of a range still
// being filled would have to be widened, under an exclusive lock on the summary page, by every later
// transaction inserting into it, and the sealer would re-read the whole range.
// Skipped when VACUUM or ANALYZE holds witness.entry (VACUUM summarizes too) and for an index the caller
// may not summarize (brin_summarize_range() needs the index's owner).
void summarize_filled_ranges()
{
	Oid heap = entry_relid();
	if (!ConditionalLockRelationOid(heap, AccessShareLock))
		return;
	Relation rel = table_open(heap, NoLock);
	List *leaves = entry_leaves(rel);
	table_close(rel, NoLock);
	ListCell *lc;
	foreach (lc, leaves)
		summarize_leaf(lfirst_oid(lc));
	UnlockRelationOid(heap, AccessShareLock);
}

int open_brin_scans()
{
	const int level = NewGUCNestLevel();
	(void)set_config_option("enable_seqscan", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	(void)set_config_option("jit", "off", PGC_USERSET, PGC_S_SESSION, GUC_ACTION_SAVE, true, 0, false);
	return level;
}

void close_brin_scans(int level)
{
	AtEOXact_GUC(true, level);
}

} // namespace witness::pg
