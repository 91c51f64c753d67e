// random_bytes: sizes, and that two draws differ (a broken generator returning a constant fails).
#include "random_bytes.hpp"

#include <set>
#include <string>

#include <gtest/gtest.h>

using witness::random_bytes;

TEST(RandomBytes, Sizes)
{
	EXPECT_EQ(random_bytes(0), "");
	EXPECT_EQ(random_bytes(1).size(), 1u);
	EXPECT_EQ(random_bytes(32).size(), 32u);
	EXPECT_EQ(random_bytes(100000).size(), 100000u);
}

TEST(RandomBytes, DrawsDiffer)
{
	std::set<std::string> seen;
	for (int i = 0; i < 100; i++)
		seen.insert(random_bytes(16));
	EXPECT_EQ(seen.size(), 100u);
}

// Not all zero, and every byte value shows up in 64 KiB (failing by chance: about 2^-362).
TEST(RandomBytes, LooksRandom)
{
	const std::string r = random_bytes(65536);
	std::set<unsigned char> values(r.begin(), r.end());
	EXPECT_EQ(values.size(), 256u);
}

// Pooled draws: the right length, never the same bytes twice, across a refill of the pool.
TEST(RandomBytes, PooledDrawsDifferAcrossRefills)
{
	std::set<std::string> seen;
	for (int i = 0; i < 300; i++) { // 300 x 32 bytes: more than two 4 kB pools
		unsigned char salt[32];
		witness::random_fill_pooled(salt, sizeof(salt));
		seen.insert(std::string(reinterpret_cast<char *>(salt), sizeof(salt)));
	}
	EXPECT_EQ(seen.size(), 300u);
	unsigned char big[257];
	EXPECT_THROW(witness::random_fill_pooled(big, sizeof(big)), std::invalid_argument);
}
