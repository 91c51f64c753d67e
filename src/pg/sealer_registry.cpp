#include "pg/sealer_registry.hpp"

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

enum class DbState : uint8 { Unknown, Installed, Absent };

struct DbRecord {
	Oid db; // InvalidOid: a free record
	DbState state;
	bool wake;     // a pass is wanted now (CREATE EXTENSION committed)
	bool running;  // a worker was started and has not stopped yet
	bool reported; // that worker reported its pass
	TimestampTz last_start;     // when the launcher last started a worker here
	TimestampTz unsealed_since; // start of the last pass that left nothing committed unsealed
	TimestampTz last_pass_at;
	PassResult last_result;
	TimestampTz last_error_at;
	char last_error[kSealerErrorBytes];
	PassMemory memory;
};

struct Registry {
	LWLock *lock;
	Latch *launcher_latch; // nullptr while no launcher runs
	int used;              // records [0, used) may be in use
	DbRecord records[kMaxSealedDatabases];
};

Registry *registry = nullptr;

// Callers hold the lock.
DbRecord *find(Oid db)
{
	for (int i = 0; i < registry->used; i++)
		if (registry->records[i].db == db)
			return &registry->records[i];
	return nullptr;
}

DbRecord *add(Oid db)
{
	DbRecord *r = nullptr;
	for (int i = 0; i < registry->used && r == nullptr; i++)
		if (!OidIsValid(registry->records[i].db))
			r = &registry->records[i];
	if (r == nullptr && registry->used < kMaxSealedDatabases)
		r = &registry->records[registry->used++];
	if (r == nullptr)
		return nullptr;
	memset(r, 0, sizeof(*r));
	r->db = db;
	r->state = DbState::Unknown;
	return r;
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
		registry->records[i].running = false;
	LWLockRelease(registry->lock);
	on_shmem_exit(launcher_exit, 0);
}

int registry_sync(const Oid *databases, int n)
{
	int unrecorded = 0;
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	for (int i = 0; i < registry->used; i++) {
		DbRecord *r = &registry->records[i];
		if (!OidIsValid(r->db) || r->running)
			continue;
		bool exists = false;
		for (int j = 0; j < n && !exists; j++)
			exists = databases[j] == r->db;
		if (!exists)
			r->db = InvalidOid;
	}
	while (registry->used > 0 && !OidIsValid(registry->records[registry->used - 1].db))
		registry->used--;
	for (int j = 0; j < n; j++)
		if (find(databases[j]) == nullptr && add(databases[j]) == nullptr)
			unrecorded++;
	LWLockRelease(registry->lock);
	return unrecorded;
}

Oid registry_next_due(TimestampTz now, int interval_ms, int reprobe_ms, long cap_ms, long *wait_ms)
{
	Oid best = InvalidOid;
	TimestampTz best_key = 0;
	TimestampTz next_due = now + cap_ms * INT64CONST(1000);
	LWLockAcquire(registry->lock, LW_SHARED);
	for (int i = 0; i < registry->used; i++) {
		const DbRecord *r = &registry->records[i];
		if (!OidIsValid(r->db) || r->running)
			continue;
		TimestampTz due, key;
		if (r->wake || r->last_start == 0) {
			due = 0;
			key = 0;
		} else if (r->state == DbState::Absent) {
			due = r->last_start + reprobe_ms * INT64CONST(1000);
			key = r->last_start;
		} else {
			due = r->last_start + interval_ms * INT64CONST(1000);
			key = r->unsealed_since;
		}
		if (due > now) {
			next_due = Min(next_due, due);
			continue;
		}
		// Oldest unsealed first: the database whose last complete pass started longest ago.
		if (!OidIsValid(best) || key < best_key) {
			best = r->db;
			best_key = key;
		}
	}
	LWLockRelease(registry->lock);
	*wait_ms = Max((long)((next_due - now + 999) / 1000), 1L);
	return best;
}

PassStart registry_worker_starting(Oid db, TimestampTz now)
{
	PassStart previous = {0, false};
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	DbRecord *r = find(db);
	if (r != nullptr) {
		previous = {r->last_start, r->wake};
		r->running = true;
		r->reported = false;
		r->wake = false;
		r->last_start = now;
	}
	LWLockRelease(registry->lock);
	return previous;
}

void registry_postpone(Oid db, TimestampTz now)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	DbRecord *r = find(db);
	if (r != nullptr) {
		r->last_start = now;
		r->wake = false;
	}
	LWLockRelease(registry->lock);
}

void registry_worker_not_started(Oid db, PassStart previous)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	DbRecord *r = find(db);
	if (r != nullptr) {
		r->running = false;
		r->last_start = previous.last_start;
		r->wake = r->wake || previous.wake;
	}
	LWLockRelease(registry->lock);
}

void registry_worker_stopped(Oid db)
{
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	DbRecord *r = find(db);
	if (r != nullptr && r->running) {
		r->running = false;
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
	const DbRecord *r = find(db);
	if (r != nullptr)
		*memory = r->memory;
	LWLockRelease(registry->lock);
}

void registry_end_pass(Oid db, PassResult result, bool installed, const char *error, const PassMemory *memory)
{
	TimestampTz now = GetCurrentTimestamp();
	LWLockAcquire(registry->lock, LW_EXCLUSIVE);
	DbRecord *r = find(db);
	if (r != nullptr) {
		r->reported = true;
		r->last_pass_at = now;
		r->last_result = result;
		r->memory = *memory;
		if (result == PassResult::NotInstalled)
			r->state = DbState::Absent;
		else if (installed)
			r->state = DbState::Installed;
		if (result == PassResult::Sealed || result == PassResult::NothingToSeal || result == PassResult::NotInstalled)
			r->unsealed_since = r->last_start;
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
	DbRecord *r = find(db);
	if (r == nullptr)
		r = add(db);
	if (r != nullptr)
		r->wake = true;
	Latch *latch = registry->launcher_latch;
	LWLockRelease(registry->lock);
	if (latch != nullptr)
		SetLatch(latch);
}

bool registry_status(Oid db, SealerDbStatus *out)
{
	memset(out, 0, sizeof(*out));
	if (registry == nullptr)
		return false;
	LWLockAcquire(registry->lock, LW_SHARED);
	const DbRecord *r = find(db);
	if (r != nullptr) {
		out->known = true;
		out->last_pass_at = r->last_pass_at;
		out->last_result = r->last_result;
		out->last_error_at = r->last_error_at;
		memcpy(out->last_error, r->last_error, sizeof(out->last_error));
	}
	LWLockRelease(registry->lock);
	return out->known;
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

} // namespace witness::pg
