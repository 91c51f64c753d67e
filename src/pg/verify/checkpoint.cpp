// Verification that resumes from a checkpoint (docs/verification.md, "Resuming from a checkpoint"):
// the newest block a recorded verification found valid, with that block's hash, in a row of
// witness.verification_run that is itself an entry of the chain. witness.verify_since_checkpoint()
// checks the blocks after it; witness.verify_and_checkpoint() and the scheduled verification of the
// background sealer also record a new one.
#include "pg/common/pg_includes.hpp"

#include "pg/capture/internal_ddl.hpp"
#include "pg/common/access_check.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/verify/checkpoint.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

extern "C" {
#include "utils/snapmgr.h"
}

using namespace witness::pg;

namespace
{

constexpr const char *kCheckpointInvalid = "checkpoint invalid";

// Whether this database holds a trail shipped from another (a collector of a central audit database,
// docs/central.md): its blocks seal the source's entries, never its own witness.verification_run, so
// no checkpoint recorded here can be found in its chain. It neither resumes nor records checkpoints.
bool holds_shipped_trail()
{
	if (!OidIsValid(witness_relation_if_exists("collector")))
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT EXISTS (SELECT FROM witness.collector)", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read witness.collector");
	bool isnull;
	bool shipped = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return shipped;
}

// The newest checkpoint whose own record is sealed: a valid run's row with a checkpoint, recorded
// by a transaction the newest block's snapshot sees. The row is only a candidate until
// check_checkpoint_block() and check_chain_copy() agree.
bool latest_checkpoint(Checkpoint *c)
{
	if (!OidIsValid(witness_relation_if_exists("verification_run")))
		return false;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT r.run_id, r.checkpoint_block, r.checkpoint_hash,"
	                " (r.recorded_xid::pg_catalog.text)::pg_catalog.int8,"
	                " pg_catalog.pg_visible_in_snapshot(r.recorded_xid, b.snapshot)"
	                " FROM witness.verification_run r LEFT JOIN witness.block b"
	                " ON b.block_no OPERATOR(pg_catalog.=) r.checkpoint_block"
	                " WHERE r.status OPERATOR(pg_catalog.=) 'valid'::pg_catalog.text"
	                " AND r.checkpoint_block IS NOT NULL AND r.checkpoint_hash IS NOT NULL"
	                " AND pg_catalog.pg_visible_in_snapshot(r.recorded_xid,"
	                "  (SELECT n.snapshot FROM witness.block n ORDER BY n.block_no DESC LIMIT 1))"
	                " ORDER BY r.run_id DESC LIMIT 1",
	                true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read witness.verification_run");
	bool found = SPI_processed == 1;
	if (found) {
		HeapTuple row = SPI_tuptable->vals[0];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;
		c->run_id = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		c->block_no = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
		bytea *hash = DatumGetByteaPP(SPI_getbinval(row, desc, 3, &isnull));
		c->hash_ok = VARSIZE_ANY_EXHDR(hash) == 32;
		memset(c->hash, 0, 32);
		if (c->hash_ok)
			memcpy(c->hash, VARDATA_ANY(hash), 32);
		c->recorded_xid = (uint64)DatumGetInt64(SPI_getbinval(row, desc, 4, &isnull));
		Datum before = SPI_getbinval(row, desc, 5, &isnull);
		// NULL: the block it names does not exist.
		c->recorded_before_block = !isnull && DatumGetBool(before);
	}
	SPI_finish();
	return found;
}

char *hex(const uint8_t *bytes, int n)
{
	static const char digits[] = "0123456789abcdef";
	char *out = (char *)palloc(2 * n + 1);
	for (int i = 0; i < n; i++) {
		out[2 * i] = digits[bytes[i] >> 4];
		out[2 * i + 1] = digits[bytes[i] & 15];
	}
	out[2 * n] = '\0';
	return out;
}

