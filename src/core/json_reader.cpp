// Pull reader over JSON text: strict tokens, decoded strings, numbers as text.
#include "json_reader.hpp"
#include "hex_digit.hpp"
#include "utf8.hpp"

#include <cstring>

namespace witness
{

namespace
{

bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

// What a byte means inside a string: most are plain; quote ends it, backslash and control bytes need
// decoding or rejecting, bytes from 0x80 start a UTF-8 sequence to validate.
enum StringByte : uint8_t { kPlain, kQuote, kStop, kHigh };
struct StringByteTable {
	uint8_t kind[256];
	constexpr StringByteTable() : kind()
	{
		for (int c = 0; c < 256; c++)
			kind[c] = c < 0x20 ? kStop : c >= 0x80 ? kHigh : kPlain;
		kind[static_cast<unsigned char>('"')] = kQuote;
		kind[static_cast<unsigned char>('\\')] = kStop;
	}
};
constexpr StringByteTable kStringByte;

// Bytes that matter when skipping a container: quotes and brackets.
struct StructuralTable {
	uint8_t kind[256];
	constexpr StructuralTable() : kind()
	{
		for (unsigned char c : {'"', '[', ']', '{', '}'})
			kind[c] = 1;
	}
};
constexpr StructuralTable kStructural;

} // namespace

void JsonReader::fail_at(size_t position, const char *what) const
{
	throw JsonError(std::string("invalid JSON at byte ") + std::to_string(position) + ": " + what);
}

JsonType JsonReader::peek()
{
	skip_ws();
	if (pos_ >= in_.size())
		fail("expected a value");
	switch (in_[pos_]) {
	case 'n':
		return JsonType::Null;
	case 't':
	case 'f':
		return JsonType::Bool;
	case '"':
		return JsonType::String;
	case '[':
		return JsonType::Array;
	case '{':
		return JsonType::Object;
	default:
		if (in_[pos_] == '-' || is_digit(in_[pos_]))
			return JsonType::Number;
		fail("expected a value");
	}
}

void JsonReader::read_null()
{
	skip_ws();
	if (in_.substr(pos_, 4) != "null")
		fail(pos_ < in_.size() && in_[pos_] == 'n' ? "invalid literal" : "expected null");
	pos_ += 4;
}

bool JsonReader::read_bool()
{
	skip_ws();
	if (in_.substr(pos_, 4) == "true") {
		pos_ += 4;
		return true;
	}
	if (in_.substr(pos_, 5) == "false") {
		pos_ += 5;
		return false;
	}
	fail(pos_ < in_.size() && (in_[pos_] == 't' || in_[pos_] == 'f') ? "invalid literal" : "expected true or false");
}

std::string_view JsonReader::read_number()
{
	skip_ws();
	const size_t start = pos_;
	auto digit_at = [this](size_t i) { return i < in_.size() && is_digit(in_[i]); };
	if (pos_ < in_.size() && in_[pos_] == '-')
		pos_++;
	if (!digit_at(pos_))
		fail("expected a number");
	if (in_[pos_] == '0')
		pos_++;
	else
		while (digit_at(pos_))
			pos_++;
	if (pos_ < in_.size() && in_[pos_] == '.') {
		if (!digit_at(++pos_))
			fail("expected a digit after the decimal point");
		while (digit_at(pos_))
			pos_++;
	}
	if (pos_ < in_.size() && (in_[pos_] == 'e' || in_[pos_] == 'E')) {
		pos_++;
		if (pos_ < in_.size() && (in_[pos_] == '+' || in_[pos_] == '-'))
			pos_++;
		if (!digit_at(pos_))
			fail("expected a digit in the exponent");
		while (digit_at(pos_))
			pos_++;
	}
	return in_.substr(start, pos_ - start);
}

uint32_t JsonReader::read_hex4()
{
	if (in_.size() - pos_ < 4)
		fail("truncated \\u escape");
	uint32_t v = 0;
	for (int i = 0; i < 4; i++) {
		const int d = hex_digit_value(in_[pos_++]);
		if (d < 0)
			fail("invalid hex digit in \\u escape");
		v = (v << 4) | static_cast<uint32_t>(d);
	}
	return v;
}

void JsonReader::read_string(std::string &out)
{
	expect('"', "expected a string");
	out.clear();
	decode_string_rest(pos_, out);
}

std::string_view JsonReader::read_string_view(std::string &scratch)
{
	expect('"', "expected a string");
	const size_t start = pos_;
	// No escape up to the closing quote: nothing to decode, hand out the input itself.
	const unsigned char *const base = reinterpret_cast<const unsigned char *>(in_.data());
	const size_t size = in_.size();
	while (pos_ < size) {
		size_t i = pos_;
		while (i < size && kStringByte.kind[base[i]] == kPlain)
			i++;
		pos_ = i;
		if (i >= size)
			break;
		const uint8_t kind = kStringByte.kind[base[i]];
		if (kind == kQuote) {
			pos_++;
			return in_.substr(start, i - start);
		}
		if (kind == kStop)
			break;
		const size_t len = strings_are_utf8_ ? utf8::sequence_length(base + i, size - i) : 1;
		if (len == 0)
			fail("invalid UTF-8 in string");
		pos_ += len;
	}
	scratch.assign(in_.data() + start, pos_ - start);
	decode_string_rest(pos_, scratch);
	return scratch;
}

// Decodes from pos_ (inside a string, after what out already holds) through the closing quote.
void JsonReader::decode_string_rest(size_t run_start, std::string &out)
{
	pos_ = run_start;
	for (;;) {
		const size_t run = pos_;
		while (pos_ < in_.size()) {
			const unsigned char c = static_cast<unsigned char>(in_[pos_]);
			if (c == '"' || c == '\\' || c < 0x20 || c >= 0x80)
				break;
			pos_++;
		}
		out.append(in_.data() + run, pos_ - run);
		if (pos_ >= in_.size())
			fail("unterminated string");
		const unsigned char c = static_cast<unsigned char>(in_[pos_]);
		if (c == '"') {
			pos_++;
			return;
		}
		if (c < 0x20)
			fail("unescaped control character in string");
		if (c >= 0x80) {
			const size_t len = strings_are_utf8_ ? utf8::sequence_length(
			                                           reinterpret_cast<const unsigned char *>(in_.data()) + pos_,
			                                           in_.size() - pos_)
			                                     : 1;
			if (len == 0)
				fail("invalid UTF-8 in string");
			out.append(in_.data() + pos_, len);
			pos_ += len;
			continue;
		}
		if (++pos_ >= in_.size())
			fail("unterminated string");
		const char e = in_[pos_++];
		uint32_t cp = 0;
		switch (e) {
		case '"':
		case '\\':
		case '/':
			cp = static_cast<uint32_t>(e);
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u': {
			const size_t escape_at = pos_ - 2;
			cp = read_hex4();
			if (cp >= 0xdc00 && cp <= 0xdfff)
				fail("unpaired low surrogate in \\u escape");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (in_.substr(pos_, 2) != "\\u")
					fail("high surrogate not followed by a low surrogate");
				pos_ += 2;
				const uint32_t low = read_hex4();
				if (low < 0xdc00 || low > 0xdfff)
					fail("high surrogate not followed by a low surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
			}
			if (cp == 0)
				fail("\\u0000 is not allowed");
			if (cp > 0x7f && !escapes_beyond_ascii_)
				throw JsonError("the \\u escape at byte " + std::to_string(escape_at) +
				                " needs a UTF8 database: it is beyond U+007F");
			break;
		}
		default:
			pos_--;
			fail("invalid escape in string");
		}
		utf8::append(cp, out);
	}
}

