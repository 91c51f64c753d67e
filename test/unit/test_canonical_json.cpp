// Canonical JSON: member order, duplicates, string escaping, verbatim numbers, rejection of bad input.
#include "canonical_json.hpp"

#include <algorithm>
#include <string>
#include <vector>

#include <gtest/gtest.h>

using witness::append_json_string;
using witness::canonical_json;
using witness::check_jsonb_input;
using witness::json_is_valid;
using witness::json_number_as_numeric;
using witness::JsonbInputRules;
using witness::JsonError;

namespace
{

std::string canon(std::string_view in)
{
	std::string out;
	canonical_json(in, out);
	return out;
}

std::string json_quoted(std::string_view s)
{
	std::string out;
	append_json_string(s, out);
	return out;
}

} // namespace

TEST(CanonicalJson, DropsWhitespace)
{
	EXPECT_EQ(canon(" \t\r\n{ \"b\" : 1 ,\n\"a\" : [ 1 , 2 , { } , [ ] ] } \n"), R"({"a":[1,2,{},[]],"b":1})");
	EXPECT_EQ(canon("{ }"), "{}");
	EXPECT_EQ(canon("[ ]"), "[]");
}

TEST(CanonicalJson, Scalars)
{
	EXPECT_EQ(canon("true"), "true");
	EXPECT_EQ(canon(" false "), "false");
	EXPECT_EQ(canon("null"), "null");
	EXPECT_EQ(canon("\"x\""), "\"x\"");
	EXPECT_EQ(canon("-12.5e3"), "-12.5e3");
}

TEST(CanonicalJson, SortsKeysBytewiseWithPrefixesFirst)
{
	EXPECT_EQ(canon(R"({"b":3,"ab":1,"a":2,"":0})"), R"({"":0,"a":2,"ab":1,"b":3})");
	// jsonb prints shorter keys first; canonical order is plain byte order.
	EXPECT_EQ(canon(R"({"b": 1, "aa": 2})"), R"({"aa":2,"b":1})");
	EXPECT_EQ(canon(R"({"a":1,"B":2,"_":3})"), R"({"B":2,"_":3,"a":1})");
}

TEST(CanonicalJson, SortsNonAsciiKeysAsUtf8Bytes)
{
	// Z (5a) < z (7a) < DEL (7f) < é (c3 a9) < 日 (e6 97 a5) < ｡ (ef bd a1) < 😀 (f0 9f 98 80).
	// UTF-16 order would put 😀 (d83d) before ｡ (ff61).
	EXPECT_EQ(
	    canon("{\"\xF0\x9F\x98\x80\":1,\"\xEF\xBD\xA1\":2,\"\xE6\x97\xA5\":3,\"\xC3\xA9\":4,\"\x7f\":5,"
	          "\"z\":6,\"Z\":7}"),
	    "{\"Z\":7,\"z\":6,\"\x7f\":5,\"\xC3\xA9\":4,\"\xE6\x97\xA5\":3,\"\xEF\xBD\xA1\":2,\"\xF0\x9F\x98\x80\":1}");
}

