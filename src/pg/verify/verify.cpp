// witness.verify(): recomputes every leaf hash from stored content, block membership from snapshots,
// Merkle roots and the chain, and reports what does not match. Read-only: works on a hot standby.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/digest/digest_log.hpp"
#include "pg/verify/entry_hash.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/trail_partitions.hpp"
#include "pg/common/sort_bytes.hpp"
#include "pg/common/collector_mode.hpp"
#include "pg/verify/verifier_bridge.hpp"
#include "pg/verify/verify_trail.hpp"
#include "pg/seal/seal_status.hpp"
#include "pg/seal/sealer.hpp"
#include "pg/common/access_check.hpp"

extern "C" {
#include "access/brin.h"
#include "access/brin_internal.h"
#include "access/genam.h"
#include "access/heapam.h"
#include "access/stratnum.h"
#include "utils/array.h"
#include "access/tableam.h"
#include "catalog/pg_am.h"
#include "executor/tuptable.h"
#include "nodes/tidbitmap.h"
#include "utils/fmgroids.h"
#include "utils/snapmgr.h"
#include "utils/xid8.h"
#include "utils/tuplesort.h"
#include "catalog/pg_operator_d.h"
}

using namespace witness;
using namespace witness::pg;

namespace
{

// The columns of witness.verify(); entries_erased, entries_unchecked and entries_pruned came with
// version 0.2.
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
	VPruned,
	VNatts
};
static_assert(VNatts == kVerifyColumns, "verify_trail.hpp names the number of witness.verify()'s columns");

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
// *last_xmax: the xmax of the last block's snapshot; no entry of the blocks has a higher xid.
int load_blocks(int64 first_block, int64 last_block, StoredBlockFields **out, uint64 *prev_xmin,
                uint64 *last_xmax = nullptr)
{
	Oid argtypes[2] = {INT8OID, INT8OID};
	Datum args[2] = {Int64GetDatum(first_block - 1), Int64GetDatum(last_block)};
	MemoryContext caller = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	// Not BETWEEN: it would look up >= and <= along the caller's search_path.
	if (SPI_execute_with_args("SELECT block_no, snapshot::pg_catalog.text, entry_count, first_entry_id, last_entry_id,"
	                          " merkle_root, prev_hash, sealed_at, block_hash, pg_catalog.pg_snapshot_xmin(snapshot),"
	                          " pg_catalog.pg_snapshot_xmax(snapshot)"
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
		f.sealed_at_us = unix_us_as_hashed(DatumGetTimestampTz(SPI_getbinval(row, desc, 8, &isnull)));
		Datum stored = SPI_getbinval(row, desc, 9, &isnull);
		copy_hash(stored, isnull, blocks[i].stored_hash);
		if (i == 0)
			*prev_xmin = (uint64)DatumGetInt64(SPI_getbinval(row, desc, 10, &isnull));
		if (i == n - 1 && last_xmax != nullptr)
			*last_xmax = (uint64)DatumGetInt64(SPI_getbinval(row, desc, 11, &isnull));
	}
	SPI_finish();
	*out = blocks;
	return n;
}

// Which rows of a partition a scan must read, by transaction id: xid >= min_xid when skip_old, xid <
// max_xid when max_xid is not 0; with eras, by entry id too.
struct XidBounds {
	bool skip_old;
	uint64 min_xid;
	uint64 max_xid;
	int64 id_lo, id_hi; // with eras: the ids of the range's era (both 0: no bound; id_hi 0: none above)
};

// The rows of witness.era after the implicit first era, ordered by first entry id as the verifier
// orders them (n = 0: no era table, or no row).
struct Eras {
	int n;
	int64 *first_ids;
	int64 *first_blocks;
};

Eras read_eras()
{
	Eras e = {0, nullptr, nullptr};
	if (!OidIsValid(witness_relation_if_exists("era")))
		return e;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT first_entry_id, first_block_no FROM witness.era ORDER BY first_entry_id", true, 0) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read witness.era");
	e.n = (int)SPI_processed;
	e.first_ids = (int64 *)SPI_palloc(sizeof(int64) * (e.n + 1));
	e.first_blocks = (int64 *)SPI_palloc(sizeof(int64) * (e.n + 1));
	for (int i = 0; i < e.n; i++) {
		bool isnull;
		e.first_ids[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
		e.first_blocks[i] = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull));
	}
	SPI_finish();
	// The era the next seal will start: its entries are pending, not inserted into old blocks.
	DueEra due = due_era(GetActiveSnapshot());
	if (due.first_entry_id != 0) {
		e.first_ids[e.n] = due.first_entry_id;
		e.first_blocks[e.n] = due.first_block_no;
		e.n++;
	}
	return e;
}

// The transaction-id eras for the verifier. Membership depends on them: a deleted or moved era shows
// as entries in the wrong blocks (docs/verification.md, "Transaction-id eras").
Eras load_eras(VerifierHandle *v)
{
	Eras e = read_eras();
	verifier_set_eras(v, e.first_ids, e.first_blocks, e.n);
	return e;
}

// Whether each era starts at a later entry and a later block than the one before, as the sealer makes
// them. Only then is a range of blocks inside one era read by that era's ids (era_of_blocks); a
// verification of eras that were tampered with reads every entry, and reports them.
bool eras_ascend(const Eras &e)
{
	for (int i = 0; i < e.n; i++)
		if (e.first_blocks[i] < 2 || e.first_ids[i] < 2 ||
		    (i > 0 && (e.first_blocks[i] <= e.first_blocks[i - 1] || e.first_ids[i] <= e.first_ids[i - 1])))
			return false;
	return true;
}

// The era of blocks first..last when they all lie in one (ascending eras), as the verifier assigns
// entries to eras (core/trail_verifier.cpp, locate()).
struct EraOfRange {
	int64 id_lo;       // its first entry id (INT64_MIN for the first era: any id below the second's)
	int64 id_hi;       // the next era's first entry id, 0 when none
	int64 first_block; // its first block
	bool ends_here;    // the next era starts right after `last`: no later block of this era
};

bool era_of_blocks(const Eras &e, int64 first, int64 last, EraOfRange *out)
{
	int k = 0; // eras starting at or before `first`; era k-1 of the rows, or the implicit first when 0
	while (k < e.n && e.first_blocks[k] <= first)
		k++;
	if (k < e.n && e.first_blocks[k] <= last)
		return false; // the next era starts inside the range
	out->id_lo = k == 0 ? INT64_MIN : e.first_ids[k - 1];
	out->id_hi = k == e.n ? 0 : e.first_ids[k];
	out->first_block = k == 0 ? 1 : e.first_blocks[k - 1];
	out->ends_here = k < e.n && e.first_blocks[k] == last + 1;
	return true;
}

// Which of a range's entries are read (eras, or none): see verify_range().
XidBounds range_bounds(const Eras &eras, const StoredBlockFields *previous, const StoredBlockFields *blocks, int n,
                       bool is_last, uint64 prev_xmin, uint64 last_xmax)
{
	if (eras.n == 0)
		return XidBounds{previous != nullptr, prev_xmin, is_last || n == 0 ? 0 : last_xmax, 0, 0};
	EraOfRange era;
	// A range to the newest block also counts the pending entries of an era that has no block yet.
	if (n == 0 || !eras_ascend(eras) || !era_of_blocks(eras, blocks[0].fields.block_no, blocks[n - 1].fields.block_no, &era) ||
	    (is_last && era.id_hi != 0))
		return XidBounds{false, 0, 0, 0, 0};
	// A trail whose snapshots go down within an era is verified in one part (plan_parts()).
	const bool anchored = previous != nullptr && previous->fields.block_no >= era.first_block;
	// The part that ends its era reads on past its xmax: an entry of the era that no block of it sees
	// is pending, as in a verification of the whole trail (core: kEraEnded).
	return XidBounds{anchored, prev_xmin, is_last || era.ends_here ? 0 : last_xmax, era.id_lo, era.id_hi};
}

