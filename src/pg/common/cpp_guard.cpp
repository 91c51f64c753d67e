#include "pg/common/cpp_guard.hpp"

#include <cstdio>

namespace witness::pg
{

void set_guard_message(const char *message) noexcept
{
	std::snprintf(guard_errbuf, sizeof(guard_errbuf), "%s", message);
}

// The error a PostgreSQL call raised inside a guard is still on the error stack: report it as ours.
void raise_postgres_error_inside_guard()
{
	ErrorData *e = CopyErrorData();
	FlushErrorState();
	ereport(ERROR, (errcode(ERRCODE_INTERNAL_ERROR),
	                errmsg("pg_witness bug: a PostgreSQL error was raised inside C++ code: %s", e->message),
	                errhint("Report this with the statement that raised it.")));
	pg_unreachable();
}

void raise_core_error(int sqlstate, const char *context, const char *message, const char *hint)
{
	ereport(ERROR, (errcode(sqlstate), errmsg("%s: %s", context, message), hint ? errhint("%s", hint) : 0));
	pg_unreachable();
}

} // namespace witness::pg
