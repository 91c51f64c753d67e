// JSON document tree built with JsonReader.
#include "json_value.hpp"

#include <algorithm>
#include <numeric>

#include "interrupt.hpp"

namespace witness
{

namespace
{

constexpr int kMaxDepth = 1000;

// Fails on a key that appears twice in an object, naming the first repetition in input order. Sorting
// the keys costs O(n log n); looking each new key up among the previous ones was O(n^2), and a digest
// of 80,000 members kept a backend busy for seconds.
void reject_duplicate_keys(const JsonReader &r, const JsonValue &object)
{
	const auto &m = object.members;
	if (m.size() < 2)
		return;
	std::vector<size_t> order(m.size());
	std::iota(order.begin(), order.end(), size_t(0));
	std::sort(order.begin(), order.end(), [&m](size_t a, size_t b) {
		const int c = m[a].first.compare(m[b].first);
		return c < 0 || (c == 0 && a < b);
	});
	size_t repeated = m.size();
	for (size_t i = 1; i < order.size(); i++)
		if (m[order[i]].first == m[order[i - 1]].first)
			repeated = std::min(repeated, order[i]);
	if (repeated < m.size())
		r.fail_at(m[repeated].second.source_begin,
		          ("duplicate key \"" + m[repeated].first.substr(0, 100) + "\"").c_str());
}

JsonValue parse_value(JsonReader &r, int depth)
{
	if (depth > kMaxDepth)
		r.fail("nesting deeper than 1000 levels");
	poll_interrupt();
	JsonValue v;
	v.type = r.peek();
	v.source_begin = r.position();
	switch (v.type) {
	case JsonType::Null:
		r.read_null();
		break;
	case JsonType::Bool:
		v.boolean = r.read_bool();
		break;
	case JsonType::Number:
		v.text = std::string(r.read_number());
		break;
	case JsonType::String:
		r.read_string(v.text);
		break;
	case JsonType::Array: {
		r.begin_array();
		bool first = true;
		while (r.next_item(first))
			v.items.push_back(parse_value(r, depth + 1));
		break;
	}
	case JsonType::Object: {
		r.begin_object();
		bool first = true;
		std::string key;
		while (r.next_member(first, key)) {
			JsonValue member = parse_value(r, depth + 1);
			v.members.emplace_back(key, std::move(member));
		}
		reject_duplicate_keys(r, v);
		break;
	}
	}
	v.source_end = r.position();
	return v;
}

} // namespace

const JsonValue *JsonValue::find(std::string_view key) const
{
	for (const auto &m : members)
		if (m.first == key)
			return &m.second;
	return nullptr;
}

JsonValue parse_json(std::string_view text)
{
	JsonReader r(text);
	JsonValue v = parse_value(r, 1);
	r.end();
	return v;
}

} // namespace witness
