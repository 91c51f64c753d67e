// A whole small file (a key, a digest, a signed report) read into memory, refused past a limit.
#pragma once

#include <cstddef>
#include <string>

namespace witness::tool
{

// The bytes of path; throws std::runtime_error naming what when it cannot be read or holds more than
// limit bytes.
std::string read_file_text(const std::string &path, const char *what, size_t limit);

} // namespace witness::tool
