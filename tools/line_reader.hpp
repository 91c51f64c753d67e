// Reads a file (or standard input) through a large buffer: line by line without a copy per line,
// or in chunks of whole lines that worker threads can parse on their own.
#pragma once

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace witness::tool
{

class LineReader
{
  public:
	// path "-" reads standard input. Throws std::runtime_error when the file cannot be opened.
	explicit LineReader(const std::string &path);
	~LineReader();
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

	std::FILE *file_ = nullptr;
	bool owned_ = false;
	std::vector<char> buf_;
	size_t begin_ = 0, end_ = 0;
	bool eof_ = false;
	long line_no_ = 0;
};

} // namespace witness::tool
