// witness._refuse_prepare_holding(lock_name): called by witness._take_mutex() once it holds one of
// pg_witness's locks (a row of witness.mutex, FOR UPDATE). A prepared transaction keeps its row locks
// until COMMIT PREPARED: the alert evaluation, lookup maintenance, erasures and retention that take the
// same lock would wait for it, a forgotten one for good, while verify() said valid (a review prepared a
// transaction that had set an alert rule, and no alert was raised until it was rolled back). So the
// transaction's PREPARE is refused, as after witness.seal().
#include "pg/common/pg_includes.hpp"

extern "C" {
#include "access/xact.h"
}

namespace
{

char held_lock[NAMEDATALEN]; // "" when this transaction holds none
bool guard_registered = false;

void refuse_prepare_holding(XactEvent event, void *)
{
	if (event == XACT_EVENT_PRE_PREPARE && held_lock[0] != '\0')
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("cannot prepare a transaction that holds pg_witness's \"%s\" lock", held_lock),
		                errdetail("Prepared, it would hold the lock until COMMIT PREPARED, and the work that takes it "
		                          "(alerts, lookups, erasures, retention) would wait until then."),
		                errhint("Call the pg_witness function in a transaction that is not prepared.")));
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PARALLEL_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		held_lock[0] = '\0';
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_refuse_prepare_holding);
Datum witness_refuse_prepare_holding(PG_FUNCTION_ARGS);

Datum witness_refuse_prepare_holding(PG_FUNCTION_ARGS)
{
	if (PG_NARGS() != 1 || PG_ARGISNULL(0))
		PG_RETURN_VOID();
	if (!guard_registered) {
		RegisterXactCallback(refuse_prepare_holding, nullptr);
		guard_registered = true;
	}
	text *name = PG_GETARG_TEXT_PP(0);
	text_to_cstring_buffer(name, held_lock, sizeof(held_lock));
	PG_RETURN_VOID();
}
}
