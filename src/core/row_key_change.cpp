// Reads both objects' top-level members only: the values are copied as their JSON text.
#include "row_key_change.hpp"

#include <utility>
#include <vector>

#include "canonical_json.hpp"
#include "json_reader.hpp"

namespace witness
{

bool old_row_key(std::string_view row_key, std::string_view old_values, std::string &out)
{
	// old_values: the changed columns, usually a few.
	std::vector<std::pair<std::string, std::string_view>> old;
	JsonReader o(old_values);
	o.begin_object();
	bool first = true;
	std::string key;
	while (o.next_member(first, key))
		old.emplace_back(key, o.skip_value());
	o.end();

	std::string text = "{";
	bool changed = false;
	JsonReader k(row_key);
	k.begin_object();
	first = true;
	while (k.next_member(first, key)) {
		std::string_view value = k.skip_value();
		for (const auto &member : old) {
			if (member.first == key) {
				value = member.second;
				changed = true;
				break;
			}
		}
		if (text.size() > 1)
			text += ',';
		append_json_string(key, text);
		text += ':';
		text.append(value);
	}
	k.end();
	if (!changed)
		return false;
	text += '}';
	out = std::move(text);
	return true;
}

} // namespace witness
