// Decoding COPY text: the escapes of CopyReadAttributesText in PostgreSQL's copyfromparse.c.
#include "copy_text.hpp"

#include <cstring>
#include <stdexcept>

#include "hex_digit.hpp"

namespace witness::tool
{

namespace
{

int octal(char c)
{
	return c >= '0' && c <= '7' ? c - '0' : -1;
}

} // namespace

CopyRow decode_copy_text(std::string_view line, std::string &scratch, std::string_view &value)
{
	if (line == "\\N")
		throw std::runtime_error("a NULL row (\\N): the export has no NULL line");
	if (line == "\\.")
		return CopyRow::EndOfData;
	if (std::memchr(line.data(), '\t', line.size()) != nullptr)
		throw std::runtime_error("an unescaped tab: COPY text with more than one column is not an export");
	const char *bs = static_cast<const char *>(std::memchr(line.data(), '\\', line.size()));
	if (bs == nullptr) {
		value = line;
		return CopyRow::Value;
	}
	scratch.clear();
	scratch.reserve(line.size());
	size_t i = 0;
	const size_t n = line.size();
	while (i < n) {
		const char *next = static_cast<const char *>(std::memchr(line.data() + i, '\\', n - i));
		const size_t at = next ? static_cast<size_t>(next - line.data()) : n;
		scratch.append(line.data() + i, at - i);
		if (at == n)
			break;
		if (at + 1 == n)
			throw std::runtime_error("a backslash at the end of the line: COPY writes a newline in a value as \\n");
		char c = line[at + 1];
		i = at + 2;
		switch (c) {
		case 'b':
			scratch += '\b';
			break;
		case 'f':
			scratch += '\f';
			break;
		case 'n':
			scratch += '\n';
			break;
		case 'r':
			scratch += '\r';
			break;
		case 't':
			scratch += '\t';
			break;
		case 'v':
			scratch += '\v';
			break;
		case '.':
			throw std::runtime_error("\\. inside a line: it is COPY's end-of-data marker, which stands alone on its line");
		case 'x':
			// \x and one or two hex digits; \x without one is an x.
			if (i < n && hex_digit_value(line[i]) >= 0) {
				int v = hex_digit_value(line[i++]);
				if (i < n && hex_digit_value(line[i]) >= 0)
					v = v * 16 + hex_digit_value(line[i++]);
				scratch += static_cast<char>(v);
			} else {
				scratch += 'x';
			}
			break;
		default:
			if (octal(c) >= 0) {
				// One to three octal digits; the value is taken modulo 256, as COPY FROM does.
				int v = octal(c);
				for (int k = 0; k < 2 && i < n && octal(line[i]) >= 0; k++)
					v = v * 8 + octal(line[i++]);
				scratch += static_cast<char>(v & 0377);
			} else {
				scratch += c; // \\ and any other escaped character: the character itself
			}
		}
	}
	value = scratch;
	return CopyRow::Value;
}

} // namespace witness::tool
