// A whole small file (a key, a digest, a signed report) read into memory, refused past a limit.
#pragma once

#include <cstddef>
#include <string>

namespace witness::tool
{

// What a key file or a signed digest may hold at most.
constexpr size_t kSmallFileBytes = size_t(1) << 20;

// The bytes of path; throws std::runtime_error naming what when it cannot be read or holds more than
// limit bytes.
std::string read_file_text(const std::string &path, const char *what, size_t limit);

} // namespace witness::tool
