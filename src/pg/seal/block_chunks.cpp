#include "pg/seal/block_chunks.hpp"

#include "pg/common/core_bridge.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "catalog/indexing.h"
#include "catalog/pg_type.h"
}

namespace witness::pg
{
namespace
{

// Layout of witness.block_chunk, in attribute order.
enum ChunkColumn { ChunkBlockNo = 1, ChunkNo, ChunkSize, ChunkFirstEntryId, ChunkRoot, ChunkNatts = ChunkRoot };

void check_chunk_layout(TupleDesc desc)
{
	static const char *const names[ChunkNatts] = {"block_no", "chunk_no", "chunk_size", "first_entry_id", "root"};
	static const Oid types[ChunkNatts] = {INT8OID, INT4OID, INT4OID, INT8OID, BYTEAOID};
	bool ok = desc->natts == ChunkNatts;
	for (int i = 0; ok && i < ChunkNatts; i++) {
		Form_pg_attribute att = TupleDescAttr(desc, i);
		ok = !att->attisdropped && strcmp(NameStr(att->attname), names[i]) == 0 && att->atttypid == types[i];
	}
	if (!ok)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("table witness.block_chunk does not have the layout pg_witness expects"),
		                errhint("Was witness.block_chunk altered? Reinstall or update the pg_witness extension.")));
}

} // namespace

void chunk_index_begin(ChunkIndex *index, MemoryContext cxt)
{
	index->cxt = cxt;
	index->chunk_size = setting_proof_chunk_size;
	if (index->chunk_size != 0 && !OidIsValid(witness_relation_if_exists("block_chunk")))
		index->chunk_size = 0;
	index->count = 0;
	index->capacity = 64;
	index->first_ids = (int64 *)MemoryContextAlloc(cxt, sizeof(int64) * index->capacity);
}

void block_root_begin(BlockRoot *b, const ChunkIndex &index, int64 count)
{
	*b = BlockRoot{};
	b->count = count;
	b->chunked = index.chunk_size != 0 && count > index.chunk_size;
	if (b->chunked)
		b->roots = (uint8_t *)MemoryContextAllocHuge(index.cxt, 32 * ((count + index.chunk_size - 1) / index.chunk_size));
}

void block_root_add(BlockRoot *b, ChunkIndex *index, int64 position, int64 id, const uint8_t leaf[32])
{
	chunk_index_add(index, position, id);
	if (!b->chunked) {
		merkle_frontier_append(&b->block, leaf);
		return;
	}
	merkle_frontier_append(&b->chunk, leaf);
	if ((position + 1) % index->chunk_size == 0 || position + 1 == b->count) {
		merkle_frontier_root(b->chunk, b->roots + 32 * b->nroots++);
		b->chunk = MerkleFrontier{};
	}
}

void block_root_finish(BlockRoot *b, const ChunkIndex &index, uint8_t root[32], uint8_t **roots)
{
	*roots = nullptr;
	if (!b->chunked) {
		merkle_frontier_root(b->block, root);
		return;
	}
	if (b->nroots != index.count)
		elog(ERROR, "pg_witness: a block of %lld members gave %lld chunk roots for %lld chunks", (long long)b->count,
		     (long long)b->nroots, (long long)index.count);
	merkle_root(b->roots, (size_t)b->nroots, root);
	*roots = b->roots;
}

void store_chunks(const ChunkIndex &index, int64 block_no, const uint8_t *roots)
{
	if (roots == nullptr)
		return;
	Relation rel = table_open(witness_relation("block_chunk"), RowExclusiveLock);
	TupleDesc desc = RelationGetDescr(rel);
	check_chunk_layout(desc);
	CatalogIndexState indexes = CatalogOpenIndexes(rel);
	for (int64 i = 0; i < index.count; i++) {
		Datum values[ChunkNatts];
		bool nulls[ChunkNatts] = {false, false, false, false, false};
		values[ChunkBlockNo - 1] = Int64GetDatum(block_no);
		values[ChunkNo - 1] = Int32GetDatum((int32)i);
		values[ChunkSize - 1] = Int32GetDatum(index.chunk_size);
		values[ChunkFirstEntryId - 1] = Int64GetDatum(index.first_ids[i]);
		values[ChunkRoot - 1] = PointerGetDatum(hash_bytea(roots + 32 * i));
		HeapTuple tuple = heap_form_tuple(desc, values, nulls);
		CatalogTupleInsertWithInfo(rel, tuple, indexes);
		heap_freetuple(tuple);
	}
	CatalogCloseIndexes(indexes);
	table_close(rel, NoLock);
}

} // namespace witness::pg
