// The key a row had before an UPDATE (row_key_change.hpp): what witness.entity_history() finds a row
// by after an UPDATE changed its key.
#include "row_key_change.hpp"

#include <string>

#include <gtest/gtest.h>

#include "canonical_json.hpp"

using namespace witness;

TEST(RowKeyChange, KeyColumnChangedGivesTheOldKey)
{
	std::string out;
	ASSERT_TRUE(old_row_key(R"({"id":9001})", R"({"balance":5,"email":"a@x","id":9})", out));
	EXPECT_EQ(out, R"({"id":9})");
}

TEST(RowKeyChange, OnlyTheChangedColumnsOfACompositeKey)
{
	std::string out;
	ASSERT_TRUE(old_row_key(R"({"a":1,"b":"two","c":[3]})", R"({"b":"old \"b\"","x":{"a":7}})", out));
	EXPECT_EQ(out, R"({"a":1,"b":"old \"b\"","c":[3]})");
}

TEST(RowKeyChange, KeyKeptGivesNothing)
{
	std::string out = "untouched";
	EXPECT_FALSE(old_row_key(R"({"id":1})", R"({"balance":5})", out));
	EXPECT_FALSE(old_row_key(R"({"id":1})", R"({})", out));
	// A member named like a key column inside a changed value is not the key column.
	EXPECT_FALSE(old_row_key(R"({"id":1})", R"({"doc":{"id":2}})", out));
	EXPECT_EQ(out, "untouched");
}

TEST(RowKeyChange, ReadsJsonbTextWithSpacesAndEscapedNames)
{
	std::string out;
	ASSERT_TRUE(old_row_key(R"({"id": 2, "k\u00e9y": "x"})", R"({"k\u00e9y": "y", "v": null})", out));
	EXPECT_EQ(out, "{\"id\":2,\"k\xc3\xa9y\":\"y\"}");
}

TEST(RowKeyChange, RefusesWhatIsNotAnObject)
{
	std::string out;
	EXPECT_THROW(old_row_key("[1]", "{}", out), JsonError);
	EXPECT_THROW(old_row_key("{}", "null", out), JsonError);
	EXPECT_THROW(old_row_key(R"({"id":1)", "{}", out), JsonError);
}
