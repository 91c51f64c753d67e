// The host's interrupt check (interrupt.hpp).
#include "interrupt.hpp"

namespace witness
{

namespace detail
{
std::atomic<InterruptCheck> interrupt_check{nullptr};
}

void set_interrupt_check(InterruptCheck check) noexcept
{
	detail::interrupt_check.store(check, std::memory_order_relaxed);
}

} // namespace witness
