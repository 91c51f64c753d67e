// The activity queue: events that must reach the trail whatever their transaction does next (reads
// of tables tracked with capture_reads, reads of the trail itself, logins, refused attempts, calls of
// pg_witness's functions). A backend writes each event into a slot of shared memory; the sealer of
// its database moves the slots into witness.activity, where capture makes them entries of the chain
// (docs/activity.md). Exists only when pg_witness is in shared_preload_libraries.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

enum class ActivityKind : int16 {
	Read = 1,  // a statement read a table tracked with capture_reads
	TrailRead, // a statement read one of pg_witness's own tables (or a view over them)
	Login,     // an authentication attempt
	Denied,    // a statement refused (insufficient privilege, or a pg_witness guard)
	Call,      // a call of one of pg_witness's functions
	CaptureControl, // a change of a capture or guard trigger, an event trigger or an object of schema witness (capture_control.hpp)
	CatalogWrite    // an INSERT, UPDATE or DELETE of a system catalog
};
const char *activity_kind_name(ActivityKind kind);

enum class ActivityOutcome : int16 { Success = 1, Denied, Failed };
const char *activity_outcome_name(ActivityOutcome outcome);

constexpr int kActivityStatementBytes = 1200;
constexpr int kActivityMessageBytes = 256;
constexpr int kActivityObjectBytes = 2 * NAMEDATALEN + 2;

// One event, written in place into its slot by the backend that reserved it.
struct ActivityEvent {
	ActivityKind kind;
	ActivityOutcome outcome;
	Oid database;                        // InvalidOid for a login: only database_name is known then
	char database_name[NAMEDATALEN];
	TimestampTz at;
	int32 pid;
	char session_user[NAMEDATALEN];
	char current_user[NAMEDATALEN];
	char application_name[NAMEDATALEN];
	char client_addr[48];                // empty for Unix sockets and background processes
	char actor[NAMEDATALEN];             // witness.actor, cut to fit
	char object[kActivityObjectBytes];   // the relation read, the function called, the login method
	int64 rows;                          // rows the statement returned or changed; -1 when not known
	int64 query_id;                      // 0 when compute_query_id is off
	char sqlstate[6];
	char message[kActivityMessageBytes]; // the error of a refused attempt
	int32 statement_length;              // of the whole statement, which may be longer than statement
	char statement[kActivityStatementBytes];
};

// From shmem_request_hook and shmem_startup_hook.
void activity_queue_request();
void activity_queue_startup();
bool activity_queue_attached();
// How many reserved, unpublished reads one session may hold (open cursors): an eighth of the queue.
int activity_open_limit();

// How much of the queue an event may take. Anyone can cause refusals and failed logins, even without
// a privilege (an attack review flooded the queue with refusals and a trail read by another role was
// lost): they may not take its last half. Reads of the trail, calls and logins that passed
// authentication may not take its last quarter, kept for what must be recorded or refused.
enum class ActivityPriority { Anyone, Privileged, Required };

// A slot for a new event, filled with zeros and its time, or nullptr when the queue is full. Required:
// waits (interruptibly, waking the sealer) for a free slot and raises ERROR (53000) when none frees in
// time: what must not happen unrecorded is then refused. Otherwise it never raises: past its share of
// the queue the event is counted as lost, and the next drain records how many were.
// Without count_lost, an event that does not fit is not counted: the caller tries again later.
ActivityEvent *activity_reserve(ActivityPriority priority, bool count_lost = true);
// One more event that did not fit, for the next 'lost' row.
void activity_count_lost();
// The event is complete: a drain may take it.
void activity_publish(ActivityEvent *event);

// --- The drain (activity_drain.cpp), in the transaction that writes witness.activity.

// Takes every published event of this database, oldest first, into out (slot numbers; room for
// activity_queue_capacity()). They are freed when the transaction commits and published again when it
// aborts. Events of other databases that no drain will take are dropped and counted as lost: those of
// dropped databases, and those unclaimed for witness.activity_unclaimed_timeout that may be lost.
int activity_take(Oid database, const char *database_name, int *out);
const ActivityEvent *activity_slot(int slot);
// How many events of this database that happened before `before` are still queued: published, or
// taken by another backend's drain whose transaction has not ended. The audit report of a period
// waits until its events are written.
int activity_queued_before(Oid database, TimestampTz before);
// Events lost to a full queue since the last call (for any database); whose were they appended to
// whose when given ("; whose (login role and database): ..."). *restarted_at: when the server
// restarted without the queue a clean shutdown saves, if no drain wrote that yet (0: not so).
uint64 activity_take_lost(StringInfo whose, TimestampTz *restarted_at);
// The queue's number of slots (0 when pg_witness is not preloaded).
int activity_queue_capacity();

} // namespace witness::pg
