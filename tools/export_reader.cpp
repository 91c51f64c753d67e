// Export line parser: one pass over each line's members, then the typed fields of its kind.
#include "export_reader.hpp"

#include "json_value.hpp"

#include <cstring>
#include <stdexcept>

#include "canonical_json.hpp"
#include "copy_text.hpp"
#include "json_reader.hpp"
#include "payload_cipher.hpp"
#include "sha256.hpp"
#include "stored_leaf.hpp"

namespace witness::tool
{

namespace
{

// Every member name an export line may have; lines of one kind use some of them.
enum Field {
	kType,
	kFormat,
	kDatabase,
	kHighestBlockNo,
	kBlockNo,
	kSnapshot,
	kEntryCount,
	kFirstEntryId,
	kLastEntryId,
	kMerkleRoot,
	kPrevHash,
	kSealedAtUs,
	kBlockHash,
	kId,
	kXid,
	kStmtTimeUs,
	kOp,
	kSchemaName,
	kTableName,
	kTags,
	kRowKey,
	kSubject,
	kOldValues,
	kNewValues,
	kSessionUser,
	kCurrentUser,
	kApplicationName,
	kClientAddr,
	kClientPort,
	kBackendPid,
	kActor,
	kReason,
	kContext,
	kLeafHash,
	kSalt,
	kCommitment,
	kSubjectPseudonym,
	kErasureId,
	kSealedPayload,
	kBackslash,
	kFirstBlockNo,
	kRunId,
	kWhole,
	kEntryIds,
	kLeafHashes,
	kMonth,
	kEntries,
	kFieldCount
};

const std::string_view kFieldNames[kFieldCount] = {
    "type",
    "format",
    "database",
    "highest_block_no",
    "block_no",
    "snapshot",
    "entry_count",
    "first_entry_id",
    "last_entry_id",
    "merkle_root",
    "prev_hash",
    "sealed_at_us",
    "block_hash",
    "id",
    "xid",
    "stmt_time_us",
    "op",
    "schema_name",
    "table_name",
    "tags",
    "row_key",
    "subject",
    "old_values",
    "new_values",
    "session_user",
    "current_user",
    "application_name",
    "client_addr",
    "client_port",
    "backend_pid",
    "actor",
    "reason",
    "context",
    "leaf_hash",
    "salt",
    "commitment",
    "subject_pseudonym",
    "erasure_id",
    "sealed_payload",
    "backslash",
    "first_block_no",
    "run_id",
    "whole",
    "entry_ids",
    "leaf_hashes",
    "month",
    "entries",
};

int field_of(std::string_view key)
{
	for (int i = 0; i < kFieldCount; i++)
		if (key == kFieldNames[i])
			return i;
	return -1;
}

// Value of each hex digit, -1 for any other byte.
struct HexTable {
	int8_t value[256];
	constexpr HexTable() : value()
	{
		for (int i = 0; i < 256; i++)
			value[i] = -1;
		for (int i = 0; i < 10; i++)
			value['0' + i] = static_cast<int8_t>(i);
		for (int i = 0; i < 6; i++) {
			value['a' + i] = static_cast<int8_t>(10 + i);
			value['A' + i] = static_cast<int8_t>(10 + i);
		}
	}
};
constexpr HexTable kHex;

[[noreturn]] void bad(int field, const std::string &what)
{
	throw std::runtime_error("\"" + std::string(kFieldNames[field]) + "\" " + what);
}

// Format 2: intact while salt and payload reproduce the commitment; erased once both are gone.
PayloadState payload_state(const EntryView &e)
{
	if (e.salt == nullptr)
		return payload_in_clear(e) ? PayloadState::Changed : PayloadState::Erased;
	if (e.commitment_source != CommitmentSource::Stored)
		return e.commitment_source == CommitmentSource::Reproduced ? PayloadState::Intact : PayloadState::Changed;
	return entry_payload_commitment(e) == e.commitment ? PayloadState::Intact : PayloadState::Changed;
}

bool text_is(const TextField &f, std::string_view s)
{
	return f.present && std::string_view(f.ptr, f.len) == s;
}

} // namespace

ExportParser::ExportParser() : slots_(kFieldCount) {}

void ExportParser::read_members(std::string_view line)
{
	for (Slot &s : slots_)
		s.seen = false;
	JsonReader r(line);
	r.begin_object();
	bool first = true;
	size_t position = 0;
	std::string_view key;
	while (r.next_member(first, key, key_scratch_)) {
		// Lines of a kind list their members in the same order: try the previous line's member here first.
		const size_t at = position++;
		const int guess = at < order_.size() ? order_[at] : -1;
		const int f = guess >= 0 && key == kFieldNames[guess] ? guess : field_of(key);
		if (at < order_.size())
			order_[at] = f;
		else
			order_.push_back(f);
		if (f < 0) {
			r.skip_value(); // a member this reader does not know: a later format may add some
			continue;
		}
		Slot &s = slot(f);
		if (s.seen)
			bad(f, "appears twice");
		s.seen = true;
		s.type = r.peek();
		if (s.type == JsonType::String)
			s.text = r.read_string_view(s.scratch);
		else
			s.raw = r.skip_value(); // scalars are checked here; containers by canonical_json when used
	}
	r.end();
}

const ExportParser::Slot &ExportParser::require(int field)
{
	const Slot &s = slot(field);
	if (!s.seen)
		bad(field, "is missing");
	return s;
}

int64_t ExportParser::integer(int field)
{
	const Slot &s = require(field);
	if (s.type != JsonType::Number)
		bad(field, "must be an integer");
	try {
		return json_integer(s.raw);
	} catch (const JsonError &) {
		bad(field, "must be a 64-bit integer, not " + std::string(s.raw.substr(0, 40)));
	}
}

int64_t ExportParser::integer_or_null(int field, bool &present)
{
	present = require(field).type != JsonType::Null;
	return present ? integer(field) : 0;
}

std::string_view ExportParser::string(int field)
{
	const Slot &s = require(field);
	if (s.type != JsonType::String)
		bad(field, "must be a string");
	return s.text;
}

// Whether a sealed_payload value can be one (payload_cipher.hpp): hex digits of the format's version
// byte and at least its framing. witness-verify holds no key, so this is all it can check of it.
bool ExportParser::looks_sealed(const Slot &s)
{
	const std::string_view hex = s.text;
	if (s.type != JsonType::String || hex.size() < 2 * kSealedPayloadOverhead || hex.size() % 2 != 0)
		return false;
	for (char c : hex)
		if (kHex.value[static_cast<unsigned char>(c)] < 0)
			return false;
	return (kHex.value[static_cast<unsigned char>(hex[0])] << 4 | kHex.value[static_cast<unsigned char>(hex[1])]) ==
	       kSealedPayloadVersion;
}

void ExportParser::hex_bytes(int field, uint8_t *out, size_t n)
{
	const std::string_view hex = string(field);
	if (hex.size() != 2 * n)
		bad(field, "must be " + std::to_string(2 * n) + " hex digits");
	for (size_t i = 0; i < n; i++) {
		const int hi = kHex.value[static_cast<unsigned char>(hex[2 * i])];
		const int lo = kHex.value[static_cast<unsigned char>(hex[2 * i + 1])];
		if (hi < 0 || lo < 0)
			bad(field, "must be " + std::to_string(2 * n) + " hex digits");
		out[i] = static_cast<uint8_t>(hi << 4 | lo);
	}
}

Hash ExportParser::hash(int field)
{
	Hash h{};
	hex_bytes(field, h.data(), h.size());
	return h;
}

bool ExportParser::hash_or_null(int field, Hash *out)
{
	out->fill(0);
	if (require(field).type == JsonType::Null)
		return false;
	*out = hash(field);
	return true;
}

TextField ExportParser::text(int field)
{
	const std::string_view s = string(field);
	return TextField{true, s.data(), s.size()};
}

TextField ExportParser::text_or_null(int field)
{
	if (require(field).type == JsonType::Null)
		return TextField{};
	return text(field);
}

// A JSON column: null is SQL NULL; any other value is stored as its canonical text.
JsonDoc ExportParser::json_or_null(int field)
{
	Slot &s = slot(field);
	require(field);
	JsonDoc doc;
	if (s.type == JsonType::Null)
		return doc;
	s.canonical.clear();
	try {
		if (s.type == JsonType::String)
			append_json_string(s.text, s.canonical);
		else if (s.type == JsonType::Bool || s.type == JsonType::Number)
			s.canonical.assign(s.raw.data(), s.raw.size()); // numbers stay verbatim
		else if (canonical_json(s.raw, s.canonical) > 0)
			// The trail stores canonical text, which has no duplicate key: one in an export was put
			// there afterwards, and readers that keep the first of two would see another value.
			bad(field, "has an object with a duplicate key");
	} catch (const JsonError &e) {
		bad(field, std::string("is not valid JSON: ") + e.what());
	}
	doc.present = true;
	doc.canonical = s.canonical.data();
	doc.canonical_len = s.canonical.size();
	return doc;
}

void ExportParser::parse_header()
{
	header_.format = integer(kFormat);
	if (header_.format != 1)
		bad(kFormat, "is " + std::to_string(header_.format) + "; this witness-verify reads export format 1");
	header_.database = std::string(string(kDatabase));
	bool present = false;
	header_.highest_block_no = integer_or_null(kHighestBlockNo, present);
	header_.backslash.clear();
	if (slot(kBackslash).seen)
		header_.backslash = std::string(string(kBackslash));
}

void ExportParser::parse_block()
{
	BlockHeader &h = block_.header;
	h.block_no = integer(kBlockNo);
	h.snapshot = std::string(string(kSnapshot));
	h.entry_count = integer(kEntryCount);
	bool has_first = false, has_last = false;
	h.first_entry_id = integer_or_null(kFirstEntryId, has_first);
	h.last_entry_id = integer_or_null(kLastEntryId, has_last);
	if (has_first != has_last)
		bad(kFirstEntryId, "and \"last_entry_id\" must both be null or both be set");
	h.has_entry_ids = has_first;
	h.merkle_root = hash(kMerkleRoot);
	h.prev_hash = hash(kPrevHash);
	h.sealed_at_us = integer(kSealedAtUs);
	block_.stored_block_hash = hash(kBlockHash);
}

void ExportParser::parse_era()
{
	era_.first_entry_id = integer(kFirstEntryId);
	era_.first_block_no = integer(kFirstBlockNo);
}

void ExportParser::parse_entry()
{
	const int64_t format = integer(kFormat);
	if (format != kEntryFormatVersion && format != kEntryFormatCommitted)
		bad(kFormat, "is " + std::to_string(format) + "; this witness-verify recomputes entry formats 1 and 2");
	EntryView e;
	e.format = static_cast<uint8_t>(format);
	e.id = integer(kId);
	e.xid = integer(kXid);
	if (e.xid < 0)
		bad(kXid, "must not be negative");
	e.stmt_time_us = integer(kStmtTimeUs);
	const std::string_view op = string(kOp);
	if (op.size() != 1 || op_name(op[0]) == nullptr)
		bad(kOp, "must be one of I, U, D, T");
	e.op = op[0];
	e.schema_name = text(kSchemaName);
	e.table_name = text(kTableName);
	e.tags = integer(kTags);
	e.row_key = json_or_null(kRowKey);
	e.subject = text_or_null(kSubject);
	e.old_values = json_or_null(kOldValues);
	e.new_values = json_or_null(kNewValues);
	e.session_user = text(kSessionUser);
	e.current_user = text(kCurrentUser);
	e.application_name = text_or_null(kApplicationName);
	e.client_addr = text_or_null(kClientAddr);
	e.client_port.value = integer_or_null(kClientPort, e.client_port.present);
	e.backend_pid = integer(kBackendPid);
	e.actor = text_or_null(kActor);
	e.reason = text_or_null(kReason);
	e.context = json_or_null(kContext);
	entry_.id = e.id;
	entry_.xid = static_cast<uint64_t>(e.xid);
	// All 32 bytes, or (entries captured since version 0.2) the first 8: core/stored_leaf.hpp.
	// Any other length (a column cut, emptied or lengthened) is read as it is and reported by the
	// verifier, as witness.verify() does, rather than failing the export.
	uint8_t stored_leaf[33] = {};
	size_t stored_len = 0;
	if (require(kLeafHash).type != JsonType::Null) {
		const std::string_view hex = string(kLeafHash);
		if (hex.size() % 2 != 0 || hex.size() > 2 * sizeof(stored_leaf))
			bad(kLeafHash, "must be at most " + std::to_string(2 * sizeof(stored_leaf)) + " hex digits, two per byte");
		stored_len = hex.size() / 2;
		hex_bytes(kLeafHash, stored_leaf, stored_len);
	}
	entry_.format = e.format;
	entry_.payload = PayloadState::Intact;
	entry_.erasure_id.reset();
	uint8_t salt[kCommitmentSaltSize];
	bool sealed = false;
	bool clear_beside_sealed = false;
	bool malformed_sealed = false;
	if (e.format == kEntryFormatCommitted) {
		// In full, or (a payload in clear) its first bytes, completed from salt and payload below.
		const bool prefix = string(kCommitment).size() == 2 * kStoredCommitmentPrefix;
		Hash stored{};
		hex_bytes(kCommitment, stored.data(), prefix ? kStoredCommitmentPrefix : stored.size());
		e.has_pseudonym = hash_or_null(kSubjectPseudonym, &e.pseudonym);
		if (require(kSalt).type != JsonType::Null) {
			hex_bytes(kSalt, salt, sizeof(salt));
			e.salt = salt;
		}
		bool named = false;
		const int64_t erasure_id = integer_or_null(kErasureId, named);
		if (named)
			entry_.erasure_id = erasure_id;
		// Encrypted tables: the payload is sealed under a master key this verifier does not hold.
		sealed = slot(kSealedPayload).seen && slot(kSealedPayload).type != JsonType::Null;
		// Anything there that cannot be sealed bytes was not written by the capture: the payload was
		// replaced (a removed payload passed off as encrypted, say), not sealed.
		malformed_sealed = sealed && !looks_sealed(slot(kSealedPayload));
		// A sealed entry holds its payload in the sealed bytes only, as witness.verify() checks:
		// anything in the clear columns beside them was put there afterwards.
		clear_beside_sealed = sealed && payload_in_clear(e);
		// A sealed entry's commitment is all 32 bytes; a prefix there reads as none, as in
		// witness.verify(): zeros, and the leaf fails.
		if (!(prefix && sealed))
			restore_commitment(&e, stored.data(), prefix ? kStoredCommitmentPrefix : stored.size());
	}
	try {
		// As witness.verify() does: the leaf its block sealed, as far as the entry stores it, and the
		// hash of its content (all 0xff when it cannot be hashed).
		const bool hashed = leaf_checkable(e);
		entry_.recomputed.fill(0xff);
		if (hashed)
			entry_.recomputed = entry_leaf_hash(e);
		const SealedLeaf leaf =
		    sealed_leaf(stored_leaf, stored_len, hashed ? &entry_.recomputed : nullptr, e.format != kEntryFormatVersion);
		entry_.stored = leaf.leaf;
		entry_.partial = leaf.partial;
		entry_.hashed = hashed;
		leaf_encoding_.clear();
		if (leaf.partial && hashed && !leaf.matches)
			encode_entry(e, leaf_encoding_);
		// A changed payload that left only a commitment prefix: reported by the payload check.
		if (!hashed && !leaf.partial)
			entry_.recomputed = entry_.stored;
		if (e.format == kEntryFormatCommitted)
			entry_.payload = clear_beside_sealed || malformed_sealed ? PayloadState::Changed
			                 : sealed            ? PayloadState::Unchecked
			                                     : payload_state(e);
	} catch (const std::invalid_argument &err) {
		throw std::runtime_error(std::string("entry cannot be encoded: ") + err.what());
	}
	has_retention_record_ = false;
	if (e.op == 'I' && e.new_values.present && text_is(e.schema_name, "witness") &&
	    text_is(e.table_name, "retention_run")) {
		try {
			retention_record_ = parse_retention_record(slot(kNewValues).canonical);
			has_retention_record_ = true;
		} catch (const std::exception &) {
			// not a retention record: the rows it would have named are reported
		}
	}
	has_erasure_record_ = false;
	if (e.op == 'I' && e.new_values.present && text_is(e.schema_name, "witness") && text_is(e.table_name, "erasure")) {
		try {
			erasure_record_ = parse_erasure_record(slot(kNewValues).canonical);
			has_erasure_record_ = true;
		} catch (const std::exception &) {
			// not an erasure record: it erases nothing, and what it would have named is reported
		}
	}
}

void ExportParser::parse_pruned()
{
	pruned_.block_no = integer(kBlockNo);
	pruned_.run_id = integer(kRunId);
	const Slot &whole = require(kWhole);
	if (whole.type != JsonType::Bool)
		bad(kWhole, "must be true or false");
	pruned_.whole = whole.raw == "true";
	parse_ids_and_hashes();
}

// An archive's leaf list of a block: every member's id and leaf hash (docs/retention.md).
void ExportParser::parse_leaves()
{
	pruned_.block_no = integer(kBlockNo);
	pruned_.run_id = 0;
	pruned_.whole = false;
	parse_ids_and_hashes();
}

void ExportParser::parse_archive_header()
{
	archive_.format = integer(kFormat);
	if (archive_.format != 1)
		bad(kFormat, "is " + std::to_string(archive_.format) + "; this witness-verify reads archive format 1");
	archive_.database = std::string(string(kDatabase));
	archive_.run_id = integer(kRunId);
	archive_.month = std::string(string(kMonth));
	archive_.entries = integer(kEntries);
}

void ExportParser::parse_ids_and_hashes()
{
	const Slot &ids = require(kEntryIds);
	if (ids.type != JsonType::Array)
		bad(kEntryIds, "must be an array of integers");
	pruned_.ids.clear();
	try {
		const JsonValue doc = parse_json(ids.raw);
		pruned_.ids.reserve(doc.items.size());
		for (const JsonValue &item : doc.items) {
			if (item.type != JsonType::Number)
				bad(kEntryIds, "must be an array of integers");
			pruned_.ids.push_back(json_integer(item.text));
		}
	} catch (const JsonError &e) {
		bad(kEntryIds, std::string("is not an array of 64-bit integers: ") + e.what());
	}
	const std::string_view hex = string(kLeafHashes);
	if (hex.size() % 64 != 0)
		bad(kLeafHashes, "must be 64 hex digits per hash");
	pruned_.hashes.assign(hex.size() / 64, Hash{});
	for (size_t i = 0; i < hex.size(); i += 2) {
		const int hi = kHex.value[static_cast<unsigned char>(hex[i])];
		const int lo = kHex.value[static_cast<unsigned char>(hex[i + 1])];
		if (hi < 0 || lo < 0)
			bad(kLeafHashes, "must be hex digits");
		pruned_.hashes[i / 64][(i % 64) / 2] = static_cast<uint8_t>(hi << 4 | lo);
	}
}

LineType ExportParser::parse(std::string_view line)
{
	if (copy_text_ && decode_copy_text(line, copy_scratch_, line) == CopyRow::EndOfData)
		return LineType::End;
	try {
		read_members(line);
	} catch (const JsonError &e) {
		throw std::runtime_error(e.what());
	}
	const std::string_view type = string(kType);
	if (type == "entry") {
		parse_entry();
		return LineType::Entry;
	}
	if (type == "block") {
		parse_block();
		return LineType::Block;
	}
	if (type == "header") {
		parse_header();
		return LineType::Header;
	}
	if (type == "era") {
		parse_era();
		return LineType::Era;
	}
	if (type == "pruned") {
		parse_pruned();
		return LineType::Pruned;
	}
	if (type == "leaves") {
		parse_leaves();
		return LineType::Leaves;
	}
	if (type == "archive") {
		parse_archive_header();
		return LineType::Archive;
	}
	bad(kType, "must be header, era, block, pruned, entry, archive or leaves, not \"" + std::string(type.substr(0, 40)) + "\"");
}

} // namespace witness::tool
