// A small JSON document tree for the structured documents pg_witness reads (signed digests, the
// header and block lines of an export): numbers keep their text, strings are decoded UTF-8, and each
// value remembers where it sits in the source so that its canonical text can be recomputed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "json_reader.hpp"

namespace witness
{

struct JsonValue {
	JsonType type = JsonType::Null;
	bool boolean = false;
	std::string text;                                       // Number: token text; String: decoded value
	std::vector<JsonValue> items;                           // Array
	std::vector<std::pair<std::string, JsonValue>> members; // Object, in input order, keys unique
	size_t source_begin = 0, source_end = 0;                // byte range of the value in the parsed text

	JsonValue() = default;
	JsonValue(JsonValue &&) noexcept = default;
	JsonValue &operator=(JsonValue &&other) noexcept;
	// No copies: a deep tree would be copied recursively.
	JsonValue(const JsonValue &) = delete;
	JsonValue &operator=(const JsonValue &) = delete;
	// Frees nested values one by one, not recursively: a tree of any depth is freed in bounded stack.
	~JsonValue();

	// The member named key, or nullptr (also when this is not an object).
	const JsonValue *find(std::string_view key) const;
	std::string_view source(std::string_view parsed_text) const
	{
		return parsed_text.substr(source_begin, source_end - source_begin);
	}
};

// Parses one JSON document, of any nesting depth (iteratively; the tree takes about 150 bytes per
// value, so callers bound the text's size). Unlike canonical_json, a key repeated within an object is
// an error here: a document that says two things must not be read as one of them. Throws JsonError.
JsonValue parse_json(std::string_view text);

// The same, for input that may be crafted: throws JsonError once the document holds more than
// max_values values (each one costs about 150 bytes, so the tree stays within a known multiple of it).
JsonValue parse_json(std::string_view text, size_t max_values);

// A budget for parse_json of a record that names a few things per value it holds: one value per 16
// bytes of text, and 64 at least. A text of tiny values ("[1,1,1,...]", 2 bytes each) exceeds it,
// and no text can make the tree more than about 10 times its size.
size_t record_value_budget(std::string_view text);

} // namespace witness
