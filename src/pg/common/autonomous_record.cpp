// Autonomous records (autonomous_record.hpp): the caller fills a dynamic shared memory segment with
// the kind of record, its values and the caller's attribution, starts a background worker that
// connects to the same database, and waits for it to stop. The worker runs the kind's one INSERT as
// the caller's current user, with the caller's session user, settings, client and pid in the entry's
// header, commits, and writes the INSERT's id and time (or its error) back into the segment.
//
// What the caller cannot do through it: choose the SQL (each kind is a constant below), the table,
// the columns or the role (the worker takes session and current user from the calling backend, not
// from an argument), or run it at all without EXECUTE on the SQL function of a kind (revoked from
// PUBLIC). The worker connects as the bootstrap superuser only to be able to take the caller's
// session user (SET SESSION AUTHORIZATION), which a role without LOGIN can also be.
#include "pg/common/autonomous_record.hpp"

#include "pg/capture/attribution.hpp"
#include "pg/capture/internal_ddl.hpp"

extern "C" {
#include "access/xlog.h"
#include "pgstat.h"
#include "port/atomics.h"
#include "postmaster/bgworker.h"
#include "storage/dsm.h"
#include "storage/ipc.h"
#include "storage/proc.h"
#include "tcop/tcopprot.h"
#include "utils/snapmgr.h"

PGDLLEXPORT void witness_record_main(Datum arg);
}

namespace witness::pg
{
namespace
{

const char *const kWorkerType = "pg_witness record";
constexpr uint32 kSlotMagic = 0x77726563; // "wrec"
constexpr int kMessageBytes = 512;
constexpr int kMaxArgs = 8;

enum class SlotState : int32 { Pending = 0, Recorded, Failed };

// The segment shared by the caller and its worker. The caller writes everything above state before
// it starts the worker; the worker writes state and what follows, and the caller reads them only
// once the worker has stopped.
struct RecordSlot {
	uint32 magic;
	Oid database;
	Oid session_user;
	Oid current_user;
	int32 caller_pid;
	int32 client_port;
	int32 lock_timeout_ms;
	char client_addr[NI_MAXHOST]; // empty: a Unix socket or no client
	char application_name[NAMEDATALEN];
	char actor[kMaxActorBytes + 1];
	char reason[kMaxReasonBytes + 1];
	char context[kMaxContextBytes + 1];
	RecordRequest request;

	SlotState state;
	RecordResult result;
	int sqlstate;
	char message[kMessageBytes];
	char detail[kMessageBytes];
};

// One kind of record: the fixed INSERT, which returns (id bigint, time timestamptz), and how the
// request's values become its parameters.
struct KindSpec {
	const char *what; // in messages
	const char *insert_sql;
	int nargs;
	Oid argtypes[kMaxArgs];
	void (*bind)(const RecordRequest *request, Datum *values, char *nulls);
};

Datum bytea_datum(const uint8 *bytes, size_t n)
{
	bytea *b = (bytea *)palloc(VARHDRSZ + n);
	SET_VARSIZE(b, VARHDRSZ + n);
	memcpy(VARDATA(b), bytes, n);
	return PointerGetDatum(b);
}

// A text parameter from a fixed buffer of the segment, cut at its last byte whatever it holds.
Datum text_datum(const char *buf, size_t size)
{
	return PointerGetDatum(cstring_to_text_with_len(buf, (int)strnlen(buf, size - 1)));
}

void bind_subject_access(const RecordRequest *request, Datum *values, char *nulls)
{
	const SubjectAccessValues &v = request->subject_access;
	values[0] = bytea_datum(v.subject_salt, sizeof(v.subject_salt));
	values[1] = bytea_datum(v.subject_digest, sizeof(v.subject_digest));
	values[2] = text_datum(v.format, sizeof(v.format));
	values[3] = text_datum(v.reason, sizeof(v.reason));
	values[4] = text_datum(v.role_name, sizeof(v.role_name));
	memset(nulls, ' ', 5);
}

const KindSpec kSubjectAccess = {
    "subject access export",
    "INSERT INTO witness.subject_access (subject_salt, subject_digest, format, reason, role_name) "
    "VALUES ($1, $2, $3, $4, $5) RETURNING access_id, accessed_at",
    5,
    {BYTEAOID, BYTEAOID, TEXTOID, TEXTOID, TEXTOID},
    bind_subject_access,
};

// Requests that name a subject and are recorded before they look: the same row, named in messages as
// what the caller asked for.
KindSpec subject_access_named(const char *what)
{
	KindSpec spec = kSubjectAccess;
	spec.what = what;
	return spec;
}
const KindSpec kErasureRequest = subject_access_named("erasure");
const KindSpec kHoldRequest = subject_access_named("legal hold");

const KindSpec *kind_spec(RecordKind kind)
{
	switch (kind) {
	case RecordKind::SubjectAccess:
		return &kSubjectAccess;
	case RecordKind::ErasureRequest:
		return &kErasureRequest;
	case RecordKind::HoldRequest:
		return &kHoldRequest;
	}
	return nullptr;
}

// Copies a setting of the caller into the segment; the settings' own limits make it fit.
void copy_setting(char *dst, size_t size, const char *src, const char *name)
{
	if (src == nullptr)
		src = "";
	if (strlcpy(dst, src, size) >= size)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("%s is too long to be recorded by a background worker", name)));
}

