// Reading a trail export (docs/verification.md): one parser per file, one call per line. The lines are
// JSON, as witness.export_trail() returns them, either as they are (JSON Lines) or as COPY's text
// format writes them (copy_text.hpp). Entries come back with their leaf hash recomputed from the
// exported content; the exported hash is only carried along for comparison.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "entry_encoding.hpp"
#include "erasure_record.hpp"
#include "retention_record.hpp"
#include "json_reader.hpp"
#include "trail_verifier.hpp"

namespace witness::tool
{

struct ExportHeader {
	int64_t format = 0;
	std::string database;
	int64_t highest_block_no = 0; // 0 when unknown
	// The "backslash" member: one backslash as export_trail() writes it; two when the line was read
	// as JSON but is COPY text, which doubles backslashes. Empty when absent.
	std::string backslash;
};

// Plain data, so that a spill file can hold it byte for byte.
struct ExportEntry {
	int64_t id = 0;
	uint64_t xid = 0;
	Hash stored{};        // the exported leaf_hash as its block sealed it (core/stored_leaf.hpp)
	Hash recomputed{};    // SHA-256(0x00 || canonical bytes of the exported content); 0xff when none
	bool partial = false; // the export holds only the first bytes of its leaf hash
	bool hashed = false;  // the content gave a leaf hash (recomputed holds it)
	// Format 2: what became of the payload, and the erasure the entry names (0 = none).
	uint8_t format = kEntryFormatVersion;
	PayloadState payload = PayloadState::Intact;
	std::optional<int64_t> erasure_id; // none: NULL (0 names erasure 0, which is reported)
};

// A row of witness.pruned_leaf: what retention run run_id kept of block_no's pruned entries
// (docs/retention.md, "Retention").
struct ExportPruned {
	int64_t block_no = 0;
	int64_t run_id = 0;
	bool whole = false;
	std::vector<int64_t> ids;
	std::vector<Hash> hashes;
};

// The first line of a retention archive file (docs/retention.md, "Archive instead of delete").
struct ArchiveHeader {
	int64_t format = 0;
	std::string database;
	int64_t run_id = 0;
	std::string month; // YYYY-MM, UTC
	int64_t entries = 0;
};

// End: COPY's end-of-data marker "\." (COPY text only).
// Era: a transaction-id era after the first (docs/verification.md, "Transaction-id eras").
// Archive, Leaves: a retention archive file's header and a block's full leaf list (in pruned()).
enum class LineType { Header, Era, Block, Pruned, Entry, End, Archive, Leaves };

class ExportParser
{
  public:
	ExportParser();

	// Parses one line; afterwards header(), block() or entry() holds it, by the returned type.
	// Throws std::runtime_error naming the problem (the caller adds the line number).
	LineType parse(std::string_view line);

	// Lines are COPY text (decoded first) rather than JSON Lines.
	void set_copy_text(bool on) { copy_text_ = on; }
	bool copy_text() const { return copy_text_; }

	const ExportHeader &header() const { return header_; }
	const StoredBlock &block() const { return block_; }
	const EraStart &era() const { return era_; }
	const ExportEntry &entry() const { return entry_; }
	// The canonical bytes of the last entry when it stores the first bytes of its leaf hash and its
	// content hashes to something else (TrailVerifier::add_entry names entries that traded ids from
	// them); empty otherwise.
	const std::string &leaf_encoding() const { return leaf_encoding_; }
	const ExportPruned &pruned() const { return pruned_; }
	const ArchiveHeader &archive() const { return archive_; }
	// Whether the last entry line recorded an erasure (an INSERT into witness.erasure), and which.
	bool has_erasure_record() const { return has_erasure_record_; }
	const ErasureRecord &erasure_record() const { return erasure_record_; }
	// Whether the last entry line recorded a retention run (an INSERT into witness.retention_run).
	bool has_retention_record() const { return has_retention_record_; }
	const RetentionRecord &retention_record() const { return retention_record_; }

  private:
	struct Slot {
		bool seen = false;
		JsonType type = JsonType::Null;
		std::string_view raw;  // number token or container text
		std::string_view text; // decoded string value: a view of the line or of scratch
		std::string scratch;   // decoded text of a string with escapes
		std::string canonical;
	};

	void read_members(std::string_view line);
	void parse_header();
	void parse_block();
	void parse_era();
	void parse_entry();
	void parse_pruned();
	void parse_leaves();
	void parse_archive_header();
	void parse_ids_and_hashes();

	Slot &slot(int field) { return slots_[static_cast<size_t>(field)]; }
	const Slot &require(int field);
	int64_t integer(int field);
	int64_t integer_or_null(int field, bool &present);
	std::string_view string(int field);
	Hash hash(int field);
	void hex_bytes(int field, uint8_t *out, size_t n);
	static bool looks_sealed(const Slot &s);
	TextField text_or_null(int field);
	bool hash_or_null(int field, Hash *out);
	TextField text(int field);
	JsonDoc json_or_null(int field);

	std::vector<Slot> slots_;
	ExportHeader header_;
	StoredBlock block_;
	EraStart era_;
	ExportEntry entry_;
	std::string leaf_encoding_;
	bool has_erasure_record_ = false;
	ErasureRecord erasure_record_;
	bool has_retention_record_ = false;
	RetentionRecord retention_record_;
	ExportPruned pruned_;
	ArchiveHeader archive_;
	std::string key_scratch_;
	std::string copy_scratch_; // the decoded line, when it had COPY escapes
	bool copy_text_ = false;
	std::vector<int> order_; // field of each member position in the previous line
};

} // namespace witness::tool
