// The entry ids a verification has met (core/entry_id_set.hpp).
#include <gtest/gtest.h>

#include <cstdint>

#include "entry_id_set.hpp"

using witness::EntryIdSet;

TEST(EntryIdSet, FindsAnIdMetTwice)
{
	EntryIdSet s;
	EXPECT_TRUE(s.insert(1));
	EXPECT_TRUE(s.insert(2));
	EXPECT_FALSE(s.insert(1));
	EXPECT_TRUE(s.insert(INT64_MAX));
	EXPECT_FALSE(s.insert(INT64_MAX));
	// Negative ids (only tampering makes them) and ids a chunk apart are told apart.
	EXPECT_TRUE(s.insert(-1));
	EXPECT_TRUE(s.insert(INT64_MIN));
	EXPECT_FALSE(s.insert(-1));
	EXPECT_TRUE(s.insert(1 + (int64_t{1} << 15)));
}

// A chunk turns from a list into a bitmap past 2,048 ids, and keeps what it held.
TEST(EntryIdSet, DenseChunksKeepEveryId)
{
	EntryIdSet s;
	for (int64_t id = 0; id < 40000; id += 3)
		ASSERT_TRUE(s.insert(id)) << id;
	for (int64_t id = 0; id < 40000; id++)
		ASSERT_EQ(s.insert(id), id % 3 != 0) << id;
}

// An attempt run again another way takes its own ids out first (the database's verification of a
// block streamed in heap order, then sorted).
TEST(EntryIdSet, RollbackTakesOutWhatWasInsertedSinceMark)
{
	EntryIdSet s;
	for (int64_t id = 1; id <= 10; id++)
		s.insert(id);
	s.mark();
	for (int64_t id = 5000; id < 9000; id++)
		s.insert(id);
	EXPECT_TRUE(s.insert(11));
	EXPECT_FALSE(s.insert(3)); // met before the mark: not logged
	s.rollback();
	for (int64_t id = 5000; id < 9000; id++)
		ASSERT_TRUE(s.insert(id)) << id;
	EXPECT_TRUE(s.insert(11));
	EXPECT_FALSE(s.insert(3));
	s.mark();
	s.insert(20000);
	s.commit();
	s.rollback(); // nothing logged after commit
	EXPECT_FALSE(s.insert(20000));
}