// The checkpoint block as stored now: it exists, its header hashes to its stored hash, that hash is
// the checkpointed one, and the checkpoint was recorded after the block was sealed. NULL when so,
// else why not.
const char *check_checkpoint_block(const Checkpoint &c, int64 newest)
{
	if (!c.hash_ok)
		return "the checkpoint's block hash is not 32 bytes";
	if (c.block_no < 1 || c.block_no >= newest)
		return psprintf("the checkpoint names block %lld, but its record is sealed and the newest block is %lld",
		                (long long)c.block_no, (long long)newest);
	uint8_t stored[32];
	bool header_ok;
	if (!stored_block_hash(c.block_no, stored, &header_ok))
		return psprintf("block %lld, which the checkpoint names, does not exist", (long long)c.block_no);
	if (memcmp(stored, c.hash, 32) != 0)
		return psprintf("block %lld has hash %s, the checkpoint recorded %s", (long long)c.block_no, hex(stored, 32),
		                hex(c.hash, 32));
	if (!header_ok)
		return psprintf("the header of block %lld does not hash to its stored hash", (long long)c.block_no);
	if (c.recorded_before_block)
		return psprintf("the checkpoint was recorded before block %lld, which it names, was sealed",
		                (long long)c.block_no);
	return nullptr;
}

// The chain's copy of the checkpoint: among the INSERT entries of witness.verification_run sealed in
// the blocks this verification checked, exactly one has the checkpoint's run_id, with the same
// block, hash and transaction. NULL when so, else why not.
const char *check_chain_copy(const Checkpoint &c, const RunRecordEntries &records)
{
	int copies = 0;
	const char *why = nullptr;
	char *hash_text = psprintf("\\x%s", hex(c.hash, 32));
	char *xid_text = psprintf("%llu", (unsigned long long)c.recorded_xid);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	for (int i = 0; i < records.n; i++) {
		Oid argtypes[1] = {TEXTOID};
		Datum args[1] = {CStringGetTextDatum(records.items[i].new_values)};
		if (SPI_execute_with_args("SELECT (j OPERATOR(pg_catalog.->>) 'run_id')::pg_catalog.int8,"
		                          " (j OPERATOR(pg_catalog.->>) 'checkpoint_block')::pg_catalog.int8,"
		                          " j OPERATOR(pg_catalog.->>) 'checkpoint_hash', j OPERATOR(pg_catalog.->>) 'recorded_xid',"
		                          " j OPERATOR(pg_catalog.->>) 'status'"
		                          " FROM (SELECT $1::pg_catalog.jsonb AS j) AS v",
		                          1, argtypes, args, nullptr, true, 1) != SPI_OK_SELECT ||
		    SPI_processed != 1)
			elog(ERROR, "pg_witness: could not read a recorded verification");
		HeapTuple row = SPI_tuptable->vals[0];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;
		Datum run = SPI_getbinval(row, desc, 1, &isnull);
		if (isnull || DatumGetInt64(run) != c.run_id)
			continue;
		copies++;
		Datum block = SPI_getbinval(row, desc, 2, &isnull);
		const bool block_ok = !isnull && DatumGetInt64(block) == c.block_no;
		const char *hash = SPI_getvalue(row, desc, 3);
		const char *xid = SPI_getvalue(row, desc, 4);
		const char *status = SPI_getvalue(row, desc, 5);
		if (!block_ok || hash == nullptr || strcmp(hash, hash_text) != 0 || xid == nullptr ||
		    strcmp(xid, xid_text) != 0 || records.items[i].xid != c.recorded_xid || status == nullptr ||
		    strcmp(status, "valid") != 0)
			why = psprintf("witness.verification_run row %lld does not match its entry %lld in the chain",
			               (long long)c.run_id, (long long)records.items[i].id);
	}
	SPI_finish();
	if (copies == 0)
		return psprintf("witness.verification_run row %lld has no entry in blocks %lld to the newest",
		                (long long)c.run_id, (long long)c.block_no + 1);
	if (copies > 1)
		return psprintf("witness.verification_run row %lld has %d entries in the chain", (long long)c.run_id, copies);
	return why;
}

