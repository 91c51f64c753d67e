// MerkleNodes, single-removal and pair-swap searches against plain recomputation of the root.
#include "merkle_search.hpp"

#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "merkle.hpp"

using namespace witness;

namespace
{

std::vector<Hash> make_leaves(size_t n, const char *tag = "leaf")
{
	std::vector<Hash> leaves;
	for (size_t i = 0; i < n; i++)
		leaves.push_back(merkle_leaf_hash(std::string(tag) + " " + std::to_string(i)));
	return leaves;
}

} // namespace

TEST(MerkleSearch, NodesRootMatchesMerkleRoot)
{
	for (size_t n = 1; n <= 70; n++) {
		const std::vector<Hash> leaves = make_leaves(n);
		EXPECT_EQ(MerkleNodes(leaves.data(), n).root(), merkle_root(leaves)) << n;
	}
	EXPECT_THROW(MerkleNodes(nullptr, 0), std::invalid_argument);
}

TEST(MerkleSearch, AuditPathFromNodesMatchesInclusionProof)
{
	for (size_t n = 1; n <= 70; n++) {
		const std::vector<Hash> leaves = make_leaves(n);
		const MerkleNodes tree(leaves.data(), n);
		ASSERT_EQ(tree.nodes().size(), 2 * n - 1);
		for (size_t i = 0; i < n; i++) {
			const std::vector<Hash> path = merkle_nodes_audit_path(tree.nodes().data(), n, i);
			EXPECT_EQ(path, merkle_inclusion_proof(leaves, i)) << n << " " << i;
			EXPECT_TRUE(merkle_verify_inclusion(leaves[i], i, n, path, merkle_root(leaves))) << n << " " << i;
		}
		EXPECT_THROW(merkle_nodes_audit_path(tree.nodes().data(), n, n), std::out_of_range);
	}
}

TEST(MerkleSearch, RootWithSwapMatchesRecomputation)
{
	for (size_t n : {2u, 3u, 5u, 8u, 13u}) {
		const std::vector<Hash> leaves = make_leaves(n);
		const MerkleNodes tree(leaves.data(), n);
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < n; j++) {
				if (i == j)
					continue;
				std::vector<Hash> swapped = leaves;
				std::swap(swapped[i], swapped[j]);
				EXPECT_EQ(tree.root_with_swap(i, j), merkle_root(swapped)) << n << " " << i << " " << j;
			}
		}
	}
}

TEST(MerkleSearch, FindsEveryExtraLeaf)
{
	for (size_t n = 0; n <= 33; n++) {
		const std::vector<Hash> sealed = make_leaves(n);
		const Hash root = merkle_root(sealed);
		for (size_t at = 0; at <= n; at++) {
			std::vector<Hash> with_extra = sealed;
			with_extra.insert(with_extra.begin() + static_cast<std::ptrdiff_t>(at), merkle_leaf_hash("forged"));
			const auto found = find_extra_leaf(with_extra, root);
			ASSERT_TRUE(found.has_value()) << n << " " << at;
			EXPECT_EQ(*found, at) << n;
		}
	}
}

TEST(MerkleSearch, ExtraLeafNotFoundWhenNoRemovalFits)
{
	const std::vector<Hash> sealed = make_leaves(9);
	std::vector<Hash> other = make_leaves(10, "other");
	EXPECT_FALSE(find_extra_leaf(other, merkle_root(sealed)).has_value());
	EXPECT_FALSE(find_extra_leaf({}, merkle_root(sealed)).has_value());
}

TEST(MerkleSearch, ExtraLeafInLargeTreeIsFast)
{
	const size_t n = 100000;
	const std::vector<Hash> sealed = make_leaves(n);
	std::vector<Hash> with_extra = sealed;
	with_extra.insert(with_extra.begin() + 77777, merkle_leaf_hash("forged"));
	const auto found = find_extra_leaf(with_extra, merkle_root(sealed));
	ASSERT_TRUE(found.has_value());
	EXPECT_EQ(*found, 77777u);
}

TEST(MerkleSearch, FindsSwappedPairAmongCandidates)
{
	const std::vector<Hash> sealed = make_leaves(11);
	std::vector<Hash> tampered = sealed;
	std::swap(tampered[2], tampered[9]);
	const MerkleNodes tree(tampered.data(), tampered.size());
	bool exhausted = true;
	auto pair = find_swapped_pair(tree, {0, 2, 5, 9}, merkle_root(sealed), 1000, &exhausted);
	ASSERT_TRUE(pair.has_value());
	EXPECT_EQ(*pair, std::make_pair(size_t{2}, size_t{9}));
	EXPECT_FALSE(exhausted);
	EXPECT_FALSE(find_swapped_pair(tree, {0, 2, 5}, merkle_root(sealed), 1000, &exhausted).has_value());
	EXPECT_FALSE(exhausted);
	EXPECT_FALSE(find_swapped_pair(tree, {0, 5, 2, 9}, merkle_root(sealed), 2, &exhausted).has_value());
	EXPECT_TRUE(exhausted);
}
