#include "archive_verifier.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>
#include <stdexcept>
#include <zlib.h>

#include "block.hpp"
#include "line_reader.hpp"
#include "merkle.hpp"
#include "sha256.hpp"
#include "stored_leaf.hpp"

namespace witness::tool
{

namespace
{

// The bytes of another source, gunzipped as they are read (several gzip members one after the other,
// as gzip writes them; a source that does not start as gzip is passed through as it is). The file is
// read once: its SHA-256 is taken from the same bytes (a DigestingSource below this one), since a file
// hashed in one read and verified in another could be two files (a review served the genuine archive to
// the hash and a forged one to the check through a named pipe, and it read VALID).
class GunzipSource : public ByteSource
{
  public:
	explicit GunzipSource(std::unique_ptr<ByteSource> inner) : inner_(std::move(inner)), in_(1 << 16)
	{
		if (inflateInit2(&zs_, 16 + MAX_WBITS) != Z_OK)
			throw std::runtime_error("cannot start decompressing the archive");
	}
	~GunzipSource() override { inflateEnd(&zs_); }
	GunzipSource(const GunzipSource &) = delete;
	GunzipSource &operator=(const GunzipSource &) = delete;
	size_t read(char *buf, size_t n) override
	{
		if (!started_)
			start();
		if (plain_)
			return take_plain(buf, n);
		const uInt want = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
		zs_.next_out = reinterpret_cast<Bytef *>(buf);
		zs_.avail_out = want;
		while (want > 0 && zs_.avail_out == want) {
			if (zs_.avail_in == 0 && !fill())
				return finish_stream();
			if (member_ended_) { // more bytes after a whole member: the next member
				if (inflateReset(&zs_) != Z_OK)
					throw std::runtime_error("cannot decompress the archive");
				member_ended_ = false;
			}
			const int rc = inflate(&zs_, Z_NO_FLUSH);
			if (rc == Z_STREAM_END)
				member_ended_ = true;
			else if (rc != Z_OK && rc != Z_BUF_ERROR)
				throw std::runtime_error(std::string("cannot decompress the archive: ") +
				                         (zs_.msg != nullptr ? zs_.msg : "corrupt gzip data"));
		}
		return want - zs_.avail_out;
	}

  private:
	// Reads more compressed bytes; false at the end of the source.
	bool fill()
	{
		const size_t got = inner_->read(in_.data(), in_.size());
		zs_.next_in = reinterpret_cast<Bytef *>(in_.data());
		zs_.avail_in = static_cast<uInt>(got);
		return got > 0;
	}
	void start()
	{
		started_ = true;
		if (!fill())
			return;
		plain_ = !(zs_.avail_in >= 2 && in_[0] == '\x1f' && in_[1] == '\x8b');
	}
	size_t take_plain(char *buf, size_t n)
	{
		if (zs_.avail_in == 0 && !fill())
			return 0;
		const size_t k = std::min<size_t>(n, zs_.avail_in);
		std::memcpy(buf, zs_.next_in, k);
		zs_.next_in += k;
		zs_.avail_in -= static_cast<uInt>(k);
		return k;
	}
	// The source ended: after a whole member, that is the end; inside one, the file was cut.
	size_t finish_stream()
	{
		if (!member_ended_ && zs_.total_in > 0)
			throw std::runtime_error("cannot decompress the archive: the gzip data ends early (a cut file)");
		return 0;
	}