// Waits until the worker has stopped. When the wait is interrupted (cancel, statement_timeout,
// termination) the worker is stopped too: it must not wait on for a lock for a statement that ended.
BgwHandleStatus wait_for_worker(BackgroundWorkerHandle *handle)
{
	volatile BgwHandleStatus status = BGWH_STOPPED;
	PG_TRY();
	{
		status = WaitForBackgroundWorkerShutdown(handle);
	}
	PG_CATCH();
	{
		TerminateBackgroundWorker(handle);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return status;
}

// Sets a setting for the worker's session as SET would.
void set_option(const char *name, const char *value)
{
	(void)set_config_option(name, value, PGC_SUSET, PGC_S_SESSION, GUC_ACTION_SET, true, 0, false);
}

// In the worker: the caller's identity and settings, the INSERT, the commit. Raises on any failure.
RecordResult write_record(RecordSlot *slot)
{
	const KindSpec *spec = kind_spec(slot->request.kind);
	if (spec == nullptr)
		elog(ERROR, "unknown pg_witness record kind %d", (int)slot->request.kind);

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, "pg_witness: writing an autonomous record");
	SetSessionAuthorization(slot->session_user, superuser_arg(slot->session_user));
	if (slot->application_name[0] != '\0')
		set_option("application_name", slot->application_name);
	if (slot->actor[0] != '\0')
		set_option("witness.actor", slot->actor);
	if (slot->reason[0] != '\0')
		set_option("witness.reason", slot->reason);
	if (slot->context[0] != '\0')
		set_option("witness.context", slot->context);
	char timeout[32];
	snprintf(timeout, sizeof(timeout), "%d", slot->lock_timeout_ms);
	set_option("lock_timeout", timeout);
	set_option("search_path", "pg_catalog, pg_temp");

	Oid saved_user;
	int saved_context;
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(slot->current_user, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	PushActiveSnapshot(GetTransactionSnapshot());
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	Datum values[kMaxArgs];
	char nulls[kMaxArgs];
	spec->bind(&slot->request, values, nulls);
	internal_ddl_begin(); // lets the INSERT past the guard trigger of pg_witness's own tables
	int rc = SPI_execute_with_args(spec->insert_sql, spec->nargs, const_cast<Oid *>(spec->argtypes), values, nulls,
	                               false, 0);
	internal_ddl_end();
	if (rc != SPI_OK_INSERT_RETURNING || SPI_processed != 1)
		elog(ERROR, "pg_witness: the %s inserted %llu rows (SPI result %d)", spec->what, (unsigned long long)SPI_processed, rc);
	bool id_null, at_null;
	RecordResult result;
	result.id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &id_null));
	result.at = DatumGetTimestampTz(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &at_null));
	if (id_null || at_null)
		elog(ERROR, "pg_witness: the %s returned no id or time", spec->what);
	SPI_finish();
	PopActiveSnapshot();
	SetUserIdAndSecContext(saved_user, saved_context);
	CommitTransactionCommand();
	pgstat_report_stat(true);
	pgstat_report_activity(STATE_IDLE, nullptr);
	return result;
}

} // namespace