// The newest block: as the statement's snapshot sees it, or, with latest, as committed by now. The
// sealer appends a block's digest line once the block has committed, so a line naming a block that
// the statement's snapshot cannot see yet (committed since) is no block missing from the chain.
int64 newest_block_no(bool latest = false)
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	SPIPlanPtr plan = SPI_prepare("SELECT COALESCE(pg_catalog.max(block_no), 0) FROM witness.block", 0, nullptr);
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the read of blocks");
	Snapshot snap = latest ? RegisterSnapshot(GetLatestSnapshot()) : InvalidSnapshot;
	const int rc = SPI_execute_snapshot(plan, nullptr, nullptr, snap, InvalidSnapshot, true, false, 1);
	if (latest)
		UnregisterSnapshot(snap);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read blocks");
	bool isnull;
	int64 n = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	SPI_finish();
	return n;
}

// The newest block witness.digest_file names for this database, with its hash (block_no 0: none) and
// whether the line is this cluster's. Read once per verification, whatever its parts.
struct LoggedDigest {
	int64 block_no;
	uint8_t hash[32];
	bool same_cluster;
};

LoggedDigest logged_digest()
{
	LoggedDigest d = {};
	d.block_no = highest_block_no_logged(d.hash, &d.same_cluster);
	return d;
}

// The highest block the digest file names for this database, as far as it tells of blocks missing
// from the end of the chain: not when that block has committed after this statement's snapshot.
int64 highest_block_missing_check(int64 newest, const LoggedDigest &logged)
{
	if (logged.block_no > newest && newest_block_no(true) >= logged.block_no)
		return newest;
	return logged.block_no;
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
	const bool names_erasure = !nulls[EntryErasureId - 1];
	const int64 erasure_id = names_erasure ? DatumGetInt64(values[EntryErasureId - 1]) : 0;
	const char *why;
	PayloadCheck state;
	switch (open_stored_payload(values, nulls, view, &why)) {
	case StoredPayload::NoKey:
		state = PayloadUnchecked;
		break;
	case StoredPayload::ForeignKey:
		state = PayloadForeignKey;
		break;
	case StoredPayload::Unreadable:
		state = PayloadUnopened;
		break;
	default: {
		if (view->salt != nullptr)
			state = payload_matches_commitment(*view) ? PayloadIntact : PayloadChanged;
		else
			state = payload_in_clear(*view) ? PayloadChanged : PayloadErased;
	}
	}
	verifier_add_payload(v, view->id, xid, state, names_erasure, erasure_id);
}

// The INSERT entry of a row of witness.<table>, one of pg_witness's record tables.
bool is_record_insert(const EntryView &view, const char *table)
{
	auto is = [](const TextField &f, const char *s) { return f.present && f.len == strlen(s) && memcmp(f.ptr, s, f.len) == 0; };
	return view.op == 'I' && view.new_values.present && view.new_values.canonical != nullptr &&
	       is(view.schema_name, "witness") && is(view.table_name, table);
}

// The INSERT entry that recorded an erasure (witness.erase_subject()).
bool is_erasure_record(const EntryView &view)
{
	return is_record_insert(view, "erasure");
}

void run_record_add(RunRecordEntries *r, int64 id, uint64 xid, const char *new_values, size_t len, MemoryContext cxt)
{
	if (r->cxt != nullptr)
		cxt = r->cxt;
	if (r->n == r->capacity) {
		r->capacity = r->capacity == 0 ? 16 : r->capacity * 2;
		r->items = r->items == nullptr
		               ? (RunRecordEntry *)MemoryContextAlloc(cxt, r->capacity * sizeof(RunRecordEntry))
		               : (RunRecordEntry *)repalloc(r->items, r->capacity * sizeof(RunRecordEntry));
	}
	RunRecordEntry &e = r->items[r->n++];
	e.id = id;
	e.xid = xid;
	e.new_values = MemoryContextStrdup(cxt, pnstrdup(new_values, len));
}

// The INSERT entry that recorded a retention run (witness.apply_retention()).
bool is_retention_record(const EntryView &view)
{
	return is_record_insert(view, "retention_run");
}

// Retention (docs/retention.md): feeds the rows of witness.pruned_leaf, the kept leaf hashes of
// pruned entries; the verifier uses those that a retention run's entry in the chain names.
void feed_pruned(VerifierHandle *v)
{
	if (!OidIsValid(witness_relation_if_exists("pruned_leaf")))
		return; // not updated to 0.2
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	if (SPI_execute("SELECT block_no, run_id, whole, entry_ids, leaf_hashes FROM witness.pruned_leaf", true, 0) !=
	    SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read the kept leaf hashes of pruned entries");
	for (uint64 i = 0; i < SPI_processed; i++) {
		CHECK_FOR_INTERRUPTS();
		HeapTuple row = SPI_tuptable->vals[i];
		TupleDesc desc = SPI_tuptable->tupdesc;
		bool isnull;
		int64 block_no = DatumGetInt64(SPI_getbinval(row, desc, 1, &isnull));
		int64 run_id = DatumGetInt64(SPI_getbinval(row, desc, 2, &isnull));
		bool whole = DatumGetBool(SPI_getbinval(row, desc, 3, &isnull));
		ArrayType *id_array = DatumGetArrayTypeP(SPI_getbinval(row, desc, 4, &isnull));
		bytea *hashes = DatumGetByteaPP(SPI_getbinval(row, desc, 5, &isnull));
		if (ARR_ELEMTYPE(id_array) != INT8OID || ARR_NDIM(id_array) > 1)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED), errmsg("witness.pruned_leaf holds a malformed row")));
		Datum *ids;
		bool *id_nulls;
		int n;
		deconstruct_array(id_array, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &ids, &id_nulls, &n);
		auto *id_values = (int64 *)palloc(sizeof(int64) * Max(n, 1));
		for (int k = 0; k < n; k++)
			id_values[k] = id_nulls[k] ? 0 : DatumGetInt64(ids[k]);
		// Trailing bytes of a partial hash are left out: the digest over the rest is then not the one
		// any run recorded.
		verifier_add_pruned(v, block_no, run_id, whole, id_values, n, (const uint8_t *)VARDATA_ANY(hashes),
		                    (int)(VARSIZE_ANY_EXHDR(hashes) / 32));
	}
	SPI_finish();
}

