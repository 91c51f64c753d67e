// Buffered reading: lines are views into the buffer, which grows for a longer line.
#include "line_reader.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <new>
#include <cstring>
#include <stdexcept>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
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

struct PrefetchSource::State {
	std::unique_ptr<ByteSource> inner;
	size_t capacity;
	size_t block = size_t(1) << 20;
	std::mutex mu;
	std::condition_variable changed;
	std::deque<std::vector<char>> full; // blocks read, oldest first
	std::vector<std::vector<char>> spare; // blocks consumed, for reuse
	size_t buffered = 0;                // bytes in full
	size_t offset = 0;                  // bytes of full.front() already consumed
	bool done = false, stop = false;
	std::exception_ptr error;
	std::thread reader;

	void run()
	{
		try {
			for (;;) {
				std::vector<char> b;
				{
					std::lock_guard<std::mutex> lock(mu);
					if (!spare.empty()) {
						b = std::move(spare.back());
						spare.pop_back();
					}
				}
				b.resize(block);
				size_t len = 0;
				// Fill the block (a short read is not the end); the last one may stay short.
				while (len < b.size()) {
					const size_t n = inner->read(b.data() + len, b.size() - len);
					if (n == 0)
						break;
					len += n;
				}
				b.resize(len);
				std::unique_lock<std::mutex> lock(mu);
				changed.wait(lock, [&] { return stop || buffered < capacity; });
				if (stop)
					return;
				const bool last = len < block;
				if (len > 0) {
					buffered += len;
					full.push_back(std::move(b));
				}
				if (last) {
					done = true;
					changed.notify_all();
					return;
				}
				changed.notify_all();
			}
		} catch (...) {
			std::lock_guard<std::mutex> lock(mu);
			error = std::current_exception();
			done = true;
			changed.notify_all();
		}
	}
};

PrefetchSource::PrefetchSource(std::unique_ptr<ByteSource> inner, size_t capacity) : state_(std::make_unique<State>())
{
	state_->inner = std::move(inner);
	state_->capacity = std::max(capacity, state_->block);
	state_->reader = std::thread([s = state_.get()] { s->run(); });
}

PrefetchSource::~PrefetchSource()
{
	{
		std::lock_guard<std::mutex> lock(state_->mu);
		state_->stop = true;
	}
	state_->changed.notify_all();
	state_->reader.join();
}

DigestingSource::DigestingSource(std::unique_ptr<ByteSource> inner, std::function<void(const Hash &)> on_end)
    : inner_(std::move(inner)), on_end_(std::move(on_end))
{
}

DigestingSource::~DigestingSource() = default;

size_t DigestingSource::read(char *buf, size_t n)
{
	const size_t got = inner_->read(buf, n);
	if (got > 0) {
		sha_.update(buf, got);
	} else if (!ended_) {
		ended_ = true;
		on_end_(sha_.finish());
	}
	return got;
}

size_t PrefetchSource::read(char *buf, size_t n)
{
	State &s = *state_;
	std::unique_lock<std::mutex> lock(s.mu);
	s.changed.wait(lock, [&] { return !s.full.empty() || s.done; });
	if (s.full.empty()) {
		if (s.error)
			std::rethrow_exception(s.error);
		return 0;
	}
	size_t got = 0;
	while (got < n && !s.full.empty()) {
		std::vector<char> &b = s.full.front();
		const size_t take = std::min(n - got, b.size() - s.offset);
		std::memcpy(buf + got, b.data() + s.offset, take);
		got += take;
		s.offset += take;
		if (s.offset == b.size()) {
			s.buffered -= b.size();
			if (s.spare.size() < 4)
				s.spare.push_back(std::move(b));
			s.full.pop_front();
			s.offset = 0;
		}
	}
	s.changed.notify_all();
	return got;
}

LineReader::Buffer::Buffer(size_t n) { resize(n); }

LineReader::Buffer::~Buffer() { std::free(data_); }

void LineReader::Buffer::resize(size_t n)
{
	void *grown = std::realloc(data_, n);
	if (grown == nullptr)
		throw std::bad_alloc();
	data_ = static_cast<char *>(grown);
	size_ = n;
}

LineReader::LineReader(std::unique_ptr<ByteSource> source) : source_(std::move(source)), buf_(size_t(4) << 20) {}

LineReader::LineReader(const std::string &path) : LineReader(std::make_unique<FileSource>(path)) {}

// Moves the unread rest to the front, grows the buffer when it is full, and reads more.
// An exported line holds one text value of at most 1 GB, which COPY's escapes can double: a longer
// "line" is no export, and growing the buffer for it without end would exhaust memory (a review's
// 200 MB line without a newline took 437 MB; a hostile server could send one forever).
constexpr size_t kMaxLineBytes = (size_t(2) << 30) + (size_t(16) << 20);

bool LineReader::fill()
{
	if (eof_)
		return false;
	if (begin_ > 0) {
		std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
		end_ -= begin_;
		begin_ = 0;
	}
	if (end_ == buf_.size()) {
		if (buf_.size() >= kMaxLineBytes)
			throw std::runtime_error("a line longer than " + std::to_string(kMaxLineBytes >> 20) +
			                         " MiB: not an export line");
		buf_.resize(std::min(buf_.size() * 2, kMaxLineBytes));
	}
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
