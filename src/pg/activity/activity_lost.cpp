#include "pg/activity/activity_lost.hpp"

#include "pg/activity/activity_sources.hpp"

#include <algorithm>

extern "C" {
#include "access/xact.h"
#include "libpq/libpq-be.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
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
	bool authenticated; // false: the name a refused login sent, which anyone can send
	uint64 count;       // at most this many
	uint64 over;        // of which up to this many may be others' (inherited from an evicted entry)
};

// Sixteen names, kept as the "space-saving" count of frequent items keeps them: a name that finds no
// free entry takes the one with the smallest count (a refused login's first) and adds to that count.
// A role with more than a sixteenth of the events lost is therefore always named: an attack review
// filled a table that kept the first sixteen names with the names of refused logins, and the role
// whose events made the flood went to "others". Counting happens only when the queue is full, under a
// spinlock held for a few comparisons.
constexpr int kNamed = 16;

struct Lost {
	slock_t lock;
	uint64 total;
	LostBy by[kNamed];
	// The last restart that lost the queue (lost_note_restart; 0: none), and the databases whose drains
	// wrote it: each database gets the note once (a review had a throw-away database take the only
	// one, and the database whose events were lost got none).
	TimestampTz restarted_at;
	int noted_count;
	Oid noted[kLostNotedDatabases];
};

Lost *shared = nullptr;

// What this backend's transaction took, one part per (sub)transaction nest level that took some: given
// back when that level aborts, so that a later drain writes the 'lost' row (the review of the first
// version took twice, at two levels, rolled back the inner one, and its count was gone).
struct Taken {
	int level;
	uint64 total;
	LostBy by[kNamed];
	TimestampTz restarted_at;
};

Taken *taken = nullptr;
int ntaken = 0;
int maxtaken = 0;

bool same_name(const LostBy &e, const char *database, const char *role, bool authenticated)
{
	return e.authenticated == authenticated && strcmp(e.database, database) == 0 && strcmp(e.role, role) == 0;
}

// The entry a new name takes when none is free: the smallest count, a refused login's before any other.
LostBy *evictable(LostBy *by)
{
	LostBy *pick = nullptr;
	for (int i = 0; i < kNamed; i++) {
		const bool better = pick == nullptr || (pick->authenticated && !by[i].authenticated) ||
		                    (pick->authenticated == by[i].authenticated && by[i].count < pick->count);
		if (better)
			pick = &by[i];
	}
	return pick;
}

// Adds n events of (database, role), over of them maybe others', to a table of kNamed.
void tally(LostBy *by, const char *database, const char *role, bool authenticated, uint64 n, uint64 over)
{
	LostBy *free_entry = nullptr;
	for (int i = 0; i < kNamed; i++) {
		if (by[i].count == 0) {
			free_entry = free_entry != nullptr ? free_entry : &by[i];
		} else if (same_name(by[i], database, role, authenticated)) {
			by[i].count += n;
			by[i].over += over;
			return;
		}
	}
	LostBy *e = free_entry != nullptr ? free_entry : evictable(by);
	const uint64 inherited = free_entry != nullptr ? 0 : e->count;
	strlcpy(e->database, database, NAMEDATALEN);
	strlcpy(e->role, role, NAMEDATALEN);
	e->authenticated = authenticated;
	e->count = inherited + n;
	e->over = inherited + over;
}

void merge(LostBy *into, const LostBy *from)
{
	for (int i = 0; i < kNamed; i++)
		if (from[i].count > 0)
			tally(into, from[i].database, from[i].role, from[i].authenticated, from[i].count, from[i].over);
}

// "role alice in database shop: 12, role "x" (not authenticated): at most 5, ..., others: 2", most first.
// Names come from clients (a refused login's role need not exist): printable ASCII only, quoted as
// identifiers.
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
		if (!got[i].authenticated)
			appendStringInfoString(out, " (a refused login, not authenticated)");
		if (got[i].database[0] != '\0')
			appendStringInfo(out, " in database %s", quote_identifier(got[i].database));
		if (got[i].over == 0)
			appendStringInfo(out, ": " UINT64_FORMAT, got[i].count);
		else
			appendStringInfo(out, ": at most " UINT64_FORMAT " (at least " UINT64_FORMAT ")", got[i].count,
			                 got[i].count - got[i].over);
		named += got[i].count;
	}
	if (named > 0 && total > named)
		appendStringInfo(out, ", others: " UINT64_FORMAT, total - named);
}

// Room for one more part of what this transaction took, made before anything is taken: an
// allocation that fails then takes nothing from the shared count.
void reserve_part()
{
	if (ntaken < maxtaken)
		return;
	const int grown = Max(8, maxtaken * 2);
	taken = taken == nullptr ? (Taken *)MemoryContextAlloc(TopMemoryContext, sizeof(Taken) * grown)
	                         : (Taken *)repalloc(taken, sizeof(Taken) * grown);
	maxtaken = grown;
}

