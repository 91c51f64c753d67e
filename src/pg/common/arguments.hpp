// Argument checks for the SQL-callable C functions. They must hold even when a function is declared
// without STRICT, or with fewer arguments than it reads: a superuser can declare one that way.
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Raises ERROR unless the SQL declaration passes at least n arguments.
inline void require_nargs(FunctionCallInfo fcinfo, int n)
{
	if (PG_NARGS() < n)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("function %s must be declared with %d arguments",
		                       format_procedure(fcinfo->flinfo != nullptr ? fcinfo->flinfo->fn_oid : InvalidOid), n)));
}

// Raises ERROR (null_value_not_allowed) when argument i is NULL; require_nargs first.
inline void require_not_null(FunctionCallInfo fcinfo, int i, const char *name)
{
	if (PG_ARGISNULL(i))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("%s must not be null", name)));
}

} // namespace witness::pg
