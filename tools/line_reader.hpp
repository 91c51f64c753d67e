// Reads an export through a large buffer: line by line without a copy per line, or in chunks of whole
// lines that worker threads can parse on their own. The bytes come from a file, standard input or a
// database connection (a ByteSource).
#pragma once

#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sha256.hpp"

namespace witness::tool
{

// Where the bytes of an export come from.
class ByteSource
{
  public:
	virtual ~ByteSource() = default;
	// Up to n bytes into buf; 0 only at the end. Throws std::runtime_error on a read error.
	virtual size_t read(char *buf, size_t n) = 0;
};

// A file, or standard input for "-".
class FileSource : public ByteSource
{
  public:
	// Throws std::runtime_error when the file cannot be opened.
	explicit FileSource(const std::string &path);
	~FileSource() override;
	FileSource(const FileSource &) = delete;
	FileSource &operator=(const FileSource &) = delete;
	size_t read(char *buf, size_t n) override;

  private:
	std::FILE *file_ = nullptr;
	bool owned_ = false;
};

// Reads another source ahead in a thread of its own, up to `capacity` bytes, so that its producer
// never waits for the consumer's parsing: over a socket, the server keeps sending while the lines
// already received are parsed. Errors of the inner source come out of read().
class PrefetchSource : public ByteSource
{
  public:
	PrefetchSource(std::unique_ptr<ByteSource> inner, size_t capacity);
	~PrefetchSource() override;
	PrefetchSource(const PrefetchSource &) = delete;
	PrefetchSource &operator=(const PrefetchSource &) = delete;
	size_t read(char *buf, size_t n) override;

  private:
	struct State;
	std::unique_ptr<State> state_;
};

// Passes another source's bytes on and hashes them; at the end of the bytes, hands the SHA-256 of all
// of them to on_end. For a file read more than once: a report's figures must come from the bytes its
// verification read (a review served a forged file through a FIFO to the second read).
class DigestingSource : public ByteSource
{
  public:
	DigestingSource(std::unique_ptr<ByteSource> inner, std::function<void(const Hash &)> on_end);
	~DigestingSource() override;
	DigestingSource(const DigestingSource &) = delete;
	DigestingSource &operator=(const DigestingSource &) = delete;
	size_t read(char *buf, size_t n) override;

  private:
	std::unique_ptr<ByteSource> inner_;
	Sha256 sha_;
	std::function<void(const Hash &)> on_end_;
	bool ended_ = false;
};

class LineReader
{
  public:
	explicit LineReader(std::unique_ptr<ByteSource> source);
	// path "-" reads standard input. Throws std::runtime_error when the file cannot be opened.
	explicit LineReader(const std::string &path);
	LineReader(const LineReader &) = delete;
	LineReader &operator=(const LineReader &) = delete;

	// The next line without its "\n" (or "\r\n"); the view lives until the next call. False at the end.
	bool next(std::string_view &line);
	long line_number() const { return line_no_; }

	// Replaces chunk with the next whole lines, about `size` bytes of them (more when one line is
	// longer); line_number() does not count them. False at the end.
	bool next_chunk(std::string &chunk, size_t size);

  private:
	bool fill();

	// A buffer grown with realloc: glibc moves a large block with mremap instead of copying it, so a
	// line near the limit holds one buffer, not the old and the new one at once (a review's 10 MB
	// gzip archive of one 2.3 GB line took 4.2 GB, the doubled buffer copied at every step).
	class Buffer
	{
	  public:
		explicit Buffer(size_t n);
		~Buffer();
		Buffer(const Buffer &) = delete;
		Buffer &operator=(const Buffer &) = delete;
		char *data() { return data_; }
		size_t size() const { return size_; }
		char &operator[](size_t i) { return data_[i]; }
		void resize(size_t n); // keeps the first min(size(), n) bytes; throws std::bad_alloc

	  private:
		char *data_ = nullptr;
		size_t size_ = 0;
	};

	std::unique_ptr<ByteSource> source_;
	Buffer buf_;
	size_t begin_ = 0, end_ = 0;
	bool eof_ = false;
	long line_no_ = 0;
};

} // namespace witness::tool
