#include "pg/capture/attribution.hpp"

#include "pg/capture/jsonb_canonical.hpp"
#include "pg/common/settings.hpp"

namespace witness::pg
{
namespace
{

struct RoleName {
	Oid role;
	char *name;
};
RoleName session_role = {InvalidOid, nullptr};
RoleName current_role = {InvalidOid, nullptr};
bool role_callback_registered = false;

bool client_known = false;
char *client_addr_text = nullptr;
Datum client_inet = (Datum)0;
int32 client_port = 0;
int32 backend_pid_for_entries = 0; // 0: MyProcPid; else the session an autonomous record is written for

char *context_raw = nullptr; // the witness.context text the cache below was made from
char *context_canonical = nullptr;
size_t context_canonical_len = 0;
Datum context_json = (Datum)0; // json datum holding context_canonical

void on_role_change(Datum, int, uint32)
{
	session_role.role = InvalidOid;
	current_role.role = InvalidOid;
}

const char *role_name(RoleName *cache, Oid role)
{
	if (!role_callback_registered) {
		CacheRegisterSyscacheCallback(AUTHOID, on_role_change, (Datum)0);
		role_callback_registered = true;
	}
	if (cache->role != role) {
		char *name = MemoryContextStrdup(TopMemoryContext, GetUserNameFromId(role, false));
		if (cache->name != nullptr)
			pfree(cache->name);
		cache->name = name;
		cache->role = role;
	}
	return cache->name;
}

// The client's address as inet_client_addr() reports it; computed once per backend.
void load_client()
{
	client_known = true;
	Port *port = MyProcPort;
	if (port == nullptr)
		return;
	int family = port->raddr.addr.ss_family;
	if (family != AF_INET && family != AF_INET6)
		return;
	char host[NI_MAXHOST];
	char serv[NI_MAXSERV];
	if (pg_getnameinfo_all(&port->raddr.addr, port->raddr.salen, host, sizeof(host), serv, sizeof(serv),
	                       NI_NUMERICHOST | NI_NUMERICSERV) != 0)
		return;
	clean_ipv6_addr(family, host);
	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	client_inet = DirectFunctionCall1(inet_in, CStringGetDatum(host));
	client_addr_text = DatumGetCString(DirectFunctionCall1(inet_out, client_inet));
	client_port = pg_strtoint32(serv);
	MemoryContextSwitchTo(old);
}

// witness.context as canonical JSON (the json stored), recomputed only when the setting's text changes.
void load_context(const char *raw)
{
	if (context_raw != nullptr && strcmp(context_raw, raw) == 0)
		return;
	Datum jb = DirectFunctionCall1(jsonb_in, CStringGetDatum(raw));
	size_t len;
	char *canon = jsonb_canonical(DatumGetJsonbP(jb), &len);

	MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
	char *raw_copy = pstrdup(raw);
	text *json = cstring_to_text_with_len(canon, (int)len);
	char *canon_copy = VARDATA(json);
	Datum jb_copy = PointerGetDatum(json);
	MemoryContextSwitchTo(old);
	if (context_raw != nullptr) {
		pfree(context_raw);
		pfree(DatumGetPointer(context_json));
	}
	context_raw = raw_copy;
	context_canonical = canon_copy;
	context_canonical_len = len;
	context_json = jb_copy;
}

const char *nonempty(const char *s)
{
	return (s != nullptr && *s != '\0') ? s : nullptr;
}

} // namespace

void attribute_to_session(const char *client_addr, int32 client_port_of_session, int32 backend_pid)
{
	client_known = true;
	client_addr_text = nullptr;
	client_inet = (Datum)0;
	client_port = 0;
	if (client_addr != nullptr && *client_addr != '\0') {
		MemoryContext old = MemoryContextSwitchTo(TopMemoryContext);
		client_inet = DirectFunctionCall1(inet_in, CStringGetDatum(client_addr));
		client_addr_text = DatumGetCString(DirectFunctionCall1(inet_out, client_inet));
		client_port = client_port_of_session;
		MemoryContextSwitchTo(old);
	}
	backend_pid_for_entries = backend_pid;
}

void current_attribution(Attribution *a, Oid role)
{
	a->session_user = role_name(&session_role, GetSessionUserId());
	a->current_user = role_name(&current_role, OidIsValid(role) ? role : GetUserId());
	a->application_name = nonempty(application_name);
	if (!client_known)
		load_client();
	a->client_addr = client_addr_text;
	a->client_inet = client_inet;
	a->client_port = client_port;
	a->backend_pid = backend_pid_for_entries != 0 ? backend_pid_for_entries : MyProcPid;
	a->actor = nonempty(setting_actor);
	a->reason = nonempty(setting_reason);
	const char *context = nonempty(setting_context);
	if (context == nullptr) {
		a->context_canonical = nullptr;
		a->context_len = 0;
		a->context_json = (Datum)0;
	} else {
		load_context(context);
		a->context_canonical = context_canonical;
		a->context_len = context_canonical_len;
		a->context_json = context_json;
	}
}

} // namespace witness::pg
