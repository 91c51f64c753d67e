// COPY's text format, as COPY ... TO writes one text column (docs/verification.md, "Exporting"):
// a row is a line; a backslash, a tab, a newline and the other control characters COPY escapes come
// as \\, \t, \n, \r, \b, \f, \v; \N alone is NULL. Reading undoes that exactly, as COPY FROM does.
#pragma once

#include <string>
#include <string_view>

namespace witness::tool
{

// What a line of COPY text holds.
enum class CopyRow {
	Value,     // the column's value
	EndOfData, // "\." alone: the end-of-data marker COPY FROM stops at
};

// Decodes one line (without its line end) of a one-column COPY text file. The value is `line`
// itself when it has no backslash (no copy), else `scratch`, which it then refers to. Throws
// std::runtime_error for what COPY FROM would refuse or read as something else than one value: a
// NULL (\N), an unescaped tab (a second column), a backslash at the end of the line, \. anywhere but
// alone on its line.
CopyRow decode_copy_text(std::string_view line, std::string &scratch, std::string_view &value);

} // namespace witness::tool
