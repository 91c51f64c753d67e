#include "pg/capture/held_entries.hpp"

#include "pg/capture/entry_ids.hpp"
#include "pg/capture/entry_store.hpp"
#include "pg/capture/statement_levels.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/master_keys.hpp"
#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "catalog/pg_operator_d.h"
#include "catalog/pg_type_d.h"
#include "utils/hsearch.h"
#include "utils/resowner.h"
#include "utils/tuplesort.h"
}

namespace witness::pg
{
namespace
{

// Columns a held row has after witness.entry's: the sort key (command, then order of capture), the
// subtransaction that captured it, and its canonical bytes.
constexpr int kExtraColumns = 4;

// Entries captured before `before` (in order of capture) by subtransaction subxid or one it started are
// dropped: it rolled back. Subtransaction ids rise, so "or one it started" is "or a later id".
struct Dropped {
	SubTransactionId subxid;
	int64 before;
};

struct Held {
	Tuplesortstate *sort = nullptr;
	// The sort's own resource owner (its temporary file) and memory, under the top transaction's: to
	// give up on the sort where no error may be raised (an abort), both are released without
	// tuplesort_end(), which writes out what is buffered and can fail again (temp_file_limit).
	ResourceOwner owner = nullptr;
	MemoryContext cxt = nullptr;
	TupleDesc desc = nullptr;
	TupleTableSlot *put = nullptr;  // a row being held
	TupleTableSlot *slot = nullptr; // a row released
	int natts = 0;      // witness.entry's columns
	int64 captured = 0; // entries held so far: the next one's place in the order of capture
	SubTransactionId oldest = InvalidSubTransactionId; // the lowest subtransaction id that held one
	SubTransactionId newest = InvalidSubTransactionId; // the highest
	Dropped *dropped = nullptr;
	int ndropped = 0;
	int maxdropped = 0;
	bool busy = false;   // inside a tuplesort call: an error there leaves the sort unusable
	bool broken = false; // one did
};

Held held;
// The commands of the held entries' changes (CommandId keys), in TopTransactionContext.
HTAB *held_commands = nullptr;

void note_held_command(CommandId command)
{
	if (held_commands == nullptr) {
		HASHCTL ctl;
		memset(&ctl, 0, sizeof(ctl));
		ctl.keysize = sizeof(CommandId);
		ctl.entrysize = sizeof(CommandId);
		ctl.hcxt = TopTransactionContext;
		held_commands = hash_create("pg_witness held commands", 64, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	hash_search(held_commands, &command, HASH_ENTER, nullptr);
}

// Runs fn under the sort's resource owner and memory (the top transaction's when there is no sort
// yet): the sort lives until its entries are released, and a temporary file it makes must not belong
// to a subtransaction that ends before.
template <typename Fn> void in_transaction(Fn &&fn)
{
	ResourceOwner saved_owner = CurrentResourceOwner;
	MemoryContext saved_cxt = MemoryContextSwitchTo(held.cxt != nullptr ? held.cxt : TopTransactionContext);
	CurrentResourceOwner = held.owner != nullptr ? held.owner : TopTransactionResourceOwner;
	held.busy = true;
	PG_TRY();
	{
		fn();
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = saved_owner;
		MemoryContextSwitchTo(saved_cxt);
	}
	PG_END_TRY();
	held.busy = false;
}

// The held rows' descriptor and slots, made once per transaction: a loop of exception blocks can
// start holding many times.
void make_held_desc(TupleDesc entry)
{
	TupleDesc desc = CreateTemplateTupleDesc(entry->natts + kExtraColumns);
	for (int i = 1; i <= entry->natts; i++)
		TupleDescCopyEntry(desc, (AttrNumber)i, entry, (AttrNumber)i);
	TupleDescInitEntry(desc, (AttrNumber)(entry->natts + 1), "command", INT8OID, -1, 0);
	TupleDescInitEntry(desc, (AttrNumber)(entry->natts + 2), "captured", INT8OID, -1, 0);
	TupleDescInitEntry(desc, (AttrNumber)(entry->natts + 3), "subxid", INT8OID, -1, 0);
	TupleDescInitEntry(desc, (AttrNumber)(entry->natts + 4), "encoding", BYTEAOID, -1, 0);
	held.desc = desc;
	held.put = MakeSingleTupleTableSlot(desc, &TTSOpsHeapTuple);
	held.slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple); // what the sort returns
}

void begin_holding()
{
	TupleDesc entry = stored_entry_desc();
	in_transaction([&] {
		if (held.desc == nullptr || held.natts != entry->natts)
			make_held_desc(entry);
	});
	held.cxt = AllocSetContextCreate(TopTransactionContext, "pg_witness held entries", ALLOCSET_DEFAULT_SIZES);
	held.owner = ResourceOwnerCreate(TopTransactionResourceOwner, "pg_witness held entries");
	in_transaction([&] {
		held.natts = entry->natts;
		AttrNumber keys[2] = {(AttrNumber)(entry->natts + 1), (AttrNumber)(entry->natts + 2)};
		Oid operators[2] = {Int8LessOperator, Int8LessOperator};
		Oid collations[2] = {InvalidOid, InvalidOid};
		bool nulls_first[2] = {false, false};
		held.sort = tuplesort_begin_heap(held.desc, 2, keys, operators, collations, nulls_first, work_mem, nullptr,
		                                 TUPLESORT_NONE);
	});
}

bool was_dropped(SubTransactionId subxid, int64 captured)
{
	for (int i = 0; i < held.ndropped; i++)
		if (subxid >= held.dropped[i].subxid && captured < held.dropped[i].before)
			return true;
	return false;
}

// The held row in held.slot as the entry it describes, under its id.
void store_under_new_id(Datum *values, bool *nulls)
{
	const int64 id = next_entry_id(entry_seq_relid());
	values[EntryId - 1] = Int64GetDatum(id);
	uint8_t hash[32];
	leaf_hash_with_id((struct varlena *)DatumGetPointer(held.slot->tts_values[held.natts + 3]), id, hash);
	// As many bytes of it as the row kept (all, or the prefix of format 2: core/stored_leaf.hpp).
	const Size kept = VARSIZE_ANY_EXHDR(DatumGetPointer(values[EntryLeafHash - 1]));
	values[EntryLeafHash - 1] = PointerGetDatum(bytes_bytea(hash, Min(kept, sizeof(hash))));
	if (!nulls[EntrySealedPayload - 1]) {
		const MasterKey *key = require_master_key("cannot give a held entry of an encrypted table its id");
		const struct varlena *sealed = (struct varlena *)DatumGetPointer(values[EntrySealedPayload - 1]);
		const uint8_t *pseudonym =
		    nulls[EntrySubjectPseudonym - 1]
		        ? nullptr
		        : (const uint8_t *)VARDATA_ANY(DatumGetPointer(values[EntrySubjectPseudonym - 1]));
		values[EntrySealedPayload - 1] =
		    PointerGetDatum(move_payload(*key, 0, id, pseudonym, VARDATA_ANY(sealed), VARSIZE_ANY_EXHDR(sealed)));
	}
	store_entry(values, nulls);
}

} // namespace

void hold_entry(const Datum *values, const bool *nulls, struct varlena *encoding, CommandId command)
{
	if (held.broken)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_witness lost entries it held back"),
		                errdetail("An error interrupted holding them; the transaction cannot be recorded in full.")));
	if (held.sort == nullptr)
		begin_holding();
	const int n = held.natts + kExtraColumns;
	Datum *row = (Datum *)palloc(sizeof(Datum) * n);
	bool *rownulls = (bool *)palloc(sizeof(bool) * n);
	memcpy(row, values, sizeof(Datum) * held.natts);
	memcpy(rownulls, nulls, sizeof(bool) * held.natts);
	row[held.natts] = Int64GetDatum((int64)command);
	row[held.natts + 1] = Int64GetDatum(held.captured);
	const SubTransactionId subxid = GetCurrentSubTransactionId();
	row[held.natts + 2] = Int64GetDatum((int64)subxid);
	if (held.oldest == InvalidSubTransactionId || subxid < held.oldest)
		held.oldest = subxid;
	if (subxid > held.newest)
		held.newest = subxid;
	row[held.natts + 3] = PointerGetDatum(encoding);
	memset(rownulls + held.natts, 0, sizeof(bool) * kExtraColumns);
	HeapTuple tuple = heap_form_tuple(held.desc, row, rownulls);
	// Not the slot's to free: it stays in this call's memory, so that a slot left holding it by an
	// error in the sort never frees it again later (the memory goes with the subtransaction).
	ExecStoreHeapTuple(tuple, held.put, false);
	in_transaction([&] { tuplesort_puttupleslot(held.sort, held.put); }); // copies it
	ExecClearTuple(held.put);
	held.captured++;
	note_held_command(command);
}

