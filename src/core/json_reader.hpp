// The one JSON tokenizer of pg_witness (RFC 8259): a pull reader used to read back export lines and
// signed digests, and the lexer under the canonical JSON writer (canonical_json.cpp). Numbers are handed out as their token text, strings decoded to UTF-8; nothing is
// converted through floating point. Throws JsonError (canonical_json.hpp) on malformed input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "canonical_json.hpp"

namespace witness
{

enum class JsonType { Null, Bool, Number, String, Array, Object };

class JsonReader
{
  public:
	explicit JsonReader(std::string_view text) : in_(text) {}

	// Type of the next value (skips whitespace first).
	JsonType peek();

	void read_null();
	bool read_bool();
	std::string_view read_number();     // the token text, checked against the RFC 8259 grammar
	void read_string(std::string &out); // decoded; \u0000 and ill-formed UTF-8 are rejected
	// The same, without a copy when the string has no escapes: a view of the input, else of scratch.
	std::string_view read_string_view(std::string &scratch);
	// Skips one value and returns its text. Strings inside are lexed exactly, but nested arrays and
	// objects are only matched bracket for bracket: validate the text (canonical_json) before use.
	std::string_view skip_value();

	// Members of an object: begin_object(), then while (next_member(first, key)) read the value.
	void begin_object();
	bool next_member(bool &first, std::string &key);
	// The same with the key as a view (of the input, or of scratch when it has escapes).
	bool next_member(bool &first, std::string_view &key, std::string &scratch);
	// Items of an array: begin_array(), then while (next_item(first)) read the value.
	void begin_array();
	bool next_item(bool &first);

	// Checks that only whitespace is left.
	void end();

	// Token-level access for parsers built on this reader (canonical_json): whether the next
	// non-whitespace byte is c, and consuming it or failing with what.
	bool at(char c)
	{
		skip_ws();
		return pos_ < in_.size() && in_[pos_] == c;
	}
	void expect(char c, const char *what)
	{
		skip_ws();
		if (pos_ >= in_.size() || in_[pos_] != c)
			fail(what);
		pos_++;
	}
	// Refuses \u escapes beyond U+007F from now on, as PostgreSQL's jsonb input does outside UTF8.
	void refuse_unicode_escapes_beyond_ascii() { escapes_beyond_ascii_ = false; }
	// Takes bytes from 0x80 in strings as they are, unchecked: text in a server encoding other than
	// UTF-8 (all are supersets of ASCII) is the server's to validate.
	void accept_non_utf8_strings() { strings_are_utf8_ = false; }

	size_t position() const { return pos_; }
	[[noreturn]] void fail(const char *what) const { fail_at(pos_, what); }
	[[noreturn]] void fail_at(size_t position, const char *what) const;

  private:
	// Inline: they run for every token.
	void skip_ws()
	{
		while (pos_ < in_.size() && (in_[pos_] == ' ' || in_[pos_] == '\t' || in_[pos_] == '\n' || in_[pos_] == '\r'))
			pos_++;
	}
	void decode_string_rest(size_t run_start, std::string &out);
	uint32_t read_hex4();

	std::string_view in_;
	size_t pos_ = 0;
	bool escapes_beyond_ascii_ = true;
	bool strings_are_utf8_ = true;
};

// The value of a JSON number token that must be an integer in int64 range; throws JsonError otherwise.
int64_t json_integer(std::string_view number_text);

} // namespace witness
