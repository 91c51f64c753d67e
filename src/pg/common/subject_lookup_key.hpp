// The key witness.entry_lookup keeps of an entry's subject (subject_lookup_key.cpp), for the lookup
// table's writer (seal/lookup_rows.cpp), the capture of an UPDATE that moves a row from one subject to
// another (witness.entry.old_subject_key) and the SQL function witness._subject_lookup_key().
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Of a subject pseudonym: its first 8 bytes shifted right by one, with the sign bit set (negative).
int64 pseudonym_lookup_key(const bytea *pseudonym);

// Of a subject in clear: witness::clear_subject_key() (zero or positive).
int64 clear_subject_lookup_key(text *subject);

} // namespace witness::pg
