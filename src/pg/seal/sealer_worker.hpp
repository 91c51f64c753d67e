// Background sealing: a launcher starts sealer workers, each sealing one database once per
// witness.seal_interval for as long as no other database waits (at most a minute), at most
// witness.max_sealers at a time, so that every database with pg_witness is sealed every
// witness.seal_interval whatever their number.
#pragma once

#include "pg/common/pg_includes.hpp"

extern "C" {
#include "postmaster/bgworker.h"
}

namespace witness::pg
{


// Highest witness.max_sealers.
constexpr int kMaxSealersLimit = 64;

// Registers the launcher; only possible from shared_preload_libraries.
void register_launcher();

// Whether another session holds a lock on the database that a new connection would wait for (DROP
// DATABASE, ALTER DATABASE ... RENAME or SET TABLESPACE, CREATE DATABASE copying it): those wait for
// the database's other sessions to leave, so a worker does not connect, or stay connected, then.
bool database_locked_by_others(Oid database);

// Ends a worker not yet connected whose database another session now holds locked: a DROP DATABASE
// begun since the launcher looked would make it wait, then fail (FATAL) to connect. Looking again
// here leaves a window of microseconds instead of the worker's whole start-up.
void leave_if_database_locked(Oid database);

// A background worker of pg_witness running function (exported by the library) under name.
void fill_worker(BackgroundWorker *w, const char *function, const char *name);

} // namespace witness::pg
