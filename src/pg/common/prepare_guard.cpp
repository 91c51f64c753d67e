// The one guard behind refuse_prepare_while_held() (prepare_guard.hpp): witness.seal() calls it once it
// holds the sealer lock, witness._refuse_prepare_holding() once witness._take_mutex() holds a row of
// witness.mutex (FOR UPDATE).
#include "pg/common/prepare_guard.hpp"

#include "pg/common/pg_includes.hpp"

extern "C" {
#include "access/xact.h"
}

namespace witness::pg
{
namespace
{

// What this transaction holds; message[0] == '\0' when nothing.
struct Held {
	char message[NAMEDATALEN + 128];
	const char *detail;
	const char *hint;
};
Held held = {};
bool guard_registered = false;

void refuse_prepare(XactEvent event, void *)
{
	if (event == XACT_EVENT_PRE_PREPARE && held.message[0] != '\0')
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("%s", held.message), errdetail("%s", held.detail),
		                errhint("%s", held.hint)));
	if (event != XACT_EVENT_PRE_COMMIT && event != XACT_EVENT_PARALLEL_PRE_COMMIT && event != XACT_EVENT_PRE_PREPARE)
		held.message[0] = '\0';
}

} // namespace

void refuse_prepare_while_held(const char *message, const char *detail, const char *hint)
{
	if (!guard_registered) {
		RegisterXactCallback(refuse_prepare, nullptr);
		guard_registered = true;
	}
	if (held.message[0] != '\0')
		return;
	strlcpy(held.message, message, sizeof(held.message));
	held.detail = detail;
	held.hint = hint;
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_refuse_prepare_holding);
Datum witness_refuse_prepare_holding(PG_FUNCTION_ARGS);

// witness._refuse_prepare_holding(lock_name): the lock is a row of witness.mutex, which the alert
// evaluation, lookup maintenance, erasures and retention take too (a review prepared a
// set_alert_rule(), and no alert was raised until it was rolled back).
Datum witness_refuse_prepare_holding(PG_FUNCTION_ARGS)
{
	if (PG_NARGS() != 1 || PG_ARGISNULL(0))
		PG_RETURN_VOID();
	char lock[NAMEDATALEN];
	text_to_cstring_buffer(PG_GETARG_TEXT_PP(0), lock, sizeof(lock));
	char message[NAMEDATALEN + 128];
	snprintf(message, sizeof(message), "cannot prepare a transaction that holds pg_witness's \"%s\" lock", lock);
	witness::pg::refuse_prepare_while_held(
	    message,
	    "Prepared, it would hold the lock until COMMIT PREPARED, and pg_witness's work that takes it (alerts, "
	    "lookups, erasures, retention, the daily summary) would wait until then.",
	    "Call the pg_witness function in a transaction that is not prepared.");
	PG_RETURN_VOID();
}
}
