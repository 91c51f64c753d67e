// JsonReader and the JSON document tree: numbers as text, decoded strings, source ranges, strictness.
#include "json_value.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

using namespace witness;

TEST(JsonValue, ParsesEveryType)
{
	const std::string text =
	    R"( {"a": null, "b": [true, false], "c": 1234.50, "d": "x\u00e9\"\n", "e": {"f": -1e+30}} )";
	const JsonValue v = parse_json(text);
	ASSERT_EQ(v.type, JsonType::Object);
	ASSERT_EQ(v.members.size(), 5u);
	EXPECT_EQ(v.find("a")->type, JsonType::Null);
	ASSERT_EQ(v.find("b")->items.size(), 2u);
	EXPECT_TRUE(v.find("b")->items[0].boolean);
	EXPECT_FALSE(v.find("b")->items[1].boolean);
	EXPECT_EQ(v.find("c")->text, "1234.50"); // verbatim, not 1234.5
	EXPECT_EQ(v.find("d")->text, "x\xc3\xa9\"\n");
	EXPECT_EQ(v.find("e")->find("f")->text, "-1e+30");
	EXPECT_EQ(v.find("e")->source(text), R"({"f": -1e+30})");
	EXPECT_EQ(v.find("zzz"), nullptr);
	EXPECT_EQ(v.find("c")->find("x"), nullptr);
}

TEST(JsonValue, SurrogatePairsAndRawUtf8)
{
	const JsonValue v = parse_json(R"(["\ud83d\ude00", "日本"])");
	EXPECT_EQ(v.items[0].text, "\xf0\x9f\x98\x80");
	EXPECT_EQ(v.items[1].text, "日本");
}

TEST(JsonValue, RejectsMalformedDocuments)
{
	for (const char *bad :
	     {"",         "{",        "{\"a\"}", "{\"a\":1,}",        "[1,]",        "[1 2]",           "01",
	      "1.",       "-",        "tru",     "\"\\u0000\"",       "\"\\ud800\"", "\"\\udc00\"",     "\"a\\x\"",
	      "\"\x01\"", "\"\xff\"", "{} x",    "{\"a\":1,\"a\":2}", "nul",         "[\"unterminated]"})
		EXPECT_THROW(parse_json(bad), JsonError) << bad;
}

// Nesting is not limited (it was to 1000 levels); test_deep_json.cpp goes to 50,000 on a small stack.
TEST(JsonValue, DepthLimit)
{
	EXPECT_NO_THROW(parse_json(std::string(999, '[') + std::string(999, ']')));
	EXPECT_NO_THROW(parse_json(std::string(1001, '[') + std::string(1001, ']')));
	EXPECT_THROW(parse_json(std::string(1001, '[') + std::string(1000, ']')), JsonError);
}

TEST(JsonReader, SkipValueReturnsTheText)
{
	const std::string text = R"({"k": {"s": "a\"}\\", "n": [1, {"x": "]"}]}, "next": 5})";
	JsonReader r(text);
	r.begin_object();
	bool first = true;
	std::string key;
	ASSERT_TRUE(r.next_member(first, key));
	EXPECT_EQ(key, "k");
	EXPECT_EQ(r.skip_value(), R"({"s": "a\"}\\", "n": [1, {"x": "]"}]})");
	ASSERT_TRUE(r.next_member(first, key));
	EXPECT_EQ(key, "next");
	EXPECT_EQ(r.peek(), JsonType::Number);
	EXPECT_EQ(r.skip_value(), "5");
	EXPECT_FALSE(r.next_member(first, key));
	r.end();
}

TEST(JsonReader, SkipValueRejectsUnterminatedText)
{
	for (const char *bad : {"{\"a\": [1, 2}", "\"abc", "[\"a\\\"]"}) {
		JsonReader r(bad);
		EXPECT_THROW(r.skip_value(), JsonError) << bad;
	}
}

TEST(JsonReader, Integers)
{
	EXPECT_EQ(json_integer("0"), 0);
	EXPECT_EQ(json_integer("-0"), 0);
	EXPECT_EQ(json_integer("9223372036854775807"), INT64_MAX);
	EXPECT_EQ(json_integer("-9223372036854775808"), INT64_MIN);
	for (const char *bad : {"9223372036854775808", "-9223372036854775809", "1.0", "1e3", "", "-", "12a"})
		EXPECT_THROW(json_integer(bad), JsonError) << bad;
}

// Duplicate keys are found by sorting, not by looking every key up among the previous ones: a digest
// of 80,000 members took seconds of a backend's time, growing quadratically.
TEST(JsonValue, LargeObjectsParseInLinearTime)
{
	std::string text = "{";
	for (int i = 0; i < 200000; i++)
		text += (i ? ",\"k" : "\"k") + std::to_string(i) + "\":" + std::to_string(i);
	const auto start = std::chrono::steady_clock::now();
	const JsonValue v = parse_json(text + "}");
	const auto elapsed = std::chrono::steady_clock::now() - start;
	EXPECT_EQ(v.members.size(), 200000u);
	EXPECT_EQ(v.find("k199999")->text, "199999");
	// About 0.1 s; the quadratic search took minutes.
	EXPECT_LT(elapsed, std::chrono::seconds(5));
	try {
		parse_json(text + ",\"k7\":1,\"k3\":2}");
		FAIL();
	} catch (const JsonError &e) {
		EXPECT_NE(std::string(e.what()).find("duplicate key \"k7\""), std::string::npos) << e.what();
	}
}

TEST(JsonValue, DuplicateKeyPositionAndNesting)
{
	try {
		parse_json(R"({"a": 1, "b": {"x": 1, "x": 2}})");
		FAIL();
	} catch (const JsonError &e) {
		EXPECT_STREQ(e.what(), "invalid JSON at byte 28: duplicate key \"x\"");
	}
	EXPECT_NO_THROW(parse_json(R"({"a": {"a": 1}, "b": [{"a": 1}, {"a": 2}]})"));
}

TEST(JsonValue, AValueBudgetBoundsTheTreeOfCraftedInput)
{
	EXPECT_EQ(parse_json("[1,2,3]", 4).items.size(), 3u);
	EXPECT_THROW(parse_json("[1,2,3]", 3), JsonError);
	EXPECT_THROW(parse_json(R"({"a":{"b":[true]}})", 3), JsonError);
	// A record's budget: 64 values at least, else one per 16 bytes.
	EXPECT_EQ(record_value_budget("{}"), 64u);
	std::string many = "[";
	for (int i = 0; i < 10000; i++)
		many += i == 0 ? "1" : ",1";
	many += "]";
	EXPECT_EQ(record_value_budget(many), many.size() / 16);
	EXPECT_THROW(parse_json(many, record_value_budget(many)), JsonError);
}
