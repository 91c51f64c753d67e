// Canonical bytes of a trail entry (format version 1) and its leaf hash; the layout is in entry_encoding.hpp.
#include "entry_encoding.hpp"

#include "field_encoding.hpp"

#include <cstring>
#include <stdexcept>
#include <string_view>

#include "canonical_json.hpp"
#include "key_order.hpp"
#include "sha256.hpp"

namespace witness
{

namespace
{

using namespace encoding;

[[noreturn]] void malformed(const char *field, const char *what)
{
	throw std::invalid_argument(std::string("entry field ") + field + ": " + what);
}

void put_bytes(std::string &out, char type, const char *ptr, size_t len, const char *field)
{
	put_length_prefixed(out, type, ptr, len, "entry field ", field);
}

// Non-nullable TEXT: an absent value is a caller bug, not an SQL NULL.
void put_text(std::string &out, const TextField &f, const char *field)
{
	if (!f.present)
		malformed(field, "required value is missing");
	put_bytes(out, kText, f.ptr, f.len, field);
}

void put_text_or_null(std::string &out, const TextField &f, const char *field)
{
	if (f.present)
		put_bytes(out, kText, f.ptr, f.len, field);
	else
		out += kNull;
}

bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

// RFC 8259 number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool is_json_number(std::string_view s)
{
	size_t i = 0, n = s.size();
	if (i < n && s[i] == '-')
		i++;
	if (i >= n || !is_digit(s[i]))
		return false;
	if (s[i] == '0')
		i++;
	else
		while (i < n && is_digit(s[i]))
			i++;
	if (i < n && s[i] == '.') {
		if (++i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		i++;
		if (i < n && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= n || !is_digit(s[i]))
			return false;
		while (i < n && is_digit(s[i]))
			i++;
	}
	return i == n;
}

std::string_view view_of(const char *ptr, size_t len, const char *field)
{
	if (ptr == nullptr && len != 0)
		malformed(field, "null pointer with non-zero length");
	return ptr ? std::string_view(ptr, len) : std::string_view();
}

void put_field_value(std::string &out, const JsonField &f, const char *field)
{
	if (f.kind == JsonKind::Null) {
		out += "null"; // text ignored
		return;
	}
	const std::string_view text = view_of(f.text, f.text_len, field);
	switch (f.kind) {
	case JsonKind::Bool:
		if (text != "true" && text != "false")
			malformed(field, "boolean text is neither true nor false");
		break;
	case JsonKind::Number:
		if (!is_json_number(text))
			malformed(field, "number text is not a JSON number");
		break;
	case JsonKind::String:
		append_json_string(text, out);
		return;
	case JsonKind::Raw:
		if (text.empty())
			malformed(field, "raw JSON text is empty");
		break;
	default:
		malformed(field, "unknown JSON kind");
	}
	out.append(text.data(), text.size());
}

// A flat object from fields given in strictly increasing name order: {"name":value,...}.
void put_fields_object(std::string &out, const JsonDoc &doc, const char *field)
{
	if (doc.fields == nullptr && doc.nfields != 0)
		malformed(field, "null field array with non-zero count");
	out += '{';
	std::string_view prev;
	for (size_t i = 0; i < doc.nfields; i++) {
		const JsonField &f = doc.fields[i];
		const std::string_view name = view_of(f.name, f.name_len, field);
		if (i > 0 && compare_keys(prev, name) >= 0)
			malformed(field, "field names are not strictly increasing (unsorted or duplicate)");
		prev = name;
		if (i > 0)
			out += ',';
		append_json_string(name, out);
		out += ':';
		put_field_value(out, f, field);
	}
	out += '}';
}

// The long canonical JSON values that put_payload left out of the bytes it wrote, each with the
// offset where it belongs: a caller that only hashes the payload hashes them where they lie.
struct LongValues {
	static constexpr size_t kFrom = size_t(1) << 16; // shorter values are copied as usual
	struct Value {
		size_t at;
		std::string_view text;
	};
	Value values[3]; // row_key, old_values, new_values
	size_t n = 0;
};

void put_json_or_null(std::string &out, const JsonDoc &doc, const char *field, LongValues *left_out = nullptr)
{
	if (!doc.present) {
		out += kNull;
		return;
	}
	if (doc.canonical != nullptr) {
		if (doc.nfields != 0)
			malformed(field, "both canonical text and fields given");
		if (doc.canonical_len == 0)
			malformed(field, "canonical JSON text is empty");
		if (left_out == nullptr || doc.canonical_len < LongValues::kFrom) {
			put_bytes(out, kJson, doc.canonical, doc.canonical_len, field);
			return;
		}
		if (doc.canonical_len > kMaxFieldLen)
			malformed(field, "longer than 2^32-1 bytes");
		out += kJson; // type and length here, the text where it lies
		put_u32(out, static_cast<uint32_t>(doc.canonical_len));
		left_out->values[left_out->n++] = {out.size(), std::string_view(doc.canonical, doc.canonical_len)};
		return;
	}
	// The length is known only once the object is written: reserve it, then patch it.
	out += kJson;
	const size_t len_at = out.size();
	put_u32(out, 0);
	put_fields_object(out, doc, field);
	const size_t len = out.size() - len_at - 4;
	if (len > kMaxFieldLen)
		malformed(field, "longer than 2^32-1 bytes");
	const uint32_t v = static_cast<uint32_t>(len);
	out[len_at] = static_cast<char>(v >> 24);
	out[len_at + 1] = static_cast<char>(v >> 16);
	out[len_at + 2] = static_cast<char>(v >> 8);
	out[len_at + 3] = static_cast<char>(v);
}

// The payload fields, in the order both formats hash them.
void put_payload(std::string &out, const EntryView &e, LongValues *left_out = nullptr)
{
	put_json_or_null(out, e.row_key, "row_key", left_out);
	put_text_or_null(out, e.subject, "subject");
	put_json_or_null(out, e.old_values, "old_values", left_out);
	put_json_or_null(out, e.new_values, "new_values", left_out);
}

// Format 1 hashes the payload in place; format 2 hashes a commitment to it after the attribution.
void put_entry(std::string &out, const EntryView &e)
{
	const char *op = op_name(e.op);
	if (op == nullptr)
		malformed("op", "unknown operation code");
	if (e.format != kEntryFormatVersion && e.format != kEntryFormatCommitted)
		malformed("format", "unknown format version");
	out += static_cast<char>(e.format);
	put_int(out, e.id);
	put_int(out, e.xid);
	put_int(out, e.stmt_time_us);
	put_bytes(out, kText, op, std::strlen(op), "op");
	put_text(out, e.schema_name, "schema_name");
	put_text(out, e.table_name, "table_name");
	put_int(out, e.tags);
	if (e.format == kEntryFormatVersion)
		put_payload(out, e);
	put_text(out, e.session_user, "session_user");
	put_text(out, e.current_user, "current_user");
	put_text_or_null(out, e.application_name, "application_name");
	put_text_or_null(out, e.client_addr, "client_addr");
	if (e.client_port.present)
		put_int(out, e.client_port.value);
	else
		out += kNull;
	put_int(out, e.backend_pid);
	put_text_or_null(out, e.actor, "actor");
	put_text_or_null(out, e.reason, "reason");
	put_json_or_null(out, e.context, "context");
	if (e.format == kEntryFormatCommitted) {
		if (e.has_pseudonym)
			put_bytes(out, kBytes, reinterpret_cast<const char *>(e.pseudonym.data()), e.pseudonym.size(),
			          "subject_pseudonym");
		else
			out += kNull;
		put_bytes(out, kBytes, reinterpret_cast<const char *>(e.commitment.data()), e.commitment.size(),
		          "commitment");
	}
}

} // namespace

void write_fields_object(const JsonField *fields, size_t nfields, std::string &out)
{
	JsonDoc doc;
	doc.present = true;
	doc.fields = fields;
	doc.nfields = nfields;
	put_fields_object(out, doc, "object");
}

const char *op_name(char op) noexcept
{
	switch (op) {
	case 'I':
		return "INSERT";
	case 'U':
		return "UPDATE";
	case 'D':
		return "DELETE";
	case 'T':
		return "TRUNCATE";
	default:
		return nullptr;
	}
}

void encode_entry(const EntryView &entry, std::string &out)
{
	const size_t original = out.size();
	try {
		put_entry(out, entry);
	} catch (...) {
		out.resize(original); // leave out as it was
		throw;
	}
}

void encode_payload(const EntryView &entry, std::string &out)
{
	const size_t original = out.size();
	try {
		put_payload(out, entry);
	} catch (...) {
		out.resize(original);
		throw;
	}
}

namespace
{

// One field of payload bytes at *pos: NULL, or `type` with its length-prefixed bytes.
bool take_field(std::string_view bytes, size_t *pos, char type, const char *field, std::string_view *value)
{
	if (*pos >= bytes.size())
		malformed(field, "payload bytes end before it");
	const char t = bytes[(*pos)++];
	if (t == kNull)
		return false;
	if (t != type || bytes.size() - *pos < 4)
		malformed(field, "unexpected type byte or truncated length in payload bytes");
	const auto *p = reinterpret_cast<const unsigned char *>(bytes.data() + *pos);
	const size_t len = (size_t(p[0]) << 24) | (size_t(p[1]) << 16) | (size_t(p[2]) << 8) | size_t(p[3]);
	*pos += 4;
	if (bytes.size() - *pos < len)
		malformed(field, "payload bytes end inside it");
	*value = bytes.substr(*pos, len);
	*pos += len;
	return true;
}

void take_json(std::string_view bytes, size_t *pos, const char *field, JsonDoc *doc)
{
	std::string_view v;
	*doc = JsonDoc();
	if (take_field(bytes, pos, kJson, field, &v)) {
		doc->present = true;
		doc->canonical = v.data();
		doc->canonical_len = v.size();
	}
}

} // namespace

void decode_payload(std::string_view bytes, EntryView *entry)
{
	size_t pos = 0;
	std::string_view subject;
	take_json(bytes, &pos, "row_key", &entry->row_key);
	entry->subject = TextField();
	if (take_field(bytes, &pos, kText, "subject", &subject)) {
		entry->subject.present = true;
		entry->subject.ptr = subject.data();
		entry->subject.len = subject.size();
	}
	take_json(bytes, &pos, "old_values", &entry->old_values);
	take_json(bytes, &pos, "new_values", &entry->new_values);
	if (pos != bytes.size())
		malformed("new_values", "payload bytes go on after it");
}

Hash entry_payload_commitment(const EntryView &entry)
{
	if (entry.salt == nullptr)
		malformed("salt", "the payload was erased: no salt to commit with");
	thread_local std::string buf;
	buf.clear();
	// Long values are hashed in place: copied into the payload bytes, a 200 MB value took 200 MB more.
	LongValues long_values;
	put_payload(buf, entry, &long_values);
	std::string_view pieces[2 * 3 + 1];
	size_t n = 0, from = 0;
	const std::string_view bytes(buf);
	for (size_t i = 0; i < long_values.n; i++) {
		pieces[n++] = bytes.substr(from, long_values.values[i].at - from);
		pieces[n++] = long_values.values[i].text;
		from = long_values.values[i].at;
	}
	pieces[n++] = bytes.substr(from);
	const Hash h =
	    payload_commitment(std::string_view(reinterpret_cast<const char *>(entry.salt), kCommitmentSaltSize), pieces, n);
	if (buf.capacity() > (1u << 20))
		std::string().swap(buf);
	return h;
}

bool payload_in_clear(const EntryView &entry) noexcept
{
	return entry.salt != nullptr || entry.row_key.present || entry.subject.present || entry.old_values.present ||
	       entry.new_values.present;
}

bool leaf_checkable(const EntryView &entry) noexcept
{
	return entry.commitment_source != CommitmentSource::Lost || !payload_in_clear(entry);
}

void restore_commitment(EntryView *entry, const uint8_t *stored, size_t len)
{
	entry->commitment.fill(0);
	entry->commitment_source = CommitmentSource::Stored;
	if (len == entry->commitment.size()) {
		memcpy(entry->commitment.data(), stored, len);
		return;
	}
	if (len != kStoredCommitmentPrefix)
		return;
	entry->commitment_source = CommitmentSource::Lost;
	if (entry->salt == nullptr)
		return;
	Hash full;
	try {
		full = entry_payload_commitment(*entry);
	} catch (const std::invalid_argument &) {
		return; // a payload that cannot be encoded reproduces nothing
	}
	if (memcmp(full.data(), stored, len) != 0)
		return;
	entry->commitment = full;
	entry->commitment_source = CommitmentSource::Reproduced;
}

Hash entry_leaf_hash(const EntryView &entry)
{
	// Runs once per captured row: the buffer and the digest context live as long as the thread.
	thread_local std::string buf;
	thread_local Sha256 hasher;
	buf.assign(1, '\0'); // leaf prefix 0x00
	encode_entry(entry, buf);
	hasher.update(buf);
	const Hash h = hasher.finish();
	if (buf.capacity() > (1u << 20))
		std::string().swap(buf); // do not keep a huge row's buffer for the backend's lifetime
	return h;
}

Hash leaf_hash_under_id(std::string_view encoding, int64_t id)
{
	// format byte, then put_int(id): the INT type byte and 8 bytes, most significant first.
	constexpr size_t kIdAt = 2;
	if (encoding.size() < kIdAt + 8 || encoding[1] != static_cast<char>(kInt))
		throw std::invalid_argument("not the canonical bytes of an entry");
	std::string buf(1, '\0'); // leaf prefix 0x00
	buf.append(encoding);
	const uint64_t v = static_cast<uint64_t>(id);
	for (int i = 0; i < 8; i++)
		buf[1 + kIdAt + i] = static_cast<char>(v >> (56 - 8 * i));
	return sha256(buf);
}

} // namespace witness
