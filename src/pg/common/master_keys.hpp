// The master keys of encrypted payloads (docs/personal-data.md, "Encryption at rest"): the one named
// by witness.master_key_file, and during a rotation the one named by witness.previous_master_key_file.
// Each is read once per backend and read again when its setting names another file; the derived keys
// are computed once (core/master_key.hpp). Keys live in files, never in tables.
#pragma once

#include "pg/common/pg_includes.hpp"

#include "core/master_key.hpp"

namespace witness::pg
{

// The key named by witness.master_key_file, or nullptr when the setting is empty. Raises ERROR when
// the file cannot be read, is accessible to others, or does not hold 64 hex digits.
const MasterKey *current_master_key();

// The same for witness.previous_master_key_file.
const MasterKey *previous_master_key();

// The current key; when there is none, raises ERROR (55000) saying what needed it (`what`, e.g.
// "cannot capture a change to encrypted table \"public.customer\"") and how to create a key.
const MasterKey *require_master_key(const char *what);

// The configured key (current or previous) that sealed this payload, by the key id in its header;
// nullptr when neither did or the bytes are not a sealed payload (shorter than its overhead, or of
// an unknown version).
const MasterKey *master_key_for_sealed(const char *sealed, size_t len);

// The key id in a sealed payload's header (bytes 1 to 8), as 16 hex digits and a terminator; the
// caller has checked that the payload is at least as long as the header.
void sealed_key_id_hex(const char *sealed, char out[17]);

} // namespace witness::pg
