// witness.verify(): recomputes every leaf hash from stored content, block membership from snapshots,
// Merkle roots and the chain, and reports what does not match. Read-only: works on a hot standby.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/digest/digest_log.hpp"
#include "pg/verify/entry_hash.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/verify/verifier_bridge.hpp"
#include "pg/verify/verify_trail.hpp"
#include "pg/seal/seal_status.hpp"
#include "pg/common/access_check.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "utils/snapmgr.h"
}

using namespace witness;
using namespace witness::pg;

namespace
{

// The columns of witness.verify(); entries_erased and entries_unchecked came with version 0.2.
enum VerifyColumn {
	VStatus,
	VBlocks,
	VEntries,
	VPending,
	VProblem,
	VBlockNo,
	VEntryId,
	VDetail,
	VOldestAge,
	VErased,
	VUnchecked,
	VNatts
};

void copy_hash(Datum value, bool isnull, uint8_t *out)
{
	bytea *b = isnull ? nullptr : DatumGetByteaPP(value);
	if (b != nullptr && VARSIZE_ANY_EXHDR(b) == 32)
		memcpy(out, VARDATA_ANY(b), 32);
	else
		memset(out, 0, 32); // a hash of the wrong size can only fail to match
}

// SPI queries run under the caller's search_path, which may put another schema before pg_catalog:
// every function, type and operator in them is written with its schema (operators as
// OPERATOR(pg_catalog.>=)), so that nothing created elsewhere can stand in for the built-in one.
// Blocks first_block-1 .. last_block (as far as they exist); returns how many, previous block first.
int load_blocks(int64 first_block, int64 last_block, StoredBlockFields **out, uint64 *prev_xmin)
{
	Oid argtypes[2] = {INT8OID, INT8OID};
	Datum args[2] = {Int64GetDatum(first_block - 1), Int64GetDatum(last_block)};
	MemoryContext caller = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	// Not BETWEEN: it would look up >= and <= along the caller's search_path.
	if (SPI_execute_with_args("SELECT block_no, snapshot::pg_catalog.text, entry_count, first_entry_id, last_entry_id,"
	                          " merkle_root, prev_hash, sealed_at, block_hash, pg_catalog.pg_snapshot_xmin(snapshot)"
	                          " FROM witness.block WHERE block_no OPERATOR(pg_catalog.>=) $1"
	                          " AND block_no OPERATOR(pg_catalog.<=) $2 ORDER BY block_no",
	                          2, argtypes, args, nullptr, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read blocks");
	int n = (int)SPI_processed;
	auto *blocks = (StoredBlockFields *)MemoryContextAllocZero(caller, sizeof(StoredBlockFields) * Max(n, 1));
	auto *hashes = (uint8_t *)MemoryContextAllocZero(caller, (Size)64 * Max(n, 1));
	for (int i = 0; i < n; i++) {
		CHECK_FOR_INTERRUPTS();
		HeapTuple row = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;
		BlockFields &f = blocks[i].fields;
		f.block_no = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		f.snapshot = MemoryContextStrdup(caller, SPI_getvalue(row, desc, 2));
		f.entry_count = DatumGetInt64(SPI_getbinval(row, desc, 3, &isnull));
		Datum first = SPI_getbinval(row, desc, 4, &isnull);
		bool first_null = isnull;
		Datum last = SPI_getbinval(row, desc, 5, &isnull);
		f.has_entry_ids = !first_null && !isnull;
		f.first_entry_id = f.has_entry_ids ? DatumGetInt64(first) : 0;
		f.last_entry_id = f.has_entry_ids ? DatumGetInt64(last) : 0;
		Datum root = SPI_getbinval(row, desc, 6, &isnull);
		copy_hash(root, isnull, hashes + 64 * i);
		f.merkle_root = hashes + 64 * i;
		Datum prev = SPI_getbinval(row, desc, 7, &isnull);
		copy_hash(prev, isnull, hashes + 64 * i + 32);
		f.prev_hash = hashes + 64 * i + 32;
		f.sealed_at_us = DatumGetTimestampTz(SPI_getbinval(row, desc, 8, &isnull)) + kUnixToPostgresEpochUs;
		Datum stored = SPI_getbinval(row, desc, 9, &isnull);
		copy_hash(stored, isnull, blocks[i].stored_hash);
		if (i == 0)
			*prev_xmin = (uint64)DatumGetInt64(SPI_getbinval(row, desc, 10, &isnull));
	}
	SPI_finish();
	*out = blocks;
	return n;
}

// The transaction-id eras (witness.era, absent with the SQL of version 0.1) for the verifier; returns
// how many there are. Membership depends on them: a deleted or moved era shows as entries in the
// wrong blocks (docs/verification.md, "Transaction-id eras").
int load_eras(VerifierHandle *v)
{
	if (!OidIsValid(witness_relation_if_exists("era")))
		return 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT first_entry_id, first_block_no FROM witness.era", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read witness.era");
	int n = (int)SPI_processed;
	auto *ids = (int64 *)palloc(sizeof(int64) * Max(n, 1));
	auto *blocks = (int64 *)palloc(sizeof(int64) * Max(n, 1));
	for (int i = 0; i < n; i++) {
		bool isnull;
		ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		blocks[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	verifier_set_eras(v, ids, blocks, n);
	return n;
}

int64 newest_block_no()
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT COALESCE(pg_catalog.max(block_no), 0) FROM witness.block", true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read blocks");
	bool isnull;
	int64 n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return n;
}

// Raises ERROR for a range that is empty, starts below block 1 or lies beyond the newest block: such a
// range checks nothing, and must not come back as valid. The whole trail (first_block 1, no
// last_block) is fine even while nothing is sealed.
void check_range(int64 first, int64 last, bool to_newest, int64 newest)
{
	if (first < 1 || last < first)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("invalid block range %lld to %lld", (long long)first, (long long)last),
		                errhint("Blocks are numbered from 1, and last_block must not be below first_block; pass "
		                        "NULL for the whole trail.")));
	if (first <= newest || (first == 1 && to_newest))
		return;
	char *range = to_newest ? psprintf("first_block %lld", (long long)first)
	                        : psprintf("block range %lld to %lld", (long long)first, (long long)last);
	if (newest == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("%s is beyond the newest block 0", range),
		                errdetail("Nothing is sealed yet."),
		                errhint("Call witness.seal() first, or wait for the background sealer.")));
	ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
	                errmsg("%s is beyond the newest block %lld", range, (long long)newest),
	                errhint("The trail has blocks 1 to %lld; pass NULL as last_block to check up to the newest "
	                        "block.",
	                        (long long)newest)));
}

