// Nesting as deep as PostgreSQL's jsonb stores it (about 14,500 levels with the default
// max_stack_depth, far more when a DBA raises it): canonical JSON, validation, the document tree and
// export lines handle any depth on a small native stack, and write exactly what a reference writes.
#include <pthread.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <exception>
#include <fstream>
#include <functional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "block.hpp"
#include "canonical_json.hpp"
#include "entry_encoding.hpp"
#include "export_reader.hpp"
#include "export_verifier.hpp"
#include "json_value.hpp"
#include "merkle.hpp"
#include "sha256.hpp"

using namespace witness;
using namespace witness::tool;

namespace
{

constexpr int kDeep = 50000;

// Runs fn on a thread with a 256 KiB stack, so that any native recursion per nesting level (more than
// about 5 bytes a level at 50,000 levels) overflows it and crashes the test instead of passing unseen.
void on_small_stack(const std::function<void()> &fn)
{
	struct Call {
		const std::function<void()> *fn;
		std::exception_ptr error;
	} call{&fn, nullptr};
	pthread_attr_t attr;
	ASSERT_EQ(pthread_attr_init(&attr), 0);
	ASSERT_EQ(pthread_attr_setstacksize(&attr, 256 * 1024), 0);
	pthread_t thread;
	auto body = [](void *arg) -> void * {
		auto *c = static_cast<Call *>(arg);
		try {
			(*c->fn)();
		} catch (...) {
			c->error = std::current_exception();
		}
		return nullptr;
	};
	ASSERT_EQ(pthread_create(&thread, &attr, body, &call), 0);
	pthread_join(thread, nullptr);
	pthread_attr_destroy(&attr);
	if (call.error)
		std::rethrow_exception(call.error);
}

std::string canon(std::string_view in)
{
	std::string out;
	canonical_json(in, out);
	return out;
}

std::string repeat(std::string_view s, int n)
{
	std::string out;
	out.reserve(s.size() * static_cast<size_t>(n));
	for (int i = 0; i < n; i++)
		out.append(s.data(), s.size());
	return out;
}

// A JSON text and the canonical text docs/hashing.md prescribes for it, built side by side.
struct Sample {
	std::string text, canonical;
};

// Random JSON documents with their canonical form, written without the parser under test: random
// whitespace, escapes, unsorted and repeated keys. The spine is a chain of `depth` containers; the
// other values hang off it and nest at most 3 levels, so generating them recurses only that far.
class Reference
{
  public:
	// unsorted: the chance that an object of the spine lists its members out of order (its canonical
	// text then moves the whole inner value, so keep it small for deep documents).
	Reference(uint32_t seed, double unsorted) : rng_(seed), unsorted_(unsorted) {}

	Sample document(int depth)
	{
		std::vector<Sample> open, close; // text and canonical text before and after the inner value
		for (int level = 0; level < depth; level++) {
			Sample before, after;
			if (coin(0.5))
				array_level(before, after);
			else
				object_level(before, after);
			open.push_back(std::move(before));
			close.push_back(std::move(after));
		}
		Sample doc;
		doc.text = ws();
		for (const Sample &s : open) {
			doc.text += s.text;
			doc.canonical += s.canonical;
		}
		const Sample leaf = value(3);
		doc.text += leaf.text;
		doc.canonical += leaf.canonical;
		for (size_t i = close.size(); i-- > 0;) {
			doc.text += close[i].text;
			doc.canonical += close[i].canonical;
		}
		doc.text += ws();
		return doc;
	}

  private:
	using Members = std::vector<std::pair<std::string, std::string>>; // key bytes, canonical "key":value

	std::mt19937 rng_;
	double unsorted_;

