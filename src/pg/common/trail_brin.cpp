#include "pg/common/trail_brin.hpp"

#include "pg/common/trail_catalog.hpp"

#include <utility>

extern "C" {
#include "access/brin.h"
#include "access/brin_internal.h"
#include "access/genam.h"
#include "catalog/pg_am.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
}

namespace witness::pg
{
namespace
{

// Pages at the end of witness.entry that may still be filling: concurrent backends each fill their own
// page, and PostgreSQL extends a contended relation by up to 512 pages at once.
constexpr BlockNumber kFillingTail = 512;

// The trail's BRIN indexes: name and the witness.entry column each covers.
struct TrailBrin {
	const char *name;
	AttrNumber column;
	// Ranges below this block are known to be summarized (per process; the background sealer carries it
	// from one pass to the next, trail_brin_progress).
	Oid summarized_index;
	BlockNumber summarized_upto;
};
TrailBrin trail_brins[] = {{"entry_xid", EntryXid, InvalidOid, 0}, {"entry_id", EntryId, InvalidOid, 0}};

// A plain min/max BRIN index on the column: the summary of a page range is then the smallest and the
// largest value in it, which inserting a batch's smallest and largest values keeps covering the rest.
bool is_minmax_brin(Relation index, IndexInfo *info, AttrNumber column)
{
	return index->rd_rel->relam == BRIN_AM_OID && info->ii_NumIndexAttrs == 1 &&
	       info->ii_IndexAttrNumbers[0] == column && info->ii_Expressions == NIL && info->ii_Predicate == NIL &&
	       index_getprocid(index, 1, BRIN_PROCNUM_OPCINFO) == F_BRIN_MINMAX_OPCINFO;
}

// Summarizes the ranges of brin that have filled up in a table of nblocks pages, when the index exists,
// is BRIN and the caller owns it.
void summarize_index(TrailBrin *brin, BlockNumber nblocks)
{
	Oid index = witness_relation_if_exists(brin->name);
	if (!OidIsValid(index) || !pg_class_ownercheck(index, GetUserId()))
		return;
	Relation irel = index_open(index, AccessShareLock);
	bool is_brin = irel->rd_rel->relam == BRIN_AM_OID;
	BlockNumber pages_per_range = is_brin ? BrinGetPagesPerRange(irel) : 0;
	index_close(irel, AccessShareLock);
	if (pages_per_range == 0)
		return;
	if (brin->summarized_index != index) {
		brin->summarized_index = index;
		brin->summarized_upto = 0;
	}
	BlockNumber settled = nblocks > kFillingTail ? nblocks - kFillingTail : 0;
	BlockNumber filled = settled - settled % pages_per_range;
	for (BlockNumber blk = brin->summarized_upto; blk < filled; blk += pages_per_range) {
		CHECK_FOR_INTERRUPTS();
		DirectFunctionCall2(brin_summarize_range, ObjectIdGetDatum(index), Int64GetDatum((int64)blk));
	}
	brin->summarized_upto = Max(brin->summarized_upto, filled);
}

} // namespace

void trail_brin_progress(Oid index[2], BlockNumber upto[2])
{
	for (int i = 0; i < 2; i++) {
		index[i] = trail_brins[i].summarized_index;
		upto[i] = trail_brins[i].summarized_upto;
	}
}

// An index that was dropped and made again has another oid: summarize_index() then starts over.
void trail_brin_resume(const Oid index[2], const BlockNumber upto[2])
{
	for (int i = 0; i < 2; i++) {
		trail_brins[i].summarized_index = index[i];
		trail_brins[i].summarized_upto = upto[i];
	}
}

TrailBrins move_trail_brins_last(ResultRelInfo *indexes)
{
	TrailBrins found;
	int n = indexes->ri_NumIndices;
	for (const TrailBrin &brin : trail_brins) {
		for (int i = 0; i < n - found.count; i++) {
			Relation index = indexes->ri_IndexRelationDescs[i];
			if (strcmp(RelationGetRelationName(index), brin.name) != 0 ||
			    !is_minmax_brin(index, indexes->ri_IndexRelationInfo[i], brin.column))
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
	if (!ConditionalLockRelationOid(heap, ShareUpdateExclusiveLock))
		return;
	Relation rel = table_open(heap, NoLock);
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	table_close(rel, NoLock);
	for (TrailBrin &brin : trail_brins)
		summarize_index(&brin, nblocks);
	UnlockRelationOid(heap, ShareUpdateExclusiveLock);
}

} // namespace witness::pg
