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

bool identifier_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '$' || IS_HIGHBIT_SET(c);
}

// Where text holds word as a word of its own (case-insensitive; quotes and comments around it count as
// separators: "hold", witness.hold/**/(, not threshold or holder), or nullptr.
const char *find_word(const char *text, const char *word)
{
	const size_t n = strlen(word);
	for (const char *at = strcasestr(text, word); at != nullptr; at = strcasestr(at + 1, word))
		if ((at == text || !identifier_char(at[-1])) && !identifier_char(at[n]))
			return at;
	return nullptr;
}

// Whether the statement's first word, after white space and comments, is word.
bool first_word_is(const char *text, const char *word)
{
	const char *p = text;
	for (;;) {
		while (isspace((unsigned char)*p))
			p++;
		if (p[0] == '-' && p[1] == '-') {
			while (*p != '\0' && *p != '\n')
				p++;
		} else if (p[0] == '/' && p[1] == '*') {
			const char *end = strstr(p + 2, "*/");
			p = end != nullptr ? end + 2 : p + strlen(p);
		} else
			break;
	}
	const size_t n = strlen(word);
	return pg_strncasecmp(p, word, n) == 0 && !identifier_char(p[n]);
}

// An SQL EXECUTE of a prepared statement, wherever it stands (after a comment, in EXPLAIN or CREATE
// TABLE AS): keeps the text up to its parameters' "(" and withholds the rest. A DO block with an
// EXECUTE is withheld whole: its dynamic SQL can build a call from parts and values from anywhere in
// the block (a helper's review).
bool keep_execute_name(ActivityEvent *e, const char *text)
{
	const char *at = find_word(text, "execute");
	const char *open = at != nullptr ? strchr(at, '(') : nullptr;
	if (at != nullptr && first_word_is(text, "do")) {
		e->statement_length = (int32)strlcpy(e->statement, kWithheldSubject, sizeof(e->statement));
		return true;
	}
	if (open == nullptr)
		return false;
	const int before = (int)(open - text);
	const int keep = pg_mbcliplen(text, before, Min(before, kActivityStatementBytes - 64));
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
	// A name written with Unicode escapes (U&"h\006Fld") can be any of them.
	if (find_word(text, "hold") != nullptr || strcasestr(text, "u&\"") != nullptr) {
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
