// Signed digests appended by the sealer to a file outside the database (witness.digest_file), so a
// copy of the trail's state survives a rewrite of the tables.
#pragma once

#include "pg/pg_includes.hpp"

namespace witness::pg {

// Appends a signed digest of the newest block to witness.digest_file, when it and the keys are set.
void log_digest_after_seal();

// The highest block number recorded in witness.digest_file (0 when unset, missing or empty).
int64 highest_block_no_logged();

} // namespace witness::pg
