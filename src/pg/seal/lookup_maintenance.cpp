#include "pg/seal/lookup_maintenance.hpp"

#include "pg/common/subtransaction.hpp"

#include "pg/seal/worker_step.hpp"

extern "C" {
#include "access/xact.h"
#include "access/xlog.h"
#include "executor/spi.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "utils/resowner.h"
}

namespace witness::pg
{
namespace
{

// Whether the trail's SQL has the lookup table (0.2): a 0.1 trail not updated yet has not.
// (to_regprocedure() returns NULL when the function is missing, which DirectFunctionCall refuses.)
bool have_lookup()
{
	List *name = list_make2(makeString(pstrdup("witness")), makeString(pstrdup("_maintain_lookup")));
	return OidIsValid(LookupFuncName(name, 0, nullptr, true));
}

void run_maintenance()
{
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	int rc = SPI_execute("SELECT witness._maintain_lookup()", false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: filling witness.entry_lookup failed: %s", SPI_result_code_string(rc));
	SPI_finish();
}

} // namespace

void maintain_lookup()
{
	if (!have_lookup())
		return;
	// The block is the record; the lookup table only speeds up reading it.
	char message[512];
	if (!run_in_subtransaction([](void *) { run_maintenance(); }, nullptr, message, sizeof(message)))
		ereport(WARNING, (errmsg("pg_witness: witness.entry_lookup not filled: %s", message),
		                  errhint("The next seal tries again; until then lookups read the newest entries from witness.entry.")));
}

void maintain_lookup_after_pass()
{
	// A standby has no copy of the (unlogged) lookup table and writes nothing: its lookups read the
	// trail (witness._lookup_readable()).
	if (RecoveryInProgress())
		return;
	auto step = [](void *) {
		if (have_lookup())
			run_maintenance();
	};
	StepError e;
	if (!run_worker_step("pg_witness: filling witness.entry_lookup", step, nullptr, &e))
		ereport(WARNING, (errcode(e.sqlerrcode), errmsg("pg_witness: witness.entry_lookup not filled: %s", e.message),
		                  errhint("The next pass of the sealer tries again; until then lookups read the newest entries from witness.entry.")));
}

} // namespace witness::pg
