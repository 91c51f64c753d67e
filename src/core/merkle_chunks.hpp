// Proofs in large blocks without rebuilding their whole tree. In an RFC 9162 tree over n leaves, every
// range of chunk_size = 2^m leaves starting at a multiple of chunk_size is a node, and so is the last,
// shorter range; above them the tree is exactly the RFC 9162 tree over the chunk roots taken as
// nodes. The sealer stores the chunk roots; a proof then reads one chunk's leaves and the roots.
#pragma once

#include <cstddef>
#include <optional>
#include <vector>

#include "hash.hpp"

namespace witness
{

// Whether chunk_size is a power of two >= 2, the only sizes whose chunks are nodes of the tree.
bool merkle_chunk_size_valid(size_t chunk_size) noexcept;

// The number of chunks of n leaves: ceil(n / chunk_size).
size_t merkle_chunk_count(size_t n, size_t chunk_size) noexcept;

// The roots of the chunks of n >= 1 leaves, in order. merkle_root() over them (as if they were leaf
// hashes) is merkle_root() over the leaves, for the same number of node hashes in all.
// Throws std::invalid_argument for a chunk size merkle_chunk_size_valid() rejects.
std::vector<Hash> merkle_chunk_roots(const Hash *leaves, size_t n, size_t chunk_size);

// An inclusion proof built from one chunk: leaf_index among all n leaves, and the audit path.
struct ChunkedProof {
	size_t leaf_index;
	std::vector<Hash> audit_path;
};

// The proof of leaf `index_in_chunk` of chunk `chunk_no` in the tree of n leaves whose root is
// `root`, from the chunk's leaves and the stored roots of all chunks (the chunk's own root is
// recomputed from its leaves, stored_roots[chunk_no] is not read). The stored roots are not trusted:
// the proof is returned only when it checks against root (merkle_verify_inclusion), else nullopt;
// so is a chunk of the wrong length or a wrong number of roots.
std::optional<ChunkedProof> merkle_chunked_proof(const Hash *chunk_leaves, size_t chunk_len, size_t index_in_chunk,
                                                 const std::vector<Hash> &stored_roots, size_t chunk_no,
                                                 size_t chunk_size, size_t n, const Hash &root);

} // namespace witness
