#include "erasure_record.hpp"

#include <stdexcept>
#include <string>

#include "json_value.hpp"

namespace witness
{

namespace
{

// "{3,5,6}" (PostgreSQL's bigint[] output) into its numbers.
std::vector<int64_t> bigint_array(std::string_view text)
{
	if (text.size() < 2 || text.front() != '{' || text.back() != '}')
		throw std::invalid_argument("erasure record: entry_ids is not an array literal");
	std::vector<int64_t> ids;
	const std::string_view body = text.substr(1, text.size() - 2);
	size_t start = 0;
	while (start < body.size()) {
		size_t end = body.find(',', start);
		if (end == std::string_view::npos)
			end = body.size();
		ids.push_back(json_integer(body.substr(start, end - start)));
		start = end + 1;
	}
	return ids;
}

} // namespace

ErasureRecord parse_erasure_record(std::string_view new_values_json)
{
	const JsonValue doc = parse_json(new_values_json, record_value_budget(new_values_json));
	const JsonValue *id = doc.find("erasure_id");
	const JsonValue *ids = doc.find("entry_ids");
	if (id == nullptr || id->type != JsonType::Number || ids == nullptr || ids->type != JsonType::String)
		throw std::invalid_argument("erasure record: erasure_id or entry_ids missing");
	ErasureRecord r;
	r.erasure_id = json_integer(id->text);
	r.entry_ids = bigint_array(ids->text);
	const JsonValue *tampered = doc.find("tampered_entry_ids");
	if (tampered != nullptr && tampered->type == JsonType::String)
		r.tampered_entry_ids = bigint_array(tampered->text);
	else if (tampered != nullptr && tampered->type != JsonType::Null)
		throw std::invalid_argument("erasure record: tampered_entry_ids is not an array literal");
	return r;
}

} // namespace witness
