#include "pg/seal/sealer.hpp"
#include "pg/seal/lookup_maintenance.hpp"

#include "pg/seal/block_chunks.hpp"

#include "pg/common/core_bridge.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/verify/entry_hash.hpp"
#include "pg/common/trail_brin.hpp"
#include "pg/common/access_check.hpp"
#include "pg/capture/internal_ddl.hpp"
#include "pg/common/collector_mode.hpp"
#include "pg/common/sort_bytes.hpp"
#include "pg/common/prepare_guard.hpp"

extern "C" {
#include "tcop/utility.h"
#include "access/transam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "storage/lmgr.h"
#include "utils/xid8.h"
#include "utils/snapmgr.h"
#include "utils/tuplesort.h"
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "miscadmin.h"
}

namespace witness::pg
{
namespace
{

constexpr int kFetchBatch = 10000;

struct PreviousBlock {
	bool exists;
	int64 block_no;
	uint8_t hash[32];
	Datum snapshot; // pg_snapshot
	Datum xmin;     // xid8
	uint64 xmax;
};

// The current transaction-id era (docs/verification.md, "Transaction-id eras"): its first entry id and
// first block. Without witness.era (the SQL of version 0.1) or any row in it: the first era.
struct Era {
	bool table;           // witness.era exists
	int64 first_entry_id; // 0 for the first era
	int64 first_block_no; // 0 for the first era
};

Era read_era(Snapshot snap)
{
	Era era = {OidIsValid(witness_relation_if_exists("era")), 0, 0};
	if (!era.table)
		return era;
	SPIPlanPtr plan = SPI_prepare("SELECT first_entry_id, first_block_no FROM witness.era"
	                              " ORDER BY first_entry_id DESC LIMIT 1",
	                              0, nullptr);
	if (plan == nullptr ||
	    SPI_execute_snapshot(plan, nullptr, nullptr, snap, InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read witness.era");
	if (SPI_processed == 1) {
		bool isnull;
		era.first_entry_id = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
		era.first_block_no = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	}
	return era;
}

// Membership is defined by transaction ids, so they must keep growing along an era's blocks. A trail
// restored into another cluster (pg_dump) meets transaction ids behind its snapshots: a new era must
// start before anything more is sealed. Without witness.era (0.1 SQL), refuse instead.
bool xids_behind(const PreviousBlock &prev, const Era &era)
{
	uint64 next = U64FromFullTransactionId(ReadNextFullTransactionId());
	if (!prev.exists || prev.block_no < era.first_block_no || next >= prev.xmax)
		return false;
	if (!era.table)
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		         errmsg("transaction ids of this cluster are behind the pg_witness trail"),
		         errdetail("Block %lld was sealed when transaction ids had reached %llu; this cluster is at %llu.",
		                   (long long)prev.block_no, (unsigned long long)prev.xmax, (unsigned long long)next),
		         errhint("Update the extension (ALTER EXTENSION pg_witness UPDATE): version 0.2 starts a new "
		                 "transaction-id era (docs/verification.md).")));
	return true;
}

// SPI queries run under the caller's search_path, which may put another schema before pg_catalog:
// every function, type and operator in them is written with its schema (operators as
// OPERATOR(pg_catalog.>=)), so that nothing created elsewhere can stand in for the built-in one.

// The snapshot this pass seals (as text) and the newest block, both read under that snapshot.
char *read_state(Snapshot snap, PreviousBlock *prev)
{
	SPIPlanPtr plan = SPI_prepare("SELECT pg_catalog.pg_current_snapshot()::pg_catalog.text, b.block_no, b.block_hash,"
	                              " b.snapshot,"
	                              " pg_catalog.pg_snapshot_xmin(b.snapshot), pg_catalog.pg_snapshot_xmax(b.snapshot)"
	                              " FROM (SELECT 1) AS one LEFT JOIN LATERAL"
	                              " (SELECT * FROM witness.block ORDER BY block_no DESC LIMIT 1) AS b ON true",
	                              0, nullptr);
	if (plan == nullptr ||
	    SPI_execute_snapshot(plan, nullptr, nullptr, snap, InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read the newest block");
	HeapTuple row = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull;
	char *snapshot_text = SPI_getvalue(row, desc, 1);
	Datum block_no = SPI_getbinval(row, desc, 2, &isnull);
	prev->exists = !isnull;
	if (prev->exists) {
		prev->block_no = DatumGetInt64(block_no);
		bytea *hash = DatumGetByteaPP(SPI_getbinval(row, desc, 3, &isnull));
		if (VARSIZE_ANY_EXHDR(hash) != 32)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
			                errmsg("block %lld has a block hash of %d bytes", (long long)prev->block_no,
			                       (int)VARSIZE_ANY_EXHDR(hash)),
			                errhint("Run witness.verify() to find out what was altered.")));
		memcpy(prev->hash, VARDATA_ANY(hash), 32);
		prev->snapshot = SPI_datumTransfer(SPI_getbinval(row, desc, 4, &isnull), false, -1);
		prev->xmin = SPI_getbinval(row, desc, 5, &isnull);
		prev->xmax = (uint64)DatumGetInt64(SPI_getbinval(row, desc, 6, &isnull));
	} else {
		prev->block_no = 0;
		memset(prev->hash, 0, 32);
	}
	return snapshot_text;
}

// A member as the sort orders it: its id, big-endian with the sign bit flipped (so that bytes
// compare as the ids do), then its leaf: by id, then (two entries with one id, which only a forger
// makes) by leaf, as verification orders them.
constexpr size_t kMemberKeySize = 8 + 32;

// A bytea on the stack: the sort copies what it is given.
union MemberKey {
	int32 align;
	char bytes[VARHDRSZ + kMemberKeySize];
};

Datum member_key(int64 id, const uint8_t leaf[32], MemberKey *key)
{
	SET_VARSIZE(key->bytes, VARHDRSZ + kMemberKeySize);
	auto *p = (uint8_t *)VARDATA(key->bytes);
	put_sortable_id(p, id);
	memcpy(p + 8, leaf, 32);
	return PointerGetDatum(key->bytes);
}

// The ids and leaf hashes of the entries visible in snap and not in the previous block's snapshot,
// sorted by id in a tuplesort (in memory up to maintenance_work_mem, on disk past it: a block has no
// upper size), and their number in *count. Only entries with ids in [from_id, to_id) (their era's);
// use_prev: the previous block is of the same era (the first block of an era excludes nothing).
// The era's id bounds are written so that no index serves them: they span the whole era, usually
// the whole trail, and a partition without statistics yet made them look selective, so that the
// scan went through the id index over every entry instead of the xid index over the newest ones.
Tuplesortstate *read_members(Snapshot snap, const PreviousBlock *prev, bool use_prev, int64 from_id, int64 to_id,
                             Datum snapshot, int64 *count)
{
	Oid argtypes[5] = {XID8OID, PG_SNAPSHOTOID, PG_SNAPSHOTOID, INT8OID, INT8OID};
	Datum args[5] = {use_prev ? prev->xmin : FullTransactionIdGetDatum(FullTransactionIdFromEpochAndXid(0, 0)),
	                 use_prev ? prev->snapshot : (Datum)0, snapshot, Int64GetDatum(from_id), Int64GetDatum(to_id)};
	char nulls[5] = {' ', use_prev ? ' ' : 'n', ' ', ' ', ' '};
	SPIPlanPtr plan = SPI_prepare("SELECT * FROM witness.entry WHERE xid OPERATOR(pg_catalog.>=) $1"
	                              " AND ($2 IS NULL OR NOT pg_catalog.pg_visible_in_snapshot(xid, $2))"
	                              " AND pg_catalog.pg_visible_in_snapshot(xid, $3)"
	                              " AND (id OPERATOR(pg_catalog.+) 0) OPERATOR(pg_catalog.>=) $4"
	                              " AND (id OPERATOR(pg_catalog.+) 0) OPERATOR(pg_catalog.<) $5",
	                              5, argtypes);
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the member query");
	PushActiveSnapshot(snap);
	const int scans = open_brin_scans(); // the plan is made as the cursor opens
	Portal portal = SPI_cursor_open(nullptr, plan, args, nulls, true);
	close_brin_scans(scans);
	PopActiveSnapshot();

	// Each leaf is recomputed from its entry's content (core/stored_leaf.hpp): what the row stores of
	// its leaf hash may be only its first bytes. Rows come in physical order and only (id, leaf) pairs
	// are sorted. Hashing one row allocates; a context per row keeps a large block from holding it all.
	Tuplesortstate *sort =
	    tuplesort_begin_datum(BYTEAOID, ByteaLessOperator, InvalidOid, false, maintenance_work_mem, nullptr, TUPLESORT_NONE);
	MemoryContext per_row = AllocSetContextCreate(CurrentMemoryContext, "pg_witness sealer row", ALLOCSET_SMALL_SIZES);
	int64 n = 0, unmatched = 0, first_unmatched = 0;
	Datum row_values[EntryNatts];
	bool row_nulls[EntryNatts];
	for (;;) {
		SPI_cursor_fetch(portal, true, kFetchBatch);
		if (SPI_processed == 0)
			break;
		check_entry_layout(SPI_tuptable->tupdesc);
		for (uint64 i = 0; i < SPI_processed; i++) {
			CHECK_FOR_INTERRUPTS();
			MemoryContext outer = MemoryContextSwitchTo(per_row);
			memset(row_nulls, true, sizeof(row_nulls)); // a 0.1 trail has no format-2 columns
			heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, row_values, row_nulls);
			const int64 id = DatumGetInt64(row_values[EntryId - 1]);
			const SealedLeaf leaf = row_sealed_leaf(row_values, row_nulls);
			MemoryContextSwitchTo(outer);
			MemberKey key;
			tuplesort_putdatum(sort, member_key(id, leaf.leaf.data(), &key), false); // copies it
			MemoryContextReset(per_row);
			if (!leaf.matches && (unmatched++ == 0 || id < first_unmatched))
				first_unmatched = id;
			n++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	MemoryContextDelete(per_row);
	SPI_cursor_close(portal);
	tuplesort_performsort(sort);
	*count = n;
	// Altered between capture and this seal, or not hashable: the block seals what the entry stores of
	// its leaf hash, and verification names the entry.
	if (unmatched > 0)
		ereport(WARNING, (errcode(ERRCODE_DATA_CORRUPTED),
		                  errmsg_plural("%lld entry of the new block does not match its stored leaf hash",
		                                "%lld entries of the new block do not match their stored leaf hashes",
		                                unmatched, (long long)unmatched),
		                  errdetail("The first is entry %lld. The block seals what each stores of its leaf hash.",
		                            (long long)first_unmatched),
		                  errhint("Run witness.verify() to find out what was altered.")));
	return sort;
}

// The block's root and chunk roots (in chunks' context), from its count members as the sort returns
// them, in id order; ends the sort.
void stream_members(Tuplesortstate *sort, int64 count, ChunkIndex *chunks, uint8_t root[32], uint8_t **chunk_roots,
                    int64 *first_id, int64 *last_id)
{
	BlockRoot block;
	block_root_begin(&block, *chunks, count);
	for (int64 i = 0; i < count; i++) {
		CHECK_FOR_INTERRUPTS();
		Datum key;
		bool isnull;
		if (!tuplesort_getdatum(sort, true, &key, &isnull, nullptr) || isnull)
			elog(ERROR, "pg_witness: the sealer's sort returned %lld of %lld members", (long long)i, (long long)count);
		const auto *p = (const uint8_t *)VARDATA_ANY(DatumGetPointer(key));
		const int64 id = sortable_id(p);
		if (i == 0)
			*first_id = id;
		*last_id = id;
		block_root_add(&block, chunks, i, id, p + 8);
		pfree(DatumGetPointer(key)); // a copy the sort made for the caller
	}
	tuplesort_end(sort);
	block_root_finish(&block, *chunks, root, chunk_roots);
}

// Where the new era starts: the first entry captured by this cluster. Entries captured here have ids
// above every restored one (pg_dump restores the sequence), and one whose transaction the newest
// block's snapshot sees cannot be a restored entry still to seal; the first of those, if any, else
// the id after every entry there is. Read with every writer of witness.entry waited for.
int64 new_era_first_id(Snapshot snap, const PreviousBlock &prev, const Era &era)
{
	Oid argtypes[2] = {PG_SNAPSHOTOID, INT8OID};
	Datum args[2] = {prev.snapshot, Int64GetDatum(era.first_entry_id)};
	SPIPlanPtr plan = SPI_prepare(
	    "SELECT COALESCE((SELECT pg_catalog.min(e.id) FROM witness.entry e"
	    "  WHERE e.id OPERATOR(pg_catalog.>) COALESCE((SELECT pg_catalog.max(b.last_entry_id) FROM witness.block b), 0)"
	    "  AND e.id OPERATOR(pg_catalog.>=) $2 AND pg_catalog.pg_visible_in_snapshot(e.xid, $1)),"
	    " (SELECT COALESCE(pg_catalog.max(e.id), 0) OPERATOR(pg_catalog.+) 1 FROM witness.entry e))",
	    2, argtypes);
	if (plan == nullptr ||
	    SPI_execute_snapshot(plan, args, nullptr, snap, InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not find where the new era starts");
	bool isnull;
	return DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
}

// The snapshot of the block that closes the era: it sees every transaction of the era's entries (all
// committed: they were restored) and every one the newest block saw, "x:x:".
char *closing_snapshot(Snapshot snap, const PreviousBlock &prev, const Era &era, int64 first_id, MemoryContext cxt)
{
	Oid argtypes[3] = {INT8OID, INT8OID, INT8OID};
	Datum args[3] = {Int64GetDatum(era.first_entry_id), Int64GetDatum(first_id), Int64GetDatum((int64)prev.xmax)};
	SPIPlanPtr plan = SPI_prepare(
	    "SELECT GREATEST($3, (SELECT pg_catalog.max(e.xid::pg_catalog.text::pg_catalog.int8) OPERATOR(pg_catalog.+) 1"
	    "  FROM witness.entry e WHERE e.id OPERATOR(pg_catalog.>=) $1 AND e.id OPERATOR(pg_catalog.<) $2))",
	    3, argtypes);
	if (plan == nullptr ||
	    SPI_execute_snapshot(plan, args, nullptr, snap, InvalidSnapshot, true, false, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not read the transaction ids of the era");
	bool isnull;
	int64 x = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	return MemoryContextStrdup(cxt, psprintf("%lld:%lld:", (long long)x, (long long)x));
}

// The new era as a row of witness.era: captured, it becomes an entry of the new era.
void record_era(int64 first_id, int64 first_block_no, uint64 trail_xmax)
{
	uint64 next = U64FromFullTransactionId(ReadNextFullTransactionId());
	Oid argtypes[4] = {INT8OID, INT8OID, TEXTOID, TEXTOID};
	Datum args[4] = {Int64GetDatum(first_id), Int64GetDatum(first_block_no),
	                 CStringGetTextDatum(psprintf("%llu", (unsigned long long)trail_xmax)),
	                 CStringGetTextDatum(psprintf("%llu", (unsigned long long)next))};
	internal_ddl_begin();
	if (SPI_execute_with_args("INSERT INTO witness.era (first_entry_id, first_block_no, system_identifier, trail_xmax,"
	                          " cluster_next_xid) SELECT $1, $2, s.system_identifier::pg_catalog.text,"
	                          " $3::pg_catalog.xid8, $4::pg_catalog.xid8 FROM pg_catalog.pg_control_system() s",
	                          4, argtypes, args, nullptr, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "pg_witness: could not record the new transaction-id era");
	internal_ddl_end();
}

// The stored snapshot of a block sealed in a transaction that has a transaction id: PostgreSQL leaves
// a backend's own id out of its snapshots, so it would look committed there, and the entries the
// transaction captures after the seal would be visible in the block yet in none of its ids, sealed by
// no later block (a review's witness.seal() in a writing transaction left verify() failing for good
// and erasure missing them). Its id is stored as in progress: its entries, those before the seal and
// after it, go to the first block sealed after it commits. Entries carry their top transaction's id
// (entry_writer.cpp), so subtransactions need nothing. Within an era the previous block's snapshot
// never sees this id: it was running, or not yet assigned, when that one was taken.
char *without_own_transaction(const char *snapshot_text, MemoryContext cxt)
{
	const FullTransactionId top = GetTopFullTransactionIdIfAny();
	if (!FullTransactionIdIsValid(top))
		return MemoryContextStrdup(cxt, snapshot_text);
	MemoryContext old = MemoryContextSwitchTo(cxt);
	char *adjusted = snapshot_with_in_progress(snapshot_text, U64FromFullTransactionId(top));
	MemoryContextSwitchTo(old);
	return adjusted;
}

} // namespace

SealOutcome seal_once(bool wait, Datum values[BlockNatts], bool nulls[BlockNatts])
{
	if (IsolationUsesXactSnapshot())
		ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION), errmsg("witness.seal() must run at READ COMMITTED"),
		                errdetail("A block is defined by a snapshot taken after the sealer lock is held.")));
	if (RecoveryInProgress())
		ereport(ERROR, (errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION), errmsg("cannot seal during recovery"),
		                errhint("Blocks are sealed on the primary and reach a standby by replication; witness.verify() "
		                        "works here.")));
	Oid blocks = block_relid();
	// Self-conflicting lock: one sealer at a time; capture (RowExclusive on witness.entry) is unaffected.
	if (wait)
		LockRelationOid(blocks, ShareRowExclusiveLock);
	else if (!ConditionalLockRelationOid(blocks, ShareRowExclusiveLock))
		return SealOutcome::Busy;
	// Prepared, the transaction would keep every sealer out until COMMIT PREPARED, and a forgotten one
	// for good, while verify() still said valid (a review).
	refuse_prepare_while_held("cannot prepare a transaction that called witness.seal()",
	                          "It holds the lock every sealer takes until it ends: prepared, it would stop all "
	                          "sealing until COMMIT PREPARED.",
	                          "Call witness.seal() in a transaction of its own.");

	summarize_filled_ranges();
	// A collector's blocks are its source's, shipped with the entries they seal (docs/central.md); its
	// BRIN ranges are summarized all the same, for prove() and block_of().
	if (in_collector_database()) {
		if (wait)
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			                errmsg("cannot seal in a pg_witness collector"),
			                errdetail("Its entries and blocks are the source database's, shipped by logical replication."),
			                errhint("The source seals them; witness.verify() works here.")));
		return SealOutcome::NothingToSeal;
	}
	// Taken after the lock, so the previous sealer's block is visible in it.
	Snapshot snap = RegisterSnapshot(GetLatestSnapshot());
	MemoryContext caller = CurrentMemoryContext;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	PreviousBlock prev;
	char *snapshot_text = MemoryContextStrdup(caller, read_state(snap, &prev));
	Era era = read_era(snap);
	int64 from_id = era.first_entry_id, to_id = PG_INT64_MAX;
	bool use_prev = prev.exists && prev.block_no >= era.first_block_no;
	int64 new_era_id = 0;
	if (xids_behind(prev, era)) {
		// Every writer of witness.entry finishes first, so that no entry of this cluster is left
		// behind the new era's first id: a one-time wait, for the background sealer too (under
		// steady writes a conditional lock would never be granted, and nothing would be sealed).
		LockRelationOid(entry_relid(), ShareLock);
		UnregisterSnapshot(snap);
		snap = RegisterSnapshot(GetLatestSnapshot());
		new_era_id = new_era_first_id(snap, prev, era);
		// This pass closes the era: one block over the rest of its entries.
		to_id = new_era_id;
		snapshot_text = closing_snapshot(snap, prev, era, new_era_id, caller);
	}
	// Not the block that closes an era: every entry of the old era, a restored one with this
	// transaction's (young) id too, belongs in it, and the new era's first id keeps this transaction's
	// own entries out (a review's restored pending entry, whose id was this one, went into no block).
	if (new_era_id == 0)
		snapshot_text = without_own_transaction(snapshot_text, caller);
	Datum snapshot = DirectFunctionCall1(pg_snapshot_in, CStringGetDatum(snapshot_text));
	int64 count = 0, first_id = 0, last_id = 0;
	ChunkIndex chunks;
	chunk_index_begin(&chunks, caller);
	Tuplesortstate *members = read_members(snap, &prev, use_prev, from_id, to_id, snapshot, &count);
	UnregisterSnapshot(snap);
	if (count == 0 && new_era_id == 0) {
		tuplesort_end(members);
		SPI_finish();
		return SealOutcome::NothingToSeal;
	}
	if (new_era_id != 0)
		record_era(new_era_id, prev.block_no + 2, prev.xmax);

