// Marks the DDL that pg_witness itself runs (installing and removing capture triggers), so that its
// event triggers let it through. The mark is a backend variable set only by functions PUBLIC cannot
// execute, never a setting: any role can SET a setting, which would switch the guards off.
// It ends with the (sub)transaction that set it, so an error half-way cannot leave it on.
#include "pg/capture/internal_ddl.hpp"

extern "C" {
#include "catalog/dependency.h"
#include "catalog/pg_proc.h"
#include "commands/extension.h"
}

namespace
{

int depth = 0;        // nesting of _begin_internal_ddl() calls
int opened_at = 0;    // transaction nesting level of the outermost one
bool callbacks_registered = false;

void on_xact(XactEvent event, void *)
{
	if (event == XACT_EVENT_COMMIT || event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_COMMIT ||
	    event == XACT_EVENT_PARALLEL_ABORT || event == XACT_EVENT_PREPARE)
		depth = 0;
}

// A subtransaction that rolls back takes the mark with it if it set it.
void on_subxact(SubXactEvent event, SubTransactionId, SubTransactionId, void *)
{
	if (event == SUBXACT_EVENT_ABORT_SUB && depth > 0 && GetCurrentTransactionNestLevel() <= opened_at)
		depth = 0;
}

} // namespace

namespace witness::pg
{

void internal_ddl_begin()
{
	if (!callbacks_registered) {
		RegisterXactCallback(on_xact, nullptr);
		RegisterSubXactCallback(on_subxact, nullptr);
		callbacks_registered = true;
	}
	if (depth++ == 0)
		opened_at = GetCurrentTransactionNestLevel();
}

void internal_ddl_end()
{
	if (depth > 0)
		depth--;
}

bool internal_ddl_active()
{
	return depth > 0;
}

void require_own_declaration(FunctionCallInfo fcinfo, const char *symbol)
{
	const Oid fn = fcinfo->flinfo != nullptr ? fcinfo->flinfo->fn_oid : InvalidOid;
	const Oid extension = get_extension_oid("pg_witness", true);
	if (OidIsValid(fn) && OidIsValid(extension) && get_func_namespace(fn) == get_namespace_oid("witness", true) &&
	    getExtensionOfObject(ProcedureRelationId, fn) == extension)
		return;
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("pg_witness's C function %s runs only as pg_witness declares it", symbol),
	                errdetail("It was called through %s, which is not a function of the extension pg_witness.",
	                          OidIsValid(fn) ? format_procedure(fn) : "no catalogued function")));
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_begin_internal_ddl);
PG_FUNCTION_INFO_V1(witness_end_internal_ddl);
PG_FUNCTION_INFO_V1(witness_in_internal_ddl);
PG_FUNCTION_INFO_V1(witness_outer_user);
Datum witness_begin_internal_ddl(PG_FUNCTION_ARGS);
Datum witness_end_internal_ddl(PG_FUNCTION_ARGS);
Datum witness_in_internal_ddl(PG_FUNCTION_ARGS);
Datum witness_outer_user(PG_FUNCTION_ARGS);

Datum witness_begin_internal_ddl(PG_FUNCTION_ARGS)
{
	witness::pg::require_own_declaration(fcinfo, "witness_begin_internal_ddl");
	witness::pg::internal_ddl_begin();
	PG_RETURN_VOID();
}

Datum witness_end_internal_ddl(PG_FUNCTION_ARGS)
{
	witness::pg::internal_ddl_end();
	PG_RETURN_VOID();
}

Datum witness_in_internal_ddl(PG_FUNCTION_ARGS)
{
	PG_RETURN_BOOL(depth > 0);
}

// The role that issued the command: SET ROLE changes it, SECURITY DEFINER functions (such as
// pg_witness's event triggers) do not, so DDL is attributed to whoever ran it.
Datum witness_outer_user(PG_FUNCTION_ARGS)
{
	PG_RETURN_TEXT_P(cstring_to_text(GetUserNameFromId(GetOuterUserId(), false)));
}
}
