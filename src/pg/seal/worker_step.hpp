// One step of a sealer worker's pass (scheduled verification, retention, partitions made ahead, ...)
// in a transaction of its own, so that a step that fails neither stops the worker nor undoes the
// seal pass or the other steps: the error is caught, the transaction aborted, and what it said is
// handed back for the step's caller to report and retry later.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// What a failed step raised, copied out of the error (cut at a character boundary).
struct StepError
{
	int sqlerrcode;
	char message[512];
	char detail[512];
};

// Runs step(arg) in a new transaction with a snapshot, showing activity in pg_stat_activity, and
// commits it; the step is left out when pg_witness is not installed or was dropped meanwhile
// (hold_witness_extension). True when it committed; false, with *error filled, when it raised an error.
bool run_worker_step(const char *activity, void (*step)(void *arg), void *arg, StepError *error);

// Copies text into a fixed buffer, cut at a character boundary: a cut inside a multibyte character
// is not valid text to insert or log.
void copy_text_cut(char *out, size_t size, const char *text);

// A worker that stays between passes or rounds waits here: until its latch is set or timeout_ms
// passed, ending the process on a shutdown request or the postmaster's death, and taking in a
// reloaded configuration.
void worker_nap(long timeout_ms);

} // namespace witness::pg
