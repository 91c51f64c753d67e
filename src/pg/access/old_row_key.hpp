// The key a row had before an UPDATE that changed one of its key columns (old_row_key.cpp), for the
// SQL function witness._old_row_key() and the lookup table's writer (seal/lookup_rows.cpp).
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// The old row key as JSON text (palloc'd), or nullptr when the UPDATE kept the key or its arguments
// are not JSON objects (only a tampered entry holds such; NULL rather than an error, which would stop
// the lookup table's maintenance at that entry for good, while verify() reports the entry).
char *old_row_key_text(text *row_key, text *old_values);

} // namespace witness::pg
