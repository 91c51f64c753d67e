#include "pg/seal/sealer_registry.hpp"

#include "core/seal_schedule.hpp"
#include "pg/common/settings.hpp"

extern "C" {
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
}

namespace witness::pg
{
namespace
{

constexpr const char *kTrancheName = "pg_witness sealer";

// A database's record: its schedule (core/seal_schedule.hpp) in Registry::schedule at the same index,
// and what the status view shows.
struct DbRecord {
	Oid db; // valid while schedule[i].in_use
	bool reported; // the running worker reported its pass
	TimestampTz last_pass_at;
	PassResult last_result;
	TimestampTz last_error_at;
	char last_error[kSealerErrorBytes];
	PassMemory memory;
	VerificationSummary verification;
	TimestampTz verify_counting_from; // the first verification is due an interval after this
	TimestampTz maintainer_claimed_at; // a maintainer was started for the database (0: none runs)
	pid_t maintainer_pid;              // and has started (0: not yet)
	Latch *maintainer_latch;           // the running maintainer's, set when a round is asked for
	bool maintainer_round_asked;       // a sealer asked for a round since the maintainer's last one
};

struct Registry {
	LWLock *lock;
	Latch *launcher_latch; // nullptr while no launcher runs
	int used;              // records [0, used) may be in use
	SealSchedule schedule[kMaxSealedDatabases];
	DbRecord records[kMaxSealedDatabases];
	uint64 maintainer_no_room; // how many claims found every maintainer place taken
	int seal_interval_seen;    // witness.seal_interval as a launcher last saw it (kept across launchers)
};

Registry *registry = nullptr;

// Callers hold the lock. Index of the database's record, or -1.
int find(Oid db)
{
	for (int i = 0; i < registry->used; i++)
		if (registry->schedule[i].in_use && registry->records[i].db == db)
			return i;
	return -1;
}

int add(Oid db)
{
	int i = 0;
	while (i < registry->used && registry->schedule[i].in_use)
		i++;
	if (i == registry->used) {
		if (registry->used == kMaxSealedDatabases)
			return -1;
		registry->used++;
	}
	memset(&registry->schedule[i], 0, sizeof(SealSchedule));
	memset(&registry->records[i], 0, sizeof(DbRecord));
	registry->schedule[i].in_use = true;
	registry->records[i].db = db;
	return i;
}

void launcher_exit(int, Datum)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	registry->launcher_latch = nullptr;
	LWLockRelease(registry->lock);
}

} // namespace

const char *pass_result_name(PassResult r)
{
	switch (r) {
	case PassResult::None:
		return nullptr;
	case PassResult::Sealed:
		return "sealed";
	case PassResult::NothingToSeal:
		return "nothing to seal";
	case PassResult::Busy:
		return "busy";
	case PassResult::NotInstalled:
		return "not installed";
	case PassResult::Failed:
		return "failed";
	case PassResult::Lost:
		return "lost";
	}
	return nullptr;
}

void sealer_registry_request()
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(Registry)));
	RequestNamedLWLockTranche(kTrancheName, 1);
}

void sealer_registry_startup()
{
	bool found;
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	registry = (Registry *)ShmemInitStruct(kTrancheName, sizeof(Registry), &found);
	if (!found) {
		memset(registry, 0, sizeof(Registry));
		registry->lock = &(GetNamedLWLockTranche(kTrancheName))->lock;
		registry->seal_interval_seen = setting_seal_interval_ms;
	}
	LWLockRelease(AddinShmemInitLock);
}

bool sealer_registry_attached()
{
	return registry != nullptr;
}

void registry_launcher_started(Latch *latch)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	registry->launcher_latch = latch;
	// Workers of a previous launcher are not ours to wait for any more.
	for (int i = 0; i < registry->used; i++)
		registry->schedule[i].running = false;
	LWLockRelease(registry->lock);
	on_shmem_exit(launcher_exit, 0);
}

int registry_sync(const Oid *databases, int n)
{
	int unrecorded = 0;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < registry->used; i++) {
		SealSchedule *s = &registry->schedule[i];
		if (!s->in_use || s->running)
			continue;
		bool exists = false;
		for (int j = 0; j < n && !exists; j++)
			exists = databases[j] == registry->records[i].db;
		if (!exists)
			s->in_use = false;
	}
	while (registry->used > 0 && !registry->schedule[registry->used - 1].in_use)
		registry->used--;
	for (int j = 0; j < n; j++)
		if (find(databases[j]) < 0 && add(databases[j]) < 0)
			unrecorded++;
	LWLockRelease(registry->lock);
	return unrecorded;
}

Oid registry_next_due(TimestampTz now, int interval_ms, int reprobe_ms, long cap_ms, long *wait_ms)
{
	LWLockAcquire(registry->lock, LW_SHARED);
	SealPick pick = pick_due(registry->schedule, (size_t)registry->used, now, interval_ms * INT64CONST(1000),
	                         reprobe_ms * INT64CONST(1000), cap_ms * INT64CONST(1000));
	Oid db = pick.index >= 0 ? registry->records[pick.index].db : InvalidOid;
	LWLockRelease(registry->lock);
	*wait_ms = (long)((pick.wait_us + 999) / 1000);
	return db;
}

