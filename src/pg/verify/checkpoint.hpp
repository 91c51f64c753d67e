// Verification that resumes from a checkpoint (docs/verification.md, "Resuming from a checkpoint"),
// for witness.verify_since_checkpoint(), witness.verify_and_checkpoint() and the background sealer.
#pragma once

#include "pg/verify/verify_trail.hpp"

namespace witness::pg
{

// A row of witness.verification_run that names a checkpoint.
struct Checkpoint {
	int64 run_id;
	int64 block_no;
	uint8_t hash[32];
	bool hash_ok;               // the recorded hash has 32 bytes
	uint64 recorded_xid;        // the transaction that recorded it
	bool recorded_before_block; // the block's snapshot sees that transaction (never for a true one)
};

struct ResumedVerification {
	VerifyOutcome outcome;
	bool resumed; // false: the whole trail was verified (no checkpoint, or one that did not hold)
	int64 resumed_from_block;
	Checkpoint checkpoint;
	bool no_checkpoint; // the trail is shipped from another database: no checkpoint here
};

// Verifies the blocks after the newest checkpoint whose record is sealed (resume), or the whole trail:
// when there is none, when resume is false, or when the checkpoint does not hold (its block or the
// chain's copy of its record disagree), which is then reported as a problem "checkpoint invalid".
// for_caller as in verify_blocks().
void verify_resuming(bool resume, bool for_caller, ResumedVerification *rv);

// Records the verification as a row of witness.verification_run (captured into the chain), with the
// newest block and its hash as the next checkpoint when it was valid. Returns the row's run_id.
int64 record_verification_run(const ResumedVerification &rv, TimestampTz started_at, const char *first_problem);

// The first problem as witness.verification_run keeps it: kind, block, entry, detail, cut after 255
// bytes at a character boundary; "" when there is none.
char *first_problem_text(const VerifyResult &r);

// Whether the background sealer's next scheduled verification must be a full one: no full run was
// recorded in the last interval_s seconds (always, for 0; never, for -1: then only a run without a
// checkpoint to resume from is a full one).
bool full_verification_due(int interval_s);

} // namespace witness::pg
