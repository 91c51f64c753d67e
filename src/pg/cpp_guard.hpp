// Runs C++ core code so that no exception reaches PostgreSQL frames (docs/cpp-boundary.md, rules 2 and 3):
// the caller gets the message back and raises ERROR itself, after the C++ frames are gone.
#pragma once

#include "pg/pg_includes.hpp"

#include <cstdio>
#include <exception>

#include "core/interrupt.hpp"

namespace witness::pg
{

// Message of the last exception caught by run_guarded; static, so nothing needs destroying.
inline char guard_errbuf[512];

// Whether CHECK_FOR_INTERRUPTS() would raise now: a cancel (statement_timeout and lock_timeout
// included) or a termination is pending and not held off. Reads flags, processes nothing; the core
// asks it in its long loops (core/interrupt.hpp). Other pending interrupts (a barrier, a memory
// context dump) must not stop a computation that CHECK_FOR_INTERRUPTS() would then let go on.
inline bool interrupt_would_raise() noexcept
{
	return InterruptPending && InterruptHoldoffCount == 0 && CritSectionCount == 0 &&
	       (ProcDiePending || (QueryCancelPending && QueryCancelHoldoffCount == 0));
}

// Runs fn; returns nullptr, or the message of what it threw. When the core stopped for a pending
// interrupt, that interrupt is processed here, once fn's frames are gone: CHECK_FOR_INTERRUPTS()
// raises the cancel or termination itself (a longjmp out of this function, which holds no object
// with a destructor at that point).
template <typename Fn> const char *run_guarded(Fn &&fn) noexcept
{
	bool interrupted = false;
	try {
		fn();
		return nullptr;
	} catch (const Interrupted &) {
		interrupted = true;
	} catch (const std::exception &e) {
		std::snprintf(guard_errbuf, sizeof(guard_errbuf), "%s", e.what());
	} catch (...) {
		std::snprintf(guard_errbuf, sizeof(guard_errbuf), "unknown C++ exception");
	}
	if (interrupted) {
		CHECK_FOR_INTERRUPTS();
		// Not reached unless the interrupt went away in between: the computation was stopped anyway.
		std::snprintf(guard_errbuf, sizeof(guard_errbuf), "interrupted");
	}
	return guard_errbuf;
}

} // namespace witness::pg