// Format 2: a payload must reproduce its commitment while it is there; a removed one is checked
// against the erasures recorded in the chain (core/payload_audit.hpp). A sealed payload (an encrypted
// table's entry) is opened first; without any master key it is left unchecked, and one that does not
// open under the configured keys counts as changed.
void check_payload(VerifierHandle *v, const Datum *values, const bool *nulls, EntryView *view, uint64 xid)
{
	const int64 erasure_id = nulls[EntryErasureId - 1] ? 0 : DatumGetInt64(values[EntryErasureId - 1]);
	const char *why;
	PayloadCheck state;
	switch (open_stored_payload(values, nulls, view, &why)) {
	case StoredPayload::NoKey:
		state = PayloadUnchecked;
		break;
	case StoredPayload::ForeignKey:
	case StoredPayload::Unreadable:
		state = PayloadChanged;
		break;
	default: {
		const bool payload_gone = !view->row_key.present && !view->subject.present && !view->old_values.present &&
		                          !view->new_values.present;
		if (view->salt != nullptr)
			state = payload_matches_commitment(*view) ? PayloadIntact : PayloadChanged;
		else
			state = payload_gone ? PayloadErased : PayloadChanged;
	}
	}
	verifier_add_payload(v, view->id, xid, state, erasure_id);
}

