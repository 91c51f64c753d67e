// Master key rotation (docs/personal-data.md, "Rotating the master key"): the sealed payloads of
// witness.entry that another master key sealed are opened with it (witness.previous_master_key_file)
// and sealed again under the current key (witness.master_key_file). The salt and payload inside stay
// the same bytes, so the commitment, the leaf hash and every block hash stay as they were; only the
// sealed_payload column of a row changes (common/entry_rewrite.hpp). witness.rotate_master_key()
// (pg_witness--0.1--0.2.sql) calls witness._reseal_payloads() once per batch and commits after each.
//
// A batch walks witness.entry in physical order from a position on, so that the rotation reads the
// trail once however often it commits: the caller passes back the position a batch stopped at. A
// position is a partition (its ordinal in bound order, docs/scaling.md) and a block number in it,
// (ordinal << 32) | block; a batch stays within one partition. Row
// versions the rotation itself writes are under the current key, wherever they land, and are skipped.
#include "pg/capture/internal_ddl.hpp"
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/entry_rewrite.hpp"
#include "pg/common/master_keys.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/trail_partitions.hpp"
#include "pg/rotate/rotation_privilege.hpp"

#include "core/payload_cipher.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "storage/bufmgr.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
}

namespace
{

using namespace witness::pg;

// Whether a stored sealed_payload is sealed under the key with id `key_id`, reading its 9-byte header
// only (a toasted value is not decompressed whole).
bool sealed_under(Datum stored, const char *key_id)
{
	struct varlena *value = (struct varlena *)DatumGetPointer(stored);
	// Read in place unless toasted: a batch may read many rows it skips, and allocates nothing for them.
	struct varlena *head = VARATT_IS_EXTERNAL(value) || VARATT_IS_COMPRESSED(value)
	                           ? pg_detoast_datum_slice(value, 0, witness::kSealedPayloadHeaderSize)
	                           : value;
	bool same = false;
	if (VARSIZE_ANY_EXHDR(head) >= witness::kSealedPayloadHeaderSize) {
		const char *bytes = VARDATA_ANY(head);
		char id[17];
		sealed_key_id_hex(bytes, id);
		same = bytes[0] == witness::kSealedPayloadVersion && strcmp(id, key_id) == 0;
	}
	if (head != value)
		pfree(head);
	return same;
}

// The rows a batch re-encrypts.
struct Candidates {
	ItemPointerData *tids;
	int64 *ids;
	int64 count;
	int64 capacity;
};

void add_candidate(Candidates *c, ItemPointer tid, int64 id)
{
	if (c->count == c->capacity) {
		c->capacity *= 2;
		c->tids = (ItemPointerData *)repalloc_huge(c->tids, c->capacity * sizeof(ItemPointerData));
		c->ids = (int64 *)repalloc_huge(c->ids, c->capacity * sizeof(int64));
	}
	c->tids[c->count] = *tid;
	c->ids[c->count] = id;
	c->count++;
}

// Reads witness.entry from block `start` on and collects the sealed payloads not under current_id,
// whole blocks at a time, until there are at least batch_size of them. Returns the block to start
// the next batch at, or InvalidBlockNumber when the scan reached the end of the table.
BlockNumber collect(Relation rel, BlockNumber start, int64 batch_size, const char *current_id, Candidates *out)
{
	const BlockNumber nblocks = RelationGetNumberOfBlocks(rel);
	if (start >= nblocks)
		return InvalidBlockNumber;
	TupleDesc desc = RelationGetDescr(rel);
	TableScanDesc scan = table_beginscan_strat(rel, GetActiveSnapshot(), 0, nullptr, true, false);
	heap_setscanlimits(scan, start, nblocks - start);
	BlockNumber next = InvalidBlockNumber;
	BlockNumber block = InvalidBlockNumber;
	HeapTuple tuple;
	while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
		const BlockNumber b = ItemPointerGetBlockNumber(&tuple->t_self);
		if (b != block) {
			if (out->count >= batch_size) {
				next = b;
				break;
			}
			block = b;
			CHECK_FOR_INTERRUPTS();
		}
		bool is_null;
		const Datum sealed = heap_getattr(tuple, EntrySealedPayload, desc, &is_null);
		if (is_null || sealed_under(sealed, current_id))
			continue;
		const int64 id = DatumGetInt64(heap_getattr(tuple, EntryId, desc, &is_null));
		add_candidate(out, &tuple->t_self, id);
	}
	table_endscan(scan);
	return next;
}

