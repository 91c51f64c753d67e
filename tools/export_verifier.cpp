// Export verification: serial header and blocks, then entry chunks parsed in parallel.
#include "export_verifier.hpp"

#include <cstring>
#include <deque>
#include <future>
#include <memory>
#include <stdexcept>

#include "line_reader.hpp"

namespace witness::tool
{

namespace
{

constexpr size_t kChunkBytes = size_t(8) << 20;

struct ChunkResult {
	std::vector<ExportEntry> entries;
	long lines = 0;
	long error_line = 0; // within the chunk, 1-based; 0 = no error
	std::string error;
};

bool blank(std::string_view line)
{
	return line.find_first_not_of(" \t") == std::string_view::npos;
}

// Parses the entry lines of one chunk; stops at the first bad line and says which.
ChunkResult parse_chunk(const std::string &chunk)
{
	ChunkResult r;
	r.entries.reserve(chunk.size() / 512);
	ExportParser parser;
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
		try {
			if (parser.parse(line) != LineType::Entry)
				throw std::runtime_error("header and block lines must come before the entry lines");
		} catch (const std::exception &e) {
			r.error_line = r.lines;
			r.error = e.what();
			return r;
		}
		r.entries.push_back(parser.entry());
	}
	return r;
}

[[noreturn]] void line_error(long line, const std::string &what)
{
	throw std::runtime_error("line " + std::to_string(line) + ": " + what);
}

} // namespace

ExportResult verify_export(const std::string &path, unsigned jobs)
{
	LineReader lines(path);
	ExportParser parser;
	ExportResult t;
	std::unique_ptr<TrailVerifier> verifier;
	bool have_header = false;
	std::string_view line;
	// The header and the blocks, up to the first entry line.
	while (!verifier && lines.next(line)) {
		if (blank(line))
			continue;
		LineType type;
		try {
			type = parser.parse(line);
		} catch (const std::exception &e) {
			line_error(lines.line_number(), e.what());
		}
		if (type == LineType::Header && have_header)
			line_error(lines.line_number(), "a second header line");
		if (type != LineType::Header && !have_header)
			line_error(lines.line_number(), "the first line must be the header");
		if (type == LineType::Header) {
			have_header = true;
			t.header = parser.header();
		} else if (type == LineType::Block) {
			t.blocks.push_back(parser.block());
		} else {
			verifier = std::make_unique<TrailVerifier>(nullptr, t.blocks, true, t.header.highest_block_no);
			verifier->add_entry(parser.entry().id, parser.entry().xid, parser.entry().stored,
			                    parser.entry().recomputed);
			t.entries++;
		}
	}
	if (!have_header)
		throw std::runtime_error("the export is empty: no header line");
	if (!verifier) {
		verifier = std::make_unique<TrailVerifier>(nullptr, t.blocks, true, t.header.highest_block_no);
	} else {
		// The entries, in chunks; results are consumed in file order so that errors name the right line.
		long line_base = lines.line_number();
		auto consume = [&](const ChunkResult &r) {
			if (r.error_line != 0)
				line_error(line_base + r.error_line, r.error);
			for (const ExportEntry &e : r.entries)
				verifier->add_entry(e.id, e.xid, e.stored, e.recomputed);
			t.entries += static_cast<int64_t>(r.entries.size());
			line_base += r.lines;
		};
		// Chunk buffers are reused: a fresh 8 MiB allocation per chunk costs page faults every time.
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
				consume(parse_chunk(*chunk));
				spare.push_back(std::move(chunk));
				continue;
			}
			auto result = std::async(std::launch::async, [chunk] { return parse_chunk(*chunk); });
			inflight.emplace_back(std::move(chunk), std::move(result));
			if (inflight.size() >= jobs)
				finish_oldest();
		}
		while (!inflight.empty())
			finish_oldest();
	}
	t.report = verifier->finish();
	return t;
}

} // namespace witness::tool
