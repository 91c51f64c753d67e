// Filling an activity event with what the backend knows about its session (activity_sources.cpp).
#pragma once

#include "pg/activity/activity_queue.hpp"

namespace witness::pg
{

// The session's attribution: database, users, application, client address, actor, pid. Reads no
// catalog unless in_transaction (names of roles are cached per backend). current_user: the role to
// name as current user, InvalidOid for GetUserId().
void fill_session(ActivityEvent *e, bool in_transaction, Oid current_user = InvalidOid);
// What a row holds instead of a statement that names a password, or a call that names a data subject.
constexpr const char *kWithheldPassword = "(withheld: the statement names a password)";
constexpr const char *kWithheldSubject = "(withheld: the statement may name a data subject)";
// The same for a call that takes a passphrase or a key (witness.export_encrypted(), docs/exports.md).
constexpr const char *kWithheldSecret = "(withheld: the statement may hold a passphrase or key)";

// The statement text, cut to fit; its whole length is kept. A statement that names a password, or
// pg_witness's subject functions, is withheld.
void fill_statement(ActivityEvent *e, const char *text);
// text (in the database encoding) cut to size - 1 bytes on a character boundary.
void copy_clipped(char *out, int size, const char *text);
// Bytes of unknown encoding (a startup packet's names): non-printable and non-ASCII bytes become '?'.
void copy_ascii(char *out, int size, const char *bytes);

} // namespace witness::pg