// The entries a period-restricted auditor may see (docs/access.md): the whole chain is verified, but
// a problem is named by entry only when the entry lies in the period.
struct Period {
	bool restricted;
	TimestampTz since, till;
	int64 *ids;
	int n, capacity;
	MemoryContext cxt; // where ids live (NULL: the scan's context); shared by the parts of a verification
	bool later_pass;   // streaming reads the entries again: they are collected already
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

// Feeds an entry that recorded an erasure or a retention run to the verifier; returns the erasure or
// run id it names (0: it is neither, or unreadable).
int64 feed_record(VerifierHandle *v, const EntryView &view)
{
	if (is_erasure_record(view))
		return verifier_add_erasure_record(v, view.id, (uint64)view.xid, view.new_values.canonical,
		                                   view.new_values.canonical_len);
	if (is_retention_record(view))
		return verifier_add_retention_record(v, view.id, (uint64)view.xid, view.new_values.canonical,
		                                     view.new_values.canonical_len);
	return 0;
}

// An entry as a verification in id order sorts it: its id, big-endian with the sign bit flipped (so
// that bytes compare as ids do), its stored leaf (the verifier streams entries in (id, stored hash)
// order), its xid, its recomputed hash and whether it stores only a prefix of its leaf. A bytea on
// the stack: the sort copies what it is given.
// An entry whose content no longer gives the bytes it stores brings its canonical bytes along after
// those, so that two that traded ids can still be named (a palloc'd key then, rare: only tampering).
constexpr size_t kSortedEntrySize = 8 + 32 + 8 + 32 + 1;
union SortedEntry {
	int32 align;
	char bytes[VARHDRSZ + kSortedEntrySize];
};

Datum sorted_entry(int64 id, uint64 xid, const SealedLeaf &sealed, const witness::Hash &recomputed, SortedEntry *stack,
                   const bytea *encoding)
{
	const size_t extra = encoding != nullptr ? VARSIZE_ANY_EXHDR(encoding) : 0;
	char *bytes = extra == 0 ? stack->bytes : (char *)palloc(VARHDRSZ + kSortedEntrySize + extra);
	SET_VARSIZE(bytes, VARHDRSZ + kSortedEntrySize + extra);
	auto *p = (uint8_t *)VARDATA(bytes);
	if (extra > 0)
		memcpy(p + kSortedEntrySize, VARDATA_ANY(encoding), extra);
	put_sortable_id(p, id);
	put_sortable_u64(p + 40, xid);
	memcpy(p + 8, sealed.leaf.data(), 32);
	memcpy(p + 48, recomputed.data(), 32);
	p[80] = sealed.partial ? 1 : 0;
	return PointerGetDatum(bytes);
}

// Feeds the sorted entries to the verifier, pass after pass, as long as it asks for another; ends
// the sort.
void feed_in_id_order(VerifierHandle *v, Tuplesortstate *sort)
{
	tuplesort_performsort(sort);
	for (;;) {
		Datum key;
		bool isnull;
		while (tuplesort_getdatum(sort, true, &key, &isnull, nullptr)) {
			CHECK_FOR_INTERRUPTS();
			if (isnull)
				continue;
			const auto *p = (const uint8_t *)VARDATA_ANY(DatumGetPointer(key));
			const size_t len = VARSIZE_ANY_EXHDR(DatumGetPointer(key));
			verifier_add_entry(v, sortable_id(p), sortable_u64(p + 40), p + 8, p + 48, p[80] != 0,
			                   len > kSortedEntrySize ? (const char *)p + kSortedEntrySize : nullptr,
			                   len > kSortedEntrySize ? len - kSortedEntrySize : 0);
			pfree(DatumGetPointer(key)); // a copy the sort made for the caller
		}
		if (!verifier_next_pass(v))
			break;
		tuplesort_rescan(sort);
	}
	tuplesort_end(sort);
}

// Feeds one row of witness.entry to the verifier, with its recomputed leaf hash, when it may belong to
// the range; keeps the INSERT entries of witness.verification_run for the checkpoint's check. Entries
// with an xid at or above records_below (0: none), the range's end, are not in the range, and their
// records of erasures and retention runs are left to feed_later_records(), which looks for them all.
void feed_entry(VerifierHandle *v, Datum *values, bool *nulls, bool skip_old, uint64 min_xid, uint64 records_below,
                Period *period, RunRecordEntries *records, MemoryContext caller, Tuplesortstate *in_id_order)
{
	uint64 xid = (uint64)DatumGetInt64(values[EntryXid - 1]);
	// No entry of the range has an xid below the xmin of the block before it, nor one at or above the
	// xmax of its last block: such entries are not hashed.
	if ((skip_old && xid < min_xid) || (records_below != 0 && xid >= records_below))
		return;
	// The leaf as its block sealed it, as far as the entry stores it (core/stored_leaf.hpp), and the
	// hash of its content (all 0xff when it cannot be hashed).
	witness::Hash recomputed;
	EntryView view;
	const SealedLeaf sealed = row_sealed_leaf(values, nulls, &recomputed, &view);
	// An entry whose content no longer gives the bytes it stores: its canonical bytes, as they were
	// hashed, let the verifier tell whether it traded ids with another (core/trail_verifier.hpp).
	const bytea *encoding = sealed.partial && sealed.hashed && !sealed.matches
	                            ? canonical_bytes_at_most(view, verifier_encoding_limit())
	                            : nullptr;
	const int16 format = nulls[EntryFormat - 1] ? 0 : DatumGetInt16(values[EntryFormat - 1]);
	if ((format == kEntryFormatVersion || format == kEntryFormatCommitted) && entry_null_required_column(nulls) == nullptr) {
		// A changed payload that left only a commitment prefix: reported by the payload check. With the
		// full leaf hash stored, the block's root is still checked over it.
		if (!sealed.partial && !leaf_checkable(view))
			recomputed = sealed.leaf;
		if (format == kEntryFormatCommitted)
			check_payload(v, values, nulls, &view, xid);
		feed_record(v, view);
		if (records != nullptr && !records->later_pass && xid >= records->from_xid &&
		    is_record_insert(view, "verification_run"))
			run_record_add(records, DatumGetInt64(values[EntryId - 1]), xid, view.new_values.canonical,
			               view.new_values.canonical_len, caller);
	}
	if (in_id_order != nullptr) {
		SortedEntry key;
		tuplesort_putdatum(in_id_order,
		                   sorted_entry(DatumGetInt64(values[EntryId - 1]), xid, sealed, recomputed, &key, encoding),
		                   false); // copies it
	} else {
		verifier_add_entry(v, DatumGetInt64(values[EntryId - 1]), xid, sealed.leaf.data(), recomputed.data(),
		                   sealed.partial, encoding != nullptr ? VARDATA_ANY(encoding) : nullptr,
		                   encoding != nullptr ? VARSIZE_ANY_EXHDR(encoding) : 0);
	}
	if (period->restricted && !period->later_pass && !nulls[EntryStmtTime - 1]) {
		MemoryContext here = MemoryContextSwitchTo(period->cxt != nullptr ? period->cxt : caller);
		period_add(period, DatumGetInt64(values[EntryId - 1]), DatumGetTimestampTz(values[EntryStmtTime - 1]));
		MemoryContextSwitchTo(here);
	}
}

// The xid BRIN index of one partition of witness.entry (witness.entry_xid on a trail that is not
// partitioned, <partition>_xid on a partition, docs/scaling.md) when it is a plain min/max BRIN index
// on xid (not partial, not on an expression): only then does "xid >= min_xid" through it return every
// entry that matches.
Oid usable_xid_brin(Relation rel)
{
	Oid found = InvalidOid;
	List *indexes = RelationGetIndexList(rel);
	ListCell *lc;
	foreach (lc, indexes) {
		Relation irel = index_open(lfirst_oid(lc), AccessShareLock);
		bool usable = irel->rd_rel->relam == BRIN_AM_OID && irel->rd_index->indnatts == 1 &&
		              irel->rd_index->indkey.values[0] == EntryXid &&
		              heap_attisnull(irel->rd_indextuple, Anum_pg_index_indpred, nullptr) &&
		              heap_attisnull(irel->rd_indextuple, Anum_pg_index_indexprs, nullptr) &&
		              index_getprocid(irel, 1, BRIN_PROCNUM_OPCINFO) == F_BRIN_MINMAX_OPCINFO;
		index_close(irel, AccessShareLock);
		if (usable) {
			found = lfirst_oid(lc);
			break;
		}
	}
	list_free(indexes);
	return found;
}

// The bitmap of the pages of rel whose page ranges in its xid BRIN index brin may hold xids within b.
TIDBitmap *xid_pages(Oid brin, const XidBounds &b)
{
	Relation irel = index_open(brin, AccessShareLock);
	ScanKeyData keys[2];
	int nkeys = 0;
	if (b.skip_old)
		ScanKeyEntryInitialize(&keys[nkeys++], 0, 1, BTGreaterEqualStrategyNumber, XID8OID, InvalidOid, F_XID8GE,
		                       FullTransactionIdGetDatum(FullTransactionIdFromU64(b.min_xid)));
	if (b.max_xid != 0)
		ScanKeyEntryInitialize(&keys[nkeys++], 0, 1, BTLessStrategyNumber, XID8OID, InvalidOid, F_XID8LT,
		                       FullTransactionIdGetDatum(FullTransactionIdFromU64(b.max_xid)));
	IndexScanDesc iscan = index_beginscan_bitmap(irel, GetActiveSnapshot(), nkeys);
	index_rescan(iscan, keys, nkeys, nullptr, 0);
	TIDBitmap *pages = tbm_create(work_mem * 1024L, nullptr);
	index_getbitmap(iscan, pages);
	index_endscan(iscan);
	index_close(irel, AccessShareLock);
	return pages;
}

// Calls visit(slot) for the rows of heap pages [start, end) of scan's partition, until it returns
// false; returns false then. A sequential scan limited to those pages: it reads through a ring of
// buffers (a long part must not fill shared buffers, nor make a new backend map all of them) and in
// order, so the kernel reads ahead.
template <typename Visit> bool scan_pages(TableScanDesc scan, TupleTableSlot *slot, BlockNumber start, BlockNumber end,
                                          Visit &visit)
{
	table_rescan(scan, nullptr);
	const BlockNumber nblocks = ((HeapScanDesc)scan)->rs_nblocks; // the relation may have been truncated since
	if (start >= nblocks)
		return true;
	heap_setscanlimits(scan, start, Min(end, nblocks) - start);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
		CHECK_FOR_INTERRUPTS();
		if (!visit(slot))
			return false;
	}
	return true;
}

