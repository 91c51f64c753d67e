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

// A gzip file (or a plain one: zlib reads it as it is), decompressed as it is read.
class GzipSource : public ByteSource
{
  public:
	explicit GzipSource(const std::string &path)
	{
		gz_ = gzopen(path.c_str(), "rb");
		if (gz_ == nullptr)
			throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
	}
	~GzipSource() override { gzclose(gz_); }
	GzipSource(const GzipSource &) = delete;
	GzipSource &operator=(const GzipSource &) = delete;
	size_t read(char *buf, size_t n) override
	{
		const unsigned ask = n > (1u << 30) ? (1u << 30) : static_cast<unsigned>(n);
		const int got = gzread(gz_, buf, ask);
		if (got < 0) {
			int errnum = 0;
			const char *msg = gzerror(gz_, &errnum);
			throw std::runtime_error(std::string("cannot decompress the archive: ") +
			                         (errnum == Z_ERRNO ? std::strerror(errno) : msg));
		}
		return static_cast<size_t>(got);
	}

  private:
	gzFile gz_ = nullptr;
};

// SHA-256 of the file's bytes as stored: what the retention run's record names.
Hash file_sha256(const std::string &path)
{
	FileSource f(path);
	Sha256 h;
	std::vector<char> buf(1 << 16);
	for (size_t n; (n = f.read(buf.data(), buf.size())) > 0;)
		h.update(buf.data(), n);
	return h.finish();
}

struct ArchivedBlock {
	StoredBlock block;
	bool has_leaves = false;
	std::map<int64_t, Hash> leaves; // every member: id -> leaf hash
};

} // namespace

ArchiveResult verify_archive(const std::string &path, const ExportResult *later_export)
{
	ArchiveResult r;
	r.sha256 = file_sha256(path);
	LineReader lines(std::make_unique<GzipSource>(path));
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

	if (later_export != nullptr) {
		r.against_export = true;
		if (later_export->header.database != r.header.database)
			problem("archive not recorded", 0, 0,
			        "the archive is of database \"" + r.header.database + "\", the export of \"" +
			            later_export->header.database + "\"");
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
		if (!recorded)
			problem("archive not recorded", 0, 0,
			        "no retention run " + std::to_string(r.header.run_id) +
			            " in the export's chain names this file's SHA-256 " + to_hex(r.sha256));
	}
	return r;
}

} // namespace witness::tool
