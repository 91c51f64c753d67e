// JSON document tree built with JsonReader.
#include "json_value.hpp"

#include <algorithm>
#include <cstdint>
#include <numeric>
#include <utility>
#include <vector>

#include "interrupt.hpp"

namespace witness
{

namespace
{

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

// Reads a scalar into v, or opens the container v; true when it opened one (its first value, if
// any, is read next).
bool start_value(JsonReader &r, JsonValue &v)
{
	poll_interrupt();
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
	case JsonType::Array:
		r.begin_array();
		return true;
	case JsonType::Object:
		r.begin_object();
		return true;
	}
	v.source_end = r.position();
	return false;
}

// The containers being read, innermost last. A child is added to its parent before it is read and
// the parent gets no other child until it is complete, so the pointers stay valid.
struct OpenContainer {
	JsonValue *value;
	bool first;
};

// After a value or an opened container: closes the containers that end here; returns the value to
// read next, or nullptr when the document's value is complete.
JsonValue *next_value(JsonReader &r, std::vector<OpenContainer> &open, std::string &key)
{
	while (!open.empty()) {
		OpenContainer &top = open.back();
		JsonValue &c = *top.value;
		if (c.type == JsonType::Array) {
			if (r.next_item(top.first))
				return &c.items.emplace_back();
		} else {
			if (r.next_member(top.first, key))
				return &c.members.emplace_back(key, JsonValue()).second;
			reject_duplicate_keys(r, c);
		}
		c.source_end = r.position();
		open.pop_back();
	}
	return nullptr;
}

// Moves the values nested in v to the end of out; v keeps none.
void move_children(JsonValue &v, std::vector<JsonValue> &out)
{
	for (JsonValue &item : v.items)
		out.push_back(std::move(item));
	for (auto &member : v.members)
		out.push_back(std::move(member.second));
	v.items.clear();
	v.members.clear();
}

} // namespace

const JsonValue *JsonValue::find(std::string_view key) const
{
	for (const auto &m : members)
		if (m.first == key)
			return &m.second;
	return nullptr;
}

JsonValue::~JsonValue()
{
	if (items.empty() && members.empty())
		return;
	try {
		// Flattens the tree: every value taken from `pending` leaves its children there and is freed
		// without any.
		std::vector<JsonValue> pending;
		move_children(*this, pending);
		while (!pending.empty()) {
			JsonValue v = std::move(pending.back());
			pending.pop_back();
			move_children(v, pending);
		}
	} catch (...) {
		// No memory for `pending` (bad_alloc): what is left is freed recursively, as members normally are.
	}
}

JsonValue &JsonValue::operator=(JsonValue &&other) noexcept
{
	if (this != &other) {
		JsonValue old(std::move(*this)); // the previous children, freed by ~JsonValue
		type = other.type;
		boolean = other.boolean;
		text = std::move(other.text);
		items = std::move(other.items);
		members = std::move(other.members);
		source_begin = other.source_begin;
		source_end = other.source_end;
	}
	return *this;
}

JsonValue parse_json(std::string_view text)
{
	return parse_json(text, SIZE_MAX);
}

JsonValue parse_json(std::string_view text, size_t max_values)
{
	JsonReader r(text);
	JsonValue root;
	std::vector<OpenContainer> open;
	std::string key;
	JsonValue *next = &root;
	for (size_t values = 1; next != nullptr; values++) {
		if (values > max_values)
			throw JsonError("more than " + std::to_string(max_values) + " values in a document of " +
			                std::to_string(text.size()) + " bytes");
		if (start_value(r, *next))
			open.push_back(OpenContainer{next, true});
		next = next_value(r, open, key);
	}
	r.end();
	return root;
}

size_t record_value_budget(std::string_view text)
{
	return std::max<size_t>(64, text.size() / 16);
}

} // namespace witness
