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

void chunked_merkle_root(const ChunkIndex &index, const uint8_t *leaves, int64 count, uint8_t root[32],
                         uint8_t **roots)
{
	*roots = nullptr;
	if (index.chunk_size == 0 || count <= index.chunk_size) {
		merkle_root(leaves, (size_t)count, root);
		return;
	}
	MemoryContext old = MemoryContextSwitchTo(index.cxt);
	*roots = merkle_chunk_roots(leaves, (size_t)count, (size_t)index.chunk_size);
	MemoryContextSwitchTo(old);
	merkle_root(*roots, (size_t)index.count, root);
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