// Calls visit(slot) for the rows of the pages of rel in the bitmap pages, until it returns false;
// frees the bitmap. The bitmap's pages come in ascending order: each run of consecutive ones is read
// as one (scan_pages).
template <typename Visit> void scan_bitmap(Relation rel, TIDBitmap *pages, TupleTableSlot *slot, Visit &visit)
{
	TableScanDesc scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, nullptr, true, false);
	TBMIterator *it = tbm_begin_iterate(pages);
	TBMIterateResult *page;
	BlockNumber start = InvalidBlockNumber, end = InvalidBlockNumber;
	bool more = true;
	while (more && (page = tbm_iterate(it)) != nullptr) {
		CHECK_FOR_INTERRUPTS();
		if (page->blockno == end) {
			end++;
			continue;
		}
		if (start != InvalidBlockNumber)
			more = scan_pages(scan, slot, start, end, visit);
		start = page->blockno;
		end = page->blockno + 1;
	}
	if (more && start != InvalidBlockNumber)
		scan_pages(scan, slot, start, end, visit);
	tbm_end_iterate(it);
	table_endscan(scan);
	tbm_free(pages);
}

// Calls visit(slot) for every row of rel, until it returns false.
template <typename Visit> void scan_all(Relation rel, TupleTableSlot *slot, Visit &visit)
{
	// Not synchronized with other scans: one would start mid-table, and a block streamed in the heap's
	// order would look out of id order (a review found every verification then sorting it).
	TableScanDesc scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, nullptr, true, false);
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
		CHECK_FOR_INTERRUPTS();
		if (!visit(slot))
			break;
	}
	table_endscan(scan);
}

// Calls visit(slot) for the rows of one partition (or of witness.entry when it is not partitioned)
// that may lie within b, until it returns false. With bounds, a partition with a usable xid BRIN
// index is read only in the page ranges whose xids reach them (the visitor checks every tuple;
// unsummarized ranges are always read), so that a resumed verification reads the new entries and a
// range that ends before the newest block its own; otherwise the whole partition is read.
template <typename Visit> void scan_partition(Relation rel, const XidBounds &b, Visit &&visit)
{
	const Oid brin = b.skip_old || b.max_xid != 0 ? usable_xid_brin(rel) : InvalidOid;
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	if (OidIsValid(brin))
		scan_bitmap(rel, xid_pages(brin, b), slot, visit);
	else
		scan_all(rel, slot, visit);
	ExecDropSingleTupleTableSlot(slot);
}

// The same for the rows that may carry one of the xids (ascending, n of them): the union of each xid's
// page ranges, read once.
template <typename Visit> void scan_partition_xids(Relation rel, const uint64 *xids, int n, Visit &&visit)
{
	const Oid brin = usable_xid_brin(rel);
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	if (OidIsValid(brin)) {
		TIDBitmap *all = nullptr;
		for (int i = 0; i < n; i++) {
			CHECK_FOR_INTERRUPTS();
			TIDBitmap *one = xid_pages(brin, XidBounds{true, xids[i], xids[i] + 1});
			if (all == nullptr) {
				all = one;
			} else {
				tbm_union(all, one);
				tbm_free(one);
			}
		}
		if (all != nullptr)
			scan_bitmap(rel, all, slot, visit);
	} else {
		scan_all(rel, slot, visit);
	}
	ExecDropSingleTupleTableSlot(slot);
}

// A row of witness.entry from a slot, into values/nulls (EntryNatts each; the format-2 columns NULL in
// a 0.1 table, which lacks them).
void slot_entry_row(TupleTableSlot *slot, Datum *values, bool *nulls)
{
	slot_getallattrs(slot);
	memset(nulls, true, sizeof(bool) * EntryNatts);
	const int natts = Min(slot->tts_tupleDescriptor->natts, (int)EntryNatts);
	memcpy(values, slot->tts_values, sizeof(Datum) * natts);
	memcpy(nulls, slot->tts_isnull, sizeof(bool) * natts);
}

// Feeds every entry of one partition that may belong to the range to the verifier.
void scan_leaf(VerifierHandle *v, Relation rel, const XidBounds &b, Period *period, RunRecordEntries *records,
               MemoryContext caller, MemoryContext per_entry, Tuplesortstate *in_id_order)
{
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	const bool by_id = b.id_lo != 0 || b.id_hi != 0;
	scan_partition(rel, b, [&](TupleTableSlot *slot) {
		if (by_id) {
			// Another era's entry: none of the range's blocks can hold it.
			bool isnull;
			const int64 id = DatumGetInt64(slot_getattr(slot, EntryId, &isnull));
			if (isnull || id < b.id_lo || (b.id_hi != 0 && id >= b.id_hi))
				return true;
		}
		MemoryContext old = MemoryContextSwitchTo(per_entry);
		slot_entry_row(slot, values, nulls);
		feed_entry(v, values, nulls, b.skip_old, b.min_xid, b.max_xid, period, records, caller, in_id_order);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_entry);
		return true;
	});
}

// Every partition of witness.entry (or witness.entry itself), one after the other (docs/scaling.md).
template <typename Each> void each_partition(Each &&each)
{
	Relation entry = table_open(entry_relid(), AccessShareLock);
	check_entry_layout(RelationGetDescr(entry));
	List *leaves = entry_leaves(entry);
	ListCell *lc;
	foreach (lc, leaves) {
		Relation rel = lfirst_oid(lc) == RelationGetRelid(entry) ? entry : table_open(lfirst_oid(lc), AccessShareLock);
		check_partition_layout(entry, rel);
		each(rel);
		// The locks are kept to the end of the transaction: a verification that reads the partitions
		// again (a streamed block's later passes, the next part) must find the same ones, not a
		// partition detached or dropped meanwhile.
		if (rel != entry)
			table_close(rel, NoLock);
	}
	table_close(entry, NoLock);
}

void scan_entries(VerifierHandle *v, const XidBounds &b, Period *period, RunRecordEntries *records,
                  Tuplesortstate *in_id_order)
{
	MemoryContext caller = CurrentMemoryContext;
	MemoryContext per_entry =
	    AllocSetContextCreate(CurrentMemoryContext, "pg_witness verify entry", ALLOCSET_DEFAULT_SIZES);
	each_partition([&](Relation rel) { scan_leaf(v, rel, b, period, records, caller, per_entry, in_id_order); });
	MemoryContextDelete(per_entry);
	feed_pruned(v);
}

// The ids a range still lacks records of (erasures or retention runs), ascending, and which are found.
struct Wanted {
	int64 *ids;
	bool *found;
	int n, left;
};

