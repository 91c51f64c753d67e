#include "pg/activity/activity_queue.hpp"

#include "pg/common/settings.hpp"
#include "pg/seal/sealer_registry.hpp"

#include <algorithm>

extern "C" {
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/wait_event.h"
}

namespace witness::pg
{
namespace
{

enum SlotState : uint32 { Free = 0, Writing, Published, Taken };

struct Slot {
	SlotState state;
	uint64 seq; // order of reservation
	ActivityEvent event;
};

struct Queue {
	slock_t mutex;
	int size;
	int nfree;
	int published;
	uint64 next_seq;
	uint64 lost;
	ConditionVariable freed; // broadcast when slots are freed
	// Followed by int free_stack[size] and Slot slots[size].
};

Queue *queue = nullptr;
int *free_stack = nullptr;
Slot *slots = nullptr;

// An event of another database not taken this long is dropped by the next drain of any database
// and counted as lost: its database has no pg_witness, or no sealer runs there.
constexpr long kUnclaimedMs = 10 * 60 * 1000;
// How long a reservation that must not fail waits for a free slot.
constexpr long kReserveWaitMs = 10000;

Size queue_bytes(int size)
{
	return add_size(add_size(MAXALIGN(sizeof(Queue)), MAXALIGN(mul_size(sizeof(int), size))),
	                mul_size(sizeof(Slot), size));
}

// The slots this backend took for a drain: freed at commit, published again at abort.
int *taken = nullptr;
int ntaken = 0;
int maxtaken = 0;
bool xact_callback_registered = false;

void release_taken(bool committed)
{
	if (ntaken == 0)
		return;
	SpinLockAcquire(&queue->mutex);
	for (int i = 0; i < ntaken; i++) {
		Slot *s = &slots[taken[i]];
		if (committed) {
			s->state = Free;
			free_stack[queue->nfree++] = taken[i];
		} else {
			s->state = Published;
			queue->published++;
		}
	}
	SpinLockRelease(&queue->mutex);
	ntaken = 0;
	if (committed)
		ConditionVariableBroadcast(&queue->freed);
}

void on_xact(XactEvent event, void *)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_PARALLEL_COMMIT)
		release_taken(true);
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		release_taken(false);
}

// Called with the mutex held. A slot off the free stack, or -1.
int pop_free()
{
	if (queue->nfree == 0)
		return -1;
	int i = free_stack[--queue->nfree];
	slots[i].state = Writing;
	slots[i].seq = queue->next_seq++;
	return i;
}

ActivityEvent *fresh(int i)
{
	ActivityEvent *e = &slots[i].event;
	memset(e, 0, offsetof(ActivityEvent, statement) + 1);
	e->at = GetCurrentTimestamp();
	e->rows = -1;
	return e;
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
}

void activity_queue_startup()
{
	bool found;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	const int size = setting_activity_queue_size;
	queue = (Queue *)ShmemInitStruct("pg_witness activity queue", queue_bytes(size), &found);
	free_stack = (int *)((char *)queue + MAXALIGN(sizeof(Queue)));
	slots = (Slot *)((char *)free_stack + MAXALIGN(mul_size(sizeof(int), size)));
	if (!found) {
		SpinLockInit(&queue->mutex);
		queue->size = size;
		queue->nfree = size;
		queue->published = 0;
		queue->next_seq = 1;
		queue->lost = 0;
		ConditionVariableInit(&queue->freed);
		for (int i = 0; i < size; i++) {
			free_stack[i] = size - 1 - i;
			slots[i].state = Free;
		}
	}
	LWLockRelease(AddinShmemInitLock);
}

bool activity_queue_attached()
{
	return queue != nullptr;
}

ActivityEvent *activity_reserve(bool wait)
{
	if (queue == nullptr)
		return nullptr;
	SpinLockAcquire(&queue->mutex);
	int i = pop_free();
	const bool half_full = queue->nfree < queue->size / 2;
	if (i < 0 && !wait)
		queue->lost++;
	SpinLockRelease(&queue->mutex);
	// The sealer drains the queue; asking for a pass early keeps readers from waiting.
	if (half_full && OidIsValid(MyDatabaseId) && sealer_registry_attached())
		registry_wake(MyDatabaseId);
	if (i >= 0)
		return fresh(i);
	if (!wait)
		return nullptr;
	const TimestampTz give_up = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), kReserveWaitMs);
	ConditionVariablePrepareToSleep(&queue->freed);
	for (;;) {
		SpinLockAcquire(&queue->mutex);
		i = pop_free();
		SpinLockRelease(&queue->mutex);
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
		if (OidIsValid(MyDatabaseId) && sealer_registry_attached())
			registry_wake(MyDatabaseId);
		(void)ConditionVariableTimedSleep(&queue->freed, Min(left, 100L), PG_WAIT_EXTENSION);
	}
	ConditionVariableCancelSleep();
	return fresh(i);
}

void activity_publish(ActivityEvent *event)
{
	Slot *s = (Slot *)((char *)event - offsetof(Slot, event));
	SpinLockAcquire(&queue->mutex);
	s->state = Published;
	queue->published++;
	SpinLockRelease(&queue->mutex);
}

int activity_take(Oid database, const char *database_name, int *out)
{
	if (queue == nullptr)
		return 0;
	if (!xact_callback_registered) {
		RegisterXactCallback(on_xact, nullptr);
		xact_callback_registered = true;
	}
	if (taken == nullptr) {
		maxtaken = queue->size;
		taken = (int *)MemoryContextAlloc(TopMemoryContext, sizeof(int) * maxtaken);
	}
	const TimestampTz unclaimed_before = TimestampTzPlusMilliseconds(GetCurrentTimestamp(), -kUnclaimedMs);
	int n = 0;
	int dropped = 0;
	SpinLockAcquire(&queue->mutex);
	for (int i = 0; i < queue->size && ntaken < maxtaken; i++) {
		Slot *s = &slots[i];
		if (s->state != Published)
			continue;
		const ActivityEvent &e = s->event;
		const bool mine = OidIsValid(e.database) ? e.database == database
		                                         : strncmp(e.database_name, database_name, NAMEDATALEN) == 0;
		if (mine) {
			s->state = Taken;
			out[n++] = i;
			taken[ntaken++] = i;
		} else if (e.at < unclaimed_before) {
			s->state = Free;
			free_stack[queue->nfree++] = i;
			queue->lost++;
			dropped++;
		}
	}
	queue->published -= n + dropped;
	SpinLockRelease(&queue->mutex);
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

uint64 activity_take_lost()
{
	if (queue == nullptr)
		return 0;
	SpinLockAcquire(&queue->mutex);
	uint64 lost = queue->lost;
	queue->lost = 0;
	SpinLockRelease(&queue->mutex);
	return lost;
}

void activity_counts(int *waiting, int *size)
{
	*waiting = 0;
	*size = 0;
	if (queue == nullptr)
		return;
	SpinLockAcquire(&queue->mutex);
	*waiting = queue->published;
	*size = queue->size;
	SpinLockRelease(&queue->mutex);
}

} // namespace witness::pg
