// Buffered reading: lines are views into the buffer, which grows for a longer line.
#include "line_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <utility>

namespace witness::tool
{

FileSource::FileSource(const std::string &path)
{
	if (path == "-") {
		file_ = stdin;
		return;
	}
	file_ = std::fopen(path.c_str(), "rb");
	owned_ = true;
	if (file_ == nullptr)
		throw std::runtime_error("cannot open " + path + ": " + std::strerror(errno));
}

FileSource::~FileSource()
{
	if (owned_)
		std::fclose(file_);
}

size_t FileSource::read(char *buf, size_t n)
{
	const size_t got = std::fread(buf, 1, n, file_);
	if (got == 0 && std::ferror(file_))
		throw std::runtime_error(std::string("read error: ") + std::strerror(errno));
	return got;
}

LineReader::LineReader(std::unique_ptr<ByteSource> source) : source_(std::move(source)), buf_(size_t(4) << 20) {}

LineReader::LineReader(const std::string &path) : LineReader(std::make_unique<FileSource>(path)) {}

// Moves the unread rest to the front, grows the buffer when it is full, and reads more.
bool LineReader::fill()
{
	if (eof_)
		return false;
	if (begin_ > 0) {
		std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
		end_ -= begin_;
		begin_ = 0;
	}
	if (end_ == buf_.size())
		buf_.resize(buf_.size() * 2);
	const size_t n = source_->read(buf_.data() + end_, buf_.size() - end_);
	if (n == 0) {
		eof_ = true;
		return false;
	}
	end_ += n;
	return true;
}

bool LineReader::next(std::string_view &line)
{
	size_t scanned = begin_;
	for (;;) {
		const void *nl = std::memchr(buf_.data() + scanned, '\n', end_ - scanned);
		if (nl != nullptr) {
			const size_t at = static_cast<size_t>(static_cast<const char *>(nl) - buf_.data());
			size_t len = at - begin_;
			if (len > 0 && buf_[at - 1] == '\r')
				len--;
			line = std::string_view(buf_.data() + begin_, len);
			begin_ = at + 1;
			line_no_++;
			return true;
		}
		const size_t offset = end_ - begin_; // already scanned, relative to begin_
		if (!fill()) {
			if (begin_ == end_)
				return false;
			size_t len = end_ - begin_; // a last line without "\n"
			if (len > 0 && buf_[begin_ + len - 1] == '\r')
				len--;
			line = std::string_view(buf_.data() + begin_, len);
			begin_ = end_;
			line_no_++;
			return true;
		}
		scanned = begin_ + offset;
	}
}

bool LineReader::next_chunk(std::string &chunk, size_t size)
{
	if (buf_.size() < 2 * size)
		buf_.resize(2 * size);
	while (end_ - begin_ < size && fill()) {
	}
	for (;;) {
		const char *from = buf_.data() + begin_;
		const size_t avail = end_ - begin_;
		if (avail == 0)
			return false;
		// End after the last newline within size bytes, or after the first one beyond for a long line.
		const void *nl = memrchr(from, '\n', std::min(avail, size));
		if (nl == nullptr && avail > size)
			nl = std::memchr(from + size, '\n', avail - size);
		size_t take = avail; // at the end, the last line needs no newline
		if (nl != nullptr)
			take = static_cast<size_t>(static_cast<const char *>(nl) - from) + 1;
		else if (!eof_) {
			fill(); // a line longer than what is buffered: read on (fill grows a full buffer)
			continue;
		}
		chunk.assign(from, take);
		begin_ += take;
		return true;
	}
}

} // namespace witness::tool
