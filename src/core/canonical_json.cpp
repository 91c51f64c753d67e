// Canonical JSON writer (format version 1) over the one tokenizer, JsonReader. It keeps the containers
// it is inside on the heap, not on the native stack, so any nesting depth parses in bounded stack space.
#include "canonical_json.hpp"
#include "interrupt.hpp"
#include "json_reader.hpp"
#include "key_order.hpp"
#include "utf8.hpp"

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

namespace witness
{

namespace
{

// PostgreSQL 15's numeric: its exponent must stay within +-(INT_MAX / 2), its display scale within
// NUMERIC_DSCALE_MAX, its base-10000 weight within int16 (numeric.c: set_var_from_str, make_result).
constexpr int64_t kNumericExponentLimit = 1073741823;
constexpr int64_t kNumericMaxDscale = 16383;
constexpr int64_t kNumericMaxDecimalWeight = 4 * 32767 + 3; // 10^131071: base-10000 weight 32767
constexpr int64_t kNumericMinDecimalWeight = -4 * 32768;    // 10^-131072: base-10000 weight -32768

// One object member as emitted: key bytes in Scratch::keys, `"key":value` text in the output.
struct Member {
	size_t key_off, key_len;
	size_t text_off, text_len;
};

// An object being parsed: where its members and their keys start in Scratch::members and keys.
struct OpenObject {
	size_t first_member, keys_base;
};

// Working buffers, kept per thread so that canonicalizing a value per captured row rarely allocates.
// Their size grows with the input, never with a fixed depth limit: one byte per open array, and about
// 50 bytes per open object, whose text in the input is at least 6 bytes long.
struct Scratch {
	std::string decoded;             // the string being parsed, unescaped
	std::string keys;                // stack of decoded keys of the objects being parsed
	std::vector<Member> members;     // stack of members of the objects being parsed
	std::string reorder;             // copy of an object's members while they are reordered
	std::string open;                // the containers being parsed, outermost first: '[' or '{' each
	std::vector<OpenObject> objects; // the objects among them
	size_t duplicates = 0;           // members dropped for a later one with the same key

