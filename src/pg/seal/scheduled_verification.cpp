#include "pg/seal/scheduled_verification.hpp"

#include "pg/capture/internal_ddl.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/seal/sealer_registry.hpp"
#include "pg/verify/verify_trail.hpp"

extern "C" {
#include "access/xact.h"
#include "commands/dbcommands.h"
#include "mb/pg_wchar.h"
#include "pgstat.h"
#include "utils/snapmgr.h"
}

namespace witness::pg
{
namespace
{

// Static: they survive the longjmp of an error in the verification.
VerificationSummary summary;
char database_name[NAMEDATALEN];
int error_code;

// Cut at a character boundary: a cut inside a multibyte character is not valid text to insert.
void copy_text(char *out, size_t size, const char *text)
{
	if (text == nullptr)
		text = "";
	int len = pg_mbcliplen(text, (int)strlen(text), (int)size - 1);
	memcpy(out, text, len);
	out[len] = '\0';
}

// The result as a row of witness.verification_run, in the verification's transaction: captured, it
// becomes an entry of the chain, sealed by the next pass.
void record_run()
{
	Oid argtypes[8] = {TIMESTAMPTZOID, TIMESTAMPTZOID, TEXTOID, INT8OID, INT8OID, INT8OID, INT8OID, TEXTOID};
	Datum args[8] = {TimestampTzGetDatum(summary.started_at), TimestampTzGetDatum(summary.finished_at),
	                 CStringGetTextDatum(summary.status),     Int64GetDatum(summary.problems),
	                 Int64GetDatum(summary.blocks_checked),   Int64GetDatum(summary.entries_checked),
	                 Int64GetDatum(summary.entries_pending),  CStringGetTextDatum(summary.first_problem)};
	char nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', summary.first_problem[0] == '\0' ? 'n' : ' '};
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	internal_ddl_begin();
	if (SPI_execute_with_args("INSERT INTO witness.verification_run (started_at, finished_at, status, problems,"
	                          " blocks_checked, entries_checked, entries_pending, first_problem)"
	                          " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
	                          8, argtypes, args, nulls, false, 0) != SPI_OK_INSERT)
		elog(ERROR, "pg_witness: could not record the scheduled verification");
	internal_ddl_end();
	SPI_finish();
}

// Verifies and records; returns false when this database has no witness.verification_run (pg_witness
// missing, or not updated to 0.2), which is then left alone.
bool verify_and_record()
{
	if (!OidIsValid(witness_relation_if_exists("verification_run")))
		return false;
	const char *name = get_database_name(MyDatabaseId);
	copy_text(database_name, sizeof(database_name), name);
	VerifyResult r;
	verify_whole_trail(&r);
	summary.finished_at = GetCurrentTimestamp();
	copy_text(summary.status, sizeof(summary.status), r.status);
	summary.problems = r.nproblems;
	summary.blocks_checked = r.blocks_checked;
	summary.entries_checked = r.entries_checked;
	summary.entries_pending = r.entries_pending;
	if (r.nproblems > 0) {
		const VerifyProblem &p = r.problems[0];
		char *where = p.block_no != 0 && p.entry_id != 0
		                  ? psprintf(" (block %lld, entry %lld)", (long long)p.block_no, (long long)p.entry_id)
		              : p.block_no != 0 ? psprintf(" (block %lld)", (long long)p.block_no)
		              : p.entry_id != 0 ? psprintf(" (entry %lld)", (long long)p.entry_id)
		                                : pstrdup("");
		char *first = psprintf("%s%s: %s", p.kind, where, p.detail != nullptr ? p.detail : "");
		copy_text(summary.first_problem, sizeof(summary.first_problem), first);
	}
	record_run();
	return true;
}

} // namespace

void verify_if_due()
{
	if (setting_verify_interval_ms <= 0)
		return;
	const TimestampTz now = GetCurrentTimestamp();
	if (!registry_verification_due(MyDatabaseId, now, setting_verify_interval_ms))
		return;
	memset(&summary, 0, sizeof(summary));
	summary.started_at = now;
	snprintf(database_name, sizeof(database_name), "%u", MyDatabaseId);
	volatile bool ran = true;
	PG_TRY();
	{
		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		pgstat_report_activity(STATE_RUNNING, "pg_witness: verifying");
		ran = verify_and_record();
		PopActiveSnapshot();
		CommitTransactionCommand();
		pgstat_report_stat(true);
		pgstat_report_activity(STATE_IDLE, nullptr);
	}
	PG_CATCH();
	{
		// The verification could not finish (a lock, a cancel, a damaged row it cannot read): reported
		// as an error, loud like a failed one, and tried again one interval later.
		MemoryContextSwitchTo(TopMemoryContext);
		ErrorData *e = CopyErrorData();
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		summary.finished_at = GetCurrentTimestamp();
		copy_text(summary.status, sizeof(summary.status), "error");
		copy_text(summary.first_problem, sizeof(summary.first_problem), e->message);
		error_code = e->sqlerrcode;
		FreeErrorData(e);
		ran = true;
	}
	PG_END_TRY();
	if (!ran)
		return;
	registry_record_verification(MyDatabaseId, &summary);
	if (strcmp(summary.status, "error") == 0)
		ereport(WARNING,
		        (errcode(error_code),
		         errmsg("pg_witness: scheduled verification of database \"%s\" could not finish", database_name),
		         errdetail("%s", summary.first_problem),
		         errhint("Run SELECT * FROM witness.verify() in that database.")));
	else if (strcmp(summary.status, "valid") != 0)
		ereport(WARNING,
		        (errcode(ERRCODE_DATA_CORRUPTED),
		         errmsg("pg_witness: scheduled verification of database \"%s\" found the trail %s", database_name,
		                summary.status),
		         errdetail_plural("%lld problem; the first: %s", "%lld problems; the first: %s",
		                          (unsigned long)summary.problems, (long long)summary.problems, summary.first_problem),
		         errhint("Run SELECT * FROM witness.verify() in that database for every problem.")));
}

} // namespace witness::pg
