// The mark of pg_witness's own writes to its guarded tables (internal_ddl.cpp), for C callers; SQL
// sets it with witness._begin_internal_ddl() and witness._end_internal_ddl().
#pragma once

#include "pg/common/pg_includes.hpp"

namespace witness::pg
{

// Marks what follows as pg_witness's own, until internal_ddl_end() or the end of the (sub)transaction.
void internal_ddl_begin();
void internal_ddl_end();
// Whether that mark is set now.
bool internal_ddl_active();
// Refuses (42501) a call of a C function of pg_witness's through any declaration but pg_witness's own
// in schema witness: a superuser's second declaration of the symbol elsewhere would otherwise set the
// mark, or write the trail, with none of the records a call of pg_witness's function leaves.
void require_own_declaration(FunctionCallInfo fcinfo, const char *symbol);

} // namespace witness::pg