bool command_has_held_entries(CommandId command)
{
	return held_commands != nullptr && hash_search(held_commands, &command, HASH_FIND, nullptr) != nullptr;
}

bool have_held_entries()
{
	return held.sort != nullptr;
}

namespace
{

// Forgets what was held and noted about it; the sort itself is ended (or went with the transaction).
void reset_holding()
{
	if (held.put != nullptr)
		ExecClearTuple(held.put);
	held.ndropped = 0;
	held.captured = 0;
	held.oldest = InvalidSubTransactionId;
	held.newest = InvalidSubTransactionId;
	held.busy = false;
	held.broken = false;
	if (held_commands != nullptr)
		hash_destroy(held_commands);
	held_commands = nullptr;
}

// The sort's resource owner and memory go: its temporary file is closed (and removed) without what is
// buffered being written, so that nothing here raises an error. The sort is gone with them.
void drop_sort_resources()
{
	ResourceOwner owner = held.owner;
	MemoryContext cxt = held.cxt;
	held.owner = nullptr;
	held.cxt = nullptr;
	if (owner != nullptr) {
		ResourceOwnerRelease(owner, RESOURCE_RELEASE_BEFORE_LOCKS, false, false);
		ResourceOwnerRelease(owner, RESOURCE_RELEASE_LOCKS, false, false);
		ResourceOwnerRelease(owner, RESOURCE_RELEASE_AFTER_LOCKS, false, false);
		ResourceOwnerDelete(owner);
	}
	if (cxt != nullptr)
		MemoryContextDelete(cxt);
}

// Nothing is held any more: the sort and its temporary file end now, not with the transaction.
void stop_holding(Tuplesortstate *sort)
{
	in_transaction([&] { tuplesort_end(sort); });
	drop_sort_resources();
	reset_holding();
}

// The same where no error may be raised (an abort, an error being handled): the sort is given up.
void abandon_holding()
{
	if (held.slot != nullptr)
		ExecClearTuple(held.slot);
	drop_sort_resources();
	reset_holding();
}

// Gives the sorted entries their ids and queues them.
void release_sorted(Tuplesortstate *sort)
{
	in_transaction([&] { tuplesort_performsort(sort); });
	MemoryContext per_entry = AllocSetContextCreate(CurrentMemoryContext, "pg_witness held entry", ALLOCSET_DEFAULT_SIZES);
	Datum *values = (Datum *)palloc(sizeof(Datum) * held.natts);
	bool *nulls = (bool *)palloc(sizeof(bool) * held.natts);
	for (;;) {
		CHECK_FOR_INTERRUPTS();
		bool got = false;
		in_transaction([&] { got = tuplesort_gettupleslot(sort, true, true, held.slot, nullptr); });
		if (!got)
			break;
		slot_getallattrs(held.slot);
		const int64 captured = DatumGetInt64(held.slot->tts_values[held.natts + 1]);
		const auto subxid = (SubTransactionId)DatumGetInt64(held.slot->tts_values[held.natts + 2]);
		if (was_dropped(subxid, captured))
			continue;
		MemoryContext saved = MemoryContextSwitchTo(per_entry);
		memcpy(values, held.slot->tts_values, sizeof(Datum) * held.natts);
		memcpy(nulls, held.slot->tts_isnull, sizeof(bool) * held.natts);
		store_under_new_id(values, nulls);
		MemoryContextSwitchTo(saved);
		MemoryContextReset(per_entry);
	}
	ExecClearTuple(held.slot);
	MemoryContextDelete(per_entry);
}

} // namespace