	bool coin(double p) { return std::uniform_real_distribution<double>(0, 1)(rng_) < p; }
	int below(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

	std::string ws()
	{
		static const char *const kSpaces[] = {"", "", "", " ", "\n", "\t", "\r\n  "};
		return kSpaces[below(7)];
	}

	// A string as written (maybe with escapes) and as canonical JSON writes it.
	Sample string()
	{
		static const char *const kWritten[] = {
		    "a",    "b",    "ab", "", "k", "z", "\\u00e9", "é", "\\\"", "\\n", "\\u0001", "\\/", "\\ud83d\\ude00",
		    "日本", "\x7f", "A"};
		static const char *const kCanonical[] = {"a",    "b",   "ab",      "",  "k", "z",    "é",    "é",
		                                         "\\\"", "\\n", "\\u0001", "/", "😀", "日本", "\x7f", "A"};
		const int n = 1 + below(2);
		Sample s{"\"", "\""};
		for (int i = 0; i < n; i++) {
			const int pick = below(16);
			s.text += kWritten[pick];
			s.canonical += kCanonical[pick];
		}
		s.text += '"';
		s.canonical += '"';
		return s;
	}

	// The decoded bytes of a key, as canonical JSON sorts them, from its canonical text.
	static std::string key_bytes(const std::string &canonical)
	{
		const std::string k = canonical.substr(1, canonical.size() - 2);
		std::string out;
		for (size_t i = 0; i < k.size(); i++) {
			if (k[i] != '\\') {
				out += k[i];
				continue;
			}
			const char e = k[++i];
			if (e == 'u') {
				out += static_cast<char>(std::stoi(k.substr(i + 1, 4), nullptr, 16));
				i += 4;
			} else {
				out += e == 'n' ? '\n' : e;
			}
		}
		return out;
	}

	Sample scalar()
	{
		static const char *const kScalars[] = {"0", "-1", "1234.50", "1e+30", "-0.0E-7", "true", "false", "null"};
		if (coin(0.3))
			return string();
		const char *s = kScalars[below(8)];
		return Sample{s, s};
	}

	Sample value(int depth)
	{
		if (depth == 0 || coin(0.5))
			return scalar();
		const bool object = coin(0.5);
		Members members;
		Sample v{object ? "{" : "[", object ? "{" : "["};
		const int n = below(4);
		for (int i = 0; i < n; i++) {
			v.text += (i ? "," : "") + ws();
			const Sample item = value(depth - 1);
			if (object) {
				const Sample key = string();
				v.text += key.text + ws() + ":" + ws();
				members.emplace_back(key_bytes(key.canonical), key.canonical + ":" + item.canonical);
			} else {
				v.canonical += (i ? "," : "") + item.canonical;
			}
			v.text += item.text + ws();
		}
		if (object)
			v.canonical += sorted(members);
		v.text += object ? "}" : "]";
		v.canonical += object ? "}" : "]";
		return v;
	}

	// The canonical members of an object given in input order: by key bytes, the last of equal keys.
	static std::string sorted(const Members &members)
	{
		std::vector<size_t> order;
		for (size_t i = 0; i < members.size(); i++) {
			bool later_duplicate = false;
			for (size_t j = i + 1; j < members.size(); j++)
				later_duplicate = later_duplicate || members[j].first == members[i].first;
			if (!later_duplicate)
				order.push_back(i);
		}
		std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
			const std::string &x = members[a].first, &y = members[b].first;
			const int c = std::memcmp(x.data(), y.data(), std::min(x.size(), y.size()));
			return c < 0 || (c == 0 && x.size() < y.size());
		});
		std::string out;
		for (size_t i : order)
			out += (out.empty() ? "" : ",") + members[i].second;
		return out;
	}

	void array_level(Sample &before, Sample &after)
	{
		const int n_before = below(3), n_after = below(3);
		before.text = "[" + ws();
		before.canonical = "[";
		for (int i = 0; i < n_before; i++) {
			const Sample v = value(2);
			before.text += v.text + ws() + "," + ws();
			before.canonical += v.canonical + ",";
		}
		after.text = ws();
		for (int i = 0; i < n_after; i++) {
			const Sample v = value(2);
			after.text += "," + ws() + v.text + ws();
			after.canonical += "," + v.canonical;
		}
		after.text += "]";
		after.canonical += "]";
	}

	// A member other than the spine's, key number `pick` of the sorted list; returns its text.
	std::string sibling(Members &members, int pick)
	{
		static const char *const kKeys[] = {"a", "ab", "b", "k\\n", "z", "é"}; // in canonical order
		static const char *const kOtherSpelling[] = {"\\u0061",  "a\\u0062", "\\u0062",
		                                             "k\\u000a", "\\u007a",  "\\u00e9"};
		const std::string key = std::string("\"") + (coin(0.3) ? kOtherSpelling[pick] : kKeys[pick]) + "\"";
		const std::string canonical_key = std::string("\"") + kKeys[pick] + "\"";
		const Sample v = value(2);
		members.emplace_back(key_bytes(canonical_key), canonical_key + ":" + v.canonical);
		return key + ws() + ":" + ws() + v.text + ws();
	}

	// One object of the spine. In order: the inner value is the member "\u0001spine", which sorts
	// first, and the others follow sorted and unique. Out of order: it is "m" among random members,
	// repeated keys included.
	void object_level(Sample &before, Sample &after)
	{
		const bool in_order = !coin(unsorted_);
		Members members;
		before.text = "{" + ws();
		for (int i = in_order ? 0 : below(3); i > 0; i--)
			before.text += sibling(members, below(6)) + "," + ws();
		const std::string spine_key = in_order ? "\"\\u0001spine\"" : "\"m\"";
		before.text += spine_key + ws() + ":" + ws();
		members.emplace_back(key_bytes(spine_key), "\x01"); // stands for "key":inner value
		after.text = ws();
		for (int pick = 0; pick < 6; pick++) {
			if (coin(0.3))
				after.text += "," + ws() + sibling(members, in_order ? pick : below(6));
		}
		after.text += "}";
		const std::string body = sorted(members);
		const size_t at = body.find('\x01');
		before.canonical = "{" + body.substr(0, at) + spine_key + ":";
		after.canonical = body.substr(at + 1) + "}";
	}
};

