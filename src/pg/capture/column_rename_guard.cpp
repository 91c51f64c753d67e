#include "pg/capture/column_rename_guard.hpp"

#include "pg/capture/internal_ddl.hpp"
#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "catalog/namespace.h"
#include "catalog/pg_authid.h"
#include "commands/trigger.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/rel.h"
}

namespace witness::pg
{

// A child's own copy of a configured column (one the tracked table lost to ALTER TABLE ONLY ... DROP
// COLUMN, the only way a child may rename it) renamed would be taken for a drop: an excluded column
// captured, a tagged one shown (found by a review). witness._refuse_column_rename() decides, as the
// bootstrap superuser: the renaming role need not read pg_witness's configuration.
void refuse_unfollowable_column_rename(const PlannedStmt *pstmt)
{
	const Node *stmt = pstmt->utilityStmt;
	if (stmt == nullptr || !IsA(stmt, RenameStmt) || !IsTransactionState())
		return;
	const RenameStmt *rename = castNode(RenameStmt, stmt);
	if (rename->renameType != OBJECT_COLUMN || rename->relation == nullptr || rename->subname == nullptr)
		return;
	if (internal_ddl_active() || SessionReplicationRole == SESSION_REPLICATION_ROLE_REPLICA)
		return;
	const Oid schema = get_namespace_oid("witness", true);
	if (!OidIsValid(schema) || !OidIsValid(get_relname_relid("tracked_table", schema)))
		return;
	const Oid relid = RangeVarGetRelid(rename->relation, NoLock, true);
	if (!OidIsValid(relid) || !has_capture_trigger(relid))
		return;
	Oid saved_user;
	int saved_context;
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(BOOTSTRAP_SUPERUSERID, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	PG_TRY();
	{
		if (SPI_connect() != SPI_OK_CONNECT)
			elog(ERROR, "pg_witness: SPI_connect failed");
		Oid argtypes[2] = {OIDOID, TEXTOID};
		Datum args[2] = {ObjectIdGetDatum(relid), CStringGetTextDatum(rename->subname)};
		if (SPI_execute_with_args("SELECT witness._refuse_column_rename($1, $2)", 2, argtypes, args, nullptr, false, 1) !=
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
