// The one door from PostgreSQL glue into C++ code that can throw (docs/cpp-boundary.md, rules 2-4).
//
//   run_core(ERRCODE_..., "could not hash pg_witness entry", [&] { ...core calls only... });
//
// raises ERROR itself, after the C++ frames are gone, when the code throws. A PostgreSQL call inside
// the lambda that raises an error would longjmp over C++ frames; the guard catches that longjmp too
// and reports it as a pg_witness bug (an internal error naming the original message), so such a
// mistake fails every test that reaches it instead of corrupting memory quietly.
#pragma once

#include "pg/common/pg_includes.hpp"

#include <exception>

#include "core/interrupt.hpp"

namespace witness::pg
{

// What a guarded call ended with.
enum class GuardOutcome { Done, Threw, Interrupted };

// Message of the last exception caught; static, so nothing needs destroying.
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

// Defined in cpp_guard.cpp: copy the message into guard_errbuf; raise ERROR for a PostgreSQL error
// caught inside a guard (never returns); raise ERROR "context: message" (never returns).
void set_guard_message(const char *message) noexcept;
[[noreturn]] void raise_postgres_error_inside_guard();
[[noreturn]] void raise_core_error(int sqlstate, const char *context, const char *message, const char *hint);

// Runs fn and catches every exception; no PostgreSQL state is touched here.
template <typename Fn> GuardOutcome catch_all(Fn &fn) noexcept
{
	try {
		fn();
		return GuardOutcome::Done;
	} catch (const Interrupted &) {
		return GuardOutcome::Interrupted;
	} catch (const std::exception &e) {
		set_guard_message(e.what());
	} catch (...) {
		set_guard_message("unknown C++ exception");
	}
	return GuardOutcome::Threw;
}

// Runs fn; returns nullptr, or the message of what it threw, for callers that must not raise ERROR
// (a GUC check hook, a WARNING). When the core stopped for a pending interrupt, the interrupt is
// processed here once fn's frames are gone: CHECK_FOR_INTERRUPTS() raises it itself.
template <typename Fn> const char *run_guarded(Fn &&fn) noexcept
{
	sigjmp_buf *const saved_stack = PG_exception_stack;
	ErrorContextCallback *const saved_context = error_context_stack;
	sigjmp_buf inside;
	if (sigsetjmp(inside, 0) != 0) {
		PG_exception_stack = saved_stack;
		error_context_stack = saved_context;
		raise_postgres_error_inside_guard();
	}
	PG_exception_stack = &inside;
	const GuardOutcome outcome = catch_all(fn);
	PG_exception_stack = saved_stack;
	if (outcome == GuardOutcome::Done)
		return nullptr;
	if (outcome == GuardOutcome::Interrupted) {
		CHECK_FOR_INTERRUPTS();
		// Not reached unless the interrupt went away in between: the computation was stopped anyway.
		set_guard_message("interrupted");
	}
	return guard_errbuf;
}

// Runs fn; when it throws, raises ERROR with sqlstate, "context: message" and the hint, if any.
template <typename Fn> void run_core(int sqlstate, const char *context, const char *hint, Fn &&fn)
{
	const char *err = run_guarded(fn);
	if (err != nullptr)
		raise_core_error(sqlstate, context, err, hint);
}

template <typename Fn> void run_core(int sqlstate, const char *context, Fn &&fn)
{
	run_core(sqlstate, context, nullptr, fn);
}

} // namespace witness::pg
