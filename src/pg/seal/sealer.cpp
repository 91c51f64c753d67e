#include "pg/seal/sealer.hpp"

#include "pg/common/core_bridge.hpp"
#include "pg/common/trail_brin.hpp"
#include "pg/common/access_check.hpp"
#include "pg/common/collector_mode.hpp"

extern "C" {
#include "access/transam.h"
#include "access/xlog.h"
#include "storage/lmgr.h"
#include "utils/xid8.h"
#include "utils/snapmgr.h"
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

// Membership is defined by transaction ids, so they must keep growing along the chain. A trail
// restored into another cluster (pg_dump) meets transaction ids behind its snapshots: refuse to
// seal there rather than put new entries into old blocks.
void check_xids_ahead(const PreviousBlock &prev)
{
	uint64 next = U64FromFullTransactionId(ReadNextFullTransactionId());
	if (prev.exists && next < prev.xmax)
		ereport(ERROR,
		        (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		         errmsg("transaction ids of this cluster are behind the pg_witness trail"),
		         errdetail("Block %lld was sealed when transaction ids had reached %llu; this cluster is at %llu.",
		                   (long long)prev.block_no, (unsigned long long)prev.xmax, (unsigned long long)next),
		         errhint("The trail was probably restored from another cluster with pg_dump. Move trails between "
		                 "clusters with pg_upgrade or a physical replica, which keep transaction ids "
		                 "(docs/verification.md).")));
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

// Leaf hashes of the entries visible in snap and not in the previous block's snapshot, in id order.
uint8_t *read_members(Snapshot snap, const PreviousBlock *prev, Datum snapshot, int64 *count, int64 *first_id,
                      int64 *last_id)
{
	Oid argtypes[3] = {XID8OID, PG_SNAPSHOTOID, PG_SNAPSHOTOID};
	Datum args[3] = {prev->exists ? prev->xmin : FullTransactionIdGetDatum(FullTransactionIdFromEpochAndXid(0, 0)),
	                 prev->exists ? prev->snapshot : (Datum)0, snapshot};
	char nulls[3] = {' ', prev->exists ? ' ' : 'n', ' '};
	SPIPlanPtr plan = SPI_prepare("SELECT id, leaf_hash FROM witness.entry WHERE xid OPERATOR(pg_catalog.>=) $1"
	                              " AND ($2 IS NULL OR NOT pg_catalog.pg_visible_in_snapshot(xid, $2))"
	                              " AND pg_catalog.pg_visible_in_snapshot(xid, $3) ORDER BY id",
	                              3, argtypes);
	if (plan == nullptr)
		elog(ERROR, "pg_witness: could not prepare the member query");
	PushActiveSnapshot(snap);
	Portal portal = SPI_cursor_open(nullptr, plan, args, nulls, true);
	PopActiveSnapshot();

	Size capacity = 1024;
	uint8_t *leaves = (uint8_t *)palloc_extended(capacity * 32, MCXT_ALLOC_HUGE);
	*count = 0;
	for (;;) {
		SPI_cursor_fetch(portal, true, kFetchBatch);
		if (SPI_processed == 0)
			break;
		for (uint64 i = 0; i < SPI_processed; i++) {
			CHECK_FOR_INTERRUPTS();
			HeapTuple row = SPI_tuptable->vals[i];
			bool isnull;
			int64 id = DatumGetInt64(SPI_getbinval(row, SPI_tuptable->tupdesc, 1, &isnull));
			bytea *hash = DatumGetByteaPP(SPI_getbinval(row, SPI_tuptable->tupdesc, 2, &isnull));
			if (VARSIZE_ANY_EXHDR(hash) != 32)
				ereport(ERROR,
				        (errcode(ERRCODE_DATA_CORRUPTED),
				         errmsg("entry %lld has a leaf hash of %d bytes", (long long)id, (int)VARSIZE_ANY_EXHDR(hash)),
				         errhint("Run witness.verify() to find out what was altered.")));
			if ((Size)*count == capacity) {
				capacity *= 2;
				leaves = (uint8_t *)repalloc_huge(leaves, capacity * 32);
			}
			memcpy(leaves + 32 * *count, VARDATA_ANY(hash), 32);
			if (*count == 0)
				*first_id = id;
			*last_id = id;
			(*count)++;
		}
		SPI_freetuptable(SPI_tuptable);
	}
	SPI_cursor_close(portal);
	return leaves;
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
	check_xids_ahead(prev);
	Datum snapshot = DirectFunctionCall1(pg_snapshot_in, CStringGetDatum(snapshot_text));
	int64 count = 0, first_id = 0, last_id = 0;
	uint8_t *leaves = read_members(snap, &prev, snapshot, &count, &first_id, &last_id);
	UnregisterSnapshot(snap);
	if (count == 0) {
		SPI_finish();
		return SealOutcome::NothingToSeal;
	}

	uint8_t root[32];
	merkle_root(leaves, (size_t)count, root);
	TimestampTz sealed_at = GetCurrentTimestamp();
	BlockFields fields = {prev.block_no + 1,
	                      snapshot_text,
	                      count,
	                      true,
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
	values[BlockMerkleRoot - 1] = PointerGetDatum(hash_bytea(root));
	values[BlockPrevHash - 1] = PointerGetDatum(hash_bytea(prev.hash));
	values[BlockSealedAt - 1] = TimestampTzGetDatum(sealed_at);
	values[BlockHash - 1] = PointerGetDatum(hash_bytea(hash));

	Relation rel = table_open(blocks, RowExclusiveLock);
	check_block_layout(RelationGetDescr(rel));
	HeapTuple tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	CatalogTupleInsert(rel, tuple);
	table_close(rel, NoLock);
	CommandCounterIncrement();
	return SealOutcome::Sealed;
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_seal);
Datum witness_seal(PG_FUNCTION_ARGS);

Datum witness_seal(PG_FUNCTION_ARGS)
{
	witness::pg::check_access();
	InitMaterializedSRF(fcinfo, 0);
	auto *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	Datum values[witness::pg::BlockNatts];
	bool nulls[witness::pg::BlockNatts];
	if (witness::pg::seal_once(true, values, nulls) == witness::pg::SealOutcome::Sealed)
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	return (Datum)0;
}
}
