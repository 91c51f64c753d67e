#include "pg/activity/activity_queue.hpp"

#include "pg/activity/activity_lost.hpp"

#include "pg/common/settings.hpp"
#include "pg/seal/sealer_registry.hpp"

#include <algorithm>

#include <fcntl.h>
#include <unistd.h>

extern "C" {
#include "catalog/pg_control.h"
#include "commands/dbcommands.h"
#include "common/controldata_utils.h"
#include "storage/condition_variable.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "port/atomics.h"
#include "utils/syscache.h"
#include "utils/wait_event.h"
}

namespace witness::pg
{
namespace
{

enum SlotState : uint32 { Free = 0, Writing, Published, Taken };

// Slots change state by compare-and-swap, without a lock: sixteen sessions recording their reads
// on two cores spent their time waiting for a spinlock whose holder had been descheduled. The states
// are an array of their own (states[i] is slots[i]'s): a drain or a search for a free slot reads
// them all, and with each state beside its 2 kB event that touched a page of shared memory per slot,
// faulted in anew by every sealer pass, a new process (docs/performance.md).
struct Slot {
	uint64 seq; // order of reservation
	ActivityEvent event;
};

struct Queue {
	int size;
	pg_atomic_uint64 next;      // where the search for a free slot starts; also the order of events
	pg_atomic_uint32 nfree;
	pg_atomic_uint32 wake_asked; // a pass was asked for and the queue was not drained since
	ConditionVariable freed;     // broadcast when slots are freed
	// Followed by pg_atomic_uint32 states[size], then Slot slots[size].
};

Queue *queue = nullptr;
pg_atomic_uint32 *states = nullptr;
Slot *slots = nullptr;

// How long a reservation that must not fail waits for a free slot.
constexpr long kReserveWaitMs = 10000;

// An event of a database that no longer exists can never be written: it gives its slot back at the
// next drain, not witness.activity_unclaimed_timeout later. A busy database dropped (or dropped and
// made again under its name, as pg_regress does) left the queue full for ten minutes, and every other
// database lost events meanwhile. Events named by database name only (logins refused before a
// database was chosen) are left to the timeout, unless no database has that name: a login to a
// database that does not exist costs anyone nothing, and held a slot for ten minutes (a review filled
// anyone's half of the queue so). Needs a transaction (the catalog cache): a drain runs in one.
bool database_dropped(const ActivityEvent &e)
{
	if (OidIsValid(e.database))
		return !SearchSysCacheExists1(DATABASEOID, ObjectIdGetDatum(e.database));
	return e.database_name[0] != '\0' && !OidIsValid(get_database_oid(e.database_name, true));
}

// Events that must never happen unrecorded (reads of capture_reads tables, capture control, catalog
// writes): they wait for a slot, and only their own database's drain frees them. Dropping them after
// witness.activity_unclaimed_timeout let a superuser who kept that drain from running (a lock on
// witness.activity) change a tracked table with capture switched off and leave no trace (found by an
// attack review). They are dropped only when their database is gone: not when a sealer pass found
// no pg_witness there, which a superuser can fake (schema witness renamed for a pass, found by a code
// review). A database where pg_witness was dropped keeps them until it is dropped too, or until
// pg_witness is created there again, whose drain then writes them.
bool kept_until_written(const ActivityEvent &e)
{
	const bool must_record = e.kind == ActivityKind::Read || e.kind == ActivityKind::CaptureControl ||
	                         e.kind == ActivityKind::CatalogWrite;
	return must_record && OidIsValid(e.database);
}

// An event of another database that its drain will not take: gone, or unclaimed past the timeout.
bool dropped_by_others(const ActivityEvent &e, TimestampTz unclaimed_before)
{
	if (database_dropped(e))
		return true;
	return e.at < unclaimed_before && !kept_until_written(e);
}

Size queue_bytes(int size)
{
	return add_size(add_size(MAXALIGN(sizeof(Queue)), MAXALIGN(mul_size(sizeof(pg_atomic_uint32), size))),
	                mul_size(sizeof(Slot), size));
}

bool swap_state(int i, uint32 from, uint32 to)
{
	return pg_atomic_compare_exchange_u32(&states[i], &from, to);
}

void free_slot(int i)
{
	pg_atomic_write_u32(&states[i], Free);
	pg_atomic_fetch_add_u32(&queue->nfree, 1);
}

// The slots this backend took for a drain: freed at commit, published again at abort.
int *taken = nullptr;
int *taken_level = nullptr; // the (sub)transaction nest level that took each slot
int ntaken = 0;
int maxtaken = 0;
bool xact_callback_registered = false;

void release_taken(bool committed)
{
	if (committed)
		lost_on_commit();
	else
		lost_on_abort(0);
	if (ntaken == 0)
		return;
	for (int i = 0; i < ntaken; i++) {
		if (committed) {
			free_slot(taken[i]);
		} else {
			pg_atomic_write_u32(&states[taken[i]], Published);
		}
	}
	ntaken = 0;
	if (committed) {
		pg_atomic_write_u32(&queue->wake_asked, 0);
		ConditionVariableBroadcast(&queue->freed);
	}
}

// A drain in a subtransaction that rolls back (ROLLBACK TO SAVEPOINT, a PL/pgSQL EXCEPTION block) wrote
// no rows: its slots are published again now, not freed when the top transaction commits.
void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void *)
{
	const int level = GetCurrentTransactionNestLevel();
	if (event == SUBXACT_EVENT_ABORT_SUB)
		lost_on_abort(level);
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
		lost_on_subcommit(level);
	if (ntaken == 0)
		return;
	if (event == SUBXACT_EVENT_COMMIT_SUB) {
		for (int i = 0; i < ntaken; i++)
			if (taken_level[i] >= level)
				taken_level[i] = level - 1;
	} else if (event == SUBXACT_EVENT_ABORT_SUB) {
		int kept = 0;
		for (int i = 0; i < ntaken; i++) {
			if (taken_level[i] >= level) {
				pg_atomic_write_u32(&states[taken[i]], Published);
			} else {
				taken[kept] = taken[i];
				taken_level[kept] = taken_level[i];
				kept++;
			}
		}
		ntaken = kept;
	}
}

// A prepared transaction would keep the drained slots past PREPARE: freed by this backend's next
// commit while ROLLBACK PREPARED throws the rows away (a review lost events so). Refused instead.
void on_xact(XactEvent event, void *)
{
	if (event == XACT_EVENT_PRE_PREPARE && (ntaken > 0 || lost_taken()))
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("cannot prepare a transaction that wrote pg_witness activity records"),
		                errdetail("The records it took from the activity queue would be lost if it were rolled back later."),
		                errhint("Commit the transaction instead, or call witness.flush_activity() in a transaction of its own.")));
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
		release_taken(true);
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		release_taken(false);
}