// The INSERT entry that recorded an erasure (witness.erase_subject()).
bool is_erasure_record(const EntryView &view)
{
	auto is = [](const TextField &f, const char *s) { return f.present && f.len == strlen(s) && memcmp(f.ptr, s, f.len) == 0; };
	return view.op == 'I' && view.new_values.present && view.new_values.canonical != nullptr &&
	       is(view.schema_name, "witness") && is(view.table_name, "erasure");
}

// The entries a period-restricted auditor may see (docs/access.md): the whole chain is verified, but
// a problem is named by entry only when the entry lies in the period.
struct Period {
	bool restricted;
	TimestampTz since, till;
	int64 *ids;
	int n, capacity;
};

void period_add(Period *p, int64 id, TimestampTz stmt_time)
{
	if (!p->restricted || stmt_time < p->since || stmt_time >= p->till)
		return;
	if (p->n == p->capacity) {
		p->capacity = p->capacity == 0 ? 1024 : p->capacity * 2;
		p->ids = p->ids == nullptr ? (int64 *)palloc(p->capacity * sizeof(int64))
		                           : (int64 *)repalloc(p->ids, p->capacity * sizeof(int64));
	}
	p->ids[p->n++] = id;
}

int compare_ids(const void *a, const void *b)
{
	int64 x = *(const int64 *)a, y = *(const int64 *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

bool period_has(const Period &p, int64 id)
{
	return !p.restricted || (p.n > 0 && bsearch(&id, p.ids, p.n, sizeof(int64), compare_ids) != nullptr);
}

// Feeds every entry that may belong to the range to the verifier, with its recomputed leaf hash.
void scan_entries(VerifierHandle *v, bool skip_old, uint64 min_xid, Period *period)
{
	Relation rel = table_open(entry_relid(), AccessShareLock);
	check_entry_layout(RelationGetDescr(rel));
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
	MemoryContext per_entry =
	    AllocSetContextCreate(CurrentMemoryContext, "pg_witness verify entry", ALLOCSET_DEFAULT_SIZES);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		CHECK_FOR_INTERRUPTS();
		MemoryContext old = MemoryContextSwitchTo(per_entry);
		memset(nulls, true, sizeof(nulls)); // a 0.1 table has no format-2 columns
		heap_deform_tuple(tuple, RelationGetDescr(rel), values, nulls);
		uint64 xid = (uint64)DatumGetInt64(values[EntryXid - 1]);
		if (!skip_old || xid >= min_xid) {
			uint8_t stored[32], recomputed[32];
			copy_hash(values[EntryLeafHash - 1], nulls[EntryLeafHash - 1], stored);
			// An unknown format, or a NULL where the entry needs a value, cannot reproduce its hash.
			const int16 format = nulls[EntryFormat - 1] ? 0 : DatumGetInt16(values[EntryFormat - 1]);
			if ((format == kEntryFormatVersion || format == kEntryFormatCommitted) &&
			    entry_null_required_column(nulls) == nullptr) {
				EntryView view;
				entry_view_from_row(values, nulls, &view);
				leaf_hash(view, recomputed);
				if (format == kEntryFormatCommitted)
					check_payload(v, values, nulls, &view, xid);
				if (is_erasure_record(view))
					verifier_add_erasure_record(v, view.new_values.canonical, view.new_values.canonical_len);
			} else {
				memset(recomputed, 0xff, 32);
			}
			verifier_add_entry(v, DatumGetInt64(values[EntryId - 1]), xid, stored, recomputed);
			if (period->restricted && !nulls[EntryStmtTime - 1]) {
				MemoryContextSwitchTo(old);
				period_add(period, DatumGetInt64(values[EntryId - 1]), DatumGetTimestampTz(values[EntryStmtTime - 1]));
				MemoryContextSwitchTo(per_entry);
			}
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_entry);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	MemoryContextDelete(per_entry);
}

} // namespace

namespace witness::pg
{

void verify_whole_trail(VerifyResult *result)
{
	int64 newest = newest_block_no();
	StoredBlockFields *blocks;
	uint64 prev_xmin = 0;
	int n = load_blocks(1, Max(newest, (int64)1), &blocks, &prev_xmin);
	const StoredBlockFields *previous = nullptr;
	if (n > 0 && blocks[0].fields.block_no == 0) {
		previous = &blocks[0];
		blocks++;
		n--;
	}
	VerifierHandle *v = verifier_create(previous, blocks, n, true, highest_block_no_logged(), 0);
	// An era's entries may lie below an earlier era's xmin: read them all when there are eras.
	int eras = load_eras(v);
	Period period = {};
	scan_entries(v, previous != nullptr && eras == 0, prev_xmin, &period);
	verifier_finish(v, result);
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_verify);
Datum witness_verify(PG_FUNCTION_ARGS);

Datum witness_verify(PG_FUNCTION_ARGS)
{
	check_access();
	require_nargs(fcinfo, 2);
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	int64 newest = newest_block_no();
	int64 first = PG_ARGISNULL(0) ? 1 : PG_GETARG_INT64(0);
	int64 last = PG_ARGISNULL(1) ? Max(newest, first) : PG_GETARG_INT64(1);
	check_range(first, last, PG_ARGISNULL(1), newest);

	StoredBlockFields *blocks;
	uint64 prev_xmin = 0;
	int n = load_blocks(first, last, &blocks, &prev_xmin);
	const StoredBlockFields *previous = nullptr;
	if (n > 0 && blocks[0].fields.block_no == first - 1) {
		previous = &blocks[0];
		blocks++;
		n--;
	}
	bool is_last = last >= newest;
	VerifierHandle *v =
	    verifier_create(previous, blocks, n, is_last, is_last ? highest_block_no_logged() : 0, is_last ? 0 : last);
	int eras = load_eras(v);
	Period period = {};
	period.restricted = access_period(&period.since, &period.till);
	scan_entries(v, previous != nullptr && eras == 0, prev_xmin, &period);
	if (period.n > 1)
		qsort(period.ids, period.n, sizeof(int64), compare_ids);
	VerifyResult r;
	verifier_finish(v, &r);
	// How long the oldest pending entry has waited: a sealer that cannot seal shows here.
	bool has_age = false;
	Datum oldest_age = (Datum)0;
	if (is_last && r.entries_pending > 0) {
		PendingSummary p = pending_summary();
		has_age = p.has_pending;
		if (has_age)
			oldest_age = pending_age(p.oldest_pending_since);
	}

	Datum values[VNatts];
	bool nulls[VNatts];
	for (int i = 0; i < Max(r.nproblems, 1); i++) {
		CHECK_FOR_INTERRUPTS();
		memset(nulls, 0, sizeof(nulls));
		values[VStatus] = CStringGetTextDatum(r.status);
		values[VBlocks] = Int64GetDatum(r.blocks_checked);
		values[VEntries] = Int64GetDatum(r.entries_checked);
		values[VPending] = Int64GetDatum(r.entries_pending);
		values[VOldestAge] = oldest_age;
		nulls[VOldestAge] = !has_age;
		values[VErased] = Int64GetDatum(r.entries_erased);
		values[VUnchecked] = Int64GetDatum(r.entries_unchecked);
		if (r.nproblems == 0) {
			nulls[VProblem] = nulls[VBlockNo] = nulls[VEntryId] = nulls[VDetail] = true;
		} else {
			const VerifyProblem &p = r.problems[i];
			values[VProblem] = CStringGetTextDatum(p.kind);
			values[VBlockNo] = Int64GetDatum(p.block_no);
			nulls[VBlockNo] = p.block_no == 0;
			values[VEntryId] = Int64GetDatum(p.entry_id);
			nulls[VEntryId] = p.entry_id == 0;
			values[VDetail] = CStringGetTextDatum(p.detail);
			if (p.entry_id != 0 && !period_has(period, p.entry_id)) {
				nulls[VEntryId] = true;
				values[VDetail] = CStringGetTextDatum("an entry outside the period this role may see");
			}
		}
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}
}