	// Empties the buffers; drops those a huge document grew, so a backend does not keep them for good.
	void clear()
	{
		constexpr size_t keep = 1 << 20;
		for (std::string *s : {&decoded, &keys, &reorder, &open}) {
			s->clear();
			if (s->capacity() > keep)
				std::string().swap(*s);
		}
		duplicates = 0;
		members.clear();
		if (members.capacity() * sizeof(Member) > keep)
			std::vector<Member>().swap(members);
		objects.clear();
		if (objects.capacity() * sizeof(OpenObject) > keep)
			std::vector<OpenObject>().swap(objects);
	}
};

// One parse; Emit == false only validates: it writes no output and uses only the scratch's `open`.
// The tokens (strings, numbers, literals, punctuation) are read by JsonReader, the one tokenizer;
// this class adds the structure: nesting kept on the heap, members reordered as objects close.
template <bool Emit> class Parser
{
  public:
	Parser(std::string_view in, std::string *out, Scratch &sc, const JsonbInputRules *rules = nullptr)
	    : r_(in), out_(out), sc_(sc), rules_(rules)
	{
		if (rules != nullptr && !rules->unicode_escapes_beyond_ascii)
			r_.refuse_unicode_escapes_beyond_ascii();
		if (rules != nullptr && !rules->strings_are_utf8)
			r_.accept_non_utf8_strings();
	}

	// With rules: how much longer the numbers print as numeric than as written (may be negative).
	int64_t number_growth() const { return number_growth_; }

	void parse_document()
	{
		parse_value();
		r_.end();
	}

  private:
	JsonReader r_;
	std::string *out_;
	Scratch &sc_;
	const JsonbInputRules *rules_; // nullptr: JSON alone
	int64_t number_growth_ = 0;

	void emit(char c)
	{
		if constexpr (Emit)
			*out_ += c;
	}

	void emit(std::string_view s)
	{
		if constexpr (Emit)
			out_->append(s.data(), s.size());
	}

	// Parses one value however deeply nested: one pass of the loop per value, with the containers it
	// is inside on the heap (sc_.open), so no native stack is used per nesting level.
	void parse_value()
	{
		sc_.open.clear();
		sc_.objects.clear();
		do {
			while (start_value()) {
			}
		} while (next_value());
	}

	// Reads a scalar, or opens a container; true when it opened one whose first value comes next.
	bool start_value()
	{
		if constexpr (Emit)
			poll_interrupt(); // json_is_valid (noexcept) never stops
		switch (r_.peek()) {
		case JsonType::Object:
			return open_object();
		case JsonType::Array:
			return open_array();
		case JsonType::String: {
			const std::string_view s = r_.read_string_view(sc_.decoded);
			if constexpr (Emit)
				append_json_string(s, *out_);
			return false;
		}
		case JsonType::Bool:
			emit(r_.read_bool() ? "true" : "false");
			return false;
		case JsonType::Null:
			r_.read_null();
			emit("null");
			return false;
		case JsonType::Number:
			parse_number();
			return false;
		}
		return false;
	}

	// After a complete value: closes the containers it completes; true at the start of the next value
	// of the innermost container still open, false when the outermost value is complete.
	bool next_value()
	{
		while (!sc_.open.empty()) {
			if (sc_.open.back() == '[') {
				if (!r_.at(']')) {
					r_.expect(',', "expected ',' or ']' in array");
					emit(',');
					return true;
				}
				r_.expect(']', "unterminated array");
				emit(']');
			} else {
				if constexpr (Emit) {
					Member &m = sc_.members.back(); // the member whose value just ended
					m.text_len = out_->size() - m.text_off;
				}
				if (!r_.at('}')) {
					r_.expect(',', "expected ',' or '}' in object");
					begin_member();
					return true;
				}
				r_.expect('}', "unterminated object");
				close_object();
			}
			sc_.open.pop_back();
		}
		return false;
	}

	// The token is copied verbatim; with rules, it must fit PostgreSQL's numeric.
	void parse_number()
	{
		const size_t start = r_.position();
		const std::string_view token = r_.read_number();
		if (rules_ != nullptr) {
			size_t printed = 0;
			if (!json_number_as_numeric(token, &printed))
				throw JsonError("the number at byte " + std::to_string(start) +
				                " is outside the range of PostgreSQL's numeric type");
			number_growth_ += static_cast<int64_t>(printed) - static_cast<int64_t>(token.size());
		}
		emit(token);
	}

	// At '[': true when a first element follows, false for an empty array (then already read).
	bool open_array()
	{
		r_.expect('[', "expected an array");
		emit('[');
		if (r_.at(']')) {
			r_.expect(']', "unterminated array");
			emit(']');
			return false;
		}
		sc_.open += '[';
		return true;
	}

	// At '{': true when a first member follows (its key is then read), false for an empty object.
	bool open_object()
	{
		r_.expect('{', "expected an object");
		emit('{');
		if (r_.at('}')) {
			r_.expect('}', "unterminated object");
			emit('}');
			return false;
		}
		sc_.open += '{';
		if constexpr (Emit)
			sc_.objects.push_back(OpenObject{sc_.members.size(), sc_.keys.size()});
		begin_member();
		return true;
	}

	// Reads a member's key and colon, up to its value; the member's text ends when its value does.
	void begin_member()
	{
		if (!r_.at('"'))
			r_.fail("expected a string key in object");
		size_t text_off = 0;
		if constexpr (Emit) {
			if (sc_.members.size() > sc_.objects.back().first_member)
				*out_ += ',';
			text_off = out_->size();
		}
		const std::string_view key = r_.read_string_view(sc_.decoded);
		if constexpr (Emit) {
			sc_.members.push_back(Member{sc_.keys.size(), key.size(), text_off, 0});
			sc_.keys += key;
			append_json_string(key, *out_);
			*out_ += ':';
		}
		r_.expect(':', "expected ':' after object key");
	}

	// After the '}' of the innermost open object: writes its members in canonical order.
	void close_object()
	{
		if constexpr (Emit) {
			const OpenObject o = sc_.objects.back();
			sc_.objects.pop_back();
			sort_members(o.first_member);
			sc_.members.resize(o.first_member);
			sc_.keys.resize(o.keys_base);
		}
		emit('}');
	}

	std::string_view key_of(const Member &m) const { return std::string_view(sc_.keys).substr(m.key_off, m.key_len); }

	// Rewrites the members emitted since first_member in key order, keeping the last of equal keys.
	void sort_members(size_t first_member)
	{
		auto begin = sc_.members.begin() + static_cast<std::ptrdiff_t>(first_member);
		auto end = sc_.members.end();
		bool canonical = true;
		for (auto it = begin; it != end && it + 1 != end; ++it) {
			if (compare_keys(key_of(*it), key_of(*(it + 1))) >= 0) {
				canonical = false;
				break;
			}
		}
		if (canonical)
			return;
		const size_t region = begin->text_off;
		sc_.reorder.assign(*out_, region, std::string::npos);
		out_->resize(region);
		// Equal keys keep their input order (text_off grows with it), so the last one ends up last;
		// std::sort with that tie-break is stable without stable_sort's temporary buffer.
		std::sort(begin, end, [this](const Member &a, const Member &b) {
			const int c = compare_keys(key_of(a), key_of(b));
			return c < 0 || (c == 0 && a.text_off < b.text_off);
		});
		bool first = true;
		for (auto it = begin; it != end; ++it) {
			if (it + 1 != end && key_of(*it) == key_of(*(it + 1))) {
				sc_.duplicates++;
				continue; // a later duplicate follows and wins
			}
			if (!first)
				*out_ += ',';
			first = false;
			out_->append(sc_.reorder, it->text_off - region, it->text_len);
		}
	}
};

} // namespace

size_t write_json_string(const char *utf8, size_t len, char *out) noexcept
{
	static const char digits[] = "0123456789abcdef";
	char *p = out;
	*p++ = '"';
	size_t run = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = static_cast<unsigned char>(utf8[i]);
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		std::memcpy(p, utf8 + run, i - run);
		p += i - run;
		run = i + 1;
		*p++ = '\\';
		switch (c) {
		case '"':
			*p++ = '"';
			break;
		case '\\':
			*p++ = '\\';
			break;
		case '\b':
			*p++ = 'b';
			break;
		case '\t':
			*p++ = 't';
			break;
		case '\n':
			*p++ = 'n';
			break;
		case '\f':
			*p++ = 'f';
			break;
		case '\r':
			*p++ = 'r';
			break;
		default:
			*p++ = 'u';
			*p++ = '0';
			*p++ = '0';
			*p++ = digits[c >> 4];
			*p++ = digits[c & 0x0f];
		}
	}
	std::memcpy(p, utf8 + run, len - run);
	p += len - run;
	*p++ = '"';
	return static_cast<size_t>(p - out);
}

