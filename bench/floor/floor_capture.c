/*
 * floor_capture: the least work a trigger-based capture that stores one row per change can do, for
 * bench/floor.sh. An AFTER ROW trigger that writes one row of a given size into a plain table: no
 * values read, no hash, no index. What it costs is PostgreSQL's AFTER ROW trigger machinery, forming
 * a tuple, the heap insert and its WAL. Not part of pg_witness: a benchmark tool, built and loaded only
 * by bench/floor.sh.
 *
 *   CREATE TRIGGER t AFTER INSERT OR UPDATE OR DELETE ON tab FOR EACH ROW
 *     EXECUTE FUNCTION floor_capture('sink_table', '<bytes for INSERT>', '<UPDATE>', '<DELETE>');
 *
 * The sink table has the columns (n bigint, filler bytea); each row's filler is sized so that the row
 * takes the given number of bytes (pg_column_size of the row).
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/table.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "commands/trigger.h"
#include "fmgr.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/regproc.h"
#include "utils/rel.h"
#include "utils/resowner.h"
#include "utils/varlena.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(floor_capture);

/* The sink, opened once per transaction (as pg_witness opens its trail) and closed before commit. */
static Relation sink = NULL;
static Oid sink_oid = InvalidOid;
static char sink_name[2 * NAMEDATALEN + 2];
static int64 counter = 0;
static bool callback_registered = false;

static void
floor_xact_callback(XactEvent event, void *arg)
{
	if (event == XACT_EVENT_PRE_COMMIT || event == XACT_EVENT_PRE_PREPARE)
	{
		if (sink != NULL)
		{
			ResourceOwner saved = CurrentResourceOwner;

			CurrentResourceOwner = TopTransactionResourceOwner;
			table_close(sink, NoLock);
			CurrentResourceOwner = saved;
		}
		sink = NULL;
	}
	else if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
		sink = NULL;			/* the resource owner released it */
}

static Relation
open_sink(const char *name)
{
	ResourceOwner saved;

	if (sink != NULL)
		return sink;
	if (!OidIsValid(sink_oid) || strcmp(name, sink_name) != 0)
	{
		sink_oid = RangeVarGetRelid(makeRangeVarFromNameList(stringToQualifiedNameList(name)), NoLock, false);
		strlcpy(sink_name, name, sizeof(sink_name));
	}
	if (!callback_registered)
	{
		RegisterXactCallback(floor_xact_callback, NULL);
		callback_registered = true;
	}
	saved = CurrentResourceOwner;
	CurrentResourceOwner = TopTransactionResourceOwner;
	sink = table_open(sink_oid, RowExclusiveLock);
	CurrentResourceOwner = saved;
	return sink;
}

Datum
floor_capture(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	Trigger    *trig;
	Relation	rel;
	int			arg;
	int			bytes;
	int			filler;
	bytea	   *payload;
	Datum		values[2];
	bool		nulls[2] = {false, false};
	HeapTuple	tuple;

	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) ||
		!TRIGGER_FIRED_FOR_ROW(td->tg_event) || td->tg_trigger->tgnargs != 4)
		elog(ERROR, "floor_capture must be an AFTER ROW trigger with four arguments");
	trig = td->tg_trigger;
	arg = TRIGGER_FIRED_BY_INSERT(td->tg_event) ? 1 : TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? 2 : 3;
	bytes = atoi(trig->tgargs[arg]);
	rel = open_sink(trig->tgargs[0]);

	/* pg_column_size of the row: a 24-byte tuple header, 8 bytes of n, a 4-byte varlena header. */
	filler = Max(bytes - 24 - 8 - VARHDRSZ, 0);
	payload = (bytea *) palloc(VARHDRSZ + filler);
	SET_VARSIZE(payload, VARHDRSZ + filler);
	memset(VARDATA(payload), 'x', filler);
	values[0] = Int64GetDatum(++counter);
	values[1] = PointerGetDatum(payload);
	tuple = heap_form_tuple(RelationGetDescr(rel), values, nulls);
	heap_insert(rel, tuple, GetCurrentCommandId(true), 0, NULL);
	heap_freetuple(tuple);
	pfree(payload);
	return PointerGetDatum(NULL);
}
