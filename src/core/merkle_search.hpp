// Explaining a Merkle root mismatch: which single extra leaf, or which two leaves trading places,
// turn a list of leaf hashes back into the tree a block sealed. Verification uses this to name the
// inserted or reordered entries instead of only the block.
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "hash.hpp"

namespace witness
{

// Every node hash of the RFC 9162 tree over n >= 1 leaves, kept so that a root with a few leaves
// changed costs O(log n) hashes instead of O(n). The leaves must outlive the object.
class MerkleNodes
{
  public:
	MerkleNodes(const Hash *leaves, size_t n);
	const Hash &root() const { return nodes_[0]; }
	// The root after the leaves at positions i and j (i != j, both < n) trade places.
	Hash root_with_swap(size_t i, size_t j) const;
	// Node hash of the subtree at pre-order index idx (covering leaves [first, first + size)).
	const Hash &node(size_t idx) const { return nodes_[idx]; }
	// All 2n - 1 node hashes in pre-order, the leaves included: what merkle_nodes_audit_path reads.
	const std::vector<Hash> &nodes() const { return nodes_; }

  private:
	Hash swapped(size_t idx, size_t first, size_t size, size_t i, size_t j) const;

	const Hash *leaves_;
	std::vector<Hash> nodes_; // pre-order: a node of k-leaf left subtree has its right child at idx + 2k
};

// Writes the 2n - 1 node hashes of the tree over n >= 1 leaves to nodes, in MerkleNodes' pre-order
// (the node of a k-leaf left subtree at idx has its right sibling at idx + 2k). Throws Interrupted
// when the host asks to stop (interrupt.hpp).
void merkle_nodes_build(const Hash *leaves, size_t n, Hash *nodes);

// Audit path (RFC 9162 2.1.3.1, from the leaf upwards) of leaf `index` in the tree over n leaves whose
// 2n - 1 node hashes are given in MerkleNodes' pre-order: O(log n) instead of the O(n) hashes of
// merkle_inclusion_proof(), for callers that prove many leaves of one tree. Equals
// merkle_inclusion_proof(leaves, index). Throws std::out_of_range when index >= n.
std::vector<Hash> merkle_nodes_audit_path(const Hash *nodes, size_t n, size_t index);

// A position i such that the root of leaves without leaves[i] is `root`; the first such one.
// leaves.size() >= 1. Cost: two trees over n leaves, then O(log n) hashes per candidate.
std::optional<size_t> find_extra_leaf(const std::vector<Hash> &leaves, const Hash &root);

// Two positions among `candidates` whose leaves, swapped, give `root`; tries at most max_pairs pairs
// and reports through *exhausted whether it gave up before trying them all.
std::optional<std::pair<size_t, size_t>> find_swapped_pair(const MerkleNodes &tree,
                                                           const std::vector<size_t> &candidates, const Hash &root,
                                                           size_t max_pairs, bool *exhausted);

} // namespace witness