size_t json_string_len(const char *utf8, size_t len) noexcept
{
	size_t n = len + 2;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = static_cast<unsigned char>(utf8[i]);
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		const bool short_escape = c == '"' || c == '\\' || c == '\b' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
		n += short_escape ? 1 : 5;
	}
	return n;
}

size_t json_string_room(const char *utf8, size_t len) noexcept
{
	return len < (size_t(1) << 16) ? json_string_max_len(len) : json_string_len(utf8, len);
}

void append_json_string(std::string_view utf8, std::string &out)
{
	size_t at = out.size();
	out.resize(at + json_string_room(utf8.data(), utf8.size()));
	out.resize(at + write_json_string(utf8.data(), utf8.size(), &out[at]));
}

size_t canonical_json(std::string_view json_text, std::string &out)
{
	thread_local Scratch scratch;
	scratch.clear();
	const size_t original = out.size();
	try {
		Parser<true>(json_text, &out, scratch).parse_document();
	} catch (...) {
		out.resize(original); // leave out as it was
		throw;
	}
	return scratch.duplicates;
}

size_t check_jsonb_input(std::string_view json_text, const JsonbInputRules &rules)
{
	Scratch scratch;
	Parser<false> parser(json_text, nullptr, scratch, &rules);
	parser.parse_document();
	// Canonical text is never longer than the input (no whitespace, escapes only shorten), except
	// where numbers print longer as numeric.
	const int64_t bound = static_cast<int64_t>(json_text.size()) + parser.number_growth();
	return bound > 0 ? static_cast<size_t>(bound) : 0;
}

