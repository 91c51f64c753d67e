// pg_snapshot parsing (PostgreSQL's text format) and pg_visible_in_snapshot() semantics.
#include "snapshot.hpp"

#include <stdexcept>
#include <string>

#include <gtest/gtest.h>

using namespace witness;

TEST(Snapshot, ParsesEmptyXip)
{
	const Snapshot s = parse_snapshot("10:10:");
	EXPECT_EQ(s.xmin, 10u);
	EXPECT_EQ(s.xmax, 10u);
	EXPECT_TRUE(s.xip.empty());
}

TEST(Snapshot, ParsesXipList)
{
	const Snapshot s = parse_snapshot("10:20:10,14,19");
	EXPECT_EQ(s.xmin, 10u);
	EXPECT_EQ(s.xmax, 20u);
	EXPECT_EQ(s.xip, (std::vector<uint64_t>{10, 14, 19}));
}

TEST(Snapshot, ParsesLargestXid8)
{
	const Snapshot s = parse_snapshot("18446744073709551614:18446744073709551615:18446744073709551614");
	EXPECT_EQ(s.xmax, UINT64_MAX);
	EXPECT_EQ(s.xip.size(), 1u);
	EXPECT_FALSE(s.visible(UINT64_MAX - 1));
	EXPECT_TRUE(s.visible(UINT64_MAX - 2));
}

TEST(Snapshot, RejectsMalformedText)
{
	for (const char *bad : {"", "10", "10:", "10:20", "10:20:,", "10:20:11,", "10:20:,11", "10:20:11,,12",
	                        "a:20:", "10:b:", "-1:20:", "+10:20:", " 10:20:", "10:20: ", "10 :20:", "10:20:11;12",
	                        "18446744073709551616:18446744073709551617:", "10:20:11:", "0x10:20:"})
		EXPECT_THROW(parse_snapshot(bad), std::invalid_argument) << bad;
}

TEST(Snapshot, RejectsInconsistentValues)
{
	EXPECT_THROW(parse_snapshot("20:10:"), std::invalid_argument);      // xmin > xmax
	EXPECT_THROW(parse_snapshot("10:20:9"), std::invalid_argument);     // xip below xmin
	EXPECT_THROW(parse_snapshot("10:20:20"), std::invalid_argument);    // xip not below xmax
	EXPECT_THROW(parse_snapshot("10:10:10"), std::invalid_argument);    // empty range
	EXPECT_THROW(parse_snapshot("10:20:14,12"), std::invalid_argument); // unsorted
	EXPECT_THROW(parse_snapshot("10:20:12,12"), std::invalid_argument); // duplicate
}

TEST(Snapshot, ErrorMessageNamesTheText)
{
	try {
		parse_snapshot("10:20:25");
		FAIL();
	} catch (const std::invalid_argument &e) {
		EXPECT_NE(std::string(e.what()).find("10:20:25"), std::string::npos);
	}
}

TEST(Snapshot, VisibilityFollowsPgVisibleInSnapshot)
{
	const Snapshot s = parse_snapshot("100:110:100,105,109");
	EXPECT_TRUE(s.visible(0));
	EXPECT_TRUE(s.visible(99));
	EXPECT_FALSE(s.visible(100)); // in progress
	EXPECT_TRUE(s.visible(101));
	EXPECT_TRUE(s.visible(104));
	EXPECT_FALSE(s.visible(105));
	EXPECT_TRUE(s.visible(108));
	EXPECT_FALSE(s.visible(109));
	EXPECT_FALSE(s.visible(110)); // xmax: not yet started
	EXPECT_FALSE(s.visible(UINT64_MAX));
}

TEST(Snapshot, VisibilityWithEmptyRange)
{
	const Snapshot s = parse_snapshot("10:10:");
	EXPECT_TRUE(s.visible(9));
	EXPECT_FALSE(s.visible(10));
	EXPECT_FALSE(s.visible(11));
	const Snapshot zero = parse_snapshot("0:0:");
	EXPECT_FALSE(zero.visible(0));
}

TEST(Snapshot, VisibilityWithManyInProgress)
{
	std::string text = "1000:3000:";
	for (uint64_t x = 1000; x < 3000; x += 2)
		text += (x == 1000 ? "" : ",") + std::to_string(x);
	const Snapshot s = parse_snapshot(text);
	ASSERT_EQ(s.xip.size(), 1000u);
	for (uint64_t x = 990; x < 3010; x++)
		EXPECT_EQ(s.visible(x), x < 1000 || (x < 3000 && x % 2 == 1)) << x;
}

TEST(Snapshot, FormatsAsPostgreSqlPrints)
{
	for (const char *text : {"10:10:", "10:20:10,14,19", "1:2:1"})
		EXPECT_EQ(format_snapshot(parse_snapshot(text)), text);
}

// A block sealed inside a transaction stores that transaction's id as in progress.
TEST(Snapshot, WithInProgressAddsOwnTransactionId)
{
	const Snapshot s = parse_snapshot("100:120:105");
	// 95 below xmin lowers it; 110 joins xip; 105 is there already; 120 is invisible anyway.
	EXPECT_EQ(format_snapshot(with_in_progress(s, 95)), "95:120:95,105");
	EXPECT_EQ(format_snapshot(with_in_progress(s, 110)), "100:120:105,110");
	EXPECT_EQ(format_snapshot(with_in_progress(s, 105)), "100:120:105");
	EXPECT_EQ(format_snapshot(with_in_progress(s, 120)), "100:120:105");
	const Snapshot t = with_in_progress(s, 95);
	EXPECT_FALSE(t.visible(95));
	EXPECT_FALSE(t.visible(125));
	// What was visible and is not the id stays visible, below the old xmin too.
	EXPECT_TRUE(t.visible(96));
	EXPECT_TRUE(t.visible(101));
	EXPECT_TRUE(t.visible(119));
	EXPECT_NO_THROW(parse_snapshot(format_snapshot(t)));
}