PassStart registry_worker_starting(Oid db, TimestampTz now)
{
	PassStart previous = {0, false};
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0) {
		SealSchedule *s = &registry->schedule[i];
		previous = {s->last_start, s->wake};
		s->running = true;
		s->wake = false;
		s->last_start = now;
		registry->records[i].reported = false;
	}
	LWLockRelease(registry->lock);
	return previous;
}

bool registry_other_waits(TimestampTz now, int interval_ms, int reprobe_ms, int max_sealers)
{
	LWLockAcquire(registry->lock, LW_SHARED);
	int running = 0;
	for (int i = 0; i < registry->used; i++)
		running += registry->schedule[i].in_use && registry->schedule[i].running ? 1 : 0;
	bool waits = false;
	if (running >= max_sealers) {
		SealPick pick = pick_due(registry->schedule, (size_t)registry->used, now, interval_ms * INT64CONST(1000),
		                         reprobe_ms * INT64CONST(1000), INT64CONST(1000000));
		waits = pick.index >= 0;
	}
	LWLockRelease(registry->lock);
	return waits;
}

bool registry_sealer_passes_again(Oid db, TimestampTz now)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	// Not running any more: a new launcher forgot the workers of the one before, and may start another.
	bool again = i >= 0 && registry->schedule[i].running;
	if (again) {
		registry->schedule[i].last_start = now;
		registry->schedule[i].wake = false;
		registry->records[i].reported = false;
	}
	LWLockRelease(registry->lock);
	return again;
}

void registry_postpone(Oid db, TimestampTz now)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0) {
		registry->schedule[i].last_start = now;
		registry->schedule[i].wake = false;
	}
	LWLockRelease(registry->lock);
}

void registry_worker_not_started(Oid db, PassStart previous)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0) {
		SealSchedule *s = &registry->schedule[i];
		s->running = false;
		s->last_start = previous.last_start;
		s->wake = s->wake || previous.wake;
	}
	LWLockRelease(registry->lock);
}

void registry_worker_stopped(Oid db)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0 && registry->schedule[i].running) {
		DbRecord *r = &registry->records[i];
		registry->schedule[i].running = false;
		if (!r->reported) {
			r->last_result = PassResult::Lost;
			r->last_pass_at = GetCurrentTimestamp();
			r->last_error_at = r->last_pass_at;
			strlcpy(r->last_error, "the sealer ended before it finished its pass; the server log says why",
			        sizeof(r->last_error));
		}
	}
	LWLockRelease(registry->lock);
}

void registry_begin_pass(Oid db, PassMemory *memory)
{
	memset(memory, 0, sizeof(*memory));
	LWLockAcquire(registry->lock, LW_SHARED);
	int i = find(db);
	if (i >= 0)
		*memory = registry->records[i].memory;
	LWLockRelease(registry->lock);
}

void registry_end_pass(Oid db, PassResult result, bool installed, const char *error, const PassMemory *memory)
{
	TimestampTz now = GetCurrentTimestamp();
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0) {
		SealSchedule *s = &registry->schedule[i];
		DbRecord *r = &registry->records[i];
		r->reported = true;
		r->last_pass_at = now;
		r->last_result = result;
		r->memory = *memory;
		if (result == PassResult::NotInstalled)
			s->absent = true;
		else if (installed)
			s->absent = false;
		if (result == PassResult::Sealed || result == PassResult::NothingToSeal || result == PassResult::NotInstalled)
			s->unsealed_since = s->last_start;
		if (error != nullptr) {
			r->last_error_at = now;
			strlcpy(r->last_error, error, sizeof(r->last_error));
		}
	}
	LWLockRelease(registry->lock);
}

void registry_wake(Oid db)
{
	if (registry == nullptr)
		return;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i < 0)
		i = add(db);
	if (i >= 0)
		registry->schedule[i].wake = true;
	Latch *latch = registry->launcher_latch;
	LWLockRelease(registry->lock);
	if (latch != nullptr)
		SetLatch(latch);
}

int registry_swap_seal_interval(int interval_ms)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	const int seen = registry->seal_interval_seen;
	registry->seal_interval_seen = interval_ms;
	LWLockRelease(registry->lock);
	return seen;
}

void registry_wake_all()
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < registry->used; i++)
		if (registry->schedule[i].in_use && !registry->schedule[i].absent)
			registry->schedule[i].wake = true;
	LWLockRelease(registry->lock);
}

bool registry_status(Oid db, SealerDbStatus *out)
{
	memset(out, 0, sizeof(*out));
	if (registry == nullptr)
		return false;
	LWLockAcquire(registry->lock, LW_SHARED);
	int i = find(db);
	if (i >= 0) {
		const DbRecord *r = &registry->records[i];
		out->known = true;
		out->last_pass_at = r->last_pass_at;
		out->last_result = r->last_result;
		out->last_error_at = r->last_error_at;
		memcpy(out->last_error, r->last_error, sizeof(out->last_error));
	}
	LWLockRelease(registry->lock);
	return out->known;
}

