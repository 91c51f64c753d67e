// Chunk roots at sealing and proofs assembled from one chunk (merkle_chunks.hpp).
#include "merkle_chunks.hpp"

#include <algorithm>
#include <stdexcept>

#include "merkle.hpp"

namespace witness
{

bool merkle_chunk_size_valid(size_t chunk_size) noexcept
{
	return chunk_size >= 2 && (chunk_size & (chunk_size - 1)) == 0;
}

size_t merkle_chunk_count(size_t n, size_t chunk_size) noexcept
{
	return chunk_size == 0 ? 0 : n / chunk_size + (n % chunk_size != 0 ? 1 : 0);
}

std::vector<Hash> merkle_chunk_roots(const Hash *leaves, size_t n, size_t chunk_size)
{
	if (!merkle_chunk_size_valid(chunk_size))
		throw std::invalid_argument("merkle_chunk_roots: the chunk size must be a power of two of at least 2");
	std::vector<Hash> roots;
	roots.reserve(merkle_chunk_count(n, chunk_size));
	std::vector<Hash> chunk;
	for (size_t first = 0; first < n; first += chunk_size) {
		const size_t len = std::min(chunk_size, n - first);
		chunk.assign(leaves + first, leaves + first + len);
		roots.push_back(merkle_root(chunk));
	}
	return roots;
}

std::optional<ChunkedProof> merkle_chunked_proof(const Hash *chunk_leaves, size_t chunk_len, size_t index_in_chunk,
                                                 const std::vector<Hash> &stored_roots, size_t chunk_no,
                                                 size_t chunk_size, size_t n, const Hash &root)
{
	if (!merkle_chunk_size_valid(chunk_size) || n == 0 || stored_roots.size() != merkle_chunk_count(n, chunk_size) ||
	    chunk_no >= stored_roots.size())
		return std::nullopt;
	const size_t first = chunk_no * chunk_size;
	if (chunk_len != std::min(chunk_size, n - first) || index_in_chunk >= chunk_len)
		return std::nullopt;
	std::vector<Hash> chunk(chunk_leaves, chunk_leaves + chunk_len);
	ChunkedProof proof{first + index_in_chunk, merkle_inclusion_proof(chunk, index_in_chunk)};
	std::vector<Hash> roots = stored_roots;
	roots[chunk_no] = merkle_root(chunk);
	// Above the chunks, the tree is the one over their roots: its path continues the chunk's.
	for (const Hash &h : merkle_inclusion_proof(roots, chunk_no))
		proof.audit_path.push_back(h);
	if (!merkle_verify_inclusion(chunk[index_in_chunk], proof.leaf_index, n, proof.audit_path, root))
		return std::nullopt;
	return proof;
}

} // namespace witness
