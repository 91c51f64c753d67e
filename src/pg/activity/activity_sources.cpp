#include "pg/activity/activity_sources.hpp"

#include "pg/common/settings.hpp"

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
		strlcpy(e->actor, setting_actor, NAMEDATALEN);
}

void fill_statement(ActivityEvent *e, const char *text)
{
	if (text == nullptr)
		return;
	const size_t len = strlen(text);
	e->statement_length = (int32)Min(len, (size_t)PG_INT32_MAX);
	// Cut on a character boundary: the drain stores it as text.
	int keep = (int)Min(len, (size_t)kActivityStatementBytes - 1);
	keep = pg_mbcliplen(text, (int)len, keep);
	memcpy(e->statement, text, keep);
	e->statement[keep] = '\0';
}

} // namespace witness::pg