// Puts a checkpoint problem before the others: the whole trail was verified instead.
void prepend_problem(VerifyResult *r, int64 block_no, const char *detail)
{
	auto *problems = (VerifyProblem *)palloc0(sizeof(VerifyProblem) * (r->nproblems + 1));
	problems[0].kind = kCheckpointInvalid;
	problems[0].block_no = block_no;
	problems[0].entry_id = 0;
	problems[0].detail = psprintf("%s; the whole trail was verified instead", detail);
	for (int i = 0; i < r->nproblems; i++)
		problems[i + 1] = r->problems[i];
	r->problems = problems;
	r->nproblems++;
	r->status = "tampered";
}

// The stored hash of block block_no, for the new checkpoint.
bool block_hash_of(int64 block_no, uint8_t out[32])
{
	bool header_ok;
	return stored_block_hash(block_no, out, &header_ok);
}

enum CheckpointColumn { CResumedFrom = kVerifyColumns, CCheckpointRun, CRecordedRun, CNatts };

void put_rows(FunctionCallInfo fcinfo, const ResumedVerification &rv, int64 recorded_run)
{
	auto *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	Datum values[CNatts];
	bool nulls[CNatts];
	for (int i = 0; i < Max(rv.outcome.result.nproblems, 1); i++) {
		CHECK_FOR_INTERRUPTS();
		put_verify_columns(rv.outcome, i, values, nulls);
		values[CResumedFrom] = Int64GetDatum(rv.resumed_from_block);
		nulls[CResumedFrom] = !rv.resumed;
		values[CCheckpointRun] = Int64GetDatum(rv.checkpoint.run_id);
		nulls[CCheckpointRun] = !rv.resumed;
		values[CRecordedRun] = Int64GetDatum(recorded_run);
		nulls[CRecordedRun] = recorded_run == 0;
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
}

} // namespace

namespace witness::pg
{

void verify_resuming(bool resume, bool for_caller, ResumedVerification *rv)
{
	memset(rv, 0, sizeof(*rv));
	const char *invalid = nullptr;
	rv->no_checkpoint = holds_shipped_trail();
	if (resume && !rv->no_checkpoint && latest_checkpoint(&rv->checkpoint)) {
		const Checkpoint &c = rv->checkpoint;
		invalid = check_checkpoint_block(c, newest_block());
		if (invalid == nullptr) {
			RunRecordEntries records = {};
			verify_blocks(c.block_no + 1, 0, true, for_caller, &records, &rv->outcome);
			invalid = check_chain_copy(c, records);
			if (invalid == nullptr) {
				rv->resumed = true;
				rv->resumed_from_block = c.block_no;
				return;
			}
		}
	}
	// No checkpoint, or one that does not hold: the whole trail.
	verify_blocks(1, 0, true, for_caller, nullptr, &rv->outcome);
	if (invalid != nullptr)
		prepend_problem(&rv->outcome.result, rv->checkpoint.block_no, invalid);
}

int64 record_verification_run(const ResumedVerification &rv, TimestampTz started_at, const char *first_problem)
{
	const VerifyResult &r = rv.outcome.result;
	// A valid verification that reached the newest block makes it the next checkpoint.
	uint8_t hash[32];
	const bool checkpoint = !rv.no_checkpoint && strcmp(r.status, "valid") == 0 && rv.outcome.is_last &&
	                        rv.outcome.newest > 0 && block_hash_of(rv.outcome.newest, hash);
	Oid argtypes[11] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, INT8OID, INT8OID, INT8OID,
	                    INT8OID,        TEXTOID,        INT8OID, INT8OID, BYTEAOID};
	Datum args[11] = {TimestampTzGetDatum(started_at),
	                  TimestampTzGetDatum(GetCurrentTimestamp()),
	                  CStringGetTextDatum(r.status),
	                  Int64GetDatum(r.nproblems),
	                  Int64GetDatum(r.blocks_checked),
	                  Int64GetDatum(r.entries_checked),
	                  Int64GetDatum(r.entries_pending),
	                  first_problem != nullptr && first_problem[0] != '\0' ? CStringGetTextDatum(first_problem) : (Datum)0,
	                  Int64GetDatum(rv.resumed_from_block),
	                  Int64GetDatum(rv.outcome.newest),
	                  checkpoint ? PointerGetDatum(hash_bytea(hash)) : (Datum)0};
	char nulls[11] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', first_problem != nullptr && first_problem[0] != '\0' ? ' ' : 'n',
	                  rv.resumed ? ' ' : 'n', checkpoint ? ' ' : 'n', checkpoint ? ' ' : 'n'};
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	internal_ddl_begin();
	if (SPI_execute_with_args("INSERT INTO witness.verification_run (started_at, finished_at, status, problems,"
	                          " blocks_checked, entries_checked, entries_pending, first_problem, resumed_from_block,"
	                          " checkpoint_block, checkpoint_hash)"
	                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING run_id",
	                          11, argtypes, args, nulls, false, 0) != SPI_OK_INSERT_RETURNING)
		elog(ERROR, "pg_witness: could not record the verification");
	internal_ddl_end();
	bool isnull;
	int64 run_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return run_id;
}

