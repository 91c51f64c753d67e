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

TEST(StoredLeaf, TooFewStoredBytesNeverMatch)
{
	// An emptied column must not let any content pass as its entry's.
	EXPECT_FALSE(sealed_leaf(nullptr, 0, &kLeaf).matches);
	EXPECT_EQ(sealed_leaf(nullptr, 0, &kLeaf).leaf, Hash{});
	EXPECT_FALSE(sealed_leaf(kLeaf.data(), kStoredLeafPrefix - 1, &kLeaf).matches);
}

TEST(StoredLeaf, MoreThan32StoredBytesNeverMatch)
{
	uint8_t longer[40] = {};
	std::copy(kLeaf.begin(), kLeaf.end(), longer);
	const auto s = sealed_leaf(longer, sizeof(longer), &kLeaf);
	EXPECT_FALSE(s.matches);
	EXPECT_FALSE(s.partial);
	EXPECT_EQ(s.leaf, kLeaf);
}
