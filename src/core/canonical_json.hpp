// Canonical JSON text (pg_witness format version 1), used inside canonical entry bytes.
//
// Rules (docs/hashing.md is normative):
// - no whitespace between tokens;
// - object members sorted by key as UTF-8 byte strings (unsigned bytewise, a prefix sorts first);
//   with duplicate keys the last one wins (as in PostgreSQL's jsonb);
// - array elements keep their order;
// - strings: '"' and '\' are escaped as \" and \\; U+0008 \b, U+0009 \t, U+000A \n, U+000C \f,
//   U+000D \r; every other code point below U+0020 as \u00xx (lower-case hex); everything else,
//   including U+007F and all non-ASCII, is written as raw UTF-8. \uXXXX escapes in the input
//   (surrogate pairs included) are decoded first; \u0000 is rejected;
// - numbers are copied verbatim as the token text of the input (PostgreSQL prints jsonb numbers
//   with numeric_out, so canonical text is computed from jsonb output, not from user-typed JSON);
// - true, false, null as such;
// - nesting depth is not limited: the parser keeps open arrays and objects on the heap, so a value
//   nested as deep as PostgreSQL's jsonb stores it takes no native stack per level.
#pragma once

#include <cstddef>
#include <stdexcept>
#include <string>
#include <string_view>

namespace witness
{

struct JsonError : std::runtime_error {
	using std::runtime_error::runtime_error;
};

// Parses JSON text and appends its canonical form to out. Throws JsonError on invalid input. Returns
// how many object members it dropped because a later member had the same key (the last one wins).
size_t canonical_json(std::string_view json_text, std::string &out);

// Appends the canonical quoted form of a UTF-8 string (the escaping rule above) to out.
void append_json_string(std::string_view utf8, std::string &out);

// Room write_json_string needs for len input bytes.
constexpr size_t json_string_max_len(size_t len)
{
	return 6 * len + 2;
}

// The same quoted form written to out, which has json_string_max_len(len) bytes; returns the length.
// For callers that manage their own buffers (PostgreSQL glue). Never throws.
size_t write_json_string(const char *utf8, size_t len, char *out) noexcept;

// The exact length of that quoted form.
size_t json_string_len(const char *utf8, size_t len) noexcept;

// The room to give write_json_string: json_string_max_len() for a short string (one pass), the exact
// length for one of 64 KiB or more, where room for the worst case (six bytes a byte) would be
// zero-filled or kept for nothing: a 200 MB value took 1.2 GB that way.
size_t json_string_room(const char *utf8, size_t len) noexcept;

// True when json_text is one valid JSON value (RFC 8259) with nothing but whitespace around it.
bool json_is_valid(std::string_view json_text) noexcept;

// What PostgreSQL's jsonb input refuses beyond JSON itself (PostgreSQL 15), for checking a value
// before the capture stores it through jsonb (witness.context).
struct JsonbInputRules {
	// A \u escape beyond U+007F needs a UTF8 database: false refuses it.
	bool unicode_escapes_beyond_ascii = true;
	// The text is UTF-8: false takes bytes beyond ASCII as they are (the text of a database in another
	// encoding, which PostgreSQL has validated; every server encoding is a superset of ASCII).
	bool strings_are_utf8 = true;
};

// Checks that json_text is valid JSON that PostgreSQL's jsonb input takes: every number fits its
// numeric type (json_number_as_numeric) and escapes follow rules. Returns an upper bound of the
// length of the canonical text the capture stores for it, where numbers print as numeric prints
// them (1e6 as 1000000). Throws JsonError naming the first problem. Never stops for interrupts.
size_t check_jsonb_input(std::string_view json_text, const JsonbInputRules &rules);

// The deepest nesting of arrays and objects in json_text (0 for a scalar), in one pass that keeps
// nothing per level; brackets inside strings do not count. For text that is not valid JSON the
// result is that of its brackets outside strings. Never throws.
size_t json_nesting_depth(std::string_view json_text) noexcept;

// Whether PostgreSQL's numeric holds a JSON number token (valid per RFC 8259): an exponent between
// -1073741823 and 1073741823 exclusive, at most 16383 digits after the decimal point once the
// exponent is applied, and its most significant digit at most at 10^131071. On true,
// *printed_length is the length of numeric's text output for it.
bool json_number_as_numeric(std::string_view token, size_t *printed_length) noexcept;

} // namespace witness
