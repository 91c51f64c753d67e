// JSON document tree built with JsonReader.
#include "json_value.hpp"

namespace witness
{

namespace
{

constexpr int kMaxDepth = 1000;

JsonValue parse_value(JsonReader &r, int depth)
{
	if (depth > kMaxDepth)
		r.fail("nesting deeper than 1000 levels");
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
			if (v.find(key) != nullptr)
				r.fail(("duplicate key \"" + key.substr(0, 100) + "\"").c_str());
			JsonValue member = parse_value(r, depth + 1);
			v.members.emplace_back(key, std::move(member));
		}
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