TEST(CanonicalJson, SortsByDecodedKeyNotByEscapedForm)
{
	// '!' 21 < '"' 22 < '#' 23, although the escaped \" starts with a backslash (5c).
	EXPECT_EQ(canon(R"({"#":1,"\"":2,"!":3})"), R"({"!":3,"\"":2,"#":1})");
	// \u escapes are decoded before comparing, and decoded keys are written raw.
	EXPECT_EQ(canon(R"({"\u00e9":1,"f":2})"), "{\"f\":2,\"\xC3\xA9\":1}");
}

TEST(CanonicalJson, DuplicateKeysLastWins)
{
	EXPECT_EQ(canon(R"({"a":1,"b":2,"a":3})"), R"({"a":3,"b":2})");
	EXPECT_EQ(canon(R"({"a":1,"a":2,"a":{"x":1,"x":[2]}})"), R"({"a":{"x":[2]}})");
	EXPECT_EQ(canon(R"({"a":1,"\u0061":2})"), R"({"a":2})");
	EXPECT_EQ(canon(R"({"z":0,"a":{"k":1,"k":2},"a":{"k":3}})"), R"({"a":{"k":3},"z":0})");
}

// The count of dropped members is what an export reader refuses a value for.
TEST(CanonicalJson, CountsTheMembersDuplicatesDropped)
{
	std::string out;
	EXPECT_EQ(witness::canonical_json(R"({"a":1,"b":[{"c":1}]})", out), 0u);
	out.clear();
	EXPECT_EQ(witness::canonical_json(R"({"a":1,"a":2,"a":{"x":1,"x":[2]}})", out), 3u);
	out.clear();
	EXPECT_EQ(witness::canonical_json(R"([{"k":1,"k":2},{"k":3}])", out), 1u);
	// Each call counts its own.
	out.clear();
	EXPECT_EQ(witness::canonical_json(R"({"k":3})", out), 0u);
}

TEST(CanonicalJson, NestedContainers)
{
	EXPECT_EQ(canon(R"({"b":{"y":1,"x":2},"a":[{"d":1,"c":2},[3,{"f":null,"e":true}]]})"),
	          R"({"a":[{"c":2,"d":1},[3,{"e":true,"f":null}]],"b":{"x":2,"y":1}})");
	EXPECT_EQ(canon(R"([{"b":1,"a":2},{"d":3,"c":4}])"), R"([{"a":2,"b":1},{"c":4,"d":3}])");
}

TEST(CanonicalJson, StringEscapes)
{
	EXPECT_EQ(canon(R"("\"\\\/\b\f\n\r\t")"), R"("\"\\/\b\f\n\r\t")");
	EXPECT_EQ(canon(R"("\u0001\u001F\u000b\u0008\u000A")"), R"("\u0001\u001f\u000b\b\n")");
	EXPECT_EQ(canon(R"("\u007f")"), "\"\x7f\"");
	EXPECT_EQ(canon("\"\x7f\""), "\"\x7f\"");
	EXPECT_EQ(canon(R"("\u00E9\u65e5")"), "\"\xC3\xA9\xE6\x97\xA5\"");
	EXPECT_EQ(canon(R"("\ud83d\ude00")"), "\"\xF0\x9F\x98\x80\"");
	EXPECT_EQ(canon(R"("\uD83D\uDE00")"), "\"\xF0\x9F\x98\x80\"");
	EXPECT_EQ(canon("\"\xF0\x9F\x98\x80 caf\xC3\xA9\""), "\"\xF0\x9F\x98\x80 caf\xC3\xA9\"");
	EXPECT_EQ(canon(R"("\u0020")"), "\" \"");
}

TEST(CanonicalJson, RejectsBadStrings)
{
	for (const char *bad : {
	         R"("\u0000")",          // NUL
	         R"("\ud83d")",          // lone high surrogate
	         R"("\ud83dx")",         // high surrogate then text
	         R"("\ud83d\u0041")",    // high surrogate then non-surrogate
	         R"("\ud83d\ud83d")",    // two high surrogates
	         R"("\ude00")",          // lone low surrogate
	         R"("\u12")",            // truncated escape
	         R"("\u12g4")",          // bad hex
	         R"("\x41")",            // unknown escape
	         R"("\')",               // unknown escape
	         "\"a\tb\"",             // raw control character
	         "\"a\nb\"",             // raw newline
	         "\"a\x01\"",            // raw control character
	         "\"abc",                // unterminated
	         "\"abc\\",              // unterminated after backslash
	         "\"\xff\"",             // invalid UTF-8 byte
	         "\"\xc3\"",             // truncated sequence
	         "\"\xc0\xaf\"",         // overlong
	         "\"\xe0\x80\xaf\"",     // overlong
	         "\"\xed\xa0\x80\"",     // UTF-8 encoded surrogate
	         "\"\xf4\x90\x80\x80\"", // above U+10FFFF
	     }) {
		EXPECT_THROW(canon(bad), JsonError) << bad;
		EXPECT_FALSE(json_is_valid(bad)) << bad;
	}
}

TEST(CanonicalJson, NumbersVerbatim)
{
	const char *in = "[0, -0, 1.50, 1E+2, 1e-7, 0.0, -0.000, 12345678901234567890123456789, 2.5E10, 10e0]";
	EXPECT_EQ(canon(in), "[0,-0,1.50,1E+2,1e-7,0.0,-0.000,12345678901234567890123456789,2.5E10,10e0]");
	EXPECT_EQ(canon(R"({"n":100.000})"), R"({"n":100.000})");
}

TEST(CanonicalJson, RejectsBadNumbers)
{
	for (const char *bad : {"01", "-01", "1.", ".5", "-", "+1", "1e", "1e+", "0x1", "NaN", "Infinity", "-Infinity",
	                        "1.e3", "--1", "1 2", "[1.]", "[00]"}) {
		EXPECT_THROW(canon(bad), JsonError) << bad;
		EXPECT_FALSE(json_is_valid(bad)) << bad;
	}
}

TEST(CanonicalJson, RejectsInvalidDocuments)
{
	for (const char *bad : {"",
	                        " ",
	                        "{",
	                        "}",
	                        "[",
	                        "]",
	                        "[1,]",
	                        "[,1]",
	                        "[1 2]",
	                        "{\"a\"}",
	                        "{\"a\":}",
	                        "{\"a\":1,}",
	                        "{,}",
	                        "{a:1}",
	                        "{'a':1}",
	                        "{1:1}",
	                        "'a'",
	                        "tru",
	                        "nul",
	                        "falsey",
	                        "True",
	                        "[1]x",
	                        "{}}",
	                        "{\"a\":1}}",
	                        "\xef\xbb\xbf{}",
	                        "[1]\x0b",
	                        "\x0c[1]",
	                        "{\"a\" 1}",
	                        "{\"a\":1 \"b\":2}"}) {
		EXPECT_THROW(canon(bad), JsonError) << bad;
		EXPECT_FALSE(json_is_valid(bad)) << bad;
	}
	std::string with_nul("[1]\0", 4);
	EXPECT_THROW(canon(with_nul), JsonError);
	EXPECT_FALSE(json_is_valid(with_nul));
}

TEST(CanonicalJson, ErrorMessageNamesPosition)
{
	try {
		canon("[1, x]");
		FAIL() << "expected JsonError";
	} catch (const JsonError &e) {
		EXPECT_NE(std::string(e.what()).find("byte 4"), std::string::npos) << e.what();
	}
}

// Nesting is not limited (it was to 1000 levels, which PostgreSQL's jsonb exceeds); test_deep_json.cpp
// goes to 50,000 levels on a small stack.
TEST(CanonicalJson, DepthLimit)
{
	auto nested = [](int depth, bool objects) {
		std::string s;
		for (int i = 0; i < depth; i++)
			s += objects ? "{\"k\":" : "[";
		s += "1";
		for (int i = 0; i < depth; i++)
			s += objects ? "}" : "]";
		return s;
	};
	for (bool objects : {false, true}) {
		std::string ok = nested(1000, objects);
		EXPECT_EQ(canon(ok), ok);
		EXPECT_TRUE(json_is_valid(ok));
		std::string deep = nested(1001, objects);
		EXPECT_EQ(canon(deep), deep);
		EXPECT_TRUE(json_is_valid(deep));
	}
	// Far too deep input fails cleanly, without exhausting the stack.
	std::string huge(1000000, '[');
	EXPECT_THROW(canon(huge), JsonError);
	EXPECT_FALSE(json_is_valid(huge));
}

TEST(CanonicalJson, AppendsAndLeavesOutputUntouchedOnError)
{
	std::string out = "prefix:";
	canonical_json(R"({"b":1,"a":2})", out);
	EXPECT_EQ(out, R"(prefix:{"a":2,"b":1})");
	EXPECT_THROW(canonical_json(R"({"b":1,"a":[2,)", out), JsonError);
	EXPECT_EQ(out, R"(prefix:{"a":2,"b":1})");
}

TEST(CanonicalJson, Idempotent)
{
	for (const char *in : {R"({"b":[{"z":1,"y":"\u0001\n"}],"a":"\u00e9","a ":1.0e5})", R"([" \\ ",null,{}])"}) {
		std::string once = canon(in);
		EXPECT_EQ(canon(once), once);
	}
}

TEST(CanonicalJson, ManyMembersSorted)
{
	// Keys k999..k0 in reverse, plus duplicates of every tenth key later on.
	std::string in = "{";
	std::vector<std::string> keys;
	for (int i = 999; i >= 0; i--) {
		in += "\"k" + std::to_string(i) + "\":" + std::to_string(i) + ",";
		keys.push_back("k" + std::to_string(i));
	}
	for (int i = 0; i < 1000; i += 10)
		in += "\"k" + std::to_string(i) + "\":-" + std::to_string(i) + ",";
	in.back() = '}';
	std::sort(keys.begin(), keys.end());
	std::string expected = "{";
	for (const std::string &k : keys) {
		int i = std::stoi(k.substr(1));
		expected += "\"" + k + "\":" + (i % 10 == 0 ? "-" : "") + std::to_string(i) + ",";
	}
	expected.back() = '}';
	EXPECT_EQ(canon(in), expected);
}

TEST(CanonicalJson, IsValid)
{
	for (const char *good : {"1", " \"x\" ", "{}", "[]", R"({"a":[1,{"b":null}],"a":2})", "-0.5e-3", "\"\x7f\""})
		EXPECT_TRUE(json_is_valid(good)) << good;
}

TEST(AppendJsonString, EscapingRule)
{
	EXPECT_EQ(json_quoted(""), "\"\"");
	EXPECT_EQ(json_quoted("plain / text"), "\"plain / text\"");
	EXPECT_EQ(json_quoted("\"\\"), R"("\"\\")");
	EXPECT_EQ(json_quoted("\b\t\n\f\r"), R"("\b\t\n\f\r")");
	EXPECT_EQ(json_quoted(std::string("\x00\x01\x0b\x0e\x1f", 5)), R"("\u0000\u0001\u000b\u000e\u001f")");
	EXPECT_EQ(json_quoted("\x7f"), "\"\x7f\"");
	EXPECT_EQ(json_quoted("Zo\xC3\xAB \xF0\x9F\x98\x80"), "\"Zo\xC3\xAB \xF0\x9F\x98\x80\"");
	std::string out = "x";
	append_json_string("y", out);
	EXPECT_EQ(out, "x\"y\"");
}

// Long strings are sized exactly before they are written; the text is the same as the short path's.
TEST(CanonicalJson, LongStringsSizedExactly)
{
	std::string all;
	for (int c = 0; c < 256; c++)
		all += static_cast<char>(c);
	std::string quoted;
	witness::append_json_string(all, quoted);
	EXPECT_EQ(witness::json_string_len(all.data(), all.size()), quoted.size());
	std::string big;
	while (big.size() <= (size_t(1) << 16))
		big += all;
	std::string expected(witness::json_string_max_len(big.size()), '\0');
	expected.resize(witness::write_json_string(big.data(), big.size(), expected.data()));
	std::string out = "x";
	append_json_string(big, out);
	EXPECT_EQ(out, "x" + expected);
	EXPECT_EQ(witness::json_string_len(big.data(), big.size()), expected.size());
	EXPECT_EQ(witness::json_string_room(big.data(), big.size()), expected.size());
	EXPECT_EQ(witness::json_string_room(all.data(), all.size()), witness::json_string_max_len(all.size()));
	EXPECT_LT(out.capacity(), expected.size() * 2) << "room for six bytes a byte was reserved";
}

// The range of PostgreSQL 15's numeric, as jsonb input enforces it: each case below was checked with
// SELECT '<number>'::jsonb, and numeric's text length with length(('<number>'::jsonb)::text).
TEST(JsonbInput, NumbersWithinNumericRange)
{
	const struct {
		const char *number;
		size_t printed; // 0: PostgreSQL refuses it (22003, value overflows numeric format)
	} cases[] = {
	    {"0", 1},
	    {"-0", 1},
	    {"-0.0", 3},
	    {"1.50", 4},
	    {"1e2", 3},
	    {"100e-2", 4},
	    {"0.001e3", 1},
	    {"-12.5E+1", 4},
	    {"1e131071", 131072},
	    {"9.9999e131071", 131072},
	    {"-1e131071", 131073},
	    {"0.001e131074", 131072},
	    {"1e-16383", 16385},
	    {"1.5e-16382", 16385},
	    {"0e-16383", 16385},
	    {"0e1073741822", 1},
	    {"1e131072", 0},
	    {"10e131071", 0},
	    {"1e1000000", 0},
	    {"1e-16384", 0},
	    {"12e-16384", 0},
	    {"0e-16384", 0},
	    {"0.0000000000e-16374", 0},
	    {"1e-20000", 0},
	    {"1e-131072", 0},
	    {"0e1073741823", 0},
	    {"1e99999999999999999999999", 0},
	    {"1e000000000000000000000005", 6},
	};
	for (const auto &c : cases) {
		size_t printed = 0;
		EXPECT_EQ(json_number_as_numeric(c.number, &printed), c.printed != 0) << c.number;
		if (c.printed != 0) {
			EXPECT_EQ(printed, c.printed) << c.number;
		}
	}
}

TEST(JsonbInput, RefusesWhatJsonbRefuses)
{
	const JsonbInputRules utf8;
	EXPECT_EQ(check_jsonb_input(R"({"a": 1})", utf8), 8u);
	EXPECT_EQ(check_jsonb_input(R"({"a": 1e6})", utf8), 14u); // 1e6 prints as 1000000
	EXPECT_EQ(check_jsonb_input(R"({"a": "\u00e9"})", utf8), 15u);
	try {
		check_jsonb_input(R"({"session": "s", "n": [1, 1e1000000]})", utf8);
		FAIL();
	} catch (const JsonError &e) {
		EXPECT_STREQ(e.what(), "the number at byte 26 is outside the range of PostgreSQL's numeric type");
	}
	EXPECT_THROW(check_jsonb_input(R"({"a": "\u0000"})", utf8), JsonError);
	EXPECT_THROW(check_jsonb_input(R"({"a": )", utf8), JsonError);
	EXPECT_THROW(check_jsonb_input("{\"a\": \"\xff\"}", utf8), JsonError);
	JsonbInputRules other_encoding;
	other_encoding.unicode_escapes_beyond_ascii = false;
	EXPECT_EQ(check_jsonb_input(R"({"a": "\u0041"})", other_encoding), 15u);
	try {
		check_jsonb_input(R"({"a": "\u00e9"})", other_encoding);
		FAIL();
	} catch (const JsonError &e) {
		EXPECT_STREQ(e.what(), "the \\u escape at byte 7 needs a UTF8 database: it is beyond U+007F");
	}
	// In a LATIN1 database "é" is the single byte 0xe9: not UTF-8, but valid text of the database.
	EXPECT_THROW(check_jsonb_input("{\"caf\xe9\": \"\xe9t\xe9\"}", other_encoding), JsonError);
	other_encoding.strings_are_utf8 = false;
	EXPECT_EQ(check_jsonb_input("{\"caf\xe9\": \"\xe9t\xe9\"}", other_encoding), 15u);
	EXPECT_THROW(check_jsonb_input("{\"caf\xe9\": \"\\u00e9\"}", other_encoding), JsonError);
	EXPECT_THROW(check_jsonb_input("{\"a\": \"\x01\"}", other_encoding), JsonError);
}

// The export reads a payload's nesting before making it jsonb, whose recursive input would exhaust the
// stack on a value nested some 14,500 deep (an attack review).
TEST(JsonNestingDepth, CountsArraysAndObjectsOutsideStrings)
{
	EXPECT_EQ(witness::json_nesting_depth("1"), 0u);
	EXPECT_EQ(witness::json_nesting_depth("\"[[[{\""), 0u);
	EXPECT_EQ(witness::json_nesting_depth("{}"), 1u);
	EXPECT_EQ(witness::json_nesting_depth("{\"a\":[1,{\"b\":[]}],\"c\":[]}"), 4u);
	EXPECT_EQ(witness::json_nesting_depth("[\"\\\"[\",[\"\\\\\"],[[]]]"), 3u);
	EXPECT_EQ(witness::json_nesting_depth("]]]["), 1u);
	EXPECT_EQ(witness::json_nesting_depth(std::string(20000, '[') + std::string(20000, ']')), 20000u);
	EXPECT_EQ(witness::json_nesting_depth(""), 0u);
}