void record_autonomously(const RecordRequest *request, RecordResult *result)
{
	const KindSpec *spec = kind_spec(request->kind);
	if (spec == nullptr)
		elog(ERROR, "unknown pg_witness record kind %d", (int)request->kind);
	if (RecoveryInProgress())
		ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
		                errmsg("%s refused: it cannot be recorded during recovery", spec->what),
		                errdetail("pg_witness records it in the trail, which only the primary can write."),
		                errhint("Run it on the primary.")));

	Attribution a;
	current_attribution(&a);
	dsm_segment *seg = dsm_create(sizeof(RecordSlot), 0);
	auto *slot = (RecordSlot *)dsm_segment_address(seg);
	memset(slot, 0, sizeof(*slot));
	slot->magic = kSlotMagic;
	slot->database = MyDatabaseId;
	slot->session_user = GetSessionUserId();
	slot->current_user = GetUserId();
	slot->caller_pid = MyProcPid;
	slot->client_port = a.client_port;
	copy_setting(slot->client_addr, sizeof(slot->client_addr), a.client_addr, "the client address");
	copy_setting(slot->application_name, sizeof(slot->application_name), application_name, "application_name");
	copy_setting(slot->actor, sizeof(slot->actor), setting_actor, "witness.actor");
	copy_setting(slot->reason, sizeof(slot->reason), setting_reason, "witness.reason");
	copy_setting(slot->context, sizeof(slot->context), setting_context, "witness.context");
	slot->lock_timeout_ms = LockTimeout > 0 && LockTimeout < kRecordLockTimeoutMs ? LockTimeout : kRecordLockTimeoutMs;
	slot->request = *request;
	slot->state = SlotState::Pending;

	BackgroundWorker w;
	memset(&w, 0, sizeof(w));
	w.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	w.bgw_start_time = BgWorkerStart_RecoveryFinished;
	w.bgw_restart_time = BGW_NEVER_RESTART;
	snprintf(w.bgw_library_name, BGW_MAXLEN, "pg_witness");
	snprintf(w.bgw_function_name, BGW_MAXLEN, "witness_record_main");
	snprintf(w.bgw_name, BGW_MAXLEN, "%s for PID %d", kWorkerType, MyProcPid);
	snprintf(w.bgw_type, BGW_MAXLEN, "%s", kWorkerType);
	w.bgw_main_arg = UInt32GetDatum(dsm_segment_handle(seg));
	w.bgw_notify_pid = MyProcPid;
	BackgroundWorkerHandle *handle;
	// Slots taken by parallel queries come free within moments: try for about a second.
	bool registered = false;
	for (int attempt = 0; attempt < 20 && !(registered = RegisterDynamicBackgroundWorker(&w, &handle)); attempt++) {
		CHECK_FOR_INTERRUPTS();
		pg_usleep(50 * 1000L);
	}
	if (!registered)
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
		                errmsg("%s refused: no background worker slot free to record it", spec->what),
		                errdetail("pg_witness writes the record in a background worker, so that it stays in the trail "
		                          "whatever this transaction does; all max_worker_processes = %d slots are in use.",
		                          max_worker_processes),
		                errhint("Try again, or raise max_worker_processes: each export under way needs a free slot, "
		                        "besides those of the sealers (witness.max_sealers) and parallel queries.")));

	if (wait_for_worker(handle) != BGWH_STOPPED)
		ereport(ERROR, (errcode(ERRCODE_ADMIN_SHUTDOWN), errmsg("%s refused: the server is shutting down", spec->what)));
	pg_read_barrier();
	switch (slot->state) {
	case SlotState::Recorded:
		*result = slot->result;
		break;
	case SlotState::Failed:
		ereport(ERROR, (errcode(slot->sqlstate), errmsg("%s refused: it could not be recorded", spec->what),
		                slot->detail[0] != '\0'
		                    ? errdetail("The record's transaction failed: %s (%s)", slot->message, slot->detail)
		                    : errdetail("The record's transaction failed: %s", slot->message),
		                slot->sqlstate == ERRCODE_LOCK_NOT_AVAILABLE
		                    ? errhint("The record is written by a transaction of its own, which waits at most %d ms for "
		                              "a lock; if this transaction locked a pg_witness table, end it first.",
		                              slot->lock_timeout_ms)
		                    : errhint("Nothing was returned; the server log has the background worker's error.")));
		break;
	case SlotState::Pending:
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("%s refused: it could not be recorded", spec->what),
		                errdetail("The background worker that writes the record stopped before it reported: it was "
		                          "terminated, or could not connect."),
		                errhint("Nothing was returned; the server log says why the worker stopped.")));
		break;
	}
	dsm_detach(seg);
}

} // namespace witness::pg

using namespace witness::pg;

extern "C" {

// A record worker: attaches the caller's segment, connects to its database, writes and commits one
// record, reports, exits. Restarted never; a caller that has gone takes its segment with it, and
// then the worker finds nothing to write.
void witness_record_main(Datum arg)
{
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();
	dsm_segment *seg = dsm_attach(DatumGetUInt32(arg));
	if (seg == nullptr) {
		elog(LOG, "pg_witness: the backend that asked for a record has gone");
		proc_exit(0);
	}
	auto *slot = (RecordSlot *)dsm_segment_address(seg);
	if (slot->magic != kSlotMagic) {
		elog(LOG, "pg_witness: a record worker was started without a record");
		proc_exit(0);
	}
	BackgroundWorkerInitializeConnectionByOid(slot->database, InvalidOid, 0);
	pgstat_report_appname(kWorkerType);
	// Origin, as the sealer: in replica mode the capture trigger of the record's table would not fire.
	SetConfigOption("session_replication_role", "origin", PGC_SUSET, PGC_S_OVERRIDE);
	MemoryContext keep = AllocSetContextCreate(TopMemoryContext, "pg_witness record", ALLOCSET_DEFAULT_SIZES);
	PG_TRY();
	{
		attribute_to_session(slot->client_addr, slot->client_port, slot->caller_pid);
		RecordResult result = write_record(slot);
		slot->result = result;
		pg_write_barrier();
		slot->state = SlotState::Recorded;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(keep);
		ErrorData *e = CopyErrorData();
		slot->sqlstate = e->sqlerrcode;
		strlcpy(slot->message, e->message != nullptr ? e->message : "unknown error", sizeof(slot->message));
		strlcpy(slot->detail, e->detail != nullptr ? e->detail : "", sizeof(slot->detail));
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		pg_write_barrier();
		slot->state = SlotState::Failed;
	}
	PG_END_TRY();
	dsm_detach(seg);
	proc_exit(0);
}
}
