// RFC 9162 section 2.1 Merkle tree hash, inclusion proofs and their verification over SHA-256.
#include "merkle.hpp"

#include <algorithm>
#include <stdexcept>
#include <type_traits>

#include "interrupt.hpp"
#include "sha256.hpp"

namespace witness
{

namespace
{

// One digest context per thread, reused for every node of every tree.
Sha256 &hasher()
{
	thread_local Sha256 h;
	return h;
}

// H(0x01 || left || right), without asking whether to stop: for merkle_verify_inclusion, which may not
// throw and hashes at most 64 nodes.
Hash node_hash(const Hash &left, const Hash &right)
{
	static const unsigned char prefix = 0x01;
	Sha256 &h = hasher();
	h.update(&prefix, 1);
	h.update(left.data(), left.size());
	h.update(right.data(), right.size());
	return h.finish();
}

// Largest power of two strictly smaller than n (n >= 2): the size of the left subtree.
size_t split_point(size_t n)
{
	size_t k = 1;
	while (k < n - k) // k * 2 < n without overflow
		k <<= 1;
	return k;
}

// MTH(D[begin:end]) for a non-empty range; recursion depth is log2(n), no allocation.
Hash subtree_root(const Hash *leaves, size_t n)
{
	if (n == 1)
		return leaves[0];
	const size_t k = split_point(n);
	const Hash left = subtree_root(leaves, k);
	const Hash right = subtree_root(leaves + k, n - k);
	return merkle_node_hash(left, right);
}

} // namespace

Hash merkle_leaf_hash(std::string_view data)
{
	static const unsigned char prefix = 0x00;
	Sha256 &h = hasher();
	h.update(&prefix, 1);
	h.update(data);
	return h.finish();
}

Hash merkle_node_hash(const Hash &left, const Hash &right)
{
	poll_interrupt(); // trees of millions of leaves take seconds: every node may stop the computation
	return node_hash(left, right);
}

Hash merkle_root(const std::vector<Hash> &leaf_hashes)
{
	if (leaf_hashes.empty())
		return sha256("");
	return subtree_root(leaf_hashes.data(), leaf_hashes.size());
}

static_assert(std::is_trivially_destructible_v<MerkleFrontier>, "the glue keeps one in a frame ereport() can leave");

void MerkleFrontier::append(const Hash &leaf_hash)
{
	// Each trailing one bit of the count is a complete subtree of the same size as the new one: merge.
	Hash h = leaf_hash;
	for (uint64_t n = count_; (n & 1) != 0; n >>= 1)
		h = merkle_node_hash(subtrees_[--depth_], h);
	subtrees_[depth_++] = h;
	count_++;
}

Hash MerkleFrontier::root() const
{
	if (depth_ == 0)
		return sha256("");
	// RFC 9162 splits at the largest power of two below n: the largest subtree is the left side at the
	// top, and the rest folds in from the right.
	Hash r = subtrees_[depth_ - 1];
	for (size_t i = depth_ - 1; i-- > 0;)
		r = merkle_node_hash(subtrees_[i], r);
	return r;
}

std::vector<Hash> merkle_inclusion_proof(const std::vector<Hash> &leaf_hashes, size_t index)
{
	if (index >= leaf_hashes.size())
		throw std::out_of_range("merkle_inclusion_proof: leaf index out of range");
	// Walk down from the root: at each level the sibling subtree's root joins the path. The walk
	// visits levels top-down, and the path is ordered bottom-up, hence the final reverse.
	std::vector<Hash> path;
	const Hash *base = leaf_hashes.data();
	size_t n = leaf_hashes.size();
	size_t m = index;
	while (n > 1) {
		const size_t k = split_point(n);
		if (m < k) {
			path.push_back(subtree_root(base + k, n - k));
			n = k;
		} else {
			path.push_back(subtree_root(base, k));
			base += k;
			m -= k;
			n -= k;
		}
	}
	std::reverse(path.begin(), path.end());
	return path;
}

bool merkle_verify_inclusion(const Hash &leaf_hash, size_t index, size_t tree_size, const std::vector<Hash> &path,
                             const Hash &root) noexcept
{
	try {
		if (index >= tree_size)
			return false;
		size_t fn = index;
		size_t sn = tree_size - 1;
		Hash r = leaf_hash;
		for (const Hash &p : path) {
			if (sn == 0)
				return false;
			if ((fn & 1) != 0 || fn == sn) {
				r = node_hash(p, r);
				if ((fn & 1) == 0) {
					while ((fn & 1) == 0 && fn != 0) {
						fn >>= 1;
						sn >>= 1;
					}
				}
			} else {
				r = node_hash(r, p);
			}
			fn >>= 1;
			sn >>= 1;
		}
		return sn == 0 && r == root;
	} catch (...) {
		return false; // libcrypto failure: nothing is proven
	}
}

} // namespace witness
