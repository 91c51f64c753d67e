// Who made a change and from where: cached per backend where it cannot change, read per entry where it can.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

struct Attribution {
	const char *session_user;
	const char *current_user;
	const char *application_name; // nullptr when empty
	const char *client_addr;      // nullptr for Unix-socket and background connections
	Datum client_inet;
	int32 client_port;
	int32 backend_pid;
	const char *actor;             // witness.actor, nullptr when unset
	const char *reason;            // witness.reason, nullptr when unset
	const char *context_canonical; // witness.context as canonical JSON, nullptr when unset
	size_t context_len;
	Datum context_json; // json: the canonical text
};

// role: the role the entry names as current_user; InvalidOid for the current one.
void current_attribution(Attribution *a, Oid role = InvalidOid);

// In a worker that writes an autonomous record (common/autonomous_record.cpp): the entries it
// captures name the client address and port and the backend pid of the session it records for, not
// its own. client_addr: as current_attribution() gave it in that session, nullptr for none.
void attribute_to_session(const char *client_addr, int32 client_port, int32 backend_pid);

} // namespace witness::pg
