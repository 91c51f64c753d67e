// The text PostgreSQL prints for a one-dimensional array ({a,"b c",NULL}), as capture stores an array
// column's value in an entry (docs/capture.md): its elements, read back.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace witness
{

// The elements of a one-dimensional array's text, NULL as nullopt; quoted elements unescaped.
// Throws std::invalid_argument on anything else (dimension decorations, nesting, bad quoting).
std::vector<std::optional<std::string>> parse_array_text(std::string_view text);

} // namespace witness
