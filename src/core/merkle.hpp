// Merkle trees as in RFC 9162 (Certificate Transparency v2) section 2.1, over SHA-256:
// leaf hash H(0x00 || d), node hash H(0x01 || left || right), the largest-power-of-two split for
// other sizes, and the empty tree's root H("").
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "hash.hpp"

namespace witness
{

// H(0x00 || data).
Hash merkle_leaf_hash(std::string_view data);

// H(0x01 || left || right). Throws Interrupted when the host asks to stop (interrupt.hpp).
Hash merkle_node_hash(const Hash &left, const Hash &right);

// Root over leaf hashes (already H(0x00||d)) in order; SHA-256("") when empty.
Hash merkle_root(const std::vector<Hash> &leaf_hashes);

// The root of a tree whose leaves come one at a time, in order, without keeping them: the roots of
// the complete subtrees so far (one per bit set in the count, largest first), merged as they fill.
// root() equals merkle_root() over the same leaves; memory is 32 bytes per level, 64 levels at most.
// Trivially destructible (no heap), so that the glue may keep one in a frame ereport() can leave.
class MerkleFrontier
{
  public:
	void append(const Hash &leaf_hash);
	Hash root() const;
	uint64_t size() const { return count_; }

  private:
	std::array<Hash, 64> subtrees_{};
	size_t depth_ = 0;
	uint64_t count_ = 0;
};

// Audit path for leaf `index` (RFC 9162 2.1.3.1), ordered from the leaf upwards.
// Throws std::out_of_range when index >= leaf_hashes.size().
std::vector<Hash> merkle_inclusion_proof(const std::vector<Hash> &leaf_hashes, size_t index);

// Checks an audit path against a root (RFC 9162 2.1.3.2).
bool merkle_verify_inclusion(const Hash &leaf_hash, size_t index, size_t tree_size, const std::vector<Hash> &path,
                             const Hash &root) noexcept;

} // namespace witness
