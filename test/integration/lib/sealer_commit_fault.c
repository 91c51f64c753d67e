/*
 * Test-only PostgreSQL module: makes the commit of the pg_witness sealer's transactions fail.
 *
 * Used by test/integration/digest_after_commit.sh, which compiles it against the server's headers
 * and preloads it by absolute path in a cluster of its own (shared_preload_libraries =
 * 'pg_witness,<dir>/sealer_commit_fault'); it is never installed. While the setting
 * sealer_commit_fault.fail is on, a pre-commit callback raises an ERROR in every transaction that
 * wrote something (has a transaction id) in a background worker of type "pg_witness sealer", as a
 * deferred constraint or another extension's pre-commit check could: the transaction rolls back
 * instead of committing. Transactions that wrote nothing, such as the one that reads the catalogs
 * while the worker connects, commit as usual.
 */
#include "postgres.h"

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "utils/guc.h"

PG_MODULE_MAGIC;

void _PG_init(void);

static bool fail_commit = false;

static void
fail_sealer_commit(XactEvent event, void *arg)
{
	if (event != XACT_EVENT_PRE_COMMIT || !fail_commit || MyBgworkerEntry == NULL ||
		strcmp(MyBgworkerEntry->bgw_type, "pg_witness sealer") != 0 ||
		!TransactionIdIsValid(GetTopTransactionIdIfAny()))
		return;
	ereport(ERROR, (errcode(ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION),
					errmsg("sealer_commit_fault: the sealer's commit fails")));
}

void
_PG_init(void)
{
	DefineCustomBoolVariable("sealer_commit_fault.fail", "Makes every commit of the pg_witness sealer fail (tests only).",
							 NULL, &fail_commit, false, PGC_SIGHUP, 0, NULL, NULL, NULL);
	RegisterXactCallback(fail_sealer_commit, NULL);
}