// A free slot, now Writing, or -1 when none is free. Starts where the last search ended, so that
// slots are reused round the queue and a search usually succeeds at once.
int claim_free()
{
	if (pg_atomic_read_u32(&queue->nfree) == 0)
		return -1;
	for (int tries = 0; tries < queue->size; tries++) {
		const uint64 ticket = pg_atomic_fetch_add_u64(&queue->next, 1);
		const int i = (int)(ticket % queue->size);
		if (pg_atomic_read_u32(&states[i]) == Free && swap_state(i, Free, Writing)) {
			pg_atomic_fetch_sub_u32(&queue->nfree, 1);
			slots[i].seq = ticket;
			return i;
		}
	}
	return -1;
}

ActivityEvent *fresh(int i)
{
	ActivityEvent *e = &slots[i].event;
	memset(e, 0, offsetof(ActivityEvent, statement) + 1);
	e->at = GetCurrentTimestamp();
	e->rows = -1;
	return e;
}

// At a clean shutdown the postmaster saves the events no sealer wrote yet, and loads them at the
// next start (as pg_stat_statements keeps its statistics). A crash loses them.
constexpr const char *kSaveFile = "pg_witness_activity.saved";
// Present while the queue lives, removed once a clean shutdown has saved it: found at a start, it says
// the server stopped without saving (crashed, or the postmaster was killed). A superuser who switched
// capture off and then crashed the server lost that record with the queue, unseen, until this (an
// attack review). In pg_stat_tmp, whose contents a base backup leaves out: a standby made from one
// lost nothing of its own.
constexpr const char *kLiveFile = "pg_stat_tmp/pg_witness_activity.live";
constexpr uint32 kSaveMagic = 0x57414332; // "WAC2"

