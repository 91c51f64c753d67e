// Lets the host stop a long computation of the core. The core never handles an interrupt itself: its
// long loops call poll_interrupt(), which throws Interrupted when the host's check says to stop, and
// the host deals with the interrupt once the core's frames are gone. (The PostgreSQL glue calls
// CHECK_FOR_INTERRUPTS() then: it may longjmp, so it must never run inside a C++ frame.)
#pragma once

#include <atomic>
#include <stdexcept>

namespace witness
{

struct Interrupted : std::runtime_error {
	Interrupted() : std::runtime_error("interrupted") {}
};

// Says whether the current computation should stop. Called often: it must be cheap, and it must
// neither throw nor longjmp.
using InterruptCheck = bool (*)() noexcept;

// Installs the check; nullptr (the default) never stops anything.
void set_interrupt_check(InterruptCheck check) noexcept;

namespace detail
{
extern std::atomic<InterruptCheck> interrupt_check;
}

// Throws Interrupted when the installed check says to stop.
inline void poll_interrupt()
{
	const InterruptCheck check = detail::interrupt_check.load(std::memory_order_relaxed);
	if (check != nullptr && check())
		throw Interrupted();
}

} // namespace witness
