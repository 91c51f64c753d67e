// The verification of witness.verify(), for C callers: the scheduled verification of the background
// sealer (docs/verification.md "Scheduled verification") and the verification that resumes from a
// checkpoint (src/pg/verify/checkpoint.cpp, docs/verification.md "Resuming from a checkpoint").
#pragma once

#include "pg/verify/verifier_bridge.hpp"

namespace witness::pg
{

// An INSERT entry of witness.verification_run met in the scan: the chain's copy of a checkpoint.
struct RunRecordEntry {
	int64 id;
	uint64 xid;
	char *new_values; // canonical JSON text
};
struct RunRecordEntries {
	RunRecordEntry *items;
	int n, capacity;
	MemoryContext cxt; // where items live (NULL: the context of the scan)
	// Only entries with an xid at or above it: a verification in parts reads the entries between a
	// part's last block's xmin and its xmax in that part and in the next, and the next keeps those from
	// the previous part's xmax on, so that none is kept twice (checkpoint.cpp counts the copies).
	uint64 from_xid;
	bool later_pass; // streaming reads the entries again: they are kept already
};

struct VerifyOutcome {
	VerifyResult result;
	bool is_last;  // the range ended at the newest block
	int64 newest;  // the newest block when it started
	bool has_oldest_age;
	Datum oldest_age; // interval: how long the oldest pending entry has waited
	uint64 range_xmax; // the xmax of the last block's snapshot (0: no block)
};

// The columns witness.verify() returns, first in every function that reports like it.
constexpr int kVerifyColumns = 12;

// Verifies blocks first..last (to_newest: first..the newest block) with the active snapshot, as
// witness.verify(first, last) does; raises 22023 for a range that holds nothing to check.
// for_caller: name only the entries the calling role may see (a period-restricted auditor). records:
// when not NULL, collects the INSERT entries of witness.verification_run of the range. Results are
// palloc'd in CurrentMemoryContext. Needs a transaction and an active snapshot.
void verify_blocks(int64 first, int64 last, bool to_newest, bool for_caller, RunRecordEntries *records,
                   VerifyOutcome *out);

// The newest block number (0 when nothing is sealed).
int64 newest_block();

// Block block_no as stored: false when it does not exist; header_ok: its header hashes to its stored
// hash.
bool stored_block_hash(int64 block_no, uint8_t stored[32], bool *header_ok);

// verify_blocks() over the whole trail, for the background sealer.
void verify_whole_trail(VerifyResult *result);

// Fills the first kVerifyColumns of a result row: problem i of out, or the one row of a valid trail.
int put_verify_columns(const VerifyOutcome &out, int i, Datum *values, bool *nulls);

} // namespace witness::pg