void wanted_found(Wanted *w, int64 id)
{
	int64 *at = w->n > 0 ? (int64 *)bsearch(&id, w->ids, w->n, sizeof(int64), compare_ids) : nullptr;
	if (at != nullptr && !w->found[at - w->ids]) {
		w->found[at - w->ids] = true;
		w->left--;
	}
}

Wanted wanted_of(int64 *ids, int n)
{
	return Wanted{ids, (bool *)palloc0(sizeof(bool) * Max(n, 1)), n, n};
}

// The transaction ids of the rows of record table `table` (witness.erasure or witness.retention_run)
// whose first column, their id, is wanted, as full transaction ids at or above from_xid, appended to
// *xids: where their entries are, unless the rows were written in a subtransaction or restored (then
// nothing is found there). A row's xmin has no epoch: each epoch up to the current one is a candidate.
void record_xids(const char *table, const Wanted &w, uint64 from_xid, uint64 **xids, int *n, int *cap)
{
	const Oid relid = witness_relation_if_exists(table);
	if (!OidIsValid(relid) || w.left == 0)
		return;
	const FullTransactionId next = ReadNextFullTransactionId();
	Relation rel = table_open(relid, AccessShareLock);
	TableScanDesc scan = table_beginscan(rel, GetActiveSnapshot(), 0, nullptr);
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		CHECK_FOR_INTERRUPTS();
		bool isnull;
		const int64 id = DatumGetInt64(heap_getattr(tuple, 1, RelationGetDescr(rel), &isnull));
		if (isnull || w.n == 0 || bsearch(&id, w.ids, w.n, sizeof(int64), compare_ids) == nullptr)
			continue;
		const TransactionId xmin = HeapTupleHeaderGetRawXmin(tuple->t_data);
		for (uint64 epoch = EpochFromFullTransactionId(next) + 1; epoch-- > 0;) {
			const uint64 full = (epoch << 32) | xmin;
			if (full >= U64FromFullTransactionId(next))
				continue;
			if (full < from_xid)
				break;
			if (*n == *cap) {
				*cap = *cap == 0 ? 8 : *cap * 2;
				*xids = *xids == nullptr ? (uint64 *)palloc(sizeof(uint64) * *cap) : (uint64 *)repalloc(*xids, sizeof(uint64) * *cap);
			}
			(*xids)[(*n)++] = full;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
}

// The records of erasures and retention runs that a verification in parts found by reading on: once a
// part has read every entry from its end on, the later parts, whose ends lie after it, take their
// records from here instead of reading the trail again. Lives in the verification's context.
struct LaterRecord {
	bool erasure;
	int64 id;
	uint64 xid;
	char *new_values;
	size_t len;
};
struct LaterRecords {
	bool complete; // every record with an xid at or above from_xid is here
	uint64 from_xid;
	LaterRecord *items;
	int n, capacity;
	MemoryContext cxt;
};

void later_records_add(LaterRecords *c, const EntryView &view, int64 id, uint64 xid)
{
	MemoryContext old = MemoryContextSwitchTo(c->cxt);
	if (c->n == c->capacity) {
		c->capacity = c->capacity == 0 ? 16 : c->capacity * 2;
		c->items = c->items == nullptr ? (LaterRecord *)palloc(sizeof(LaterRecord) * c->capacity)
		                               : (LaterRecord *)repalloc(c->items, sizeof(LaterRecord) * c->capacity);
	}
	c->items[c->n++] = LaterRecord{is_erasure_record(view), id, xid,
	                               pnstrdup(view.new_values.canonical, view.new_values.canonical_len),
	                               view.new_values.canonical_len};
	MemoryContextSwitchTo(old);
}

// Feeds the wanted records the cache holds with an xid at or above from_xid.
void feed_cached_records(VerifierHandle *v, const LaterRecords &c, uint64 from_xid, Wanted *erasures, Wanted *runs)
{
	for (int i = 0; i < c.n; i++) {
		CHECK_FOR_INTERRUPTS();
		const LaterRecord &r = c.items[i];
		Wanted *w = r.erasure ? erasures : runs;
		if (r.xid < from_xid || w->n == 0 || bsearch(&r.id, w->ids, w->n, sizeof(int64), compare_ids) == nullptr)
			continue;
		if (r.erasure)
			verifier_add_erasure_record(v, 0, 0, r.new_values, r.len);
		else
			verifier_add_retention_record(v, 0, 0, r.new_values, r.len);
		wanted_found(w, r.id);
	}
}

int compare_xids(const void *a, const void *b)
{
	uint64 x = *(const uint64 *)a, y = *(const uint64 *)b;
	return x < y ? -1 : x > y ? 1 : 0;
}

// A record entry among the rows a later-records scan reads: an INSERT into witness.erasure or
// witness.retention_run with an xid at or above from_xid, whose xid is one of xids (n of them,
// ascending) when `among`, and none of them otherwise. Reads the first columns only until it knows.
bool is_later_record(TupleTableSlot *slot, uint64 from_xid, const uint64 *xids, int n, bool among)
{
	slot_getsomeattrs(slot, EntryTableName);
	const Datum *values = slot->tts_values;
	const bool *nulls = slot->tts_isnull;
	if (nulls[EntryXid - 1] || nulls[EntryOp - 1] || nulls[EntrySchemaName - 1] || nulls[EntryTableName - 1] ||
	    DatumGetChar(values[EntryOp - 1]) != 'I')
		return false;
	const uint64 xid = (uint64)DatumGetInt64(values[EntryXid - 1]);
	if (xid < from_xid || among != (n > 0 && bsearch(&xid, xids, n, sizeof(uint64), compare_xids) != nullptr))
		return false;
	auto is = [](Datum d, const char *s) {
		text *t = DatumGetTextPP(d);
		return VARSIZE_ANY_EXHDR(t) == strlen(s) && memcmp(VARDATA_ANY(t), s, strlen(s)) == 0;
	};
	return is(values[EntrySchemaName - 1], "witness") &&
	       (is(values[EntryTableName - 1], "erasure") || is(values[EntryTableName - 1], "retention_run"));
}

// Feeds the record entries of one later-records scan (is_later_record); reading on (not among), it
// stops once nothing is wanted.
void scan_later_records(VerifierHandle *v, Wanted *erasures, Wanted *runs, uint64 from_xid, const uint64 *xids,
                        int n, bool among, MemoryContext per_entry, LaterRecords *cache)
{
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	auto visit = [&](TupleTableSlot *slot) {
		MemoryContext old = MemoryContextSwitchTo(per_entry);
		if (is_later_record(slot, from_xid, xids, n, among)) {
			slot_entry_row(slot, values, nulls);
			const int16 format = nulls[EntryFormat - 1] ? 0 : DatumGetInt16(values[EntryFormat - 1]);
			if ((format == kEntryFormatVersion || format == kEntryFormatCommitted) &&
			    entry_null_required_column(nulls) == nullptr) {
				EntryView view;
				entry_view_from_row(values, nulls, &view);
				const int64 id = feed_record(v, view);
				wanted_found(is_erasure_record(view) ? erasures : runs, id);
				if (cache != nullptr && id != 0)
					later_records_add(cache, view, id, (uint64)DatumGetInt64(values[EntryXid - 1]));
			}
		}
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_entry);
		// Reading on for a cache goes to the end: the later parts take what it finds.
		return among || cache != nullptr || erasures->left + runs->left > 0;
	};
	each_partition([&](Relation rel) {
		if (among)
			scan_partition_xids(rel, xids, n, visit);
		else if (cache != nullptr || erasures->left + runs->left > 0)
			scan_partition(rel, XidBounds{true, from_xid, 0}, visit);
	});
}

