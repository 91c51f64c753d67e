// The lock that keeps rotations of the master key one at a time. A rotation commits after every batch,
// so its lock must outlive transactions: a session lock. An advisory lock is one, but any role that can
// connect can take any advisory key first and so keep every rotation out (docs/security.md). This is a
// session lock on the procedure witness.rotate_master_key itself (lock tag "object", pg_proc, its oid),
// in ExclusiveLock mode: besides this file only DROP, ALTER, COMMENT and the like lock that object, and
// they hold it only while they run and, for anyone but its owner or a superuser, fail at once.
#include "pg/rotate/rotation_privilege.hpp"

extern "C" {
#include "catalog/pg_proc.h"
#include "miscadmin.h"
#include "storage/lock.h"
#include "utils/builtins.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(witness_take_rotation_lock);
Datum witness_take_rotation_lock(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_release_rotation_lock);
Datum witness_release_rotation_lock(PG_FUNCTION_ARGS);
}

namespace
{

LOCKTAG rotation_lock_tag()
{
	// A procedure: regprocedure finds routines of every kind (LookupFuncName only functions).
	const Oid proc = DatumGetObjectId(DirectFunctionCall1(regprocedurein, CStringGetDatum("witness.rotate_master_key(integer)")));
	LOCKTAG tag;
	SET_LOCKTAG_OBJECT(tag, MyDatabaseId, ProcedureRelationId, proc, 0);
	return tag;
}

} // namespace

// witness._take_rotation_lock(): true when this session holds the rotation lock now (taken, or held
// already), false when another session holds it. Never waits. The lock outlasts the commits of the
// rotation's batches; an error that aborts a transaction releases it (as PostgreSQL releases every
// session lock but advisory ones then), so a rotation that failed leaves no lock behind.
Datum witness_take_rotation_lock(PG_FUNCTION_ARGS)
{
	witness::pg::require_rotation_privilege();
	LOCKTAG tag = rotation_lock_tag();
	if (LockHeldByMe(&tag, ExclusiveLock))
		PG_RETURN_BOOL(true);
	PG_RETURN_BOOL(LockAcquire(&tag, ExclusiveLock, true, true) != LOCKACQUIRE_NOT_AVAIL);
}

// witness._release_rotation_lock(): releases the rotation lock when this session holds it.
Datum witness_release_rotation_lock(PG_FUNCTION_ARGS)
{
	witness::pg::require_rotation_privilege();
	LOCKTAG tag = rotation_lock_tag();
	if (LockHeldByMe(&tag, ExclusiveLock))
		LockRelease(&tag, ExclusiveLock, true);
	PG_RETURN_VOID();
}
