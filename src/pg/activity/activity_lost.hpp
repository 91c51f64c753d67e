// The count of activity events no trail will show, and whose they were: the login role and database
// of each, as far as a small table in shared memory holds them. An attack review flooded the queue
// and the 'lost' row that recorded the gap named nobody.
#pragma once

extern "C" {
#include "postgres.h"
#include "datatype/timestamp.h"
#include "lib/stringinfo.h"
}

namespace witness::pg
{

// From activity_queue_request() and activity_queue_startup().
void lost_request();
void lost_startup();

// One event lost, of the login role and database named (either may be empty: not known);
// authenticated is false for a login refused before it proved who it is (anyone can send any name).
void lost_count(const char *database_name, const char *role_name, bool authenticated);
// One event of this backend lost: its login role and database, as the client named them (not
// authenticated while ClientAuthInProgress).
void lost_count_mine();
// Events lost without names (saved at a clean shutdown, which keeps only the count).
void lost_add_unnamed(uint64 n);
// The count a clean shutdown saves.
uint64 lost_total();

// Databases that can each be told of a restart once (as many as the sealer keeps track of).
constexpr int kLostNotedDatabases = 1024;
// The server restarted at `at` without the queue a clean shutdown saves (a crash, the postmaster
// killed): an unknown number of events is lost. The next drain of each database writes it once;
// `noted` are the databases that wrote it already (a note saved at a clean shutdown, loaded again).
void lost_note_restart(TimestampTz at, const Oid *noted = nullptr, int noted_count = 0);
// The last restart noted (0: none) and the databases that wrote it, for a clean shutdown to save;
// noted has room for kLostNotedDatabases.
TimestampTz lost_restart_note(Oid *noted, int *noted_count);
// Takes the events lost since the last call (for any database) and describes whose they were in
// whose, when given; *restarted_at is a noted restart taken with them (0: none). Given back to the
// shared count if the (sub)transaction that took them aborts.
uint64 lost_take(StringInfo whose, TimestampTz *restarted_at);
// From the drain's transaction callbacks: the transaction or subtransaction at nest level `level`
// aborted (give back what it took) or committed (what it took stays taken).
void lost_on_abort(int level);
void lost_on_subcommit(int level);
void lost_on_commit();
// Whether this transaction took lost events (PREPARE TRANSACTION is refused then).
bool lost_taken();

} // namespace witness::pg