// A range that ends before the newest block reads the entries up to its end only, but an erasure of
// its entries, or a retention run that pruned them, may be recorded long after it. The records it
// lacks are looked for from from_xid (the last block's xmax) on: first at the xids their rows in
// witness.erasure and witness.retention_run were written by (the union of their BRIN page ranges,
// read once), then, for any still missing, in every entry from from_xid on, until all are found. A
// record not found is reported as missing, as in a verification of the whole trail. cache (a
// verification in parts, else NULL): reading on then goes to the end of the trail once, and later
// parts take their records from what it found.
void feed_later_records(VerifierHandle *v, uint64 from_xid, LaterRecords *cache)
{
	int64 *erasure_ids, *run_ids;
	int n_erasures, n_runs;
	if (!verifier_missing_records(v, &erasure_ids, &n_erasures, &run_ids, &n_runs))
		return;
	Wanted erasures = wanted_of(erasure_ids, n_erasures), runs = wanted_of(run_ids, n_runs);
	if (cache != nullptr && cache->complete && from_xid >= cache->from_xid) {
		feed_cached_records(v, *cache, from_xid, &erasures, &runs);
		return;
	}
	uint64 *xids = nullptr;
	int n_xids = 0, cap = 0;
	record_xids("erasure", erasures, from_xid, &xids, &n_xids, &cap);
	record_xids("retention_run", runs, from_xid, &xids, &n_xids, &cap);
	if (n_xids > 1) {
		qsort(xids, n_xids, sizeof(uint64), compare_xids);
		int kept = 1;
		for (int i = 1; i < n_xids; i++)
			if (xids[i] != xids[kept - 1])
				xids[kept++] = xids[i];
		n_xids = kept;
	}
	MemoryContext per_entry =
	    AllocSetContextCreate(CurrentMemoryContext, "pg_witness verify record", ALLOCSET_DEFAULT_SIZES);
	if (n_xids > 0)
		scan_later_records(v, &erasures, &runs, from_xid, xids, n_xids, true, per_entry, nullptr);
	if (erasures.left + runs.left > 0) {
		// The cache keeps every record reading on finds, those at the xids above too (fed again then:
		// a record added twice adds nothing), for the later parts.
		// Said at DEBUG1, without the xid, so that a test can count how often it happens.
		ereport(DEBUG1, (errmsg_internal("pg_witness: verification reads every entry after the range for %d erasure and %d retention records",
		                                 erasures.left, runs.left)));
		if (cache != nullptr) {
			cache->n = 0;
			scan_later_records(v, &erasures, &runs, from_xid, nullptr, 0, false, per_entry, cache);
			cache->complete = true;
			cache->from_xid = from_xid;
		} else {
			scan_later_records(v, &erasures, &runs, from_xid, xids, n_xids, false, per_entry, nullptr);
		}
	}
	MemoryContextDelete(per_entry);
}

// What a part of a long verification may hold, in bytes: the verifier keeps about 64 bytes per entry
// and a few hundred per block header. maintenance_work_mem, as the sealer's sort of a block does.
constexpr int64 kBytesPerEntry = 64;
constexpr int64 kBytesPerBlock = 400;
int64 part_budget()
{
	return (int64)maintenance_work_mem * 1024L;
}

// One range of blocks, checked by one verifier. It holds all of the range's entries, or (a block larger
// than part_budget() on its own) streams them in id order: in the heap's order when that is id order,
// else sorted by id first, on disk past maintenance_work_mem. Streaming, the verifier keeps a Merkle
// frontier per block instead of its members, unless something in the block needs explaining.
// A period-restricted auditor learns that an entry outside its period is wrong, not which.
void mask_outside_period(Period *period, VerifyResult *r)
{
	if (period->n > 1)
		qsort(period->ids, period->n, sizeof(int64), compare_ids);
	for (int i = 0; i < r->nproblems; i++)
		if (r->problems[i].entry_id != 0 && !period_has(*period, r->problems[i].entry_id)) {
			r->problems[i].entry_id = 0;
			r->problems[i].detail = "an entry outside the period this role may see";
		}
}

// What the parts of one verification share (NULL for a verification in one part): the entries of a
// restricted auditor's period, since a problem of one part may name an entry another part read, and
// the records found by reading on.
struct PartsShared {
	Period period;
	LaterRecords later;
	IdSetHandle *ids; // the entry ids the parts met, so that one met in two parts is found
};

// How a range's entries reach the verifier: all held (Collect); streamed in the heap's order, which is
// id order for a block one statement wrote (HeapOrder); streamed after a sort by id (Sorted).
enum class Streaming { Collect, HeapOrder, Sorted };

// Returns false when HeapOrder found the heap not in id order: the caller runs the range again Sorted.
bool verify_range(int64 first, int64 last, bool to_newest, bool for_caller, RunRecordEntries *records,
                  Streaming streaming, PartsShared *shared, const LoggedDigest &logged, VerifyOutcome *out)
{
	int64 newest = newest_block_no();
	if (to_newest)
		last = Max(newest, first);
	check_range(first, last, to_newest, newest);
	StoredBlockFields *blocks;
	uint64 prev_xmin = 0, last_xmax = 0;
	int n = load_blocks(first, last, &blocks, &prev_xmin, &last_xmax);
	const StoredBlockFields *previous = nullptr;
	if (n > 0 && blocks[0].fields.block_no == first - 1) {
		previous = &blocks[0];
		blocks++;
		n--;
	}
	out->is_last = last >= newest;
	out->newest = newest;
	out->range_xmax = n > 0 ? last_xmax : 0;
	VerifierHandle *v = verifier_create(previous, blocks, n, out->is_last,
	                                    out->is_last ? highest_block_missing_check(newest, logged) : 0,
	                                    out->is_last ? 0 : last);
	// Its hash too, wherever the block falls (blocks deleted and sealed again reuse the numbers), when
	// the line is this cluster's: another cluster's database of the same name may write the file too.
	if (logged.same_cluster && logged.block_no > 0 && logged.block_no <= newest)
		verifier_set_logged_digest(v, logged.block_no, logged.hash);
	if (shared != nullptr && shared->ids != nullptr)
		verifier_share_ids(v, shared->ids);
	// A pending entry with a transaction id this cluster has not reached is no seal's to take.
	if (out->is_last && !in_collector_database(false))
		verifier_xids_assigned_below(v, U64FromFullTransactionId(ReadNextFullTransactionId()));
	// An era's entries may lie below an earlier era's xmin or above a later era's xmax: with eras, a
	// range inside one era reads its era's entries by their ids and, within them, by the xid bounds
	// (the block before it is the anchor only when of the same era); any other range reads every entry.
	const Eras eras = load_eras(v);
	Period own = {};
	Period &period = shared != nullptr ? shared->period : own;
	if (for_caller && shared == nullptr)
		period.restricted = access_period(&period.since, &period.till);
	const XidBounds bounds = range_bounds(eras, previous, blocks, n, out->is_last, prev_xmin, last_xmax);
	Tuplesortstate *sort = nullptr;
	if (streaming != Streaming::Collect)
		verifier_stream(v, (size_t)(part_budget() / kBytesPerEntry));
	if (streaming == Streaming::Sorted)
		sort = tuplesort_begin_datum(BYTEAOID, ByteaLessOperator, InvalidOid, false, maintenance_work_mem, nullptr,
		                             TUPLESORT_RANDOMACCESS);
	scan_entries(v, bounds, &period, records, sort);
	// Out of id order: the caller starts again, sorted, before anything else is read for this range.
	if (streaming == Streaming::HeapOrder && !verifier_stream_ordered(v))
		return false;
	// The records after a range of one era may lie in a later era, at lower xids: looked for everywhere.
	const bool read_all = !bounds.skip_old && bounds.max_xid == 0 && bounds.id_lo == 0 && bounds.id_hi == 0;
	if (!out->is_last && n > 0 && !read_all)
		feed_later_records(v, eras.n > 0 ? 0 : bounds.max_xid, shared != nullptr ? &shared->later : nullptr);
	if (sort != nullptr)
		feed_in_id_order(v, sort);
	if (streaming == Streaming::HeapOrder) {
		// Later passes (something to explain) read the same entries again: the snapshot is the
		// statement's and the partitions stay locked. Not necessarily in the same order, which a
		// collected block does not need (the verifier sorts its members). What the first pass
		// collected beside the entries is not collected twice.
		const bool period_later = period.later_pass;
		period.later_pass = true;
		if (records != nullptr)
			records->later_pass = true;
		while (verifier_next_pass(v))
			scan_entries(v, bounds, &period, records, nullptr);
		period.later_pass = period_later;
		if (records != nullptr)
			records->later_pass = false;
	}
	VerifyResult &r = out->result;
	verifier_finish(v, &r);
	if (shared == nullptr)
		mask_outside_period(&period, &r);
	// How long the oldest pending entry has waited: a sealer that cannot seal shows here.
	out->has_oldest_age = false;
	out->oldest_age = (Datum)0;
	if (out->is_last && r.entries_pending > 0) {
		PendingSummary p = pending_summary();
		out->has_oldest_age = p.has_pending;
		if (p.has_pending)
			out->oldest_age = pending_age(p.oldest_pending_since);
	}
	return true;
}


