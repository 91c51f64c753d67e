// How far sealing is behind in this database: witness.seal_status (entries committed and not sealed
// yet, the oldest one's age, the newest block, the background sealer's last pass here), the age
// witness.verify() reports, and the wake-up that CREATE EXTENSION pg_witness sends the launcher.
#include "pg/seal/seal_status.hpp"
#include "pg/common/trail_brin.hpp"
#include "pg/common/trail_catalog.hpp"

#include "pg/common/settings.hpp"

#include "pg/seal/sealer_registry.hpp"
#include "pg/seal/sealer_worker.hpp"
#include "pg/seal/sealer.hpp"
#include "pg/common/access_check.hpp"

extern "C" {
#include "access/xlog.h"
#include "utils/snapmgr.h"
#include "utils/resowner.h"
}

namespace witness::pg
{
namespace
{

bool wake_at_commit = false;
bool wake_callbacks_registered = false;

// Wakes the launcher once the transaction has committed and released its locks: CREATE EXTENSION
// holds an exclusive lock on witness.block until then, and a sealer that came earlier would find the
// trail busy. Runs in the last phase of releasing the top-level transaction's resources, and raises
// no error: the commit is done.
void wake_after_commit(ResourceReleasePhase phase, bool is_commit, bool is_top_level, void *)
{
	if (phase != RESOURCE_RELEASE_AFTER_LOCKS || !is_top_level || !wake_at_commit)
		return;
	wake_at_commit = false;
	if (is_commit)
		registry_wake(MyDatabaseId);
}

// PREPARE TRANSACTION releases resources as a commit does, but the extension is not there for others
// until COMMIT PREPARED, in another session; the launcher then finds it when it looks again.
void forget_at_prepare(XactEvent event, void *)
{
	if (event == XACT_EVENT_PREPARE)
		wake_at_commit = false;
}

} // namespace

namespace
{

// In a cluster behind the trail's transaction ids, the entries of the era the next seal will start:
// the newest block's snapshot sees their (low) transaction ids, yet none is sealed (due_era()).
void add_due_era_pending(HeapTuple newest, TupleDesc desc, PendingSummary *s)
{
	DueEra due = due_era(GetActiveSnapshot());
	if (due.first_entry_id == 0)
		return;
	bool isnull;
	Oid argtypes[2] = {INT8OID, PG_SNAPSHOTOID};
	Datum args[2] = {Int64GetDatum(due.first_entry_id), SPI_getbinval(newest, desc, 3, &isnull)};
	if (SPI_execute_with_args("SELECT pg_catalog.count(*), pg_catalog.min(stmt_time) FROM witness.entry"
	                          " WHERE id OPERATOR(pg_catalog.>=) $1 AND pg_catalog.pg_visible_in_snapshot(xid, $2)",
	                          2, argtypes, args, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not count the pending entries of the due era");
	HeapTuple row = SPI_tuptable->vals[0];
	s->entries_pending += DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
	Datum oldest = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
	if (!isnull && (!s->has_pending || DatumGetTimestampTz(oldest) < s->oldest_pending_since)) {
		s->has_pending = true;
		s->oldest_pending_since = DatumGetTimestampTz(oldest);
	}
}

} // namespace

// SPI queries run under the caller's search_path, which may put another schema before pg_catalog:
// every function, type and operator in them is written with its schema (operators as
// OPERATOR(pg_catalog.>=)), so that nothing created elsewhere can stand in for the built-in one.
PendingSummary pending_summary()
{
	PendingSummary s;
	memset(&s, 0, sizeof(s));
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT block_no, sealed_at, snapshot, pg_catalog.pg_snapshot_xmin(snapshot) FROM witness.block"
	                " ORDER BY block_no DESC LIMIT 1",
	                true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read the newest block");
	int ret;
	// The entries of the current transaction-id era only (docs/verification.md, "Transaction-id eras"):
	// $3, its first entry id; the newest block counts only when it is of that era ($4, its first block).
	Datum era_first_id = Int64GetDatum(0), era_first_block = Int64GetDatum(0);
	bool has_block = SPI_processed == 1;
	HeapTuple newest = has_block ? SPI_copytuple(SPI_tuptable->vals[0]) : nullptr;
	TupleDesc newest_desc = has_block ? CreateTupleDescCopy(SPI_tuptable->tupdesc) : nullptr;
	if (OidIsValid(witness_relation_if_exists("era"))) {
		if (SPI_execute("SELECT first_entry_id, first_block_no FROM witness.era ORDER BY first_entry_id DESC LIMIT 1",
		                true, 1) != SPI_OK_SELECT)
			elog(ERROR, "pg_witness: could not read witness.era");
		if (SPI_processed == 1) {
			bool isnull;
			era_first_id = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
			era_first_block = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull);
		}
	}
	if (has_block) {
		HeapTuple row = newest;
		TupleDesc desc = newest_desc;
		bool isnull;
		s.has_block = true;
		s.last_block_no = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		s.last_sealed_at = DatumGetTimestampTz(SPI_getbinval(row, desc, 2, &isnull));
	}
	if (has_block && s.last_block_no >= DatumGetInt64(era_first_block)) {
		HeapTuple row = newest;
		TupleDesc desc = newest_desc;
		bool isnull;
		Oid argtypes[3] = {XID8OID, PG_SNAPSHOTOID, INT8OID};
		Datum args[3] = {SPI_getbinval(row, desc, 4, &isnull), SPI_getbinval(row, desc, 3, &isnull), era_first_id};
		// Entries with an xid below the newest snapshot's xmin are visible in it: the BRIN index on xid
		// narrows the scan to the newest ranges (open_brin_scans()). The era's bound, which usually
		// spans the whole trail, is written so that no index serves it, as in the sealer's member query.
		const int scans = open_brin_scans();
		ret = SPI_execute_with_args("SELECT pg_catalog.count(*), pg_catalog.min(stmt_time) FROM witness.entry"
		                            " WHERE xid OPERATOR(pg_catalog.>=) $1"
		                            " AND NOT pg_catalog.pg_visible_in_snapshot(xid, $2)"
		                            " AND (id OPERATOR(pg_catalog.+) 0) OPERATOR(pg_catalog.>=) $3",
		                            3, argtypes, args, nullptr, true, 1);
		close_brin_scans(scans);
	} else {
		Oid argtypes[1] = {INT8OID};
		Datum args[1] = {era_first_id};
		ret = SPI_execute_with_args("SELECT pg_catalog.count(*), pg_catalog.min(stmt_time) FROM witness.entry"
		                            " WHERE id OPERATOR(pg_catalog.>=) $1",
		                            1, argtypes, args, nullptr, true, 1);
	}
	if (ret != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not count the pending entries");
	bool isnull;
	HeapTuple row = SPI_tuptable->vals[0];
	s.entries_pending = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
	Datum oldest = SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull);
	s.has_pending = !isnull;
	s.oldest_pending_since = isnull ? 0 : DatumGetTimestampTz(oldest);
	if (has_block)
		add_due_era_pending(newest, newest_desc, &s);
	SPI_finish();
	return s;
}

Datum pending_age(TimestampTz since)
{
	return DirectFunctionCall2(timestamp_mi, TimestampTzGetDatum(GetCurrentTimestamp()),
	                           TimestampTzGetDatum(since));
}

} // namespace witness::pg

using namespace witness::pg;

extern "C" {
PG_FUNCTION_INFO_V1(witness_wake_sealer);
PG_FUNCTION_INFO_V1(witness_seal_status);
Datum witness_wake_sealer(PG_FUNCTION_ARGS);
Datum witness_seal_status(PG_FUNCTION_ARGS);

// witness._wake_sealer(): the launcher starts a sealer in this database as soon as the current
// transaction commits (called by CREATE EXTENSION pg_witness). Does nothing without the launcher.
Datum witness_wake_sealer(PG_FUNCTION_ARGS)
{
	if (!sealer_registry_attached())
		PG_RETURN_VOID();
	if (!wake_callbacks_registered) {
		RegisterResourceReleaseCallback(wake_after_commit, nullptr);
		RegisterXactCallback(forget_at_prepare, nullptr);
		wake_callbacks_registered = true;
	}
	wake_at_commit = true;
	PG_RETURN_VOID();
}

enum StatusColumn {
	SBackground,
	SPending,
	SOldestSince,
	SOldestAge,
	SLastBlock,
	SLastSealedAt,
	SLastPassAt,
	SLastPassResult,
	SLastError,
	SLastErrorAt,
	SNatts
};

// witness._seal_status(): the one row of witness.seal_status.
Datum witness_seal_status(PG_FUNCTION_ARGS)
{
	witness::pg::check_access();
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE || desc->natts != SNatts)
		elog(ERROR, "pg_witness: _seal_status must return a record of %d columns", SNatts);
	desc = BlessTupleDesc(desc);
	PendingSummary p = pending_summary();
	SealerDbStatus st;
	registry_status(MyDatabaseId, &st);

	Datum values[SNatts];
	bool nulls[SNatts];
	memset(nulls, 0, sizeof(nulls));
	const char *background = !sealer_registry_attached()   ? "not loaded"
	                         : RecoveryInProgress()         ? "standby"
	                         : setting_seal_interval_ms == 0        ? "off"
	                         : registry_launcher_running() ? "on"
	                                                        : "not running";
	values[SBackground] = CStringGetTextDatum(background);
	values[SPending] = Int64GetDatum(p.entries_pending);
	values[SOldestSince] = TimestampTzGetDatum(p.oldest_pending_since);
	nulls[SOldestSince] = !p.has_pending;
	values[SOldestAge] = p.has_pending ? pending_age(p.oldest_pending_since) : (Datum)0;
	nulls[SOldestAge] = !p.has_pending;
	values[SLastBlock] = Int64GetDatum(p.last_block_no);
	nulls[SLastBlock] = !p.has_block;
	values[SLastSealedAt] = TimestampTzGetDatum(p.last_sealed_at);
	nulls[SLastSealedAt] = !p.has_block;
	values[SLastPassAt] = TimestampTzGetDatum(st.last_pass_at);
	nulls[SLastPassAt] = st.last_pass_at == 0;
	const char *result = pass_result_name(st.last_result);
	values[SLastPassResult] = result != nullptr ? CStringGetTextDatum(result) : (Datum)0;
	nulls[SLastPassResult] = result == nullptr;
	values[SLastError] = st.last_error_at != 0 ? CStringGetTextDatum(st.last_error) : (Datum)0;
	nulls[SLastError] = st.last_error_at == 0;
	values[SLastErrorAt] = TimestampTzGetDatum(st.last_error_at);
	nulls[SLastErrorAt] = st.last_error_at == 0;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
}