bool registry_verification_due(Oid db, TimestampTz now, int interval_ms)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	bool due = false;
	if (i >= 0) {
		DbRecord *r = &registry->records[i];
		if (r->verification.started_at != 0)
			r->verify_counting_from = r->verification.started_at;
		else if (r->verify_counting_from == 0)
			r->verify_counting_from = now;
		due = TimestampDifferenceExceeds(r->verify_counting_from, now, interval_ms);
	}
	LWLockRelease(registry->lock);
	return due;
}

void registry_record_verification(Oid db, const VerificationSummary *summary)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0) {
		registry->records[i].verification = *summary;
		registry->records[i].verify_counting_from = summary->started_at;
	}
	LWLockRelease(registry->lock);
}

bool registry_verification(Oid db, VerificationSummary *out, TimestampTz *counting_from)
{
	memset(out, 0, sizeof(*out));
	*counting_from = 0;
	if (registry == nullptr)
		return false;
	LWLockAcquire(registry->lock, LW_SHARED);
	int i = find(db);
	if (i >= 0) {
		*out = registry->records[i].verification;
		*counting_from = registry->records[i].verify_counting_from;
	}
	LWLockRelease(registry->lock);
	return out->started_at != 0;
}

bool registry_launcher_running()
{
	if (registry == nullptr)
		return false;
	LWLockAcquire(registry->lock, LW_SHARED);
	bool running = registry->launcher_latch != nullptr;
	LWLockRelease(registry->lock);
	return running;
}

// A claim whose worker never started (the postmaster could not start it) is given up after this.
constexpr long kMaintainerStartMs = 10000;

// Callers hold the lock. Whether a maintainer runs for the record, or was started less than
// kMaintainerStartMs ago; a record removed (its database dropped) holds no claim any more.
bool holds_claim(int i, TimestampTz now)
{
	const DbRecord *r = &registry->records[i];
	return registry->schedule[i].in_use && r->maintainer_claimed_at != 0 &&
	       (r->maintainer_pid != 0 || !TimestampDifferenceExceeds(r->maintainer_claimed_at, now, kMaintainerStartMs));
}

MaintainerClaim registry_claim_maintainer(Oid db, int limit)
{
	TimestampTz now = GetCurrentTimestamp();
	MaintainerClaim claim = MaintainerClaim::NoRoom;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0) {
		int claimed = 0;
		for (int k = 0; k < registry->used; k++)
			claimed += holds_claim(k, now) ? 1 : 0;
		DbRecord *r = &registry->records[i];
		if (holds_claim(i, now)) {
			// The running maintainer takes this block in its next round.
			r->maintainer_round_asked = true;
			if (r->maintainer_latch != nullptr)
				SetLatch(r->maintainer_latch);
			claim = MaintainerClaim::AlreadyRunning;
		} else if (claimed < limit) {
			r->maintainer_claimed_at = now;
			r->maintainer_pid = 0;
			r->maintainer_latch = nullptr;
			claim = MaintainerClaim::Claimed;
		}
	}
	if (i >= 0 && claim == MaintainerClaim::NoRoom) {
		registry->maintainer_no_room++;
		// Every staying maintainer looks at the count and leaves, giving its place to this database.
		for (int k = 0; k < registry->used; k++)
			if (holds_claim(k, now) && registry->records[k].maintainer_latch != nullptr)
				SetLatch(registry->records[k].maintainer_latch);
	}
	LWLockRelease(registry->lock);
	return claim;
}

bool registry_maintainer_started(Oid db, pid_t pid, Latch *latch)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	bool mine = i >= 0 && registry->records[i].maintainer_claimed_at != 0 && registry->records[i].maintainer_pid == 0;
	if (mine) {
		registry->records[i].maintainer_pid = pid;
		registry->records[i].maintainer_latch = latch;
		registry->records[i].maintainer_round_asked = false; // the first round takes what was asked
	}
	LWLockRelease(registry->lock);
	return mine;
}

bool registry_maintainer_take_round(Oid db, pid_t pid)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	bool asked = i >= 0 && registry->records[i].maintainer_pid == pid && registry->records[i].maintainer_round_asked;
	if (asked)
		registry->records[i].maintainer_round_asked = false;
	LWLockRelease(registry->lock);
	return asked;
}

uint64 registry_maintainer_no_room()
{
	LWLockAcquire(registry->lock, LW_SHARED);
	uint64 n = registry->maintainer_no_room;
	LWLockRelease(registry->lock);
	return n;
}

void registry_release_maintainer(Oid db, pid_t pid)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	int i = find(db);
	if (i >= 0 && registry->records[i].maintainer_claimed_at != 0 && registry->records[i].maintainer_pid == pid) {
		registry->records[i].maintainer_claimed_at = 0;
		registry->records[i].maintainer_pid = 0;
		registry->records[i].maintainer_latch = nullptr;
		registry->records[i].maintainer_round_asked = false;
	}
	LWLockRelease(registry->lock);
}

} // namespace witness::pg