// Followed by noted_count Oids, then count events.
struct SaveHeader {
	uint32 magic;
	uint32 event_bytes; // sizeof(ActivityEvent) of the library that wrote the file
	uint64 lost;
	int32 count;
	// A restart's note not yet written by every database (lost_restart_note()): a clean shutdown
	// before a drain wrote it lost it, and the record of capture switched off with it (a review).
	TimestampTz restarted_at;
	int32 noted_count;
};

void save_queue(int code, Datum)
{
	if (code != 0 || queue == nullptr)
		return;
	FILE *f = AllocateFile(kSaveFile, PG_BINARY_W);
	if (f == nullptr)
		return;
	static Oid noted[kLostNotedDatabases];
	int noted_count = 0;
	const TimestampTz restarted_at = lost_restart_note(noted, &noted_count);
	SaveHeader h = {kSaveMagic, (uint32)sizeof(ActivityEvent), lost_total(), 0, restarted_at, noted_count};
	for (int i = 0; i < queue->size; i++) {
		const uint32 st = pg_atomic_read_u32(&states[i]);
		h.count += st != Free ? 1 : 0;
	}
	bool ok = fwrite(&h, sizeof(h), 1, f) == 1;
	ok = ok && (noted_count == 0 || fwrite(noted, sizeof(Oid), noted_count, f) == (size_t)noted_count);
	for (int i = 0; ok && i < queue->size; i++)
		if (pg_atomic_read_u32(&states[i]) != Free)
			ok = fwrite(&slots[i].event, sizeof(ActivityEvent), 1, f) == 1;
	if (FreeFile(f) != 0 || !ok) {
		ereport(LOG, (errcode_for_file_access(), errmsg("pg_witness: could not save the activity queue to \"%s\"", kSaveFile)));
		unlink(kSaveFile);
		return; // the marker stays: the next start notes the events as lost
	}
	unlink(kLiveFile);
}

// Whether pg_control says the server was running when it stopped, with no queue saved since: a
// superuser who removed kLiveFile before killing the postmaster is still found out. Not for a
// restored base backup (backup_label), whose pg_control is the running source's, nor a server in
// recovery, which drains nothing.
bool stopped_while_running()
{
	if (access(kSaveFile, F_OK) == 0 || access("backup_label", F_OK) == 0)
		return false;
	bool crc_ok = false;
	ControlFileData *control = get_controlfile(DataDir, &crc_ok);
	const bool running = crc_ok && control->state == DB_IN_PRODUCTION;
	pfree(control);
	return running;
}

// Marks the queue live (kLiveFile), durably: an operating-system crash must not lose the mark.
void mark_queue_live()
{
	const int fd = OpenTransientFile(kLiveFile, O_CREAT | O_WRONLY | PG_BINARY);
	if (fd < 0) {
		ereport(LOG, (errcode_for_file_access(), errmsg("pg_witness: could not create \"%s\": %m", kLiveFile)));
		return;
	}
	CloseTransientFile(fd);
	fsync_fname(kLiveFile, false);
	fsync_fname("pg_stat_tmp", true);
}

