// What a block's Merkle root covers for an entry that stores all or the first 8 bytes of its leaf hash.
#include "stored_leaf.hpp"

#include <gtest/gtest.h>

#include "sha256.hpp"

using witness::Hash;
using witness::kStoredLeafPrefix;
using witness::sealed_leaf;

namespace
{

const Hash kLeaf = witness::sha256("leaf");

Hash padded(const uint8_t *bytes, size_t len)
{
	Hash h{};
	std::copy(bytes, bytes + len, h.begin());
	return h;
}

} // namespace

TEST(StoredLeaf, FullHashThatMatches)
{
	const auto s = sealed_leaf(kLeaf.data(), kLeaf.size(), &kLeaf);
	EXPECT_TRUE(s.matches);
	EXPECT_FALSE(s.partial);
	EXPECT_EQ(s.leaf, kLeaf);
}

TEST(StoredLeaf, PrefixThatMatchesGivesTheRecomputedHash)
{
	const auto s = sealed_leaf(kLeaf.data(), kStoredLeafPrefix, &kLeaf);
	EXPECT_TRUE(s.matches);
	EXPECT_TRUE(s.partial);
	EXPECT_EQ(s.leaf, kLeaf);
}

TEST(StoredLeaf, ContentThatNoLongerMatchesGivesTheStoredBytes)
{
	const Hash other = witness::sha256("other");
	const auto full = sealed_leaf(kLeaf.data(), kLeaf.size(), &other);
	EXPECT_FALSE(full.matches);
	EXPECT_EQ(full.leaf, kLeaf); // as before prefixes: the stored hash
	const auto prefix = sealed_leaf(kLeaf.data(), kStoredLeafPrefix, &other);
	EXPECT_FALSE(prefix.matches);
	EXPECT_EQ(prefix.leaf, padded(kLeaf.data(), kStoredLeafPrefix));
}

TEST(StoredLeaf, ContentThatCannotBeHashed)
{
	const auto s = sealed_leaf(kLeaf.data(), kStoredLeafPrefix, nullptr);
	EXPECT_FALSE(s.matches);
	EXPECT_EQ(s.leaf, padded(kLeaf.data(), kStoredLeafPrefix));
}

TEST(StoredLeaf, OtherLengthsNeverMatchAndGiveZeros)
{
	// An emptied, cut or lengthened column must not let any content pass as its entry's, nor stand
	// for the hash it still holds.
	uint8_t longer[33] = {};
	std::copy(kLeaf.begin(), kLeaf.end(), longer);
	for (size_t len : {size_t(0), kStoredLeafPrefix - 1, kStoredLeafPrefix + 1, size_t(31), size_t(33)}) {
		const auto s = sealed_leaf(len ? longer : nullptr, len, &kLeaf);
		EXPECT_FALSE(s.matches) << len;
		EXPECT_EQ(s.leaf, Hash{}) << len;
	}
}

TEST(StoredLeaf, FormatOneStoresAll32)
{
	const auto cut = sealed_leaf(kLeaf.data(), kStoredLeafPrefix, &kLeaf, false);
	EXPECT_FALSE(cut.matches);
	EXPECT_EQ(cut.leaf, Hash{});
	EXPECT_TRUE(sealed_leaf(kLeaf.data(), kLeaf.size(), &kLeaf, false).matches);
}