// An error part-way (a cancel, a master key gone) rolls back the statement whose entries these are,
// or the transaction; caught by an exception block, the sort must still be ended: its temporary file
// belongs to the transaction, which may go on and commit.
void release_held_entries()
{
	if (held.sort == nullptr)
		return;
	if (held.broken)
		ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR), errmsg("pg_witness lost entries it held back"),
		                errdetail("An error interrupted holding them; the transaction cannot be recorded in full.")));
	Tuplesortstate *sort = held.sort;
	held.sort = nullptr; // nothing is held any more, whichever way this ends
	PG_TRY();
	{
		release_sorted(sort);
	}
	PG_CATCH();
	{
		abandon_holding(); // not tuplesort_end(): writing out its buffer can fail again
		PG_RE_THROW();
	}
	PG_END_TRY();
	stop_holding(sort);
}

void held_entries_subxact_abort(SubTransactionId subxid)
{
	if (held.sort == nullptr)
		return;
	if (held.oldest >= subxid) {
		// Every held entry goes: end the sort now, or the entries captured after it, seeing entries
		// held, would be held too (capture_trigger.cpp). Its temporary file belongs to the transaction.
		held.sort = nullptr;
		abandon_holding(); // in the abort: nothing may raise an error here
		return;
	}
	if (held.newest < subxid)
		return; // this subtransaction, and those it started, held nothing
	if (held.busy)
		held.broken = true;
	held.busy = false;
	if (held.ndropped == held.maxdropped) {
		const int n = Max(4, held.maxdropped * 2);
		held.dropped = held.dropped == nullptr ? (Dropped *)MemoryContextAlloc(TopMemoryContext, sizeof(Dropped) * n)
		                                       : (Dropped *)repalloc(held.dropped, sizeof(Dropped) * n);
		held.maxdropped = n;
	}
	held.dropped[held.ndropped++] = Dropped{subxid, held.captured};
}