// A saved event as a server writes it: known kind and outcome, every string terminated. (The file
// lives in the data directory, where only the server's user and superusers write.)
bool plausible(ActivityEvent *e)
{
	auto terminated = [](const char *str, size_t size) { return memchr(str, '\0', size) != nullptr; };
	return (int)e->kind >= (int)ActivityKind::Read && (int)e->kind <= (int)ActivityKind::CatalogWrite &&
	       (int)e->outcome >= (int)ActivityOutcome::Success && (int)e->outcome <= (int)ActivityOutcome::Failed &&
	       terminated(e->database_name, sizeof(e->database_name)) &&
	       terminated(e->session_user, sizeof(e->session_user)) &&
	       terminated(e->current_user, sizeof(e->current_user)) &&
	       terminated(e->application_name, sizeof(e->application_name)) &&
	       terminated(e->client_addr, sizeof(e->client_addr)) && terminated(e->actor, sizeof(e->actor)) &&
	       terminated(e->object, sizeof(e->object)) && terminated(e->sqlstate, sizeof(e->sqlstate)) &&
	       terminated(e->message, sizeof(e->message)) && terminated(e->statement, sizeof(e->statement));
}

// Publishes the saved events again (as many as fit), then removes the file.
void load_queue()
{
	FILE *f = AllocateFile(kSaveFile, PG_BINARY_R);
	if (f == nullptr)
		return;
	SaveHeader h;
	static Oid noted[kLostNotedDatabases];
	if (fread(&h, sizeof(h), 1, f) == 1 && h.magic == kSaveMagic && h.event_bytes == sizeof(ActivityEvent) &&
	    h.noted_count >= 0 && h.noted_count <= kLostNotedDatabases &&
	    (h.noted_count == 0 || fread(noted, sizeof(Oid), h.noted_count, f) == (size_t)h.noted_count)) {
		if (h.restarted_at != 0)
			lost_note_restart(h.restarted_at, noted, h.noted_count);
		int loaded = 0;
		for (int k = 0; k < h.count; k++) {
			if (loaded == queue->size) {
				lost_add_unnamed(1);
				continue;
			}
			Slot *s = &slots[loaded];
			if (fread(&s->event, sizeof(ActivityEvent), 1, f) != 1)
				break;
			if (!plausible(&s->event))
				continue;
			s->seq = pg_atomic_fetch_add_u64(&queue->next, 1);
			pg_atomic_write_u32(&states[loaded], Published);
			loaded++;
		}
		pg_atomic_write_u32(&queue->nfree, queue->size - loaded);
		lost_add_unnamed(h.lost);
		ereport(LOG, (errmsg("pg_witness: %d activity events saved at shutdown are queued again", loaded)));
	} else {
		ereport(LOG, (errmsg("pg_witness: ignored \"%s\", written by another version", kSaveFile)));
	}
	FreeFile(f);
	unlink(kSaveFile);
}

// Past half full, the sealer of this database is asked for a pass now (once until a drain).
void ask_for_drain()
{
	if (pg_atomic_read_u32(&queue->nfree) >= (uint32)queue->size / 2 || !OidIsValid(MyDatabaseId) ||
	    !sealer_registry_attached())
		return;
	uint32 no = 0;
	if (pg_atomic_compare_exchange_u32(&queue->wake_asked, &no, 1))
		registry_wake(MyDatabaseId);
}

} // namespace

const char *activity_kind_name(ActivityKind kind)
{
	switch (kind) {
	case ActivityKind::Read:
		return "read";
	case ActivityKind::TrailRead:
		return "trail read";
	case ActivityKind::Login:
		return "login";
	case ActivityKind::Denied:
		return "denied";
	case ActivityKind::Call:
		return "call";
	case ActivityKind::CaptureControl:
		return "capture control";
	case ActivityKind::CatalogWrite:
		return "catalog write";
	}
	return "unknown";
}

const char *activity_outcome_name(ActivityOutcome outcome)
{
	switch (outcome) {
	case ActivityOutcome::Success:
		return "success";
	case ActivityOutcome::Denied:
		return "denied";
	case ActivityOutcome::Failed:
		return "failed";
	}
	return "unknown";
}

void activity_queue_request()
{
	RequestAddinShmemSpace(queue_bytes(setting_activity_queue_size));
	lost_request();
}