// `depth` arrays, or objects with members around the inner one, as canonical JSON.
std::string nested(int depth, bool objects)
{
	if (!objects)
		return repeat("[", depth) + "1" + repeat("]", depth);
	return repeat(R"({"a":[],"k":)", depth) + "1" + repeat(R"(,"z":{"b":null}})", depth);
}

} // namespace

TEST(DeepJson, CanonicalTextOfDeepArraysAndObjects)
{
	for (bool objects : {false, true}) {
		const std::string canonical = nested(kDeep, objects);
		// The same value with whitespace everywhere, which canonicalization removes.
		std::string spaced;
		for (char c : canonical)
			spaced += std::string(1, c) + (std::strchr("[]{}:,", c) != nullptr ? " \n" : "");
		std::string out, out_spaced;
		on_small_stack([&] {
			out = canon(canonical);
			out_spaced = canon(spaced);
		});
		EXPECT_TRUE(out == canonical) << "objects " << objects << ", output of " << out.size() << " bytes";
		EXPECT_TRUE(out_spaced == canonical) << "objects " << objects;
	}
}

TEST(DeepJson, DeepValuesMatchTheReference)
{
	// Depths a recursive parser handled, then far beyond; objects are out of order at random levels.
	struct Case {
		int depth, documents;
		double unsorted;
	};
	for (const Case c :
	     {Case{1, 300, 0.5}, Case{5, 300, 0.5}, Case{40, 100, 0.5}, Case{1001, 10, 0.05}, Case{kDeep, 2, 0.001}}) {
		for (int i = 0; i < c.documents; i++) {
			const uint32_t seed = static_cast<uint32_t>(c.depth * 1000 + i);
			const Sample s = Reference(seed, c.unsorted).document(c.depth);
			std::string out;
			bool valid = false;
			on_small_stack([&] {
				out = canon(s.text);
				valid = json_is_valid(s.text);
			});
			ASSERT_TRUE(out == s.canonical)
			    << "depth " << c.depth << ", seed " << seed << "\ninput:  " << s.text.substr(0, 2000)
			    << "\nwanted: " << s.canonical.substr(0, 2000) << "\ngot:    " << out.substr(0, 2000);
			ASSERT_TRUE(valid) << "depth " << c.depth << ", seed " << seed;
			ASSERT_EQ(canon(out), out) << "canonical text is a fixed point";
		}
	}
}

TEST(DeepJson, ValidationAndJsonbRulesAtDepth)
{
	for (bool objects : {false, true}) {
		const std::string deep = nested(kDeep, objects);
		bool valid = false;
		size_t bound = 0;
		on_small_stack([&] {
			valid = json_is_valid(deep);
			bound = check_jsonb_input(deep, JsonbInputRules{});
		});
		EXPECT_TRUE(valid);
		EXPECT_EQ(bound, deep.size());
	}
	// Errors deep inside still name their byte, and fail cleanly.
	const std::string broken = repeat("[", kDeep) + "1," + repeat("]", kDeep);
	std::string message;
	bool valid = true;
	on_small_stack([&] {
		try {
			canon(broken);
		} catch (const JsonError &e) {
			message = e.what();
		}
		valid = json_is_valid(broken);
	});
	EXPECT_EQ(message, "invalid JSON at byte " + std::to_string(kDeep + 2) + ": expected a value");
	EXPECT_FALSE(valid);
	// Input that only opens containers fails at its end, without exhausting stack or memory.
	const std::string unclosed(2000000, '[');
	on_small_stack([&] {
		EXPECT_THROW(canon(unclosed), JsonError);
		EXPECT_FALSE(json_is_valid(unclosed));
		EXPECT_THROW(parse_json(unclosed.substr(0, 200000)), JsonError);
	});
}

