// The only door from PostgreSQL glue into the C++ core: every call catches every exception and turns
// it into ereport(ERROR) after the C++ frames are gone (DESIGN.md, C++ rules 2 and 3).
#pragma once

#include <cstddef>
#include <cstdint>

#include "core/entry_encoding.hpp"

namespace witness::pg {

// Leaf hash of an entry; raises ERROR if the core rejects it.
void leaf_hash(const EntryView &entry, uint8_t out[32]);

// Canonical bytes of an entry as a palloc'd bytea.
struct varlena *canonical_bytes(const EntryView &entry);

// Canonical JSON of json_text, palloc'd and NUL-terminated; raises ERROR on invalid JSON.
char *canonical_json(const char *json_text, size_t len, size_t *out_len);

} // namespace witness::pg
