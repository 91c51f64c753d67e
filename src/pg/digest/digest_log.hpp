// Signed digests of the newest block: returned by witness.digest(), and appended by the sealer to a
// file outside the database (witness.digest_file), so a copy of the trail's state survives even a
// rewrite of the tables.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// The signed digest (JSON text, palloc'd) of the newest block; nullptr when nothing is sealed.
// Raises ERROR when no key is configured or a key file cannot be read.
char *signed_digest_of_newest_block();

// Appends a signed digest to witness.digest_file when it and a key are set and
// witness.digest_interval has passed. Problems are WARNINGs: they must not stop sealing.
void log_digest_after_seal();

// The highest block number recorded in witness.digest_file (0 when unset, missing or empty).
int64 highest_block_no_logged();

// Contents of a file named by a setting, palloc'd; raises ERROR when it cannot be read.
char *read_setting_file(const char *setting, const char *path);

} // namespace witness::pg
