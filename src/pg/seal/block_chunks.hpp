// The chunk index of a sealed block (witness.block_chunk, docs/verification.md "Proofs in large
// blocks"): per chunk of witness.proof_chunk_size members in id order, its first entry id and the root
// of its subtree, so that witness.prove() reads one chunk instead of the whole block.
#pragma once

#include "core/merkle.hpp"
#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// What the sealer collects while it reads a block's members.
struct ChunkIndex {
	int chunk_size;      // 0: the block gets no chunk rows
	int64 *first_ids;    // first entry id of each chunk (palloc'd)
	int64 count;         // chunks started so far
	int64 capacity;
	MemoryContext cxt;   // where first_ids and the roots live: the sealer's, outside SPI
};

// Starts an index for the pass: chunks of witness.proof_chunk_size, or none when it is 0 or the
// table witness.block_chunk does not exist (the extension's SQL is older than the library). The index
// and the roots are allocated in cxt, which must outlive SPI_finish().
void chunk_index_begin(ChunkIndex *index, MemoryContext cxt);

// Called for each member in id order, position = its index among the block's members.
inline void chunk_index_add(ChunkIndex *index, int64 position, int64 id)
{
	if (index->chunk_size == 0 || position % index->chunk_size != 0)
		return;
	if (index->count == index->capacity) {
		index->capacity *= 2;
		index->first_ids = (int64 *)repalloc_huge(index->first_ids, sizeof(int64) * index->capacity);
	}
	index->first_ids[index->count++] = id;
}

// A block's Merkle root, and its chunk roots, computed as its count leaves arrive in id order, in
// memory independent of count: over the leaves themselves when the block has at most one chunk, else
// over the chunk roots (the same hashes in all), each computed as its chunk fills. Its frontiers have no
// destructor (core MerkleFrontier), so that it may live where ereport() can leave.
struct BlockRoot {
	int64 count;       // leaves the block has, known before they stream in
	bool chunked;      // more than one chunk: the root is computed over the chunk roots
	MerkleFrontier block;
	MerkleFrontier chunk;
	uint8_t *roots;    // ceil(count / chunk size) chunk roots, in the index's context; nullptr unless chunked
	int64 nroots;
};

void block_root_begin(BlockRoot *b, const ChunkIndex &index, int64 count);

// Leaf number position (from 0) of the block, with its entry id (which also goes to the index).
void block_root_add(BlockRoot *b, ChunkIndex *index, int64 position, int64 id, const uint8_t leaf[32]);

// The root, and in *roots the chunk roots (index->count of them) or nullptr.
void block_root_finish(BlockRoot *b, const ChunkIndex &index, uint8_t root[32], uint8_t **roots);

// Inserts the chunk rows of block block_no, in the sealer's transaction, past the guard triggers as
// the block row is (witness.block_chunk is written by the sealer alone).
void store_chunks(const ChunkIndex &index, int64 block_no, const uint8_t *roots);

} // namespace witness::pg