void activity_queue_startup()
{
	bool found;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	lost_startup(); // before load_queue(), which adds the saved count
	const int size = setting_activity_queue_size;
	queue = (Queue *)ShmemInitStruct("pg_witness activity queue", queue_bytes(size), &found);
	states = (pg_atomic_uint32 *)((char *)queue + MAXALIGN(sizeof(Queue)));
	slots = (Slot *)((char *)states + MAXALIGN(sizeof(pg_atomic_uint32) * size));
	if (!found) {
		queue->size = size;
		pg_atomic_init_u64(&queue->next, 1);
		pg_atomic_init_u32(&queue->nfree, size);
		pg_atomic_init_u32(&queue->wake_asked, 0);
		ConditionVariableInit(&queue->freed);
		for (int i = 0; i < size; i++)
			pg_atomic_init_u32(&states[i], Free);
		// Only what a clean shutdown saved, at the postmaster's first start: after a crash the shared
		// memory is made anew, and a file found then was not written by a shutdown.
		static bool started_before = false;
		// Shared memory made again after a crash, or a first start that finds the mark of a queue no
		// clean shutdown saved: events queued then are lost, how many is not known.
		const bool unclean = started_before || access(kLiveFile, F_OK) == 0 || stopped_while_running();
		if (!started_before)
			load_queue();
		else
			unlink(kSaveFile);
		started_before = true;
		mark_queue_live();
		if (unclean) {
			lost_note_restart(GetCurrentTimestamp());
			ereport(LOG, (errmsg("pg_witness: the server did not stop cleanly; activity events queued before are lost"),
			              errdetail("The next pass of a sealer writes a row of kind lost into witness.activity, which raises the capture_off alert.")));
		}
	}
	LWLockRelease(AddinShmemInitLock);
	if (!IsUnderPostmaster)
		on_shmem_exit(save_queue, (Datum)0);
}

int activity_open_limit()
{
	return queue == nullptr ? 0 : Max(4, queue->size / 8);
}

bool activity_queue_attached()
{
	return queue != nullptr;
}

void activity_count_lost()
{
	if (queue != nullptr)
		lost_count_mine();
}

ActivityEvent *activity_reserve(ActivityPriority priority, bool count_lost)
{
	if (queue == nullptr)
		return nullptr;
	const bool wait = priority == ActivityPriority::Required;
	// Events that are only counted when they do not fit (those of a database without a sealer keep
	// their slot 10 minutes) keep out of the part of the queue their priority leaves to others.
	const uint32 kept = priority == ActivityPriority::Anyone ? (uint32)queue->size / 2 : (uint32)queue->size / 4;
	if (!wait && pg_atomic_read_u32(&queue->nfree) <= kept) {
		ask_for_drain();
		if (count_lost)
			activity_count_lost();
		return nullptr;
	}
	int i = claim_free();
	ask_for_drain();
	if (i >= 0)
		return fresh(i);
	if (!wait) {
		if (count_lost)
			activity_count_lost();
		return nullptr;
	}
	const TimestampTz give_up = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kReserveWaitMs);
	ConditionVariablePrepareToSleep(&queue->freed);
	for (;;) {
		i = claim_free();
		if (i >= 0)
			break;
		long left = TimestampDifferenceMilliseconds(GetCurrentTimestamp(), give_up);
		if (left <= 0) {
			ConditionVariableCancelSleep();
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_RESOURCES),
			                errmsg("pg_witness cannot record this statement: its activity queue is full"),
			                errdetail("All %d slots of witness.activity_queue_size hold events no sealer has "
			                          "written yet; what must be recorded is refused instead.",
			                          queue->size),
			                errhint("Check that the background sealer runs (witness.seal_status) or call "
			                        "witness.flush_activity(); raise witness.activity_queue_size.")));
		}
		ask_for_drain();
		(void)ConditionVariableTimedSleep(&queue->freed, Min(left, 100L), PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return fresh(i);
}

