// Where activity events come from (activity_queue.hpp): executor hooks for reads, fmgr_hook for calls
// of pg_witness's functions, emit_log_hook for refused attempts, ClientAuthentication_hook for logins.
#pragma once

namespace witness::pg
{

// From _PG_init, in every backend (the login hook only when preloaded).
void register_activity_hooks(bool preloaded);

// Whether a function of schema witness is running in this backend: what it reads is pg_witness's own
// work, recorded as the call itself, not as a read of the trail.
bool inside_witness_function();

} // namespace witness::pg