TEST(DeepJson, DocumentTreeOfDeepValues)
{
	for (bool objects : {false, true}) {
		const std::string text = nested(kDeep, objects);
		int depth = 0;
		bool ranges_ok = true;
		std::string innermost;
		on_small_stack([&] {
			const JsonValue root = parse_json(text);
			const JsonValue *v = &root;
			while (v->type == (objects ? JsonType::Object : JsonType::Array)) {
				depth++;
				// Each level spans from its bracket to the matching one.
				ranges_ok = ranges_ok && v->source_begin == static_cast<size_t>(depth - 1) * (objects ? 12 : 1) &&
				            v->source(text).back() == (objects ? '}' : ']');
				v = objects ? v->find("k") : &v->items.at(0);
				if (v == nullptr)
					break;
			}
			if (v != nullptr)
				innermost = v->text;
			// root (50,000 levels) is destroyed here, on the small stack too.
		});
		EXPECT_EQ(depth, kDeep);
		EXPECT_TRUE(ranges_ok);
		EXPECT_EQ(innermost, "1");
	}
	// Duplicate keys are still found at any depth.
	const std::string dup = repeat(R"({"k":)", kDeep) + R"({"x":1,"x":2})" + repeat("}", kDeep);
	std::string message;
	on_small_stack([&] {
		try {
			parse_json(dup);
		} catch (const JsonError &e) {
			message = e.what();
		}
	});
	EXPECT_EQ(message, "invalid JSON at byte " + std::to_string(5 * kDeep + 11) + ": duplicate key \"x\"");
}

TEST(DeepJson, ExportOfADeepValueVerifies)
{
	// An INSERT of {"id": 1, "doc": <50,000 nested arrays>} into a tracked table, as exported.
	const std::string doc = nested(kDeep, false);
	const std::string new_values = R"({"doc":)" + doc + R"(,"id":1})";
	EntryView e;
	e.id = 7;
	e.xid = 750;
	e.stmt_time_us = 1700000000000000;
	e.op = 'I';
	e.schema_name = TextField{true, "public", 6};
	e.table_name = TextField{true, "docs", 4};
	e.tags = 16;
	e.row_key = JsonDoc{true, nullptr, 0, R"({"id":1})", 8};
	e.new_values = JsonDoc{true, nullptr, 0, new_values.data(), new_values.size()};
	e.session_user = TextField{true, "writer", 6};
	e.current_user = TextField{true, "writer", 6};
	e.backend_pid = 4242;
	const Hash leaf = entry_leaf_hash(e);

	BlockHeader h;
	h.block_no = 1;
	h.snapshot = "751:751:";
	h.entry_count = 1;
	h.has_entry_ids = true;
	h.first_entry_id = h.last_entry_id = 7;
	h.merkle_root = merkle_root({leaf});
	h.sealed_at_us = 1700000005000000;
	const std::string header = R"({"type":"header","format":1,"database":"1/db","highest_block_no":1})";
	const std::string block = R"({"type":"block","block_no":1,"snapshot":"751:751:","entry_count":1,)"
	                          R"("first_entry_id":7,"last_entry_id":7,"merkle_root":")" +
	                          to_hex(h.merkle_root) + R"(","prev_hash":")" + to_hex(Hash{}) +
	                          R"(","sealed_at_us":1700000005000000,"block_hash":")" + to_hex(block_hash(h)) + R"("})";
	// PostgreSQL's json_build_object puts spaces around the members it writes; the stored value is verbatim.
	auto entry_line = [&](const std::string &values) {
		return R"({"type" : "entry", "id" : 7, "xid" : 750, "stmt_time_us" : 1700000000000000, "op" : "I", )"
		       R"("schema_name" : "public", "table_name" : "docs", "tags" : 16, "row_key" : {"id":1}, )"
		       R"("subject" : null, "old_values" : null, "new_values" : )" +
		       values +
		       R"(, "session_user" : "writer", "current_user" : "writer", "application_name" : null, )"
		       R"("client_addr" : null, "client_port" : null, "backend_pid" : 4242, "actor" : null, )"
		       R"("reason" : null, "context" : null, "leaf_hash" : ")" +
		       to_hex(leaf) + R"(", "format" : 1})";
	};
	const std::string line = entry_line(new_values);
	std::string tampered_values = new_values;
	tampered_values[tampered_values.find('1')] = '2'; // the innermost value
	const std::string path = ::testing::TempDir() + "/deep_export.jsonl";
	const std::string tampered_path = ::testing::TempDir() + "/deep_export_tampered.jsonl";
	std::ofstream(path, std::ios::binary) << header << "\n" << block << "\n" << line << "\n";
	std::ofstream(tampered_path, std::ios::binary) << header << "\n"
	                                               << block << "\n"
	                                               << entry_line(tampered_values) << "\n";

	Hash recomputed{};
	std::string status, tampered_status;
	int64_t checked = 0;
	on_small_stack([&] {
		ExportParser p;
		ASSERT_EQ(p.parse(line), LineType::Entry);
		recomputed = p.entry().recomputed;
		const ExportResult r = verify_export(path, 1);
		status = r.report.status;
		checked = r.report.entries_checked;
		tampered_status = verify_export(tampered_path, 1).report.status;
	});
	EXPECT_EQ(to_hex(recomputed), to_hex(leaf));
	EXPECT_EQ(status, "valid");
	EXPECT_EQ(checked, 1);
	EXPECT_EQ(tampered_status, "tampered");
}
