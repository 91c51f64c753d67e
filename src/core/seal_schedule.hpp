// Which database the background sealer serves next (docs/verification.md, "The background sealer").
// Pure: the launcher keeps one record per database in shared memory and asks pick_due() each time a
// worker slot is free.
#pragma once

#include <cstddef>
#include <cstdint>

namespace witness
{

// What the launcher knows of one database. Times are microseconds on one clock; 0 means never.
struct SealSchedule {
	bool in_use;            // a database is recorded here
	bool running;           // a worker was started for it and has not stopped yet
	bool wake;              // a pass is wanted now (CREATE EXTENSION pg_witness committed)
	bool absent;            // the last pass found no pg_witness there
	int64_t last_start;     // when the last worker for it was started
	int64_t unsealed_since; // when the last pass that left nothing committed unsealed started
};

struct SealPick {
	long index;      // the record to serve now, or -1 when none is due
	int64_t wait_us; // when none is due: how long until the first one is (at most the cap, at least 1)
};

// A record that is in use and not running is due when it is woken, was never started, or its last
// worker started at least interval_us ago (reprobe_us for a database without pg_witness). Among the
// due ones: woken and never-started records first, then the one whose entries may have waited
// longest, the smallest unsealed_since (a database without pg_witness: its last_start); ties go to
// the lower index.
SealPick pick_due(const SealSchedule *records, size_t n, int64_t now, int64_t interval_us, int64_t reprobe_us,
                  int64_t cap_us) noexcept;

} // namespace witness
