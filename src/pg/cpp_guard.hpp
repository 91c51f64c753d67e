// Runs C++ core code so that no exception reaches PostgreSQL frames (DESIGN.md, C++ rules 2 and 3):
// the caller gets the message back and raises ERROR itself, after the C++ frames are gone.
#pragma once

#include <cstdio>
#include <exception>

namespace witness::pg
{

// Message of the last exception caught by run_guarded; static, so nothing needs destroying.
inline char guard_errbuf[512];

// Runs fn; returns nullptr, or the message of what it threw.
template <typename Fn> const char *run_guarded(Fn &&fn) noexcept
{
	try {
		fn();
		return nullptr;
	} catch (const std::exception &e) {
		std::snprintf(guard_errbuf, sizeof(guard_errbuf), "%s", e.what());
	} catch (...) {
		std::snprintf(guard_errbuf, sizeof(guard_errbuf), "unknown C++ exception");
	}
	return guard_errbuf;
}

} // namespace witness::pg
