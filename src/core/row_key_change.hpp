// The key a row had before an UPDATE that changed a key column, from what an entry stores: its
// row_key (the key after the change) and old_values (the old values of the changed columns).
#pragma once

#include <string>
#include <string_view>

namespace witness
{

// row_key with every member that old_values also holds given its old value, as JSON text (the
// members in row_key's order); false, and out untouched, when old_values holds none of the key's
// columns (the UPDATE kept the key). Both must be JSON objects; throws JsonError otherwise.
bool old_row_key(std::string_view row_key, std::string_view old_values, std::string &out);

} // namespace witness
