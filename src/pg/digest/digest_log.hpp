// Signed digests of the newest block: returned by witness.digest(), and appended by the sealer to a
// file outside the database (witness.digest_file), so a copy of the trail's state survives even a
// rewrite of the tables.
#pragma once

#include "pg/common/pg_includes.hpp"
#include "pg/common/setting_file.hpp"

namespace witness::pg
{

// The signed digest (JSON text, palloc'd) of the newest block; nullptr when nothing is sealed.
// Raises ERROR when no key is configured or a key file cannot be read.
char *signed_digest_of_newest_block();

// The background sealer writes a block's digest only once the block's transaction has committed: a
// digest of a block that was rolled back would make witness.verify() report a missing block.
//
// digest_for_log, called in the sealing transaction after the block was inserted: when
// witness.digest_file and a key are set and witness.digest_interval has passed since last_logged,
// the signed digest of the newest block, copied into keep; otherwise nullptr. It is made in an
// internal subtransaction: an error is reported as a WARNING and rolled back with everything it left
// (SPI connections, snapshots, buffer pins), and the sealing transaction goes on to commit.
char *digest_for_log(MemoryContext keep, TimestampTz last_logged);
// append_digest_line, called after the commit: appends the digest to witness.digest_file and flushes
// it to disk. Problems are WARNINGs; returns whether the line was written.
bool append_digest_line(const char *digest);

// The highest block number recorded in witness.digest_file for a database of this name (0 when unset,
// missing or empty), that line's block hash into block_hash when given, and into same_cluster whether
// the line is this cluster's (its system identifier too: a trail moved to another cluster keeps its
// lines by name, and another cluster's database of the same name may share the file).
int64 highest_block_no_logged(uint8_t block_hash[32] = nullptr, bool *same_cluster = nullptr);


} // namespace witness::pg
