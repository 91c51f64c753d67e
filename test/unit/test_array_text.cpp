// One-dimensional array text, as capture stores array columns (statement_times of witness.activity).
#include "array_text.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

using namespace witness;

TEST(ArrayText, ReadsElements)
{
	EXPECT_TRUE(parse_array_text("{}").empty());
	auto v = parse_array_text(R"({"2026-12-08 00:55:59.533142+00","2026-12-08 00:56:19.342056+00"})");
	ASSERT_EQ(v.size(), 2u);
	EXPECT_EQ(*v[0], "2026-12-08 00:55:59.533142+00");
	EXPECT_EQ(*v[1], "2026-12-08 00:56:19.342056+00");
	v = parse_array_text("{-1,1,NULL,\"NULL\"}");
	ASSERT_EQ(v.size(), 4u);
	EXPECT_EQ(*v[0], "-1");
	EXPECT_EQ(*v[1], "1");
	EXPECT_FALSE(v[2].has_value());
	EXPECT_EQ(*v[3], "NULL");
	v = parse_array_text(R"({"a\"b","c\\d",""})");
	ASSERT_EQ(v.size(), 3u);
	EXPECT_EQ(*v[0], "a\"b");
	EXPECT_EQ(*v[1], "c\\d");
	EXPECT_EQ(*v[2], "");
}

TEST(ArrayText, RefusesOtherText)
{
	for (const char *bad : {"", "{", "}", "[1:2]={1,2}", "{{1,2},{3,4}}", "{1,}", "{,1}", "{1 ,2}", "{\"a}",
	                        "{\"a\"b}", "{1}x", "1,2", "{a\"b}"})
		EXPECT_THROW(parse_array_text(bad), std::invalid_argument) << bad;
}
