#include "pg/capture/entry_ids.hpp"

#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "catalog/pg_sequence.h"
#include "commands/sequence.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/fmgrprotos.h"
#include "utils/syscache.h"
}

namespace witness::pg
{
namespace
{

constexpr const char *kTrancheName = "pg_witness entry ids";
// Databases whose counters live in shared memory at once. A further one takes the place of the one
// that reserved a run longest ago; that database reserves a fresh run from its sequence next time.
constexpr int kSlots = 64;

// One database's counter: ids [next, limit) are reserved in its sequence and not handed out yet.
// db and seq change only under Table::lock held exclusively, and also under mutex; next and limit only
// under mutex. A backend hands out an id only after finding db and seq its own under mutex.
struct Slot {
	slock_t mutex;
	Oid db;  // InvalidOid: free
	Oid seq; // witness.entry_id_seq of that database (a recreated extension has a new one)
	uint64 next;
	uint64 limit;
	uint64 reserved_at; // Table::clock when it last reserved a run: the oldest gives way
	LWLock *reserve;    // held while reserving a run, so that one backend does it at a time
};

struct Table {
	LWLock *lock;
	uint64 clock;
	Slot slots[kSlots];
};

Table *table = nullptr;
int cached_slot = -1; // this backend's last slot: checked under its mutex before each use

bool owns(const Slot *s, Oid seq)
{
	return s->db == MyDatabaseId && s->seq == seq;
}

// Hands out the next reserved id of the slot when it is this database's and has one left.
bool take(Slot *s, Oid seq, int64 *id)
{
	bool taken = false;
	SpinLockAcquire(&s->mutex);
	if (owns(s, seq) && s->next < s->limit) {
		*id = (int64)s->next++;
		taken = true;
	}
	SpinLockRelease(&s->mutex);
	return taken;
}

int find(Oid seq)
{
	for (int i = 0; i < kSlots; i++)
		if (owns(&table->slots[i], seq))
			return i;
	return -1;
}

// This database's slot, claimed (a free one, else the one that reserved longest ago) when it has none.
int slot_for(Oid seq)
{
	if (cached_slot >= 0 && owns(&table->slots[cached_slot], seq))
		return cached_slot;
	LWLockAcquire(table->lock, LW_SHARED);
	int i = find(seq);
	LWLockRelease(table->lock);
	if (i < 0) {
		LWLockAcquire(table->lock, LW_EXCLUSIVE);
		i = find(seq); // claimed by another backend meanwhile
		if (i < 0) {
			i = 0;
			for (int j = 0; j < kSlots; j++) {
				if (table->slots[j].db == InvalidOid) {
					i = j;
					break;
				}
				if (table->slots[j].reserved_at < table->slots[i].reserved_at)
					i = j;
			}
			Slot *s = &table->slots[i];
			SpinLockAcquire(&s->mutex);
			s->db = MyDatabaseId;
			s->seq = seq;
			s->next = s->limit = 0;
			s->reserved_at = table->clock;
			SpinLockRelease(&s->mutex);
		}
		LWLockRelease(table->lock);
	}
	cached_slot = i;
	return i;
}

// The sequence's increment: the length of the run one nextval() reserves.
int64 sequence_increment(Oid seq)
{
	HeapTuple tup = SearchSysCache1(SEQRELID, ObjectIdGetDatum(seq));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "pg_witness: cache lookup failed for sequence %u", seq);
	int64 increment = ((Form_pg_sequence)GETSTRUCT(tup))->seqincrement;
	ReleaseSysCache(tup);
	if (increment < 1)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("witness.entry_id_seq must count upwards"),
		                errdetail("Its increment is %lld; entry ids must follow the order of capture.", (long long)increment),
		                errhint("ALTER SEQUENCE witness.entry_id_seq INCREMENT BY 1024;")));
	return increment;
}

