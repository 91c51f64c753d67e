#include "pg/capture/column_rename_guard.hpp"

#include "pg/capture/internal_ddl.hpp"
#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_authid.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "utils/lsyscache.h"
#include "miscadmin.h"
#include "utils/rel.h"
}

namespace witness::pg
{

// Column renames pg_witness's configuration could not follow, or that would give a captured column an
// excluded name (witness._refuse_column_rename() decides, as the bootstrap superuser: the renaming role
// need not read pg_witness's configuration). Here, before the rename, where the old name is known and
// no event trigger a superuser could disable stands between.
void refuse_unfollowable_column_rename(const PlannedStmt *pstmt)
{
	const Node *stmt = pstmt->utilityStmt;
	if (stmt == nullptr || !IsA(stmt, RenameStmt) || !IsTransactionState())
		return;
	const RenameStmt *rename = castNode(RenameStmt, stmt);
	if ((rename->renameType != OBJECT_COLUMN && rename->renameType != OBJECT_ATTRIBUTE) || rename->relation == nullptr ||
	    rename->subname == nullptr || rename->newname == nullptr)
		return;
	if (internal_ddl_active() || SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA ||
	    !OidIsValid(witness_relation_if_exists("tracked_table")))
		return;
	const Oid relid = RangeVarGetRelid(rename->relation, NoLock, true);
	// A composite type's attribute renamed with CASCADE renames its typed tables' columns.
	if (!OidIsValid(relid) || (!has_capture_trigger(relid) && get_rel_relkind(relid) != RELKIND_COMPOSITE_TYPE))
		return;
	Oid saved_user;
	int saved_context;
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pg_witness: SPI_connect failed");
		Oid argtypes[3] = {OIDOID, TEXTOID, TEXTOID};
		Datum args[3] = {ObjectIdGetDatum(relid), CStringGetTextDatum(rename->subname), CStringGetTextDatum(rename->newname)};
		if (SPI_execute_with_args("SELECT witness._refuse_column_rename($1, $2, $3)", 3, argtypes, args, nullptr, false, 1) !=
		    SPI_OK_SELECT)
			elog(ERROR, "pg_witness: could not check a column rename");
		SPI_finish();
	}
	PG_FINALLY();
	{
		SetUserIdAndSecContext(saved_user, saved_context);
	}
	PG_END_TRY();
}

} // namespace witness::pg
