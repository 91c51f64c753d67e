// PostgreSQL-side handle on the core's TrailVerifier: the C++ object lives across heap scans, so it
// is owned by a memory context callback and freed even when an ERROR unwinds the scan.
#pragma once

#include "pg/common/core_bridge.hpp"
#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

struct StoredBlockFields {
	BlockFields fields;
	uint8_t stored_hash[32];
};

struct VerifyProblem {
	const char *kind;
	int64 block_no; // 0 = none
	int64 entry_id; // 0 = none
	const char *detail;
};

struct VerifyResult {
	const char *status;
	int64 blocks_checked;
	int64 entries_checked;
	int64 entries_pending;
	int64 entries_erased;
	int64 entries_unchecked;
	int64 entries_pruned;
	int nproblems;
	VerifyProblem *problems;
};

struct VerifierHandle;

// Creates a verifier owned by CurrentMemoryContext. range_end: for a range that does not end at the
// newest block, its last block number, up to which every block must exist (0: none).
VerifierHandle *verifier_create(const StoredBlockFields *previous, const StoredBlockFields *blocks, int nblocks,
                                bool is_last, int64 highest_block_no_issued, int64 range_end);
// The transaction-id eras after the first (witness.era); call before the first entry.
void verifier_set_eras(VerifierHandle *v, const int64 *first_entry_ids, const int64 *first_block_nos, int n);
// The newest block witness.digest_file names and its hash (TrailVerifier::set_logged_digest).
void verifier_set_logged_digest(VerifierHandle *v, int64 block_no, const uint8_t hash[32]);
// encoding/encoding_len: the canonical bytes of a partial entry whose content does not give its
// stored bytes (TrailVerifier::add_entry); nullptr/0 otherwise.
void verifier_add_entry(VerifierHandle *v, int64 id, uint64 xid, const uint8_t *stored, const uint8_t *recomputed,
                        bool partial, const char *encoding = nullptr, size_t encoding_len = 0);
// The most canonical bytes the verifier keeps in all (TrailVerifier::kMaxEncodingBytes).
size_t verifier_encoding_limit();
// Format 2: the state of an entry's payload (0 intact, 1 changed, 2 erased) and the erasure its row
// names (0 = none).
enum PayloadCheck {
	PayloadIntact = 0,
	PayloadChanged = 1,
	PayloadErased = 2,
	PayloadUnchecked = 3,
	PayloadUnopened = 4,   // sealed, does not open under the key that sealed it
	PayloadForeignKey = 5, // sealed under a master key that is not configured
};
void verifier_add_payload(VerifierHandle *v, int64 id, uint64 xid, PayloadCheck state, bool names_erasure,
                          int64 erasure_id);
// An erasure entry's new_values (canonical JSON text); a text that is not one is ignored, and the
// entries it would have named are then reported as removed without a record. Returns the erasure id
// (0: not a record).
// entry_id and xid: the record's own entry (entry_id 0: not known, for a record read after the range).
int64 verifier_add_erasure_record(VerifierHandle *v, int64 entry_id, uint64 xid, const char *new_values, size_t len);
// Retention: a row of witness.pruned_leaf, what run run_id kept of block_no's pruned entries (n ids
// and nhashes 32-byte hashes back to back; none when whole).
void verifier_add_pruned(VerifierHandle *v, int64 block_no, int64 run_id, bool whole, const int64 *ids, int n,
                         const uint8_t *hashes, int nhashes);
// A retention run entry's new_values (canonical JSON text); a text that is not one is ignored, and
// the rows it would have named are then reported. Returns the run id (0: not a record).
int64 verifier_add_retention_record(VerifierHandle *v, int64 entry_id, uint64 xid, const char *new_values, size_t len);
// The cluster's next transaction id (TrailVerifier::xids_assigned_below); before the first entry.
void verifier_xids_assigned_below(VerifierHandle *v, uint64 next_xid);
// The entry ids the parts of one verification have met (core EntryIdSet), owned by
// CurrentMemoryContext; shared with a part's verifier before its first entry. Mark before an attempt
// that may be run again, then roll back (run again) or commit (done).
struct IdSetHandle;
IdSetHandle *id_set_create();
void verifier_share_ids(VerifierHandle *v, IdSetHandle *ids);
void id_set_mark(IdSetHandle *ids);
void id_set_rollback(IdSetHandle *ids);
void id_set_commit(IdSetHandle *ids);
// The erasure ids and retention run ids whose records the checks still lack
// (TrailVerifier::missing_records), palloc'd, ascending; returns false when none is missing.
bool verifier_missing_records(VerifierHandle *v, int64 **erasure_ids, int *n_erasures, int64 **run_ids, int *n_runs);
// Bounded memory (TrailVerifier::stream): entries must then be added in id order, pass after pass,
// while verifier_next_pass() says so. Call before the first entry.
void verifier_stream(VerifierHandle *v, size_t max_collect_members);
bool verifier_next_pass(VerifierHandle *v);
// TrailVerifier::stream_ordered.
bool verifier_stream_ordered(VerifierHandle *v);
// Runs the checks; results are palloc'd in CurrentMemoryContext.
void verifier_finish(VerifierHandle *v, VerifyResult *result);

} // namespace witness::pg
