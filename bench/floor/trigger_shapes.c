/*
 * trigger_shapes: what PostgreSQL's trigger machinery alone costs a bulk statement, for
 * bench/floor.sh (modes r and s). Two trigger functions that write nothing:
 *
 *   floor_row_noop()         an AFTER ROW trigger that returns at once: the cost of an event queued
 *                            per row and the row fetched again at the end of the statement;
 *   floor_transition_read()  an AFTER STATEMENT trigger with transition tables (REFERENCING OLD/NEW
 *                            TABLE) that reads every column of every row of them once: the cost of
 *                            the tuplestores and of one pass over them.
 *
 * A capture built on either shape pays at least that much before it forms or writes an entry. Not part
 * of pg_witness: a benchmark tool, built and loaded only by bench/floor.sh.
 */
#include "postgres.h"

#include "commands/trigger.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "utils/rel.h"
#include "utils/tuplestore.h"

PG_MODULE_MAGIC;

PG_FUNCTION_INFO_V1(floor_row_noop);
PG_FUNCTION_INFO_V1(floor_transition_read);

Datum
floor_row_noop(PG_FUNCTION_ARGS)
{
	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("floor_row_noop: not called as a trigger")));
	return PointerGetDatum(NULL);
}

/* Reads every attribute of every tuple of one transition table, as a capture would have to. */
static int64
read_transition_table(Tuplestorestate *table, TupleDesc desc)
{
	TupleTableSlot *slot;
	int64		rows = 0;

	if (table == NULL)
		return 0;
	slot = MakeSingleTupleTableSlot(desc, &TTSOpsMinimalTuple);
	tuplestore_rescan(table);
	while (tuplestore_gettupleslot(table, true, false, slot))
	{
		CHECK_FOR_INTERRUPTS();
		slot_getallattrs(slot);
		rows++;
	}
	ExecDropSingleTupleTableSlot(slot);
	return rows;
}

Datum
floor_transition_read(PG_FUNCTION_ARGS)
{
	TriggerData *trigdata = (TriggerData *) fcinfo->context;
	TupleDesc	desc;
	int64		rows;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
						errmsg("floor_transition_read: not called as a trigger")));
	desc = RelationGetDescr(trigdata->tg_relation);
	rows = read_transition_table(trigdata->tg_oldtable, desc) +
		read_transition_table(trigdata->tg_newtable, desc);
	elog(DEBUG1, "floor_transition_read: %lld rows read", (long long) rows);
	return PointerGetDatum(NULL);
}
