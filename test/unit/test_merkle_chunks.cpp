// Proofs assembled from one chunk and the chunk roots equal the full tree's, for trees of every shape
// around the chunk boundaries; stored roots that were altered never yield a proof.
#include "merkle_chunks.hpp"

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "merkle.hpp"

using namespace witness;

namespace
{

std::vector<Hash> make_leaves(size_t n)
{
	std::vector<Hash> leaves;
	leaves.reserve(n);
	for (size_t i = 0; i < n; i++)
		leaves.push_back(merkle_leaf_hash("entry " + std::to_string(i)));
	return leaves;
}

// Proves `index` from its chunk and compares with the full tree's proof.
void expect_same_proof(const std::vector<Hash> &leaves, const std::vector<Hash> &roots, size_t chunk_size,
                       size_t index)
{
	const Hash root = merkle_root(leaves);
	const size_t chunk_no = index / chunk_size;
	const size_t first = chunk_no * chunk_size;
	const size_t len = std::min(chunk_size, leaves.size() - first);
	auto proof = merkle_chunked_proof(leaves.data() + first, len, index - first, roots, chunk_no, chunk_size,
	                                  leaves.size(), root);
	ASSERT_TRUE(proof.has_value()) << "n=" << leaves.size() << " chunk=" << chunk_size << " index=" << index;
	EXPECT_EQ(proof->leaf_index, index);
	EXPECT_EQ(proof->audit_path, merkle_inclusion_proof(leaves, index))
	    << "n=" << leaves.size() << " chunk=" << chunk_size << " index=" << index;
}

} // namespace

TEST(MerkleChunks, ChunkSizes)
{
	EXPECT_FALSE(merkle_chunk_size_valid(0));
	EXPECT_FALSE(merkle_chunk_size_valid(1));
	EXPECT_FALSE(merkle_chunk_size_valid(3));
	EXPECT_FALSE(merkle_chunk_size_valid(1000));
	EXPECT_TRUE(merkle_chunk_size_valid(2));
	EXPECT_TRUE(merkle_chunk_size_valid(1024));
	EXPECT_EQ(merkle_chunk_count(1024, 1024), 1u);
	EXPECT_EQ(merkle_chunk_count(1025, 1024), 2u);
	EXPECT_EQ(merkle_chunk_count(1, 1024), 1u);
	EXPECT_THROW(merkle_chunk_roots(nullptr, 0, 1000), std::invalid_argument);
}

// The root over the chunk roots is the block's root: the sealer computes it that way.
TEST(MerkleChunks, RootOverChunkRootsIsTheRoot)
{
	for (size_t chunk_size : {2u, 4u, 8u, 1024u}) {
		for (size_t n : {1u, 2u, 3u, 7u, 8u, 9u, 15u, 16u, 17u, 31u, 33u, 100u, 1023u, 1024u, 1025u, 2048u, 2049u,
		                 3000u, 5000u}) {
			const auto leaves = make_leaves(n);
			EXPECT_EQ(merkle_root(merkle_chunk_roots(leaves.data(), n, chunk_size)), merkle_root(leaves))
			    << "n=" << n << " chunk=" << chunk_size;
		}
	}
}

// Every leaf of small trees, for small chunks: all shapes of partial last chunks.
TEST(MerkleChunks, EveryLeafOfSmallTrees)
{
	for (size_t chunk_size : {2u, 4u, 8u}) {
		for (size_t n = 1; n <= 70; n++) {
			const auto leaves = make_leaves(n);
			const auto roots = merkle_chunk_roots(leaves.data(), n, chunk_size);
			for (size_t i = 0; i < n; i++)
				expect_same_proof(leaves, roots, chunk_size, i);
		}
	}
}

// Chunks of 1024 (the default): n below, at and around multiples of 1024.
TEST(MerkleChunks, DefaultChunkSize)
{
	for (size_t n : {1u, 1000u, 1023u, 1024u, 1025u, 2047u, 2048u, 2049u, 3072u, 3073u, 5000u, 8192u, 9000u}) {
		const auto leaves = make_leaves(n);
		const auto roots = merkle_chunk_roots(leaves.data(), n, 1024);
		for (size_t i : {size_t(0), std::min(n - 1, size_t(1)), n / 2, n - 1, std::min(n - 1, size_t(1023)), std::min(n - 1, size_t(1024))})
			expect_same_proof(leaves, roots, 1024, i);
	}
}

// An altered stored root, a missing or extra chunk, a chunk of the wrong length, the wrong chunk
// number or a wrong tree size: no proof, never a wrong one.
TEST(MerkleChunks, UntrustedRootsNeverGiveAWrongProof)
{
	const size_t n = 5000, chunk = 1024;
	const auto leaves = make_leaves(n);
	const Hash root = merkle_root(leaves);
	const auto roots = merkle_chunk_roots(leaves.data(), n, chunk);
	const size_t index = 2500, chunk_no = 2, first = 2048;

	auto altered = roots;
	altered[4][0] ^= 1;
	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first, chunk, index - first, altered, chunk_no, chunk, n, root));
	// The proved chunk's own stored root is not read: altering it changes nothing.
	altered = roots;
	altered[chunk_no][0] ^= 1;
	EXPECT_TRUE(merkle_chunked_proof(leaves.data() + first, chunk, index - first, altered, chunk_no, chunk, n, root));

	auto fewer = roots;
	fewer.pop_back();
	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first, chunk, index - first, fewer, chunk_no, chunk, n, root));
	auto more = roots;
	more.push_back(roots[0]);
	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first, chunk, index - first, more, chunk_no, chunk, n, root));

	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first, chunk - 1, index - first, roots, chunk_no, chunk, n, root));
	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first + 1, chunk, index - first, roots, chunk_no, chunk, n, root));
	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first, chunk, index - first, roots, 1, chunk, n, root));
	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first, chunk, index - first, roots, chunk_no, 512, n, root));
	EXPECT_FALSE(merkle_chunked_proof(leaves.data() + first, chunk, chunk, roots, chunk_no, chunk, n, root));

	auto proof = merkle_chunked_proof(leaves.data() + first, chunk, index - first, roots, chunk_no, chunk, n, root);
	ASSERT_TRUE(proof.has_value());
	EXPECT_TRUE(merkle_verify_inclusion(leaves[index], index, n, proof->audit_path, root));
}
