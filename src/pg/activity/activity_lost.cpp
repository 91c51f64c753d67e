#include "pg/activity/activity_lost.hpp"

#include "pg/activity/activity_sources.hpp"

#include <algorithm>

extern "C" {
#include "access/xact.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/builtins.h"
}

namespace witness::pg
{
namespace
{

// Events lost of one login role in one database. A count of 0 marks a free entry.
struct LostBy {
	char database[NAMEDATALEN];
	char role[NAMEDATALEN];
	uint64 count;
};

// Sixteen names: a flood names its own role and those whose events it crowded out; what does not fit
// is counted as others'. Counting happens only when the queue is full, under a spinlock held for a few
// comparisons.
constexpr int kNamed = 16;

struct Lost {
	slock_t lock;
	uint64 total;
	LostBy by[kNamed];
};

Lost *shared = nullptr;

// What this backend's transaction took, and the nest level of the drain that took it: given back if
// that (sub)transaction aborts, so that a later drain writes the 'lost' row.
struct Taken {
	uint64 total;
	int level;
	LostBy by[kNamed];
};

Taken taken;

// Adds n events of (database, role) to a table of kNamed; those that find no room stay unnamed.
void tally(LostBy *by, const char *database, const char *role, uint64 n)
{
	LostBy *free_entry = nullptr;
	for (int i = 0; i < kNamed; i++) {
		if (by[i].count == 0) {
			free_entry = free_entry != nullptr ? free_entry : &by[i];
		} else if (strcmp(by[i].database, database) == 0 && strcmp(by[i].role, role) == 0) {
			by[i].count += n;
			return;
		}
	}
	if (free_entry == nullptr)
		return;
	strlcpy(free_entry->database, database, NAMEDATALEN);
	strlcpy(free_entry->role, role, NAMEDATALEN);
	free_entry->count = n;
}

void merge(LostBy *into, const LostBy *from)
{
	for (int i = 0; i < kNamed; i++)
		if (from[i].count > 0)
			tally(into, from[i].database, from[i].role, from[i].count);
}

// "role alice in database shop: 12, ..., others: 2", most first. Names come from clients (a refused
// login's role need not exist): printable ASCII only, quoted as identifiers.
void describe(StringInfo out, LostBy *got, uint64 total)
{
	std::sort(got, got + kNamed, [](const LostBy &a, const LostBy &b) { return a.count > b.count; });
	uint64 named = 0;
	for (int i = 0; i < kNamed && got[i].count > 0; i++) {
		appendStringInfoString(out, named == 0 ? "; whose (login role and database): " : ", ");
		if (got[i].role[0] != '\0')
			appendStringInfo(out, "role %s", quote_identifier(got[i].role));
		else
			appendStringInfoString(out, "role not known");
		if (got[i].database[0] != '\0')
			appendStringInfo(out, " in database %s", quote_identifier(got[i].database));
		appendStringInfo(out, ": " UINT64_FORMAT, got[i].count);
		named += got[i].count;
	}
	if (named > 0 && total > named)
		appendStringInfo(out, ", others: " UINT64_FORMAT, total - named);
}

} // namespace

void lost_request()
{
	RequestAddinShmemSpace(sizeof(Lost));
}

void lost_startup()
{
	bool found;
	shared = (Lost *)ShmemInitStruct("pg_witness activity lost", sizeof(Lost), &found);
	if (!found) {
		memset(shared, 0, sizeof(Lost));
		SpinLockInit(&shared->lock);
	}
}

void lost_count(const char *database_name, const char *role_name)
{
	if (shared == nullptr)
		return;
	char database[NAMEDATALEN];
	char role[NAMEDATALEN];
	copy_ascii(database, NAMEDATALEN, database_name != nullptr ? database_name : "");
	copy_ascii(role, NAMEDATALEN, role_name != nullptr ? role_name : "");
	SpinLockAcquire(&shared->lock);
	shared->total++;
	tally(shared->by, database, role, 1);
	SpinLockRelease(&shared->lock);
}

void lost_count_mine()
{
	const Port *port = MyProcPort;
	lost_count(port != nullptr ? port->database_name : nullptr, port != nullptr ? port->user_name : nullptr);
}

void lost_add_unnamed(uint64 n)
{
	if (shared == nullptr || n == 0)
		return;
	SpinLockAcquire(&shared->lock);
	shared->total += n;
	SpinLockRelease(&shared->lock);
}

uint64 lost_total()
{
	if (shared == nullptr)
		return 0;
	SpinLockAcquire(&shared->lock);
	const uint64 total = shared->total;
	SpinLockRelease(&shared->lock);
	return total;
}

uint64 lost_take(StringInfo whose)
{
	if (shared == nullptr)
		return 0;
	LostBy got[kNamed];
	SpinLockAcquire(&shared->lock);
	const uint64 total = shared->total;
	shared->total = 0;
	memcpy(got, shared->by, sizeof(got));
	memset(shared->by, 0, sizeof(shared->by));
	SpinLockRelease(&shared->lock);
	if (total == 0)
		return 0;
	// The nest level of the last drain that took some (a drain at a lower level after one at a higher
	// level keeps the lower, which is rolled back with either).
	const int level = GetCurrentTransactionNestLevel();
	taken.level = taken.total > 0 ? Min(taken.level, level) : level;
	taken.total += total;
	merge(taken.by, got);
	if (whose != nullptr)
		describe(whose, got, total);
	return total;
}

void lost_on_abort(int level)
{
	if (taken.total == 0 || taken.level < level || shared == nullptr)
		return;
	SpinLockAcquire(&shared->lock);
	shared->total += taken.total;
	merge(shared->by, taken.by);
	SpinLockRelease(&shared->lock);
	memset(&taken, 0, sizeof(taken));
}

void lost_on_subcommit(int level)
{
	if (taken.total > 0 && taken.level >= level)
		taken.level = level - 1;
}

void lost_on_commit()
{
	memset(&taken, 0, sizeof(taken));
}

bool lost_taken()
{
	return taken.total > 0;
}

} // namespace witness::pg
