// Autonomous records: a row that must stay in the trail whatever the caller's transaction does next
// (docs/personal-data.md, "Every export is recorded"). A short-lived background worker, connected to
// the caller's database and attributed to the caller's session, runs one fixed INSERT and commits it;
// the caller waits for that commit and goes on only once it succeeded. The caller chooses the kind of
// record and its values, never the SQL: each kind is one INSERT written in autonomous_record.cpp.
#pragma once

#include "pg/common/pg_includes.hpp"
#include "pg/common/settings.hpp"

namespace witness::pg
{

// How long the worker waits for a lock (lock_timeout) when the caller sets no shorter one: the caller
// may hold a lock the worker needs, and would otherwise wait for it for ever.
constexpr int kRecordLockTimeoutMs = 5000;

// What can be recorded; each kind is one INSERT of autonomous_record.cpp.
enum class RecordKind : int32 {
	SubjectAccess = 1, // a row of witness.subject_access (witness.subject_export())
	ErasureRequest = 2, // the same row, format erasure (witness.erase_subject() by a non-superuser)
	HoldRequest = 3,    // the same row, format hold (witness.hold() on a subject by a non-superuser)
};

// The values of a witness.subject_access row; access_id and accessed_at are the table's defaults.
struct SubjectAccessValues {
	uint8 subject_salt[32];
	uint8 subject_digest[32];
	char format[16]; // json, csv, my_trail, erasure or hold
	char reason[kMaxReasonBytes + 1];
	char role_name[NAMEDATALEN];
};

// One record to write: its kind and the values of that kind.
struct RecordRequest {
	RecordKind kind;
	union {
		SubjectAccessValues subject_access;
	};
};

// What the INSERT returned: the record's id and time.
struct RecordResult {
	int64 id;
	TimestampTz at;
};

// Writes and commits the record in a background worker and waits for it (interruptible). Raises
// ERROR when it could not be written: during recovery, without a free background worker slot, or
// when the worker failed (its SQLSTATE and message, lock_timeout included).
void record_autonomously(const RecordRequest *request, RecordResult *result);

} // namespace witness::pg