// One part, or a range in one part; a block larger than a part is streamed (big): in the heap's order
// first, and, when that is not id order, again after a sort by id. What the first attempt kept for
// the whole (verification runs, the period's entries) is dropped before the second.
void verify_part(int64 first, int64 last, bool to_newest, bool for_caller, RunRecordEntries *records, bool big,
                 PartsShared *shared, const LoggedDigest &logged, VerifyOutcome *out)
{
	if (!big) {
		verify_range(first, last, to_newest, for_caller, records, Streaming::Collect, shared, logged, out);
		return;
	}
	if (records != nullptr && records->cxt == nullptr)
		records->cxt = CurrentMemoryContext; // not the attempt's, which may go
	const int kept_records = records != nullptr ? records->n : 0;
	const int kept_period = shared != nullptr ? shared->period.n : 0;
	MemoryContext outer = CurrentMemoryContext;
	MemoryContext attempt = AllocSetContextCreate(outer, "pg_witness verify attempt", ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(attempt);
	// The ids the attempt meets are taken out again if it is run again.
	if (shared != nullptr && shared->ids != nullptr)
		id_set_mark(shared->ids);
	const bool done =
	    verify_range(first, last, to_newest, for_caller, records, Streaming::HeapOrder, shared, logged, out);
	MemoryContextSwitchTo(outer);
	if (shared != nullptr && shared->ids != nullptr) {
		if (done)
			id_set_commit(shared->ids);
		else
			id_set_rollback(shared->ids);
	}
	if (done)
		return; // its results live in the attempt's context, a child of the caller's
	MemoryContextDelete(attempt);
	if (records != nullptr)
		records->n = kept_records;
	if (shared != nullptr)
		shared->period.n = kept_period;
	// Said at DEBUG1 so that a test can see which way a block went.
	ereport(DEBUG1, (errmsg_internal("pg_witness: block %lld of the verification is not in id order in the heap: sorting it", (long long)first)));
	verify_range(first, last, to_newest, for_caller, records, Streaming::Sorted, shared, logged, out);
}


// The last block of each part of blocks first..last, so that no part holds more than part_budget()
// (a single block larger than that is a part of its own, verified in id order: *big says which), and
// none spans two eras (so that each reads its own era's entries only, verify_range). Read through a
// cursor: a long trail has millions of block headers. Returns the number of parts; *ends and *big
// are palloc'd in the caller's context.
int plan_parts(int64 first, int64 last, const Eras &eras, int64 **ends, bool **big)
{
	int next_era = 0;
	while (next_era < eras.n && eras.first_blocks[next_era] <= first)
		next_era++;
	int n = 0, cap = 16;
	*ends = (int64 *)palloc(sizeof(int64) * cap);
	*big = (bool *)palloc(sizeof(bool) * (cap + 1));
	Oid argtypes[2] = {INT8OID, INT8OID};
	Datum args[2] = {Int64GetDatum(first), Int64GetDatum(last)};
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	SPIPlanPtr plan = SPI_prepare("SELECT block_no, entry_count, pg_catalog.pg_snapshot_xmin(snapshot),"
	                              " pg_catalog.pg_snapshot_xmax(snapshot) FROM witness.block"
	                              " WHERE block_no OPERATOR(pg_catalog.>=) $1"
	                              " AND block_no OPERATOR(pg_catalog.<=) $2 ORDER BY block_no",
	                              2, argtypes);
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the read of blocks");
	Portal cursor = SPI_cursor_open(nullptr, plan, args, nullptr, true);
	const int64 budget = part_budget();
	int64 weight = 0, previous = 0, total = 0;
	uint64 last_xmin = 0, last_xmax = 0;
	bool ascending = true;
	for (;;) {
		SPI_cursor_fetch(cursor, true, 10000);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++) {
			CHECK_FOR_INTERRUPTS();
			bool isnull;
			const int64 block_no = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull));
			const Datum count = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &isnull);
			// An altered header may claim any count: capped so that the product cannot wrap.
			const int64 w = kBytesPerBlock + (isnull ? 0 : Min(Max(DatumGetInt64(count), (int64)0), (int64)1 << 40) * kBytesPerEntry);
			bool era_starts = false;
			while (next_era < eras.n && eras.first_blocks[next_era] <= block_no) {
				era_starts = true;
				next_era++;
			}
			// Snapshots that go down within an era were altered (the verifier reports it): parts would
			// attribute entries around them otherwise than one verifier, and count some twice.
			const uint64 xmin = (uint64)DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 3, &isnull));
			const uint64 xmax = (uint64)DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 4, &isnull));
			if (era_starts)
				last_xmin = last_xmax = 0;
			if (xmin < last_xmin || xmax < last_xmax || xmax < xmin)
				ascending = false;
			last_xmin = xmin;
			last_xmax = xmax;
			if (weight > 0 && (weight + w > budget || era_starts)) {
				if (n == cap) {
					cap *= 2;
					*ends = (int64 *)repalloc(*ends, sizeof(int64) * cap);
					*big = (bool *)repalloc(*big, sizeof(bool) * (cap + 1));
				}
				(*big)[n] = weight > budget;
				(*ends)[n++] = previous;
				weight = 0;
			}
			weight += w;
			total = Min(total + w, (int64)1 << 60);
			previous = block_no;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(cursor);
	SPI_finish();
	(*big)[n] = weight > budget; // the last part ends at `last`
	// A range that fits is one part, even across eras (whose parts the era cuts alone would make); so is
	// one whose snapshots were altered, whatever its size, so that it reports what one verifier does.
	if (total <= budget || !ascending) {
		(*big)[0] = false;
		return 1;
	}
	return n + 1;
}

// Problems in the order one verifier gives them (core/trail_verifier.hpp): by block number, then
// entry id, with none (pending entries, the chain) first; a part's own order otherwise kept. Sorted
// before a restricted auditor's masking, as one verifier sorts before it.
struct ProblemPlace {
	int64 block_no, entry_id;
	int index;
};

int compare_places(const void *a, const void *b)
{
	const auto *p = (const ProblemPlace *)a, *q = (const ProblemPlace *)b;
	if (p->block_no != q->block_no)
		return p->block_no < q->block_no ? -1 : 1;
	if (p->entry_id != q->entry_id)
		return p->entry_id < q->entry_id ? -1 : 1;
	return p->index < q->index ? -1 : p->index > q->index ? 1 : 0;
}

void sort_problems(VerifyResult *r)
{
	if (r->nproblems < 2)
		return;
	auto *places = (ProblemPlace *)palloc(sizeof(ProblemPlace) * r->nproblems);
	for (int i = 0; i < r->nproblems; i++)
		places[i] = ProblemPlace{r->problems[i].block_no, r->problems[i].entry_id, i};
	qsort(places, r->nproblems, sizeof(ProblemPlace), compare_places);
	auto *sorted = (VerifyProblem *)palloc(sizeof(VerifyProblem) * r->nproblems);
	for (int i = 0; i < r->nproblems; i++)
		sorted[i] = r->problems[places[i].index];
	memcpy(r->problems, sorted, sizeof(VerifyProblem) * r->nproblems);
	pfree(sorted);
	pfree(places);
}

