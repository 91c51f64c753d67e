// Who may use pg_witness right now (docs/access.md): the one place that refuses a time-limited
// auditor whose grant has expired (witness.grant_auditor()), that restricts one to the entries of its
// period, and that decides whether classified values are shown unmasked. Every C entry point a role
// can reach calls check_access(); the SQL functions and views call witness.access_check() and
// witness.entry_visible(), which are this code too. The capture path never calls it.
#pragma once

#include <initializer_list>

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Raises 42501 when the calling role (the current user or the role that issued the command, as SET
// ROLE set it) holds witness_auditor through a grant of witness.grant_auditor() whose time is up.
void check_access();

// Whether an entry captured at stmt_time may be seen by the calling role: false outside the period of
// a period-restricted auditor grant. Raises like check_access().
bool entry_visible(TimestampTz stmt_time);

// Whether the calling role is restricted to a period, and which: [since, till), either may be open
// (DT_NOBEGIN / DT_NOEND). Raises like check_access().
bool access_period(TimestampTz *since, TimestampTz *till);

// Raises 42501 when the statement reads a relation of the trail with the privileges of role, a view's
// or rule's owner other than the current user, and role has those of a time-limited auditor: the
// limits bind the calling roles, so such a view would hand the auditor's access on to anyone, beyond
// its period and after its expiry (found by an attack review).
void check_trail_read_as(Oid role);

// Whether a role is a superuser or has the privileges of one of the named roles (witness_auditor,
// ...); a name that does not exist counts as not held.
bool superuser_or_member_of(Oid role, std::initializer_list<const char *> names);

// Registers the security label provider "pg_witness", whose labels on roles hold their limits.
void register_auditor_labels();

} // namespace witness::pg