std::string_view JsonReader::skip_value()
{
	skip_ws();
	const size_t start = pos_;
	const JsonType t = peek();
	if (t == JsonType::Null) {
		read_null();
	} else if (t == JsonType::Bool) {
		read_bool();
	} else if (t == JsonType::Number) {
		read_number();
	} else {
		// Containers: count brackets outside strings; strings: run to the quote that no backslash escapes.
		const char *p = in_.data() + pos_;
		const char *const end = in_.data() + in_.size();
		int64_t depth = 0; // no limit: only counted, never recursed into
		do {
			while (p < end && kStructural.kind[static_cast<unsigned char>(*p)] == 0)
				p++;
			if (p >= end) {
				pos_ = in_.size();
				fail("unterminated value");
			}
			const char c = *p++;
			if (c == '"') {
				while (p < end && *p != '"') {
					p += *p == '\\' && p + 1 < end ? 2 : 1;
				}
				if (p >= end) {
					pos_ = in_.size();
					fail("unterminated string");
				}
				p++;
			} else if (c == '[' || c == '{') {
				depth++;
			} else {
				depth--;
			}
		} while (depth > 0);
		pos_ = static_cast<size_t>(p - in_.data());
		if (depth < 0)
			fail("unbalanced brackets");
	}
	return in_.substr(start, pos_ - start);
}

void JsonReader::begin_object()
{
	expect('{', "expected an object");
}

bool JsonReader::next_member(bool &first, std::string &key)
{
	std::string_view view;
	if (!next_member(first, view, key))
		return false;
	if (view.data() != key.data())
		key.assign(view.data(), view.size());
	return true;
}

bool JsonReader::next_member(bool &first, std::string_view &key, std::string &scratch)
{
	skip_ws();
	if (pos_ < in_.size() && in_[pos_] == '}') {
		pos_++;
		return false;
	}
	if (!first)
		expect(',', "expected ',' or '}' in object");
	first = false;
	skip_ws();
	if (pos_ >= in_.size() || in_[pos_] != '"')
		fail("expected a string key in object");
	key = read_string_view(scratch);
	expect(':', "expected ':' after object key");
	return true;
}

void JsonReader::begin_array()
{
	expect('[', "expected an array");
}

bool JsonReader::next_item(bool &first)
{
	skip_ws();
	if (pos_ < in_.size() && in_[pos_] == ']') {
		pos_++;
		return false;
	}
	if (!first)
		expect(',', "expected ',' or ']' in array");
	first = false;
	return true;
}

void JsonReader::end()
{
	skip_ws();
	if (pos_ != in_.size())
		fail("unexpected data after the JSON value");
}

int64_t json_integer(std::string_view text)
{
	size_t i = 0;
	const bool negative = !text.empty() && text[0] == '-';
	if (negative)
		i++;
	if (i >= text.size())
		throw JsonError("not an integer: \"" + std::string(text) + "\"");
	uint64_t v = 0;
	const uint64_t limit = negative ? uint64_t(INT64_MAX) + 1 : uint64_t(INT64_MAX);
	for (; i < text.size(); i++) {
		if (!is_digit(text[i]))
			throw JsonError("not an integer: \"" + std::string(text) + "\"");
		const uint64_t d = static_cast<uint64_t>(text[i] - '0');
		if (v > (limit - d) / 10)
			throw JsonError("integer out of range: " + std::string(text));
		v = v * 10 + d;
	}
	return negative ? static_cast<int64_t>(0 - v) : static_cast<int64_t>(v);
}

} // namespace witness