char *first_problem_text(const VerifyResult &r)
{
	if (r.nproblems == 0)
		return pstrdup("");
	const VerifyProblem &p = r.problems[0];
	char *where = p.block_no != 0 && p.entry_id != 0
	                  ? psprintf(" (block %lld, entry %lld)", (long long)p.block_no, (long long)p.entry_id)
	              : p.block_no != 0 ? psprintf(" (block %lld)", (long long)p.block_no)
	              : p.entry_id != 0 ? psprintf(" (entry %lld)", (long long)p.entry_id)
	                                : pstrdup("");
	char *text = psprintf("%s%s: %s", p.kind, where, p.detail != nullptr ? p.detail : "");
	int len = pg_mbcliplen(text, (int)strlen(text), 255);
	text[len] = '\0';
	return text;
}

bool full_verification_due(int interval_s)
{
	if (interval_s < 0)
		return false; // never: a trail too large to verify whole in the server (docs/scaling.md)
	if (interval_s == 0)
		return true;
	Oid argtypes[1] = {INT8OID};
	Datum args[1] = {Int64GetDatum((int64)interval_s)};
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute_with_args("SELECT NOT EXISTS (SELECT FROM witness.verification_run"
	                          " WHERE resumed_from_block IS NULL AND started_at OPERATOR(pg_catalog.>)"
	                          " (pg_catalog.now() OPERATOR(pg_catalog.-) pg_catalog.make_interval(secs => $1)))",
	                          1, argtypes, args, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read witness.verification_run");
	bool isnull;
	bool due = DatumGetBool(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return due;
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_verify_since_checkpoint);
Datum witness_verify_since_checkpoint(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_verify_and_checkpoint);
Datum witness_verify_and_checkpoint(PG_FUNCTION_ARGS);

// witness.verify_since_checkpoint(): the blocks after the newest checkpoint, read-only.
Datum witness_verify_since_checkpoint(PG_FUNCTION_ARGS)
{
	check_access();
	require_nargs(fcinfo, 0);
	InitMaterializedSRF(fcinfo, 0);
	ResumedVerification rv;
	verify_resuming(true, true, &rv);
	put_rows(fcinfo, rv, 0);
	return (Datum)0;
}

// witness.verify_and_checkpoint(resume): verifies (from the checkpoint, or all) and records the run,
// with the newest block as the next checkpoint when valid.
Datum witness_verify_and_checkpoint(PG_FUNCTION_ARGS)
{
	check_access();
	require_nargs(fcinfo, 1);
	InitMaterializedSRF(fcinfo, 0);
	const TimestampTz started = GetCurrentTimestamp();
	ResumedVerification rv;
	verify_resuming(PG_ARGISNULL(0) || PG_GETARG_BOOL(0), true, &rv);
	int64 run = record_verification_run(rv, started, first_problem_text(rv.outcome.result));
	put_rows(fcinfo, rv, run);
	return (Datum)0;
}
}