	uint8_t root[32];
	uint8_t *chunk_roots;
	stream_members(members, count, &chunks, root, &chunk_roots, &first_id, &last_id);
	TimestampTz sealed_at = GetCurrentTimestamp();
	BlockFields fields = {prev.block_no + 1,
	                      snapshot_text,
	                      count,
	                      count > 0,
	                      first_id,
	                      last_id,
	                      root,
	                      prev.hash,
	                      sealed_at + kUnixToPostgresEpochUs};
	uint8_t hash[32];
	block_hash(fields, hash);
	SPI_finish();

	memset(nulls, 0, sizeof(bool) * BlockNatts);
	values[BlockNo - 1] = Int64GetDatum(fields.block_no);
	values[BlockSnapshot - 1] = DirectFunctionCall1(pg_snapshot_in, CStringGetDatum(snapshot_text));
	values[BlockEntryCount - 1] = Int64GetDatum(count);
	values[BlockFirstEntryId - 1] = Int64GetDatum(first_id);
	values[BlockLastEntryId - 1] = Int64GetDatum(last_id);
	nulls[BlockFirstEntryId - 1] = nulls[BlockLastEntryId - 1] = count == 0; // a closing block may hold none
	values[BlockMerkleRoot - 1] = PointerGetDatum(hash_bytea(root));
	values[BlockPrevHash - 1] = PointerGetDatum(hash_bytea(prev.hash));
	values[BlockSealedAt - 1] = TimestampTzGetDatum(sealed_at);
	values[BlockHash - 1] = PointerGetDatum(hash_bytea(hash));