// The part taken at nest level `level`: the last part when it is of that level, else a new one in
// the room reserve_part() made.
Taken *taken_at(int level)
{
	if (ntaken > 0 && taken[ntaken - 1].level == level)
		return &taken[ntaken - 1];
	Taken *t = &taken[ntaken++];
	memset(t, 0, sizeof(*t));
	t->level = level;
	return t;
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

void lost_count(const char *database_name, const char *role_name, bool authenticated)
{
	if (shared == nullptr)
		return;
	char database[NAMEDATALEN];
	char role[NAMEDATALEN];
	copy_ascii(database, NAMEDATALEN, database_name != nullptr ? database_name : "");
	copy_ascii(role, NAMEDATALEN, role_name != nullptr ? role_name : "");
	SpinLockAcquire(&shared->lock);
	shared->total++;
	tally(shared->by, database, role, authenticated, 1, 0);
	SpinLockRelease(&shared->lock);
}

void lost_count_mine()
{
	const Port *port = MyProcPort;
	lost_count(port != nullptr ? port->database_name : nullptr, port != nullptr ? port->user_name : nullptr,
	           !ClientAuthInProgress);
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

void lost_note_restart(TimestampTz at, const Oid *noted, int noted_count)
{
	if (shared == nullptr)
		return;
	noted_count = Min(Max(noted_count, 0), kLostNotedDatabases);
	SpinLockAcquire(&shared->lock);
	shared->restarted_at = at;
	shared->noted_count = noted_count;
	if (noted_count > 0)
		memcpy(shared->noted, noted, sizeof(Oid) * noted_count);
	SpinLockRelease(&shared->lock);
}

TimestampTz lost_restart_note(Oid *noted, int *noted_count)
{
	*noted_count = 0;
	if (shared == nullptr)
		return 0;
	SpinLockAcquire(&shared->lock);
	const TimestampTz at = shared->restarted_at;
	*noted_count = shared->noted_count;
	memcpy(noted, shared->noted, sizeof(Oid) * shared->noted_count);
	SpinLockRelease(&shared->lock);
	return at;
}

uint64 lost_take(StringInfo whose, TimestampTz *restarted_at)
{
	*restarted_at = 0;
	if (shared == nullptr)
		return 0;
	LostBy got[kNamed];
	reserve_part();
	SpinLockAcquire(&shared->lock);
	const uint64 total = shared->total;
	// This database's note of the last restart, unless its drain wrote it already; a database past
	// the table's size gets it on every drain (errs on telling).
	TimestampTz restart = 0;
	if (shared->restarted_at != 0 && OidIsValid(MyDatabaseId)) {
		restart = shared->restarted_at;
		for (int i = 0; i < shared->noted_count; i++)
			if (shared->noted[i] == MyDatabaseId)
				restart = 0;
		if (restart != 0 && shared->noted_count < kLostNotedDatabases)
			shared->noted[shared->noted_count++] = MyDatabaseId;
	}
	shared->total = 0;
	memcpy(got, shared->by, sizeof(got));
	memset(shared->by, 0, sizeof(shared->by));
	SpinLockRelease(&shared->lock);
	if (total == 0 && restart == 0)
		return 0;
	Taken *t = taken_at(GetCurrentTransactionNestLevel());
	t->total += total;
	merge(t->by, got);
	if (restart != 0)
		t->restarted_at = restart;
	*restarted_at = restart;
	if (whose != nullptr && total > 0)
		describe(whose, got, total);
	return total;
}

void lost_on_abort(int level)
{
	int kept = 0;
	for (int i = 0; i < ntaken; i++) {
		if (taken[i].level < level) {
			taken[kept++] = taken[i];
			continue;
		}
		if (shared == nullptr)
			continue;
		SpinLockAcquire(&shared->lock);
		shared->total += taken[i].total;
		merge(shared->by, taken[i].by);
		// This database's note goes back: the next drain writes it.
		if (taken[i].restarted_at != 0 && taken[i].restarted_at == shared->restarted_at)
			for (int k = 0; k < shared->noted_count; k++)
				if (shared->noted[k] == MyDatabaseId) {
					shared->noted[k] = shared->noted[--shared->noted_count];
					break;
				}
		SpinLockRelease(&shared->lock);
	}
	ntaken = kept;
}

void lost_on_subcommit(int level)
{
	for (int i = 0; i < ntaken; i++)
		if (taken[i].level >= level)
			taken[i].level = level - 1;
}

void lost_on_commit()
{
	ntaken = 0;
}

bool lost_taken()
{
	return ntaken > 0;
}

} // namespace witness::pg
