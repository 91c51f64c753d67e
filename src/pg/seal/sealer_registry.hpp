// The background sealer's shared memory: one record per database the launcher knows, read and
// written by the launcher, by the short-lived sealer workers, by witness.seal_status and by the
// commit of CREATE EXTENSION pg_witness. Exists only when pg_witness is in shared_preload_libraries.
#pragma once

#include "pg/common/pg_includes.hpp"
#include "pg/common/trail_brin.hpp"

extern "C" {
#include "storage/latch.h"
}

namespace witness::pg
{

// Databases the launcher can keep track of at once; more are not sealed, and the launcher says so.
constexpr int kMaxSealedDatabases = 1024;
constexpr int kSealerErrorBytes = 256;

// How a background pass in a database ended.
enum class PassResult : int32 {
	None = 0,      // no pass yet
	Sealed,        // a block was sealed
	NothingToSeal, // nothing committed was unsealed
	Busy,          // another sealer (witness.seal()) held the trail
	NotInstalled,  // the database has no pg_witness
	Failed,        // the pass raised an error (last_error)
	Lost           // the worker ended without reporting (it could not connect, or was terminated)
};
const char *pass_result_name(PassResult r);

// What one sealer worker hands to the next one in the same database.
struct PassMemory {
	BrinProgress brin[kBrinProgressSlots]; // the trail's BRIN indexes, and how far they are known summarized
	TimestampTz digest_logged_at; // when a digest was last appended to witness.digest_file
	TimestampTz partitions_checked_at; // when witness.entry's coming partitions were last made (or found)
};

// A database's background sealing as witness.seal_status shows it.
struct SealerDbStatus {
	bool known;                // the launcher keeps a record of the database
	TimestampTz last_pass_at;  // when the last background pass ended (0: none yet)
	PassResult last_result;
	TimestampTz last_error_at; // 0: no error yet
	char last_error[kSealerErrorBytes];
};

// The last scheduled verification in a database (docs/verification.md, "Scheduled verification").
constexpr int kVerifyStatusBytes = 16;
constexpr int kVerifyProblemBytes = 256;
struct VerificationSummary {
	TimestampTz started_at;  // 0: none since the server started
	TimestampTz finished_at;
	char status[kVerifyStatusBytes];          // valid, tampered, or error (it raised)
	int64 problems;
	int64 blocks_checked;
	int64 entries_checked;
	int64 entries_pending;
	char first_problem[kVerifyProblemBytes]; // the first problem or the error, '' for none
};

// From shmem_request_hook and shmem_startup_hook (shared_preload_libraries only).
void sealer_registry_request();
void sealer_registry_startup();
// The shared memory exists (pg_witness was preloaded).
bool sealer_registry_attached();

// --- The launcher

// Records the launcher's latch, which wake requests set; cleared when the launcher exits.
void registry_launcher_started(Latch *latch);
// Makes the records match the databases that exist (new ones are added, dropped ones without a
// running worker removed). Returns how many databases found no free record.
int registry_sync(const Oid *databases, int n);
// The database whose pass is due first, oldest unsealed first, or InvalidOid; *wait_ms is then how
// long until one is due (capped at cap_ms).
Oid registry_next_due(TimestampTz now, int interval_ms, int reprobe_ms, long cap_ms, long *wait_ms);
// Called before the worker is registered, which may report before the launcher runs again; when
// the registration fails, registry_worker_not_started puts the record back as it was.
struct PassStart {
	TimestampTz last_start;
	bool wake;
};
PassStart registry_worker_starting(Oid db, TimestampTz now);
void registry_worker_not_started(Oid db, PassStart previous);
// Whether a database without a worker is due for a pass now while max_sealers workers run already:
// the launcher has no room to serve it.
bool registry_other_waits(TimestampTz now, int interval_ms, int reprobe_ms, int max_sealers);
// A worker that stayed starts its database's next pass: recorded as the launcher records a start.
// False when its record no longer counts it as running (it then leaves).
bool registry_sealer_passes_again(Oid db, TimestampTz now);
// No pass now (the database is locked by DROP DATABASE or another exclusive command, or gone): the
// next comes one interval later.
void registry_postpone(Oid db, TimestampTz now);
// Records witness.seal_interval as the launcher sees it now and returns what a launcher saw before
// (the value at server start, before any): a launcher started again sees a switch made while none ran.
int registry_swap_seal_interval(int interval_ms);
// Marks every database for a pass now: the last round when background sealing is switched off.
void registry_wake_all();
// The worker stopped; a pass it did not report is recorded as Lost.
void registry_worker_stopped(Oid db);

// --- A sealer worker

void registry_begin_pass(Oid db, PassMemory *memory);
// installed: whether the pass found pg_witness (false also when it failed before it looked).
void registry_end_pass(Oid db, PassResult result, bool installed, const char *error, const PassMemory *memory);

// Whether a scheduled verification is due in the database: the last one started interval_ms ago or
// more, or, before the first, the first call (which starts the count) was that long ago. Not at once
// after a restart: every database verifying then would hold every sealer slot.
bool registry_verification_due(Oid db, TimestampTz now, int interval_ms);
void registry_record_verification(Oid db, const VerificationSummary *summary);

// --- Maintainers (maintainer_worker.hpp): at most one per database, at most limit in all

enum class MaintainerClaim { Claimed, AlreadyRunning, NoRoom };
// Called by the sealer before it starts a maintainer for db; when one runs already, asks it for a
// round and sets its latch.
MaintainerClaim registry_claim_maintainer(Oid db, int limit);
// Called by the maintainer as it starts; false when no claim waits for it (it then exits).
bool registry_maintainer_started(Oid db, pid_t pid, Latch *latch);
// Whether a sealer asked the maintainer pid for a round since its last one (and clears the request).
bool registry_maintainer_take_round(Oid db, pid_t pid);
// Grows each time a database's sealer found no place for a maintainer: a staying maintainer then leaves.
uint64 registry_maintainer_no_room();
// Ends the claim of the maintainer pid (0: the one whose worker could not be registered).
void registry_release_maintainer(Oid db, pid_t pid);

// --- Any backend

// Marks the database for a pass now and wakes the launcher. Raises no error: it runs in a commit
// callback.
void registry_wake(Oid db);
bool registry_status(Oid db, SealerDbStatus *out);
// The last scheduled verification; false when there was none. *counting_from: when the interval
// to the next one started (the last start, or the first look; 0 when not yet looked).
bool registry_verification(Oid db, VerificationSummary *out, TimestampTz *counting_from);
// The launcher is running.
bool registry_launcher_running();

} // namespace witness::pg
