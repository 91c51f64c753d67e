// Filling an activity event with what the backend knows about its session (activity_sources.cpp).
#pragma once

#include "pg/activity/activity_queue.hpp"

namespace witness::pg
{

// The session's attribution: database, users, application, client address, actor, pid. Reads no
// catalog unless in_transaction (names of roles are cached per backend). current_user: the role to
// name as current user, InvalidOid for GetUserId().
void fill_session(ActivityEvent *e, bool in_transaction, Oid current_user = InvalidOid);
// The statement text, cut to fit; its whole length is kept.
void fill_statement(ActivityEvent *e, const char *text);

} // namespace witness::pg
