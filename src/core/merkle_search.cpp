// Searches for the single removal or pair swap of leaves that reproduces a sealed Merkle root.
#include "merkle_search.hpp"

#include <stdexcept>

#include "merkle.hpp"

namespace witness
{

namespace
{

// RFC 9162 split: the largest power of two strictly smaller than n (n >= 2).
size_t split_point(size_t n)
{
	size_t k = 1;
	while (k < n - k)
		k <<= 1;
	return k;
}

// Root of the n-leaf tree over L' = S without S[i], from A (tree over S[0..n)) and B (tree over
// S[1..n+1)): a subtree wholly before i is A's, one starting at or after i is B's (L'[p] = S[p+1]).
Hash root_without(const MerkleNodes &a, const MerkleNodes &b, size_t idx, size_t first, size_t size, size_t i)
{
	if (first + size <= i)
		return a.node(idx);
	if (first >= i)
		return b.node(idx);
	const size_t k = split_point(size);
	return merkle_node_hash(root_without(a, b, idx + 1, first, k, i),
	                        root_without(a, b, idx + 2 * k, first + k, size - k, i));
}

Hash build_nodes(const Hash *leaves, Hash *nodes, size_t idx, size_t first, size_t size)
{
	if (size == 1)
		return nodes[idx] = leaves[first];
	const size_t k = split_point(size);
	const Hash left = build_nodes(leaves, nodes, idx + 1, first, k);
	const Hash right = build_nodes(leaves, nodes, idx + 2 * k, first + k, size - k);
	return nodes[idx] = merkle_node_hash(left, right);
}

} // namespace

void merkle_nodes_build(const Hash *leaves, size_t n, Hash *nodes)
{
	if (n == 0)
		throw std::invalid_argument("merkle_nodes_build: a tree needs at least one leaf");
	build_nodes(leaves, nodes, 0, 0, n);
}

MerkleNodes::MerkleNodes(const Hash *leaves, size_t n) : leaves_(leaves), nodes_(n == 0 ? 0 : 2 * n - 1)
{
	if (n == 0)
		throw std::invalid_argument("MerkleNodes: a tree needs at least one leaf");
	merkle_nodes_build(leaves, n, nodes_.data());
}

std::vector<Hash> merkle_nodes_audit_path(const Hash *nodes, size_t n, size_t index)
{
	if (index >= n)
		throw std::out_of_range("audit path: leaf index outside the tree");
	// Walk down from the root; the sibling of each subtree on the way is part of the path, which RFC
	// 9162 orders from the leaf up: the deepest sibling first.
	std::vector<Hash> path;
	size_t idx = 0, first = 0, size = n;
	while (size > 1) {
		const size_t k = split_point(size);
		if (index < first + k) {
			path.push_back(nodes[idx + 2 * k]);
			idx += 1;
			size = k;
		} else {
			path.push_back(nodes[idx + 1]);
			idx += 2 * k;
			first += k;
			size -= k;
		}
	}
	return std::vector<Hash>(path.rbegin(), path.rend());
}

Hash MerkleNodes::root_with_swap(size_t i, size_t j) const
{
	return swapped(0, 0, (nodes_.size() + 1) / 2, i, j);
}

Hash MerkleNodes::swapped(size_t idx, size_t first, size_t size, size_t i, size_t j) const
{
	const bool has_i = i >= first && i < first + size;
	const bool has_j = j >= first && j < first + size;
	if (!has_i && !has_j)
		return nodes_[idx];
	if (size == 1)
		return leaves_[has_i ? j : i];
	const size_t k = split_point(size);
	return merkle_node_hash(swapped(idx + 1, first, k, i, j), swapped(idx + 2 * k, first + k, size - k, i, j));
}

std::optional<size_t> find_extra_leaf(const std::vector<Hash> &leaves, const Hash &root)
{
	const size_t total = leaves.size();
	if (total == 0)
		return std::nullopt;
	const size_t n = total - 1;
	if (n == 0)
		return merkle_root({}) == root ? std::optional<size_t>(0) : std::nullopt;
	const MerkleNodes a(leaves.data(), n);
	const MerkleNodes b(leaves.data() + 1, n);
	for (size_t i = 0; i < n; i++)
		if (root_without(a, b, 0, 0, n, i) == root)
			return i;
	if (a.root() == root)
		return n;
	return std::nullopt;
}

std::optional<std::pair<size_t, size_t>> find_swapped_pair(const MerkleNodes &tree,
                                                           const std::vector<size_t> &candidates, const Hash &root,
                                                           size_t max_pairs, bool *exhausted)
{
	size_t tried = 0;
	if (exhausted)
		*exhausted = false;
	for (size_t x = 0; x < candidates.size(); x++) {
		for (size_t y = x + 1; y < candidates.size(); y++) {
			if (tried++ == max_pairs) {
				if (exhausted)
					*exhausted = true;
				return std::nullopt;
			}
			if (tree.root_with_swap(candidates[x], candidates[y]) == root)
				return std::make_pair(candidates[x], candidates[y]);
		}
	}
	return std::nullopt;
}

} // namespace witness
