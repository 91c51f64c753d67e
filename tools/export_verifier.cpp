// Export verification in passes: serial header and blocks, then entry chunks parsed in parallel.
#include "export_verifier.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <stdexcept>
#include <string_view>

#include <unistd.h>

#include "sha256.hpp"

namespace witness::tool
{

namespace
{

constexpr size_t kChunkBytes = size_t(4) << 20;

struct ChunkResult {
	std::vector<ExportEntry> entries;
	std::vector<std::pair<size_t, std::string>> leaf_encodings; // (index in entries, ExportParser::leaf_encoding())
	std::vector<std::pair<RecordEntry, ErasureRecord>> erasures;     // erasure records among the entries
	std::vector<std::pair<RecordEntry, RetentionRecord>> retentions; // retention run records among the entries
	long lines = 0;
	long error_line = 0; // within the chunk, 1-based; 0 = no error
	std::string error;
	long end_line = 0;       // the end-of-data marker's line within the chunk; 0 = none
	long first_nonblank = 0; // the first line that is not blank; 0 = none
};

bool blank(std::string_view line)
{
	return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Parses the entry lines of one chunk; stops at the first bad line and says which.
ChunkResult parse_chunk(const std::string &chunk, bool copy_text)
{
	ChunkResult r;
	r.entries.reserve(chunk.size() / 400);
	ExportParser parser;
	parser.set_copy_text(copy_text);
	size_t pos = 0;
	while (pos < chunk.size()) {
		const void *nl = std::memchr(chunk.data() + pos, '\n', chunk.size() - pos);
		const size_t end = nl ? static_cast<size_t>(static_cast<const char *>(nl) - chunk.data()) : chunk.size();
		std::string_view line(chunk.data() + pos, end - pos);
		if (!line.empty() && line.back() == '\r')
			line.remove_suffix(1);
		pos = end + 1;
		r.lines++;
		if (blank(line))
			continue;
		if (r.first_nonblank == 0)
			r.first_nonblank = r.lines;
		try {
			if (r.end_line != 0)
				throw std::runtime_error("a line after the end-of-data marker \\.");
			const LineType type = parser.parse(line);
			if (type == LineType::End) {
				r.end_line = r.lines;
				continue;
			}
			if (type != LineType::Entry)
				throw std::runtime_error("header, block and pruned lines must come before the entry lines");
		} catch (const std::exception &e) {
			r.error_line = r.lines;
			r.error = e.what();
			return r;
		}
		if (!parser.leaf_encoding().empty())
			r.leaf_encodings.emplace_back(r.entries.size(), parser.leaf_encoding());
		r.entries.push_back(parser.entry());
		const RecordEntry at{parser.entry().id, parser.entry().xid};
		if (parser.has_erasure_record())
			r.erasures.emplace_back(at, parser.erasure_record());
		if (parser.has_retention_record())
			r.retentions.emplace_back(at, parser.retention_record());
	}
	return r;
}

[[noreturn]] void line_error(long line, const std::string &what)
{
	throw std::runtime_error("line " + std::to_string(line) + ": " + what);
}

// Whether the export is COPY text, from its header line read as JSON: export_trail() writes
// "backslash" as a string of one backslash, which COPY doubles. Exports without it are JSON Lines.
bool header_says_copy_text(const ExportHeader &h, long line)
{
	if (h.backslash.empty() || h.backslash == "\\")
		return false;
	if (h.backslash == "\\\\")
		return true;
	line_error(line, "\"backslash\" must be one backslash (two in COPY text)");
}

// Entries of the first pass for inputs that cannot be read twice: 80 bytes each in an unlinked
// temporary file in $TMPDIR (or /tmp), read back by the later passes.
class EntrySpill
{
  public:
	EntrySpill()
	{
		const char *dir = std::getenv("TMPDIR");
		std::string path = std::string(dir && *dir ? dir : "/tmp") + "/witness-verify.XXXXXX";
		const int fd = mkstemp(path.data());
		if (fd < 0)
			throw std::runtime_error("cannot create a temporary file in " + path + ": " + std::strerror(errno));
		unlink(path.c_str());
		file_ = fdopen(fd, "w+b");
		if (file_ == nullptr) {
			close(fd);
			throw std::runtime_error(std::string("fdopen: ") + std::strerror(errno));
		}
	}
	~EntrySpill() { std::fclose(file_); }
	EntrySpill(const EntrySpill &) = delete;
	EntrySpill &operator=(const EntrySpill &) = delete;

	void write(const ExportEntry &e)
	{
		if (std::fwrite(&e, sizeof e, 1, file_) != 1)
			throw std::runtime_error(std::string("cannot write the temporary file: ") + std::strerror(errno));
	}
	void rewind()
	{
		if (std::fflush(file_) != 0 || std::fseek(file_, 0, SEEK_SET) != 0)
			throw std::runtime_error(std::string("cannot reread the temporary file: ") + std::strerror(errno));
	}
	bool read(ExportEntry &e)
	{
		if (std::fread(&e, sizeof e, 1, file_) == 1)
			return true;
		if (std::ferror(file_))
			throw std::runtime_error(std::string("cannot read the temporary file: ") + std::strerror(errno));
		return false;
	}

  private:
	std::FILE *file_ = nullptr;
};

// An entry, and its ExportParser::leaf_encoding() (empty for nearly all).
using EntrySink = std::function<void(const ExportEntry &, std::string_view)>;
// A record, and the entry that recorded it.
using ErasureSink = std::function<void(const RecordEntry &, const ErasureRecord &)>;
using RetentionSink = std::function<void(const RecordEntry &, const RetentionRecord &)>;

// One pass over the export: the header and block lines into t (first pass; later passes check that
// they are the same), then every entry to sink. Returns the number of entry lines.
int64_t read_pass(LineReader &lines, bool first, unsigned jobs, ExportResult &t, const EntrySink &sink,
                  const ErasureSink &erasures = nullptr, const RetentionSink &retentions = nullptr)
{
	ExportParser parser;
	bool have_header = false, ended = false;
	size_t blocks = 0, pruned = 0;
	int64_t entries = 0;
	std::string_view line;
	auto check_blocks = [&] {
		if (!first && (blocks != t.blocks.size() || pruned != t.pruned.size()))
			throw std::runtime_error("the export changed between two passes: " + std::to_string(blocks) +
			                         " blocks, first " + std::to_string(t.blocks.size()));
	};
	// The header and the blocks, up to the first entry line.
	while (!ended && lines.next(line)) {
		if (blank(line))
			continue;
		LineType type;
		try {
			type = parser.parse(line);
		} catch (const std::exception &e) {
			line_error(lines.line_number(), e.what());
		}
		if (type == LineType::Header && !have_header) {
			const bool copy = header_says_copy_text(parser.header(), lines.line_number());
			if (copy) {
				parser.set_copy_text(true);
				try {
					type = parser.parse(line); // again, decoded
				} catch (const std::exception &e) {
					line_error(lines.line_number(), e.what());
				}
			}
			if (first) {
				t.copy_text = copy;
				t.header = parser.header();
			}
		}
		if (type == LineType::Header && have_header)
			line_error(lines.line_number(), "a second header line");
		if (type != LineType::Header && !have_header)
			line_error(lines.line_number(), "the first line must be the header");
		if (type == LineType::Header) {
			have_header = true;
		} else if (type == LineType::Block) {
			if (first)
				t.blocks.push_back(parser.block());
			blocks++;
		} else if (type == LineType::Era) {
			if (first)
				t.eras.push_back(parser.era());
		} else if (type == LineType::Pruned) {
			if (first)
				t.pruned.push_back(parser.pruned());
			pruned++;
		} else if (type == LineType::End) {
			ended = true;
		} else if (type == LineType::Archive || type == LineType::Leaves) {
			line_error(lines.line_number(), "a line of a retention archive file, not of an export");
		} else {
			check_blocks();
			sink(parser.entry(), parser.leaf_encoding());
			const RecordEntry at{parser.entry().id, parser.entry().xid};
			if (erasures && parser.has_erasure_record())
				erasures(at, parser.erasure_record());
			if (retentions && parser.has_retention_record())
				retentions(at, parser.retention_record());
			entries++;
			break;
		}
	}
	if (!have_header)
		throw std::runtime_error("the export is empty: no header line");
	check_blocks();
	if (ended) {
		while (lines.next(line))
			if (!blank(line))
				line_error(lines.line_number(), "a line after the end-of-data marker \\.");
		return entries;
	}
	if (entries == 0)
		return 0;

	// The entries, in chunks; results are consumed in file order so that errors name the right line.
	long line_base = lines.line_number();
	const bool copy_text = parser.copy_text();
	auto consume = [&](const ChunkResult &r) {
		if (ended && r.first_nonblank != 0)
			line_error(line_base + r.first_nonblank, "a line after the end-of-data marker \\.");
		if (r.error_line != 0)
			line_error(line_base + r.error_line, r.error);
		size_t next = 0; // of r.leaf_encodings
		for (size_t i = 0; i < r.entries.size(); i++) {
			const bool has = next < r.leaf_encodings.size() && r.leaf_encodings[next].first == i;
			sink(r.entries[i], has ? std::string_view(r.leaf_encodings[next++].second) : std::string_view());
		}
		if (erasures)
			for (const auto &[at, record] : r.erasures)
				erasures(at, record);
		if (retentions)
			for (const auto &[at, record] : r.retentions)
				retentions(at, record);
		entries += static_cast<int64_t>(r.entries.size());
		ended = ended || r.end_line != 0;
		line_base += r.lines;
	};
	// Chunk buffers are reused: a fresh allocation per chunk costs page faults every time.
	std::vector<std::shared_ptr<std::string>> spare;
	std::deque<std::pair<std::shared_ptr<std::string>, std::future<ChunkResult>>> inflight;
	auto finish_oldest = [&] {
		consume(inflight.front().second.get());
		spare.push_back(std::move(inflight.front().first));
		inflight.pop_front();
	};
	for (;;) {
		std::shared_ptr<std::string> chunk;
		if (spare.empty()) {
			chunk = std::make_shared<std::string>();
		} else {
			chunk = std::move(spare.back());
			spare.pop_back();
		}
		if (!lines.next_chunk(*chunk, kChunkBytes))
			break;
		if (jobs <= 1) {
			consume(parse_chunk(*chunk, copy_text));
			spare.push_back(std::move(chunk));
			continue;
		}
		auto result = std::async(std::launch::async, [chunk, copy_text] { return parse_chunk(*chunk, copy_text); });
		inflight.emplace_back(std::move(chunk), std::move(result));
		if (inflight.size() >= jobs)
			finish_oldest();
	}
	while (!inflight.empty())
		finish_oldest();
	return entries;
}

// What an entry line gives the verifier, into the digest of a pass: a later pass must give exactly
// what the first gave, since records (erasures, retention runs) and payload states are taken from the
// first pass only. A server read twice (--connect) served a forged retention record in the first pass
// and the true entries in the second, and a trail with a deleted block verified (an attack review).
class PassDigest
{
  public:
	void add(const ExportEntry &e);
	// The digest of everything added since the last call.
	Hash finish()
	{
		sha_.update(buf_.data(), buf_.size());
		buf_.clear();
		return sha_.finish();
	}

  private:
	Sha256 sha_;
	std::string buf_; // hashed 64 kB at a time
};

// The first 8 bytes of each leaf hash are enough to bind them: to pass another entry off under the
// same digest, a source would need content whose leaf hash starts with the same 64 bits.
void PassDigest::add(const ExportEntry &e)
{
	uint8_t buf[8 + 8 + 8 + 8 + 4 + 1 + 8];
	uint8_t *p = buf;
	for (int i = 7; i >= 0; i--)
		*p++ = static_cast<uint8_t>(static_cast<uint64_t>(e.id) >> (8 * i));
	for (int i = 7; i >= 0; i--)
		*p++ = static_cast<uint8_t>(e.xid >> (8 * i));
	std::memcpy(p, e.stored.data(), 8);
	p += 8;
	std::memcpy(p, e.recomputed.data(), 8);
	p += 8;
	*p++ = e.partial;
	*p++ = e.hashed;
	*p++ = e.format;
	*p++ = static_cast<uint8_t>(e.payload);
	*p++ = e.erasure_id.has_value();
	for (int i = 7; i >= 0; i--)
		*p++ = static_cast<uint8_t>(static_cast<uint64_t>(e.erasure_id.value_or(0)) >> (8 * i));
	buf_.append(reinterpret_cast<const char *>(buf), sizeof(buf));
	if (buf_.size() >= (size_t(64) << 10)) {
		sha_.update(buf_.data(), buf_.size());
		buf_.clear();
	}
}

} // namespace

ExportResult verify_export(ExportInput &input, const VerifyOptions &options)
{
	ExportResult t;
	std::unique_ptr<TrailVerifier> verifier;
	std::unique_ptr<EntrySpill> spill;
	if (!input.reopens())
		spill = std::make_unique<EntrySpill>();
	// The canonical bytes of entries that do not give the leaf bytes they store, by content hash: kept
	// from the first pass for the passes that collect their blocks (a few at most, unless the trail was
	// tampered with wholesale), up to the verifier's own bound.
	std::map<Hash, std::string> leaf_encodings;
	size_t leaf_encoding_bytes = 0;
	PassDigest pass_digest;
	auto add = [&](const ExportEntry &e) {
		pass_digest.add(e);
		std::string_view encoding;
		if (e.partial && e.hashed && e.stored != e.recomputed) {
			const auto it = leaf_encodings.find(e.recomputed);
			if (it != leaf_encodings.end())
				encoding = it->second;
		}
		verifier->add_entry(e.id, e.xid, e.stored, e.recomputed, e.partial, encoding);
		if (e.format == kEntryFormatCommitted)
			verifier->add_payload(e.id, e.xid, e.payload, e.erasure_id); // ignored after the first pass
	};
	// Made at the first entry line (the blocks and the kept rows of pruned entries come before it), or
	// after the pass when there is none.
	auto ensure_verifier = [&] {
		if (verifier)
			return;
		verifier = std::make_unique<TrailVerifier>(nullptr, t.blocks, true, t.header.highest_block_no);
		verifier->set_eras(t.eras);
		verifier->sealed_records_only();
		if (options.unchecked)
			verifier->collect_unchecked();
		verifier->stream(options.max_collect_members);
		for (ExportPruned &p : t.pruned)
			verifier->add_pruned(p.block_no, p.run_id, p.whole, std::move(p.ids), std::move(p.hashes));
		t.pruned.clear();
		t.pruned.shrink_to_fit();
	};
	size_t pruned_lines = 0;
	{
		LineReader lines(input.open());
		t.entries = read_pass(
		    lines, true, options.jobs, t,
		    [&](const ExportEntry &e, std::string_view encoding) {
			    pruned_lines = std::max(pruned_lines, t.pruned.size());
			    ensure_verifier();
			    if (!encoding.empty() && leaf_encoding_bytes + encoding.size() <= TrailVerifier::kMaxEncodingBytes &&
			        leaf_encodings.emplace(e.recomputed, std::string(encoding)).second)
				    leaf_encoding_bytes += encoding.size();
			    add(e);
			    if (spill)
				    spill->write(e);
		    },
		    [&](const RecordEntry &at, const ErasureRecord &record) {
			    ensure_verifier();
			    verifier->add_erasure_record(record.erasure_id, record.entry_ids, record.tampered_entry_ids, at);
		    },
		    [&](const RecordEntry &at, const RetentionRecord &record) {
			    ensure_verifier();
			    const int64_t set_aside = verifier->unsealed_records();
			    verifier->add_retention_record(record, at);
			    // Only a sealed run vouches for an archive (--export) as well.
			    if (verifier->unsealed_records() == set_aside)
				    t.retentions.push_back(record);
		    });
	}
	t.passes = 1;
	const Hash first_pass = pass_digest.finish();
	pruned_lines = std::max(pruned_lines, t.pruned.size());
	ensure_verifier();
	// Later passes compare their counts with the first's: keep the count, not the rows.
	t.pruned.resize(pruned_lines);
	while (verifier->next_pass()) {
		t.passes++;
		int64_t n = 0;
		if (spill) {
			spill->rewind();
			ExportEntry e;
			while (spill->read(e)) {
				add(e);
				n++;
			}
		} else {
			LineReader lines(input.open());
			n = read_pass(lines, false, options.jobs, t, [&](const ExportEntry &e, std::string_view) { add(e); });
		}
		if (n != t.entries)
			throw std::runtime_error("the export changed between two passes: " + std::to_string(n) +
			                         " entries, first " + std::to_string(t.entries));
		if (pass_digest.finish() != first_pass)
			throw std::runtime_error("the export changed between two passes: its entry lines differ");
	}
	t.report = verifier->finish();
	if (options.unchecked) {
		t.unchecked = verifier->unchecked_entries();
		std::sort(t.unchecked.begin(), t.unchecked.end());
	}
	return t;
}

ExportResult verify_export(const std::string &path, unsigned jobs)
{
	FileInput input(path);
	VerifyOptions options;
	options.jobs = jobs;
	return verify_export(input, options);
}

} // namespace witness::tool
