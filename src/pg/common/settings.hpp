// Every setting (GUC) pg_witness defines, registered and stored in one place (settings.cpp).
#pragma once

namespace witness::pg
{

// Longest values of the attribution settings, in bytes. Every entry a transaction writes repeats
// them, so that an unbounded value made the trail grow by megabytes per row (README.md "Saying who
// and why", docs/capture.md). The context's limit also holds for the text the capture stores, in
// which numbers print in full (1e6 as 1000000).
constexpr int kMaxActorBytes = 256;
constexpr int kMaxReasonBytes = 1024;
constexpr int kMaxContextBytes = 4096;

extern char *setting_actor;            // witness.actor
extern char *setting_reason;           // witness.reason
extern char *setting_context;          // witness.context (JSON)
extern char *setting_hmac_key_file;    // witness.hmac_key_file
extern char *setting_ed25519_key_file; // witness.ed25519_key_file
extern char *setting_master_key_file;          // witness.master_key_file
extern char *setting_previous_master_key_file; // witness.previous_master_key_file
extern char *setting_digest_file;      // witness.digest_file
extern int setting_digest_interval_ms; // witness.digest_interval
extern int setting_seal_interval_ms;   // witness.seal_interval
extern int setting_max_sealers;        // witness.max_sealers
extern int setting_full_verify_interval_s; // witness.full_verify_interval (docs/verification.md, "Resuming from a checkpoint")
extern int setting_verify_interval_ms; // witness.verify_interval (docs/verification.md, "Scheduled verification")
extern int setting_activity_queue_size; // witness.activity_queue_size
extern int setting_activity_unclaimed_ms; // witness.activity_unclaimed_timeout (docs/activity.md)
extern int setting_proof_chunk_size;   // witness.proof_chunk_size (docs/verification.md, "Proofs in large blocks")
extern char *setting_archive_directory; // witness.archive_directory, absolute or empty (docs/retention.md)
extern char *setting_retention_time;   // witness.retention_time, HH:MM UTC or empty (docs/retention.md)
// witness.record_activity: what the activity queue records (docs/activity.md).
enum RecordActivity { RecordActivityAll = 0, RecordActivityReads };
extern int setting_record_activity;

void define_settings();

} // namespace witness::pg