// Entry `id` at tid, its sealed payload under the current key, *moved set to the new row version's
// place; false when the row is no longer one to re-encrypt (erased, or already under the current key).
bool reseal_one(Relation rel, EntryIndexes *ix, ItemPointer tid, int64 id, const witness::MasterKey &current,
                ItemPointer moved)
{
	HeapTuple entry = fetch_entry(rel, tid, id);
	if (entry == nullptr)
		ereport(ERROR, (errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
		                errmsg("entry %lld changed while its payload was being re-encrypted", (long long)id),
		                errhint("Call witness.rotate_master_key() again: it goes on where it stopped.")));
	TupleDesc desc = RelationGetDescr(rel);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	heap_deform_tuple(entry, desc, values, nulls);
	if (nulls[EntrySealedPayload - 1] || sealed_under(values[EntrySealedPayload - 1], current.id_hex().c_str()))
		return false;
	bytea *sealed = DatumGetByteaPP(values[EntrySealedPayload - 1]);
	const char *bytes = VARDATA_ANY(sealed);
	const size_t len = VARSIZE_ANY_EXHDR(sealed);
	const witness::MasterKey *from = master_key_for_sealed(bytes, len);
	if (from == nullptr) {
		char key_id[17] = "(none)";
		if (len >= witness::kSealedPayloadHeaderSize && bytes[0] == witness::kSealedPayloadVersion)
			sealed_key_id_hex(bytes, key_id);
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("cannot re-encrypt the payload of entry %lld: it is sealed under master key %s, which "
		                       "neither witness.master_key_file nor witness.previous_master_key_file holds",
		                       (long long)id, key_id),
		                errhint("Set witness.previous_master_key_file to the file of master key %s and reload.", key_id)));
	}
	const uint8_t *pseudonym = nullptr;
	if (!nulls[EntrySubjectPseudonym - 1]) {
		bytea *p = DatumGetByteaPP(values[EntrySubjectPseudonym - 1]);
		if (VARSIZE_ANY_EXHDR(p) != 32)
			ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
			                errmsg("entry %lld has a subject pseudonym of %zu bytes instead of 32", (long long)id,
			                       (size_t)VARSIZE_ANY_EXHDR(p))));
		pseudonym = reinterpret_cast<const uint8_t *>(VARDATA_ANY(p));
	}
	const char *why;
	bytea *resealed = reseal_payload(*from, current, id, pseudonym, bytes, len, &why);
	if (resealed == nullptr)
		ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
		                errmsg("cannot re-encrypt the payload of entry %lld: it does not open under master key %s",
		                       (long long)id, from->id_hex().c_str()),
		                errdetail("%s", why),
		                errhint("witness.verify() reports the entry; its payload was altered or moved from another entry.")));
	values[EntrySealedPayload - 1] = PointerGetDatum(resealed);
	HeapTuple updated = heap_form_tuple(desc, values, nulls);
	update_entry(rel, ix, &entry->t_self, updated);
	ItemPointerCopy(&updated->t_self, moved);
	return true;
}

// An array of the first n elements of items (int8 or tid).
Datum array_of(Datum *items, int n, Oid type)
{
	int dims[1] = {n};
	int lbs[1] = {1};
	if (type == TIDOID)
		return PointerGetDatum(
		    construct_md_array(items, nullptr, 1, dims, lbs, TIDOID, sizeof(ItemPointerData), false, TYPALIGN_SHORT));
	return PointerGetDatum(
	    construct_md_array(items, nullptr, 1, dims, lbs, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_check_rotation_allowed);
Datum witness_check_rotation_allowed(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_reseal_payloads);
Datum witness_reseal_payloads(PG_FUNCTION_ARGS);

// witness._check_rotation_allowed(): raises unless witness.rotate_master_key() may run here: a
// superuser, in a CALL that may commit (not inside a transaction block or a function), at READ
// COMMITTED (each batch must see what a concurrent erasure committed before it), with a current key.
Datum witness_check_rotation_allowed(PG_FUNCTION_ARGS)
{
	require_rotation_privilege();
	if (IsTransactionBlock() || !SPI_inside_nonatomic_context())
		ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
		                errmsg("witness.rotate_master_key() cannot run inside a transaction block or a function"),
		                errdetail("It commits after each batch, so that a crash or a cancel loses one batch at most."),
		                errhint("Run it as a statement of its own: CALL witness.rotate_master_key();")));
	if (IsolationUsesXactSnapshot())
		ereport(ERROR, (errcode(ERRCODE_ACTIVE_SQL_TRANSACTION),
		                errmsg("witness.rotate_master_key() runs at isolation level READ COMMITTED only"),
		                errdetail("Each batch must see the erasures committed before it."),
		                errhint("SET default_transaction_isolation = 'read committed' in this session first.")));
	require_master_key("cannot rotate the master key");
	PG_RETURN_VOID();
}

