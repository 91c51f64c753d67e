// What an ALTER EXTENSION ... ADD or DROP command made a member of an extension, or took out of it
// (docs/capture.md, "DDL on tracked tables"). pg_event_trigger_ddl_commands() names only the
// extension; the member is in the collected command, which SQL cannot read. A tracked table that
// becomes an extension's member is left out of pg_dump's dumps and dropped by DROP EXTENSION: the
// trail records the change of membership. No C++ object lives here: plain C calls only.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"

extern "C" {
#include "nodes/parsenodes.h"
#include "tcop/deparse_utility.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(witness_extension_member);
Datum witness_extension_member(PG_FUNCTION_ARGS);

// witness._extension_member(command pg_ddl_command, OUT classid oid, OUT objid oid, OUT added boolean):
// the object an ALTER EXTENSION ... ADD (added) or DROP command named; NULL for every other command.
Datum witness_extension_member(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	// A pg_ddl_command comes only from pg_event_trigger_ddl_commands(): its input function refuses
	// every value, so the pointer is one the event trigger machinery collected.
	const CollectedCommand *cmd = (const CollectedCommand *)PG_GETARG_POINTER(0);
	if (cmd->type != SCT_Simple || cmd->parsetree == nullptr || !IsA(cmd->parsetree, AlterExtensionContentsStmt))
		PG_RETURN_NULL();
	const AlterExtensionContentsStmt *stmt = (const AlterExtensionContentsStmt *)cmd->parsetree;
	const ObjectAddress &member = cmd->d.simple.secondaryObject;
	if (!OidIsValid(member.classId))
		PG_RETURN_NULL();

	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("witness._extension_member() must be declared to return a record of three columns")));
	desc = BlessTupleDesc(desc);
	Datum values[3] = {ObjectIdGetDatum(member.classId), ObjectIdGetDatum(member.objectId), BoolGetDatum(stmt->action > 0)};
	bool nulls[3] = {false, false, false};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
}
