// What a command that may drop tables dropped from tracked trees (docs/capture.md, "DDL on tracked
// tables"): at its start, witness._on_drop_start() keeps the captured partitions and inheritance
// children with their tracked tables here; its sql_drop handler reads them once they are gone from
// the catalog. A backend variable, written only by a function PUBLIC cannot execute, rather than a
// setting any role could SET to forge what a drop is recorded as. It belongs to the transaction that
// wrote it: another transaction reads nothing.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"

extern "C" {
#include "storage/proc.h"
#include "utils/jsonb.h"
}

namespace
{

Jsonb *kept = nullptr;               // in TopTransactionContext
LocalTransactionId kept_in = InvalidLocalTransactionId;

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_keep_drop_tree);
PG_FUNCTION_INFO_V1(witness_kept_drop_tree);
Datum witness_keep_drop_tree(PG_FUNCTION_ARGS);
Datum witness_kept_drop_tree(PG_FUNCTION_ARGS);

// witness._keep_drop_tree(tree jsonb): keeps tree (NULL: nothing) for the rest of this transaction.
Datum witness_keep_drop_tree(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 1);
	kept = nullptr;
	kept_in = InvalidLocalTransactionId;
	if (!PG_ARGISNULL(0)) {
		Jsonb *tree = PG_GETARG_JSONB_P(0);
		kept = (Jsonb *)MemoryContextAlloc(TopTransactionContext, VARSIZE(tree));
		memcpy(kept, tree, VARSIZE(tree));
		kept_in = MyProc->lxid;
	}
	PG_RETURN_VOID();
}

// witness._kept_drop_tree(): what this transaction kept last, NULL when nothing.
Datum witness_kept_drop_tree(PG_FUNCTION_ARGS)
{
	if (kept == nullptr || kept_in != MyProc->lxid)
		PG_RETURN_NULL();
	// A copy in the caller's memory: the kept one stays for the next reader of this transaction.
	Jsonb *copy = (Jsonb *)palloc(VARSIZE(kept));
	memcpy(copy, kept, VARSIZE(kept));
	PG_RETURN_JSONB_P(copy);
}
}