void activity_publish(ActivityEvent *event)
{
	Slot *s = (Slot *)((char *)event - offsetof(Slot, event));
	pg_write_barrier(); // the event's fields before its state
	pg_atomic_write_u32(&states[s - slots], Published);
}

int activity_take(Oid database, const char *database_name, int *out)
{
	if (queue == nullptr)
		return 0;
	if (!xact_callback_registered) {
		RegisterXactCallback(on_xact, nullptr);
		RegisterSubXactCallback(on_subxact, nullptr);
		xact_callback_registered = true;
	}
	if (taken == nullptr) {
		maxtaken = queue->size;
		taken = (int *)MemoryContextAlloc(TopMemoryContext, sizeof(int) * maxtaken);
		taken_level = (int *)MemoryContextAlloc(TopMemoryContext, sizeof(int) * maxtaken);
	}
	// Nothing queued (the usual case where no read is recorded): the scan would read every slot's
	// state for nothing.
	if (pg_atomic_read_u32(&queue->nfree) == (uint32)queue->size)
		return 0;
	const int level = GetCurrentTransactionNestLevel();
	const TimestampTz unclaimed_before =
	    TimestampTzPlusMilliseconds(GetCurrentTimestamp(), -(int64)setting_activity_unclaimed_ms);
	int n = 0;
	int dropped = 0;
	for (int i = 0; i < queue->size && ntaken < maxtaken; i++) {
		if (pg_atomic_read_u32(&states[i]) != Published)
			continue;
		pg_read_barrier(); // the state before the event's fields
		const ActivityEvent &e = slots[i].event;
		auto mine = [&]() {
			return OidIsValid(e.database) ? e.database == database
			                              : strncmp(e.database_name, database_name, NAMEDATALEN) == 0;
		};
		const bool was_mine = mine();
		if (!(was_mine || dropped_by_others(e, unclaimed_before)) || !swap_state(i, Published, Taken))
			continue;
		// Between the look and the swap, the slot may have been freed and filled with another event
		// (the catalog lookup of dropped_by_others() widens that window): decide on the event now held.
		pg_read_barrier();
		if (was_mine != mine() || (!was_mine && !dropped_by_others(e, unclaimed_before))) {
			pg_atomic_write_u32(&states[i], Published);
			continue;
		}
		if (was_mine) {
			out[n++] = i;
			taken_level[ntaken] = level;
			taken[ntaken++] = i;
		} else {
			lost_count(e.database_name, e.session_user,
			           !(e.kind == ActivityKind::Login && e.outcome == ActivityOutcome::Denied));
			free_slot(i);
			dropped++;
		}
	}
	if (dropped > 0)
		ConditionVariableBroadcast(&queue->freed);
	// Oldest first.
	std::sort(out, out + n, [](int a, int b) { return slots[a].seq < slots[b].seq; });
	return n;
}

const ActivityEvent *activity_slot(int slot)
{
	return &slots[slot].event;
}

// Whether this backend's transaction took slot i: it is written when that transaction commits.
static bool taken_here(int i)
{
	for (int k = 0; k < ntaken; k++)
		if (taken[k] == i)
			return true;
	return false;
}

int activity_queued_before(Oid database, TimestampTz before)
{
	if (queue == nullptr || pg_atomic_read_u32(&queue->nfree) == (uint32)queue->size)
		return 0;
	int n = 0;
	for (int i = 0; i < queue->size; i++) {
		const uint32 st = pg_atomic_read_u32(&states[i]);
		if (st != Published && st != Taken)
			continue;
		pg_read_barrier(); // the state before the event's fields
		const ActivityEvent &e = slots[i].event;
		if (e.database == database && e.at < before && !(st == Taken && taken_here(i)))
			n++;
	}
	return n;
}

uint64 activity_take_lost(StringInfo whose, TimestampTz *restarted_at)
{
	*restarted_at = 0;
	return queue == nullptr ? 0 : lost_take(whose, restarted_at);
}

int activity_queue_capacity()
{
	return queue == nullptr ? 0 : queue->size;
}

} // namespace witness::pg