namespace
{

// A JSON number token's parts; the exponent saturated at +-kNumericExponentLimit.
struct NumberParts {
	bool negative = false;
	std::string_view int_digits, frac_digits;
	int64_t exponent = 0;
};

std::string_view digits_at(std::string_view token, size_t *i)
{
	const size_t begin = *i;
	while (*i < token.size() && token[*i] >= '0' && token[*i] <= '9')
		(*i)++;
	return token.substr(begin, *i - begin);
}

// Splits a token already checked against the RFC 8259 grammar.
NumberParts split_number(std::string_view token)
{
	NumberParts n;
	size_t i = 0;
	n.negative = i < token.size() && token[i] == '-';
	if (n.negative)
		i++;
	n.int_digits = digits_at(token, &i);
	if (i < token.size() && token[i] == '.') {
		i++;
		n.frac_digits = digits_at(token, &i);
	}
	if (i < token.size() && (token[i] == 'e' || token[i] == 'E')) {
		i++;
		const bool exp_negative = i < token.size() && token[i] == '-';
		if (i < token.size() && (token[i] == '-' || token[i] == '+'))
			i++;
		for (char c : digits_at(token, &i)) {
			n.exponent = std::min(n.exponent * 10 + (c - '0'), kNumericExponentLimit);
		}
		if (exp_negative)
			n.exponent = -n.exponent;
	}
	return n;
}

// Decimal weight of the most significant non-zero digit (the number is about 10^weight); false for zero.
bool leading_weight(const NumberParts &n, int64_t *weight)
{
	const size_t first_int = n.int_digits.find_first_not_of('0');
	if (first_int != std::string_view::npos) {
		*weight = static_cast<int64_t>(n.int_digits.size() - first_int) - 1 + n.exponent;
		return true;
	}
	const size_t first_frac = n.frac_digits.find_first_not_of('0');
	if (first_frac != std::string_view::npos) {
		*weight = -static_cast<int64_t>(first_frac) - 1 + n.exponent;
		return true;
	}
	return false;
}

} // namespace

bool json_number_as_numeric(std::string_view token, size_t *printed_length) noexcept
{
	const NumberParts n = split_number(token);
	if (n.exponent >= kNumericExponentLimit || n.exponent <= -kNumericExponentLimit)
		return false;
	const int64_t dscale = std::max<int64_t>(0, static_cast<int64_t>(n.frac_digits.size()) - n.exponent);
	if (dscale > kNumericMaxDscale)
		return false;
	int64_t weight = 0;
	const bool nonzero = leading_weight(n, &weight);
	if (nonzero && (weight > kNumericMaxDecimalWeight || weight < kNumericMinDecimalWeight))
		return false;
	// numeric_out: a minus sign unless zero, the integer digits (at least "0"), then dscale decimals.
	const int64_t int_len = nonzero && weight >= 0 ? weight + 1 : 1;
	*printed_length = static_cast<size_t>((n.negative && nonzero ? 1 : 0) + int_len + (dscale > 0 ? dscale + 1 : 0));
	return true;
}

bool json_is_valid(std::string_view json_text) noexcept
{
	try {
		Scratch scratch;
		Parser<false>(json_text, nullptr, scratch).parse_document();
		return true;
	} catch (...) {
		return false;
	}
}

size_t json_nesting_depth(std::string_view json_text) noexcept
{
	size_t depth = 0;
	size_t deepest = 0;
	bool in_string = false;
	for (size_t i = 0; i < json_text.size(); i++) {
		const char c = json_text[i];
		if (in_string) {
			if (c == '\\')
				i++; // the escaped character, a quote included
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '[' || c == '{') {
			deepest = std::max(deepest, ++depth);
		} else if ((c == ']' || c == '}') && depth > 0) {
			depth--;
		}
	}
	return deepest;
}

} // namespace witness