void held_entries_forget()
{
	// The sort's memory and temporary file went with the transaction's context and resource owner.
	held.sort = nullptr;
	held.owner = nullptr; // deleted with the transaction's resource owner, its parent
	held.cxt = nullptr;
	held.desc = nullptr;
	held.put = nullptr;
	held.slot = nullptr;
	held.captured = 0;
	held.oldest = InvalidSubTransactionId;
	held.newest = InvalidSubTransactionId;
	held.ndropped = 0;
	held.busy = false;
	held.broken = false;
	held_commands = nullptr; // its memory went with the transaction's context
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_check_capture_complete);
Datum witness_check_capture_complete(PG_FUNCTION_ARGS);

// witness._check_capture_complete(action): refuses action while changes made so far may still lack
// their entries in witness.entry: a statement that changes rows is running (its capture triggers fire
// when it ends) or entries are held. An erasure run then could not reach them.
Datum witness_check_capture_complete(PG_FUNCTION_ARGS)
{
	using namespace witness::pg;
	if (no_write_running() && !have_held_entries())
		PG_RETURN_VOID();
	const char *action = PG_ARGISNULL(0) ? "cannot do this" : text_to_cstring(PG_GETARG_TEXT_PP(0));
	ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
	                errmsg("%s inside a statement that changes rows", action),
	                errdetail("The changes that statement makes are recorded when it ends, out of this call's reach."),
	                errhint("Run it in a statement of its own, for example later in the same transaction.")));
	PG_RETURN_VOID();
}
}
