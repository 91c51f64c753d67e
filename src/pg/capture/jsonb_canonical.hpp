// Canonical JSON (docs/hashing.md) of a stored jsonb value, written straight from its binary form:
// verification runs this for every entry, so it avoids printing jsonb to text and parsing it again.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Canonical JSON of jb, palloc'd and NUL-terminated.
char *jsonb_canonical(Jsonb *jb, size_t *len);

} // namespace witness::pg
