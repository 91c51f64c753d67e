#include "pg/xid_index.hpp"

#include "pg/entry_writer.hpp"
#include "pg/table_config.hpp"

#include <utility>

extern "C" {
#include "access/brin.h"
#include "access/genam.h"
#include "catalog/pg_am.h"
#include "storage/bufmgr.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
}

namespace witness::pg
{
namespace
{

// Pages at the end of witness.entry that may still be filling: concurrent backends each fill their own
// page, and PostgreSQL extends a contended relation by up to 512 pages at once.
constexpr BlockNumber kFillingTail = 512;

// Ranges below this block are known to be summarized (per backend: the background sealer keeps it).
Oid summarized_index = InvalidOid;
BlockNumber summarized_upto = 0;

// The BRIN index witness.entry_xid and its pages per range, or InvalidOid when it is not there as such.
Oid xid_brin_index(BlockNumber *pages_per_range)
{
	Oid index = get_relname_relid("entry_xid", get_namespace_oid("witness", false));
	if (!OidIsValid(index))
		return InvalidOid;
	Relation irel = index_open(index, AccessShareLock);
	bool is_brin = irel->rd_rel->relam == BRIN_AM_OID;
	if (is_brin)
		*pages_per_range = BrinGetPagesPerRange(irel);
	index_close(irel, AccessShareLock);
	return is_brin ? index : InvalidOid;
}

} // namespace

BlockNumber move_xid_brin_last(ResultRelInfo *indexes)
{
	int n = indexes->ri_NumIndices;
	for (int i = 0; i < n; i++) {
		Relation index = indexes->ri_IndexRelationDescs[i];
		IndexInfo *info = indexes->ri_IndexRelationInfo[i];
		if (index->rd_rel->relam != BRIN_AM_OID || strcmp(RelationGetRelationName(index), "entry_xid") != 0 ||
		    info->ii_NumIndexAttrs != 1 || info->ii_IndexAttrNumbers[0] != EntryXid || info->ii_Expressions != NIL ||
		    info->ii_Predicate != NIL)
			continue;
		std::swap(indexes->ri_IndexRelationDescs[i], indexes->ri_IndexRelationDescs[n - 1]);
		std::swap(indexes->ri_IndexRelationInfo[i], indexes->ri_IndexRelationInfo[n - 1]);
		return BrinGetPagesPerRange(index);
	}
	return 0;
}

// A range is summarized only once it is full and 512 pages behind the end: a summary of a range still
// being filled would have to be widened, under an exclusive lock on the summary page, by every later
// transaction inserting into it, and the sealer would re-read the whole range.
// Skipped when VACUUM or ANALYZE holds witness.entry (VACUUM summarizes too) and when the caller may not
// summarize (brin_summarize_range() needs the index's owner).
void summarize_filled_xid_ranges()
{
	BlockNumber pages_per_range = 0;
	Oid index = xid_brin_index(&pages_per_range);
	if (!OidIsValid(index) || pages_per_range == 0 || !pg_class_ownercheck(index, GetUserId()))
		return;
	Oid heap = entry_relid();
	if (!ConditionalLockRelationOid(heap, ShareUpdateExclusiveLock))
		return;
	if (summarized_index != index) {
		summarized_index = index;
		summarized_upto = 0;
	}
	Relation rel = table_open(heap, NoLock);
	BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	table_close(rel, NoLock);
	BlockNumber settled = nblocks > kFillingTail ? nblocks - kFillingTail : 0;
	BlockNumber filled = settled - settled % pages_per_range;
	for (BlockNumber blk = summarized_upto; blk < filled; blk += pages_per_range)
		DirectFunctionCall2(brin_summarize_range, ObjectIdGetDatum(index), Int64GetDatum((int64)blk));
	summarized_upto = Max(summarized_upto, filled);
	UnlockRelationOid(heap, ShareUpdateExclusiveLock);
}

} // namespace witness::pg