	std::unique_ptr<ByteSource> inner_;
	std::vector<char> in_;
	z_stream zs_{};
	bool started_ = false;
	bool plain_ = false;
	bool member_ended_ = false;
};

struct ArchivedBlock {
	StoredBlock block;
	bool has_leaves = false;
	std::map<int64_t, Hash> leaves; // every member: id -> leaf hash
};

} // namespace

ArchiveResult verify_archive(const std::string &path, const ExportResult *later_export)
{
	ArchiveResult r;
	bool hashed = false;
	LineReader lines(std::make_unique<GunzipSource>(std::make_unique<DigestingSource>(
	    std::make_unique<FileSource>(path), [&](const Hash &h) {
		    r.sha256 = h;
		    hashed = true;
	    })));
	ExportParser parser;
	std::map<int64_t, ArchivedBlock> blocks;
	std::set<int64_t> seen_entries;
	std::unordered_map<int64_t, const ArchivedBlock *> member_of; // entry id -> the block whose leaf list has it
	bool have_header = false;
	auto problem = [&](const char *name, int64_t block_no, int64_t entry_id, std::string detail) {
		r.problems.push_back(ArchiveProblem{name, block_no, entry_id, std::move(detail)});
	};
	std::string_view line;
	while (lines.next(line)) {
		if (line.empty())
			continue;
		LineType type;
		try {
			type = parser.parse(line);
		} catch (const std::exception &e) {
			throw std::runtime_error("line " + std::to_string(lines.line_number()) + ": " + e.what());
		}
		auto line_error = [&](const std::string &what) {
			throw std::runtime_error("line " + std::to_string(lines.line_number()) + ": " + what);
		};
		if (!have_header) {
			if (type != LineType::Archive)
				line_error("the first line must be the archive header (is this an export? witness-verify EXPORT checks those)");
			r.header = parser.archive();
			have_header = true;
			continue;
		}
		switch (type) {
		case LineType::Block: {
			const StoredBlock &b = parser.block();
			if (!blocks.emplace(b.header.block_no, ArchivedBlock{b, false, {}}).second)
				line_error("block " + std::to_string(b.header.block_no) + " twice");
			r.blocks++;
			break;
		}
		case LineType::Leaves: {
			const ExportPruned &l = parser.pruned();
			auto it = blocks.find(l.block_no);
			if (it == blocks.end())
				line_error("a leaf list of block " + std::to_string(l.block_no) + ", which has no block line before it");
			if (it->second.has_leaves)
				line_error("a second leaf list of block " + std::to_string(l.block_no));
			if (l.ids.size() != l.hashes.size())
				line_error("block " + std::to_string(l.block_no) + ": entry_ids and leaf_hashes differ in length");
			it->second.has_leaves = true;
			for (size_t i = 0; i < l.ids.size(); i++) {
				it->second.leaves[l.ids[i]] = l.hashes[i];
				member_of[l.ids[i]] = &it->second;
			}
			const BlockHeader &h = it->second.block.header;
			bool ascending = true;
			for (size_t i = 1; i < l.ids.size(); i++)
				ascending = ascending && l.ids[i - 1] < l.ids[i];
			if (!ascending || static_cast<int64_t>(l.ids.size()) != h.entry_count ||
			    (!l.ids.empty() && (l.ids.front() < h.first_entry_id || l.ids.back() > h.last_entry_id)))
				problem("block altered", l.block_no, 0,
				        "its leaf list (" + std::to_string(l.ids.size()) +
				            " ids) does not match the header's entry count and id range, in ascending order");
			else if (merkle_root(l.hashes) != h.merkle_root)
				problem("block altered", l.block_no, 0, "its leaf list does not give the block's Merkle root");
			break;
		}
		case LineType::Entry: {
			const ExportEntry &e = parser.entry();
			r.entries++;
			if (!seen_entries.insert(e.id).second) {
				problem("entry inserted", 0, e.id, "the entry is in the archive twice");
				break;
			}
			if (e.payload == PayloadState::Erased)
				r.erased++;
			else if (e.payload == PayloadState::Unchecked)
				r.encrypted++;
			const auto found = member_of.find(e.id);
			const ArchivedBlock *owner = found == member_of.end() ? nullptr : found->second;
			if (owner == nullptr) {
				problem("entry inserted", 0, e.id, "no archived block's leaf list has the entry's id");
				break;
			}
			const int64_t block_no = owner->block.header.block_no;
			const Hash &sealed = owner->leaves.at(e.id);
			// What the entry stores of its leaf hash: all of it, or its first bytes (core/stored_leaf.hpp).
			const bool stored_sealed =
			    e.partial ? std::equal(sealed.begin(), sealed.begin() + kStoredLeafPrefix, e.stored.begin())
			              : e.stored == sealed;
			// A changed payload in clear leaves no leaf hash to compare: its payload check names it.
			if (!e.hashed && e.payload == PayloadState::Changed)
				problem("payload changed", block_no, e.id, "its payload does not match its commitment");
			else if (e.recomputed != sealed)
				problem(stored_sealed ? "value changed" : "hash changed", block_no, e.id,
				        stored_sealed ? "its content does not give the leaf hash the block sealed"
				                      : "its leaf hash differs from the one the block sealed");
			else if (!stored_sealed) // its content is intact; what it stores of its leaf hash is not
				problem("hash changed", block_no, e.id, "its stored leaf hash differs from the one the block sealed");
			else if (e.payload == PayloadState::Changed)
				problem("payload changed", block_no, e.id, "its payload does not match its commitment");
			break;
		}
		default:
			line_error("an archive holds block, leaves and entry lines after its header only");
		}
	}
	if (!have_header)
		throw std::runtime_error("the archive is empty");

	// Every block: its hash from its header, its leaf list, its link to the previous archived block.
	const StoredBlock *previous = nullptr;
	for (const auto &[no, b] : blocks) {
		if (block_hash(b.block.header) != b.block.stored_block_hash)
			problem("block altered", no, 0, "its header does not give its stored block hash");
		if (!b.has_leaves)
			problem("block altered", no, 0, "the archive has no leaf list for it");
		if (previous != nullptr && previous->header.block_no + 1 == no &&
		    b.block.header.prev_hash != previous->stored_block_hash)
			problem("chain broken", no, 0, "its prev_hash is not block " + std::to_string(no - 1) + "'s hash");
		previous = &b.block;
	}
	if (r.entries != r.header.entries)
		problem("entry missing", 0, 0,
		        "the archive's header says " + std::to_string(r.header.entries) + " entries, " +
		            std::to_string(r.entries) + " are in it");

	if (!hashed)
		throw std::runtime_error("the archive was not read to its end");
	if (later_export != nullptr) {
		r.against_export = true;
		std::map<int64_t, const StoredBlock *> chain;
		for (const StoredBlock &b : later_export->blocks)
			chain[b.header.block_no] = &b;
		for (const auto &[no, b] : blocks) {
			auto it = chain.find(no);
			if (it == chain.end())
				problem("block missing", no, 0, "the export has no block of this number");
			else if (it->second->stored_block_hash != b.block.stored_block_hash)
				problem("chain broken", no, 0,
				        "its hash in the archive differs from the export's " + to_hex(it->second->stored_block_hash));
		}
		bool recorded = false;
		for (const RetentionRecord &run : later_export->retentions)
			if (run.run_id == r.header.run_id)
				for (const RetentionRecord::Archive &a : run.archives)
					if (a.sha256 == r.sha256 && a.entries == r.header.entries)
						recorded = true;
		// The database id names where the file was written, not the chain: a dump restored into another
		// database, a renamed one or a new cluster carries the same chain under another id. The sealed
		// record of this file's SHA-256 in the verified chain is the proof; the id is then only a note.
		const bool other_database = later_export->header.database != r.header.database;
		const std::string databases = "the archive is of database \"" + r.header.database + "\", the export of \"" +
		                              later_export->header.database + "\"";
		if (other_database && recorded)
			r.notes.push_back(databases + ", whose chain records this file (retention run " +
			                  std::to_string(r.header.run_id) + "): restored or renamed since");
		else if (other_database)
			problem("archive not recorded", 0, 0, databases);
		if (!recorded)
			problem("archive not recorded", 0, 0,
			        "no retention run " + std::to_string(r.header.run_id) +
			            " in the export's chain names this file's SHA-256 " + to_hex(r.sha256));
	}
	return r;
}

} // namespace witness::tool