// witness._reseal_payloads(start_block, batch_size, OUT next_block, OUT resealed, OUT moved_ids,
// OUT moved_places): one batch; the ids of the entries it re-encrypted and where their new row versions
// are, for their lookup rows (witness._move_lookup_places()).
Datum witness_reseal_payloads(PG_FUNCTION_ARGS)
{
	witness::pg::require_own_declaration(fcinfo, "witness_reseal_payloads");
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "start_block");
	require_not_null(fcinfo, 1, "batch_size");
	require_rotation_privilege();
	const int64 position = PG_GETARG_INT64(0);
	const int32 batch_size = PG_GETARG_INT32(1);
	const int64 ordinal = position >> 32;
	const int64 start = position & 0xFFFFFFFF;
	if (position < 0 || start > (int64)MaxBlockNumber)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("start_block %lld is out of range", (long long)position)));
	if (batch_size < 1)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("batch_size must be at least 1")));
	TupleDesc result_desc;
	if (get_call_result_type(fcinfo, nullptr, &result_desc) != TYPEFUNC_COMPOSITE || result_desc->natts != 4)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("witness._reseal_payloads must return (next_block bigint, resealed bigint, moved_ids "
		                       "bigint[], moved_places tid[])")));
	const witness::MasterKey *current = require_master_key("cannot rotate the master key");

	Relation entry = table_open(entry_relid(), RowExclusiveLock);
	if (check_entry_layout(RelationGetDescr(entry)) < 2)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("the trail has no sealed payloads to re-encrypt"),
		                errhint("Run ALTER EXTENSION pg_witness UPDATE.")));
	List *leaves = entry_leaves(entry);
	TupleDesc result_row = result_desc;
	if (ordinal >= list_length(leaves)) { // past the last partition: done
		table_close(entry, NoLock);
		Datum values[4] = {Int64GetDatum(0), Int64GetDatum(0), array_of(nullptr, 0, INT8OID),
		                   array_of(nullptr, 0, TIDOID)};
		bool nulls[4] = {true, false, false, false};
		PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_row, values, nulls)));
	}
	const Oid leaf = list_nth_oid(leaves, (int)ordinal);
	Relation rel = leaf == RelationGetRelid(entry) ? entry : table_open(leaf, RowExclusiveLock);
	check_partition_layout(entry, rel);
	Candidates c;
	c.capacity = 64;
	c.count = 0;
	c.tids = (ItemPointerData *)palloc(c.capacity * sizeof(ItemPointerData));
	c.ids = (int64 *)palloc(c.capacity * sizeof(int64));
	const BlockNumber next = collect(rel, (BlockNumber)start, batch_size, current->id_hex().c_str(), &c);

	EntryIndexes ix = open_entry_indexes(rel);
	MemoryContext row_cxt = AllocSetContextCreate(CurrentMemoryContext, "witness reseal row", ALLOCSET_DEFAULT_SIZES);
	int64 resealed = 0;
	auto *moved_ids = (Datum *)palloc_extended(Max(c.count, 1) * sizeof(Datum), MCXT_ALLOC_HUGE);
	auto *moved_places = (Datum *)palloc_extended(Max(c.count, 1) * sizeof(Datum), MCXT_ALLOC_HUGE);
	auto *places = (ItemPointerData *)palloc_extended(Max(c.count, 1) * sizeof(ItemPointerData), MCXT_ALLOC_HUGE);
	for (int64 i = 0; i < c.count; i++) {
		CHECK_FOR_INTERRUPTS();
		MemoryContext old = MemoryContextSwitchTo(row_cxt);
		const bool done_one = reseal_one(rel, &ix, &c.tids[i], c.ids[i], *current, &places[resealed]);
		MemoryContextSwitchTo(old);
		MemoryContextReset(row_cxt);
		if (done_one) {
			moved_ids[resealed] = Int64GetDatum(c.ids[i]);
			moved_places[resealed] = PointerGetDatum(&places[resealed]);
			resealed++;
		}
	}
	MemoryContextDelete(row_cxt);
	close_entry_indexes(&ix);
	if (rel != entry)
		table_close(rel, NoLock); // keep the lock until commit
	table_close(entry, NoLock);
	CommandCounterIncrement();

	// At the end of a partition, the next one's first block.
	const bool done = next == InvalidBlockNumber && ordinal + 1 >= list_length(leaves);
	const int64 next_position = next == InvalidBlockNumber ? (ordinal + 1) << 32 : (ordinal << 32) | (int64)next;
	Datum values[4];
	bool nulls[4] = {done, false, false, false};
	values[0] = Int64GetDatum(done ? 0 : next_position);
	values[1] = Int64GetDatum(resealed);
	values[2] = array_of(moved_ids, (int)resealed, INT8OID);
	values[3] = array_of(moved_places, (int)resealed, TIDOID);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(result_desc, values, nulls)));
}
}
