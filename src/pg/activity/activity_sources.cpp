#include "pg/activity/activity_sources.hpp"

#include "pg/common/settings.hpp"

#include <initializer_list>

extern "C" {
#include "utils/acl.h"
}

namespace witness::pg
{
namespace
{

// The names of the last roles looked up: a session rarely changes roles.
struct RoleName {
	Oid id = InvalidOid;
	char name[NAMEDATALEN];
};
RoleName session_role, current_role;

void role_name(RoleName *cache, Oid id, bool in_transaction, char *out)
{
	if (cache->id != id && in_transaction) {
		const char *name = GetUserNameFromId(id, true);
		if (name != nullptr) {
			strlcpy(cache->name, name, NAMEDATALEN);
			cache->id = id;
		}
	}
	if (cache->id == id)
		strlcpy(out, cache->name, NAMEDATALEN);
	else
		snprintf(out, NAMEDATALEN, "role %u", id);
}

} // namespace

void fill_session(ActivityEvent *e, bool in_transaction, Oid current_user)
{
	if (!OidIsValid(current_user))
		current_user = GetUserId();
	e->database = MyDatabaseId;
	if (MyProcPort != nullptr && MyProcPort->database_name != nullptr)
		strlcpy(e->database_name, MyProcPort->database_name, NAMEDATALEN);
	e->pid = MyProcPid;
	if (OidIsValid(GetSessionUserId()))
		role_name(&session_role, GetSessionUserId(), in_transaction, e->session_user);
	else if (MyProcPort != nullptr && MyProcPort->user_name != nullptr)
		strlcpy(e->session_user, MyProcPort->user_name, NAMEDATALEN);
	if (OidIsValid(current_user))
		role_name(&current_role, current_user, in_transaction, e->current_user);
	if (application_name != nullptr)
		strlcpy(e->application_name, application_name, NAMEDATALEN);
	if (MyProcPort != nullptr && MyProcPort->remote_host != nullptr && MyProcPort->raddr.addr.ss_family != AF_UNIX)
		strlcpy(e->client_addr, MyProcPort->remote_host, sizeof(e->client_addr));
	if (setting_actor != nullptr)
		copy_clipped(e->actor, NAMEDATALEN, setting_actor);
}

void copy_clipped(char *out, int size, const char *text)
{
	const int len = (int)strlen(text);
	const int keep = pg_mbcliplen(text, len, Min(len, size - 1));
	memcpy(out, text, keep);
	out[keep] = '\0';
}

void copy_ascii(char *out, int size, const char *bytes)
{
	int i = 0;
	for (; i < size - 1 && bytes[i] != '\0'; i++)
		out[i] = (bytes[i] < 32 || bytes[i] > 126) ? '?' : bytes[i];
	out[i] = '\0';
}

namespace
{

// Whether text calls a function of that name: the name, not part of a longer word, then "(" after
// optional white space ("witness.hold(", "hold (", not "threshold" or "holder(").
bool names_call_of(const char *text, const char *name)
{
	const size_t n = strlen(name);
	for (const char *at = strcasestr(text, name); at != nullptr; at = strcasestr(at + 1, name)) {
		const bool starts = at == text || !(isalnum((unsigned char)at[-1]) || at[-1] == '_');
		const char *after = at + n;
		while (isspace((unsigned char)*after))
			after++;
		if (starts && *after == '(')
			return true;
	}
	return false;
}

// An SQL EXECUTE of a prepared statement: keeps "EXECUTE name" and withholds its parameters.
bool keep_execute_name(ActivityEvent *e, const char *text)
{
	const char *p = text;
	while (isspace((unsigned char)*p))
		p++;
	if (pg_strncasecmp(p, "execute", 7) != 0 || !isspace((unsigned char)p[7]))
		return false;
	const char *open = strchr(p, '(');
	if (open == nullptr)
		return false;
	const int keep = pg_mbcliplen(text, (int)(open - text), (int)Min((size_t)(open - text), (size_t)kActivityStatementBytes - 64));
	snprintf(e->statement, sizeof(e->statement), "%.*s(withheld: the parameters may name a data subject)", keep, text);
	e->statement_length = (int32)strlen(e->statement);
	return true;
}

} // namespace

void fill_statement(ActivityEvent *e, const char *text)
{
	if (text == nullptr)
		return;
	const size_t len = strlen(text);
	e->statement_length = (int32)Min(len, (size_t)PG_INT32_MAX);
	// The trail is append-only: a password in it (ALTER ROLE ... PASSWORD refused, a login table read
	// WHERE password = ...) could never be taken out again.
	if (strcasestr(text, "password") != nullptr) {
		e->statement_length = (int32)strlcpy(e->statement, kWithheldPassword, sizeof(e->statement));
		return;
	}
	// Nor the data subject of a (refused) subject access, erasure, binding or hold: erasure could not
	// reach it (hold() found missing by a helper's review).
	for (const char *f : {"subject_export", "erase_subject", "bind_subject", "my_trail"})
		if (strcasestr(text, f) != nullptr) {
			e->statement_length = (int32)strlcpy(e->statement, kWithheldSubject, sizeof(e->statement));
			return;
		}
	if (names_call_of(text, "hold")) {
		e->statement_length = (int32)strlcpy(e->statement, kWithheldSubject, sizeof(e->statement));
		return;
	}
	// Nor the parameters of a prepared statement's EXECUTE: they may be the subject of a
	// subject_export() or erase_subject() prepared earlier, whose text named the function.
	if (keep_execute_name(e, text))
		return;
	// Nor the passphrase or pseudonym key of a (refused) export (docs/exports.md).
	for (const char *f : {"export_encrypted", "pseudonym_key"})
		if (strcasestr(text, f) != nullptr) {
			e->statement_length = (int32)strlcpy(e->statement, kWithheldSecret, sizeof(e->statement));
			return;
		}
	// Cut on a character boundary: the drain stores it as text.
	int keep = (int)Min(len, (size_t)kActivityStatementBytes - 1);
	keep = pg_mbcliplen(text, (int)len, keep);
	memcpy(e->statement, text, keep);
	e->statement[keep] = '\0';
}

} // namespace witness::pg