// setval(seq, value) as the sequence's owner: the role whose change is captured has no right to it.
void set_sequence_as_owner(Oid seq, int64 value)
{
	Oid owner = relation_owner(seq);
	Oid save_userid;
	int save_sec;
	GetUserIdAndSecContext(&save_userid, &save_sec);
	SetUserIdAndSecContext(owner, save_sec | SECURITY_LOCAL_USERID_CHANGE | SECURITY_RESTRICTED_OPERATION);
	PG_TRY();
	{
		DirectFunctionCall2(setval_oid, ObjectIdGetDatum(seq), Int64GetDatum(value));
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(save_userid, save_sec);
	}
	PG_END_TRY();
}

// Reserves the next run of ids for the slot (its reserve lock held). The run starts at or after every
// id the slot has handed out: a sequence set back (setval, or CYCLE) is first moved past them, so
// that no id is handed out twice and ids keep the order of capture.
void reserve_run(Slot *s, Oid seq)
{
	for (int attempt = 0;; attempt++) {
		int64 start = nextval_internal(seq, false);
		int64 increment = sequence_increment(seq);
		SpinLockAcquire(&s->mutex);
		const bool mine = owns(s, seq);
		const uint64 floor = s->next;
		if (mine && (uint64)start >= floor) {
			s->next = (uint64)start;
			s->limit = (uint64)start + (uint64)Min(increment, PG_INT64_MAX - start);
		}
		SpinLockRelease(&s->mutex);
		if (!mine || (uint64)start >= floor)
			break; // reserved; or the slot went to another database, and the caller looks again
		if (attempt > 0)
			elog(ERROR, "pg_witness: witness.entry_id_seq keeps returning ids already handed out");
		ereport(LOG, (errmsg("pg_witness: witness.entry_id_seq was set back to %lld below entry ids already handed out",
		                     (long long)start),
		              errdetail("It is moved on to %llu, so that no id is handed out twice.", (unsigned long long)floor)));
		set_sequence_as_owner(seq, (int64)floor);
	}
	LWLockAcquire(table->lock, LW_EXCLUSIVE);
	s->reserved_at = ++table->clock;
	LWLockRelease(table->lock);
}

} // namespace

void entry_ids_request()
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(Table)));
	RequestNamedLWLockTranche(kTrancheName, 1 + kSlots);
}

void entry_ids_startup()
{
	bool found;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	table = (Table *)ShmemInitStruct(kTrancheName, sizeof(Table), &found);
	if (!found) {
		memset(table, 0, sizeof(Table));
		LWLockPadded *locks = GetNamedLWLockTranche(kTrancheName);
		table->lock = &locks[0].lock;
		for (int i = 0; i < kSlots; i++) {
			SpinLockInit(&table->slots[i].mutex);
			table->slots[i].reserve = &locks[1 + i].lock;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

int64 next_entry_id(Oid seq)
{
	if (table == nullptr)
		return nextval_internal(seq, false);
	for (;;) {
		Slot *s = &table->slots[slot_for(seq)];
		int64 id;
		if (take(s, seq, &id))
			return id;
		LWLockAcquire(s->reserve, LW_EXCLUSIVE);
		if (!take(s, seq, &id)) // another backend may have reserved a run meanwhile
			reserve_run(s, seq); // an error here releases the lock with the transaction
		LWLockRelease(s->reserve);
		if (take(s, seq, &id))
			return id;
	}
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_allocated_entry_id);
Datum witness_allocated_entry_id(PG_FUNCTION_ARGS);

// witness._allocated_entry_id(): the last entry id this database's counter handed out (ids after it
// are all larger), NULL when the counter has not reserved a run since the server started.
Datum witness_allocated_entry_id(PG_FUNCTION_ARGS)
{
	using namespace witness::pg;
	if (table == nullptr)
		PG_RETURN_NULL();
	const Oid seq = entry_seq_relid();
	LWLockAcquire(table->lock, LW_SHARED);
	int i = find(seq);
	LWLockRelease(table->lock);
	if (i < 0)
		PG_RETURN_NULL();
	Slot *s = &table->slots[i];
	bool known = false;
	uint64 next = 0;
	SpinLockAcquire(&s->mutex);
	if (owns(s, seq) && s->limit > 0) {
		known = true;
		next = s->next;
	}
	SpinLockRelease(&s->mutex);
	if (!known)
		PG_RETURN_NULL();
	PG_RETURN_INT64((int64)next - 1);
}
}