	Relation rel = table_open(blocks, RowExclusiveLock);
	check_block_layout(RelationGetDescr(rel));
	HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tuple);
	table_close(rel, NoLock);
	store_chunks(chunks, fields.block_no, chunk_roots);
	CommandCounterIncrement();
	return SealOutcome::Sealed;
}

// In a cluster whose transaction ids are behind the newest block's, the entries from the due era's
// first id on were captured here, and no block of the old era can hold them: readers take them as
// pending, as the next seal will, instead of placing them by their low transaction ids among the old
// blocks (which verify() would report as entries inserted). The same choice of first id as the seal,
// without its wait for writers: an entry still being written is not visible to a reader either.
DueEra due_era(Snapshot snap)
{
	DueEra due = {0, 0};
	// A collector's blocks carry its source cluster's snapshots, and it seals nothing: no era is ever
	// due there (a helper's review found a phantom one in a younger cluster).
	if (in_collector_database(false))
		return due;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	PreviousBlock prev;
	read_state(snap, &prev);
	Era era = read_era(snap);
	if (era.table && xids_behind(prev, era)) {
		due.first_entry_id = new_era_first_id(snap, prev, era);
		due.first_block_no = prev.block_no + 2; // after the block that will close the old era
	}
	SPI_finish();
	return due;
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_seal);
Datum witness_seal(PG_FUNCTION_ARGS);

Datum witness_seal(PG_FUNCTION_ARGS)
{
	witness::pg::check_access();
	// A block is a write: refused in a read-only transaction like every other (a robustness review
	// found one sealed there, its lookup rows left unwritten).
	PreventCommandIfReadOnly("witness.seal()");
	PreventCommandDuringRecovery("witness.seal()");
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	Datum values[witness::pg::BlockNatts];
	bool nulls[witness::pg::BlockNatts];
	if (witness::pg::seal_once(true, values, nulls) == witness::pg::SealOutcome::Sealed)
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	// What the readers' lookups need, after commit of the entries, never in the capture.
	witness::pg::maintain_lookup();
	return (Datum)0;
}

PG_FUNCTION_INFO_V1(witness_due_era_first_id);
Datum witness_due_era_first_id(PG_FUNCTION_ARGS);

// witness._due_era_first_id(): the first entry id of the era the next seal will start, NULL when
// none is due.
Datum witness_due_era_first_id(PG_FUNCTION_ARGS)
{
	witness::pg::check_access();
	witness::pg::DueEra due = witness::pg::due_era(GetActiveSnapshot());
	if (due.first_entry_id == 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(due.first_entry_id);
}
}