// Adds a part's outcome to the whole's: counts summed, problems appended (copied into the whole's
// memory context), status tampered once any part is.
void merge_part(const VerifyOutcome &part, VerifyOutcome *whole, int *cap, MemoryContext into)
{
	VerifyResult &w = whole->result;
	const VerifyResult &p = part.result;
	MemoryContext old = MemoryContextSwitchTo(into);
	if (strcmp(p.status, "valid") != 0)
		w.status = pstrdup(p.status);
	w.blocks_checked += p.blocks_checked;
	w.entries_checked += p.entries_checked;
	w.entries_pending += p.entries_pending;
	w.entries_erased += p.entries_erased;
	w.entries_unchecked += p.entries_unchecked;
	w.entries_pruned += p.entries_pruned;
	for (int i = 0; i < p.nproblems; i++) {
		if (w.nproblems == *cap) {
			*cap = *cap == 0 ? 16 : *cap * 2;
			w.problems = w.problems == nullptr ? (VerifyProblem *)palloc(sizeof(VerifyProblem) * *cap)
			                                   : (VerifyProblem *)repalloc(w.problems, sizeof(VerifyProblem) * *cap);
		}
		const VerifyProblem &q = p.problems[i];
		w.problems[w.nproblems++] = VerifyProblem{pstrdup(q.kind), q.block_no, q.entry_id, pstrdup(q.detail)};
	}
	whole->is_last = part.is_last;
	whole->newest = part.newest;
	whole->has_oldest_age = part.has_oldest_age;
	whole->oldest_age = part.has_oldest_age ? datumCopy(part.oldest_age, false, 16) : (Datum)0;
	MemoryContextSwitchTo(old);
}

} // namespace

namespace witness::pg
{

// A range whose entries would take more memory than part_budget() is checked in parts, one after the
// other, each a range of its own that ends where the next begins (docs/scaling.md, "Memory"): the
// same checks, since a range takes the block before it as its anchor and looks for the records after
// it. With eras, each part lies in one era and reads that era's entries. Not with eras that were
// tampered with (out of order: every part would read every entry), nor for a verification resumed
// from a checkpoint (whose verification records are told apart by xid across parts).
void verify_blocks(int64 first, int64 last, bool to_newest, bool for_caller, RunRecordEntries *records,
                   VerifyOutcome *out)
{
	const int64 newest = newest_block_no();
	const int64 end = to_newest ? Max(newest, first) : last;
	int64 *ends = nullptr;
	bool *big = nullptr;
	const Eras eras = first < 1 || end < first || first > newest ? Eras{0, nullptr, nullptr} : read_eras();
	const int nparts = first < 1 || end < first || first > newest || (eras.n > 0 && (!eras_ascend(eras) || records != nullptr))
	                       ? 0
	                       : plan_parts(first, Min(end, newest), eras, &ends, &big);
	const LoggedDigest logged = logged_digest();
	if (nparts <= 1) {
		verify_part(first, last, to_newest, for_caller, records, nparts == 1 && big[0], nullptr, logged, out);
		return;
	}
	// Said at DEBUG1 so that a test can see a verification split.
	ereport(DEBUG1, (errmsg_internal("pg_witness: verification of blocks %lld to %lld in %d parts", (long long)first,
	                                 (long long)Min(end, newest), nparts)));
	MemoryContext caller = CurrentMemoryContext;
	PartsShared shared = {};
	shared.period.cxt = shared.later.cxt = caller;
	shared.ids = id_set_create();
	if (for_caller)
		shared.period.restricted = access_period(&shared.period.since, &shared.period.till);
	if (records != nullptr && records->cxt == nullptr)
		records->cxt = caller; // not the part's context, which goes after each part
	*out = VerifyOutcome{};
	out->result.status = pstrdup("valid");
	int cap = 0;
	int64 part_first = first;
	for (int i = 0; i < nparts; i++) {
		CHECK_FOR_INTERRUPTS();
		const bool final = i == nparts - 1;
		MemoryContext part = AllocSetContextCreate(caller, "pg_witness verify part", ALLOCSET_DEFAULT_SIZES);
		MemoryContextSwitchTo(part);
		VerifyOutcome po;
		verify_part(part_first, final ? last : ends[i], final && to_newest, for_caller, records, big[i], &shared, logged,
		            &po);
		MemoryContextSwitchTo(caller);
		if (records != nullptr && po.range_xmax != 0)
			records->from_xid = po.range_xmax;
		merge_part(po, out, &cap, caller);
		MemoryContextDelete(part);
		if (!final)
			part_first = ends[i] + 1;
	}
	sort_problems(&out->result);
	mask_outside_period(&shared.period, &out->result);
}

int64 newest_block() { return newest_block_no(); }

bool stored_block_hash(int64 block_no, uint8_t stored[32], bool *header_ok)
{
	StoredBlockFields *blocks;
	uint64 xmin;
	// load_blocks(n + 1, n) reads block n alone: the block before an empty range.
	if (load_blocks(block_no + 1, block_no, &blocks, &xmin) != 1 || blocks[0].fields.block_no != block_no)
		return false;
	memcpy(stored, blocks[0].stored_hash, 32);
	uint8_t computed[32];
	block_hash(blocks[0].fields, computed);
	*header_ok = memcmp(computed, stored, 32) == 0;
	return true;
}

void verify_whole_trail(VerifyResult *result)
{
	VerifyOutcome out;
	verify_blocks(1, 0, true, false, nullptr, &out);
	*result = out.result;
}

int put_verify_columns(const VerifyOutcome &out, int i, Datum *values, bool *nulls)
{
	const VerifyResult &r = out.result;
	values[VStatus] = CStringGetTextDatum(r.status);
	nulls[VStatus] = false;
	values[VBlocks] = Int64GetDatum(r.blocks_checked);
	values[VEntries] = Int64GetDatum(r.entries_checked);
	values[VPending] = Int64GetDatum(r.entries_pending);
	nulls[VBlocks] = nulls[VEntries] = nulls[VPending] = false;
	values[VOldestAge] = out.oldest_age;
	nulls[VOldestAge] = !out.has_oldest_age;
	values[VErased] = Int64GetDatum(r.entries_erased);
	values[VUnchecked] = Int64GetDatum(r.entries_unchecked);
	values[VPruned] = Int64GetDatum(r.entries_pruned);
	nulls[VErased] = nulls[VUnchecked] = nulls[VPruned] = false;
	if (r.nproblems == 0) {
		nulls[VProblem] = nulls[VBlockNo] = nulls[VEntryId] = nulls[VDetail] = true;
	} else {
		const VerifyProblem &p = r.problems[i];
		values[VProblem] = CStringGetTextDatum(p.kind);
		values[VBlockNo] = Int64GetDatum(p.block_no);
		values[VEntryId] = Int64GetDatum(p.entry_id);
		values[VDetail] = CStringGetTextDatum(p.detail);
		nulls[VProblem] = nulls[VDetail] = false;
		nulls[VBlockNo] = p.block_no == 0;
		nulls[VEntryId] = p.entry_id == 0;
	}
	return VNatts;
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
	VerifyOutcome out;
	verify_blocks(PG_ARGISNULL(0) ? 1 : PG_GETARG_INT64(0), PG_ARGISNULL(1) ? 0 : PG_GETARG_INT64(1), PG_ARGISNULL(1),
	              true, nullptr, &out);
	Datum values[VNatts];
	bool nulls[VNatts];
	for (int i = 0; i < Max(out.result.nproblems, 1); i++) {
		CHECK_FOR_INTERRUPTS();
		put_verify_columns(out, i, values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum)0;
}
}
