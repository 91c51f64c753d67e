// The capture triggers: AFTER ROW for INSERT/UPDATE/DELETE and AFTER STATEMENT for TRUNCATE.
// This is the hot path: no SPI, no lock other writers wait on; one heap insert per change, batched per
// statement by entry_store.cpp, whose BRIN indexes (xid, id) get a batch's first and last entry per range.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/capture/entry_writer.hpp"
#include "pg/capture/held_entries.hpp"
#include "pg/capture/capture_plan.hpp"
#include "pg/capture/statement_levels.hpp"
#include "pg/capture/value_capture.hpp"
#include "core/key_order.hpp"

extern "C" {
#include "access/htup_details.h"
#include "access/xact.h"
#include "access/tableam.h"
#include "utils/snapmgr.h"
}

using namespace witness;
using namespace witness::pg;

namespace
{

// The column values of one row, converted on first use (a key column also appears in new_values).
struct RowValues {
	TupleTableSlot *slot;
	CapturedValue *values;
	bool *done;
};

void init_row(RowValues *row, TupleTableSlot *slot, int ncols)
{
	row->slot = slot;
	if (slot == nullptr)
		return;
	slot_getallattrs(slot);
	row->values = (CapturedValue *)palloc(sizeof(CapturedValue) * Max(ncols, 1));
	row->done = (bool *)palloc0(sizeof(bool) * Max(ncols, 1));
}

const CapturedValue &value_of(const CapturePlan *plan, RowValues *row, int col)
{
	if (!row->done[col]) {
		const ColumnPlan &c = plan->cols[col];
		capture_value(c, row->slot->tts_values[c.attnum - 1], row->slot->tts_isnull[c.attnum - 1], &row->values[col]);
		row->done[col] = true;
	}
	return row->values[col];
}

// True when an UPDATE changed the column; unequal toast pointers are compared by content.
bool column_changed(const ColumnPlan &c, TupleTableSlot *oldslot, TupleTableSlot *newslot)
{
	int i = c.attnum - 1;
	bool oldnull = oldslot->tts_isnull[i], newnull = newslot->tts_isnull[i];
	if (oldnull || newnull)
		return oldnull != newnull;
	Datum a = oldslot->tts_values[i], b = newslot->tts_values[i];
	if (datumIsEqual(a, b, c.typbyval, c.typlen))
		return false;
	if (c.typlen != -1)
		return true;
	if (!VARATT_IS_EXTENDED(DatumGetPointer(a)) && !VARATT_IS_EXTENDED(DatumGetPointer(b)))
		return true;
	struct varlena *x = pg_detoast_datum_packed((struct varlena *)DatumGetPointer(a));
	struct varlena *y = pg_detoast_datum_packed((struct varlena *)DatumGetPointer(b));
	const bool changed = VARSIZE_ANY_EXHDR(x) != VARSIZE_ANY_EXHDR(y) ||
	                     memcmp(VARDATA_ANY(x), VARDATA_ANY(y), VARSIZE_ANY_EXHDR(x)) != 0;
	// The detoasted copies go at once: a large value's would otherwise stay until the row is done.
	if (x != (struct varlena *)DatumGetPointer(a))
		pfree(x);
	if (y != (struct varlena *)DatumGetPointer(b))
		pfree(y);
	return changed;
}

// The row key's field naming an inheritance child: "tableoid" is a system column's name, which no
// key column can have.
constexpr char kChildKeyField[] = "tableoid";

// Builds one JSON object from some columns of a row: its canonical text is both stored and hashed.
// child: an inheritance child's name, added as the field "tableoid" in its sorted place (row keys).
Datum build_object(const CapturePlan *plan, RowValues *row, const int *cols, int n, JsonDoc *doc,
                   const char *child = nullptr)
{
	auto *fields = (JsonField *)palloc(sizeof(JsonField) * (n + 1));
	int nf = 0;
	bool child_placed = child == nullptr;
	for (int i = 0; i < n; i++) {
		const ColumnPlan &c = plan->cols[cols[i]];
		if (!child_placed && compare_keys(kChildKeyField, strlen(kChildKeyField), c.name, c.name_len) < 0) {
			fields[nf++] = {kChildKeyField, strlen(kChildKeyField), JsonKind::String, child, strlen(child)};
			child_placed = true;
		}
		const CapturedValue &v = value_of(plan, row, cols[i]);
		fields[nf++] = {c.name, c.name_len, v.kind, v.text, v.len};
	}
	if (!child_placed)
		fields[nf++] = {kChildKeyField, strlen(kChildKeyField), JsonKind::String, child, strlen(child)};
	doc->present = true;
	return json_object(fields, (size_t)nf, &doc->canonical, &doc->canonical_len);
}

struct RowChange {
	const CapturePlan *plan;
	char op;
	RowValues oldrow;
	RowValues newrow;
	const int *changed; // columns whose values the entry carries
	int nchanged;
	ChangeRecord *record;
};

// An UPDATE that changed the subject column keeps the subject the row had: its old values are that
// subject's data, which its erasure must reach (docs/personal-data.md, "A row that moves").
void note_old_subject(RowChange *rc)
{
	const CapturePlan *plan = rc->plan;
	bool changed = false;
	for (int i = 0; i < rc->nchanged && !changed; i++)
		changed = rc->changed[i] == plan->subject;
	if (!changed)
		return;
	const CapturedValue &old = value_of(plan, &rc->oldrow, plan->subject);
	if (old.kind == JsonKind::Null || old.len == 0)
		return;
	const TextField &now = rc->record->view.subject;
	if (now.present && now.len == old.len && memcmp(now.ptr, old.text, old.len) == 0)
		return;
	rc->record->old_subject.present = true;
	rc->record->old_subject.ptr = old.text;
	rc->record->old_subject.len = old.len;
}

// Converts values and fills the record; runs with output settings pinned.
void describe_change(RowChange *rc)
{
	const CapturePlan *plan = rc->plan;
	EntryView &v = rc->record->view;
	RowValues *keyrow = rc->op == 'D' ? &rc->oldrow : &rc->newrow;
	if (plan->nkeys > 0)
		rc->record->row_key = build_object(plan, keyrow, plan->keys, plan->nkeys, &v.row_key, plan->child_name);
	// An empty subject names nobody: the entry has none, as for NULL (a robustness review found such
	// entries captured with subject '' that no export or erasure, which refuse an empty subject, reached).
	if (plan->subject >= 0) {
		const CapturedValue &s = value_of(plan, keyrow, plan->subject);
		if (s.kind != JsonKind::Null && s.len > 0) {
			v.subject.present = true;
			v.subject.ptr = s.text;
			v.subject.len = s.len;
		}
	}
	if (rc->op == 'U')
		note_old_subject(rc);
	if (rc->op != 'I')
		rc->record->old_values = build_object(plan, &rc->oldrow, rc->changed, rc->nchanged, &v.old_values);
	if (rc->op != 'D')
		rc->record->new_values = build_object(plan, &rc->newrow, rc->changed, rc->nchanged, &v.new_values);
}

void start_record(ChangeRecord *record, const CapturePlan *plan, char op)
{
	*record = ChangeRecord();
	record->view.op = op;
	record->view.schema_name.present = true;
	record->view.schema_name.ptr = plan->schema_name;
	record->view.schema_name.len = strlen(plan->schema_name);
	record->view.table_name.present = true;
	record->view.table_name.ptr = plan->table_name;
	record->view.table_name.len = strlen(plan->table_name);
	record->view.tags = plan->table_tags;
	record->encrypt = plan->encrypt;
}

// The command that made a row change: the one that wrote the row version an INSERT or UPDATE made, or
// removed the one a DELETE removed. Only a heap row version says; for another table access method, the
// command now running, which is later.
CommandId change_command(TriggerData *td)
{
	TupleTableSlot *slot = TRIGGER_FIRED_BY_UPDATE(td->tg_event) ? td->tg_newslot : td->tg_trigslot;
	if (slot == nullptr || !TTS_IS_BUFFERTUPLE(slot))
		return GetCurrentCommandId(false);
	HeapTuple tuple = ((BufferHeapTupleTableSlot *)slot)->base.tuple;
	if (tuple == nullptr || tuple->t_data == nullptr)
		return GetCurrentCommandId(false);
	return TRIGGER_FIRED_BY_DELETE(td->tg_event) ? HeapTupleHeaderGetCmax(tuple->t_data)
	                                             : HeapTupleHeaderGetCmin(tuple->t_data);
}

// When this transaction made the row version an UPDATE or DELETE changed: the command that made it.
bool version_made_here(TriggerData *td, CommandId *command)
{
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event) || td->tg_trigslot == nullptr || !TTS_IS_BUFFERTUPLE(td->tg_trigslot))
		return false;
	HeapTuple tuple = ((BufferHeapTupleTableSlot *)td->tg_trigslot)->base.tuple;
	if (tuple == nullptr || tuple->t_data == nullptr ||
	    !TransactionIdIsCurrentTransactionId(HeapTupleHeaderGetXmin(tuple->t_data)))
		return false;
	*command = HeapTupleHeaderGetCmin(tuple->t_data);
	return true;
}

// A change a trigger reports is attributed to the role its statement ran as. Its entry is held
// (statement_levels.hpp) when it may come after one not written yet to the same row:
// - inside a statement that another running writing statement encloses, when its statement runs from
//   the enclosing one's AFTER triggers;
// - when it changed a row version whose own entry is not written yet: one a running writing statement
//   made, nested in it, or one whose entry is held (a foreign-key cascade's change, fired with the
//   enclosing statement's own events, not nested, can change such a row again);
// - while entries are held, an INSERT that no running statement made, or nested: the key may be one
//   whose DELETE is held. (The enclosing statement's own INSERT is not held: its key's held DELETE
//   would have to come from a later command of its own, see docs/capture.md.)
void note_statement(ChangeRecord *record, TriggerData *td)
{
	record->acting_role = statement_role();
	const bool nested = capture_is_nested_in_write();
	const bool holding = have_held_entries();
	if (!nested && !holding)
		return;
	bool hold = nested && capture_follows_enclosing_statement();
	CommandId made;
	if (!hold && version_made_here(td, &made))
		hold = (nested && command_of_running_write(made)) || command_has_held_entries(made);
	if (!hold && holding && TRIGGER_FIRED_BY_INSERT(td->tg_event))
		hold = nested || !command_of_running_write(change_command(td));
	if (hold) {
		record->hold = true;
		record->command = change_command(td);
	}
}

// td: the trigger call that reports the change; nullptr for rows that joined a tracked table.
void capture_row(const CapturePlan *plan, char op, TupleTableSlot *oldslot, TupleTableSlot *newslot,
                 TriggerData *td)
{
	RowChange rc;
	rc.plan = plan;
	rc.op = op;
	init_row(&rc.oldrow, oldslot, plan->ncols);
	init_row(&rc.newrow, newslot, plan->ncols);

	int *changed = (int *)palloc(sizeof(int) * Max(plan->ncols, 1));
	int nchanged = 0;
	int64 tags = plan->table_tags;
	for (int i = 0; i < plan->ncols; i++) {
		if (op == 'U' && !column_changed(plan->cols[i], oldslot, newslot))
			continue;
		changed[nchanged++] = i;
		tags |= plan->cols[i].tags;
	}
	if (op == 'U' && nchanged == 0)
		return; // nothing captured changed
	tags |= plan->key_subject_tags;
	rc.changed = changed;
	rc.nchanged = nchanged;

	ChangeRecord record;
	start_record(&record, plan, op);
	record.view.tags = tags;
	if (td != nullptr)
		note_statement(&record, td);
	rc.record = &record;

	OutputSettings saved;
	pin_output_settings(&saved, plan->fixed_search_path);
	PG_TRY();
	{
		describe_change(&rc);
	}
	PG_FINALLY();
	{
		restore_output_settings(&saved);
	}
	PG_END_TRY();
	write_entry(&record);
}

// The capture plan, kept in the trigger's fn_extra for the rest of the statement: one hash lookup per
// statement instead of per row. Plans are never freed, only marked invalid and rebuilt in place.
const CapturePlan *plan_for_call(FunctionCallInfo fcinfo, Relation rel)
{
	auto *plan = (const CapturePlan *)fcinfo->flinfo->fn_extra;
	if (plan == nullptr || !plan->valid || plan->relid != RelationGetRelid(rel)) {
		plan = capture_plan_for(rel);
		fcinfo->flinfo->fn_extra = const_cast<CapturePlan *>(plan);
	}
	return plan;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_capture);
PG_FUNCTION_INFO_V1(witness_capture_truncate);
Datum witness_capture(PG_FUNCTION_ARGS);
Datum witness_capture_truncate(PG_FUNCTION_ARGS);

Datum witness_capture(PG_FUNCTION_ARGS)
{
	auto *td = (TriggerData *)fcinfo->context;
	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("witness.capture() must be fired AFTER INSERT, UPDATE or DELETE FOR EACH ROW")));
	const CapturePlan *plan = plan_for_call(fcinfo, td->tg_relation);
	if (TRIGGER_FIRED_BY_INSERT(td->tg_event))
		capture_row(plan, 'I', nullptr, td->tg_trigslot, td);
	else if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
		capture_row(plan, 'U', td->tg_trigslot, td->tg_newslot, td);
	else if (TRIGGER_FIRED_BY_DELETE(td->tg_event))
		capture_row(plan, 'D', td->tg_trigslot, nullptr, td);
	else
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("witness.capture() must be fired AFTER INSERT, UPDATE or DELETE FOR EACH ROW")));
	return PointerGetDatum(nullptr);
}

// TRUNCATE is recorded as one entry without values: capturing the removed rows would turn an O(1)
// command into a full scan (docs/capture.md).
Datum witness_capture_truncate(PG_FUNCTION_ARGS)
{
	auto *td = (TriggerData *)fcinfo->context;
	if (!CALLED_AS_TRIGGER(fcinfo) || !TRIGGER_FIRED_BY_TRUNCATE(td->tg_event) ||
	    !TRIGGER_FIRED_FOR_STATEMENT(td->tg_event))
		ereport(ERROR, (errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
		                errmsg("witness.capture_truncate() must be fired AFTER TRUNCATE FOR EACH STATEMENT")));
	const CapturePlan *plan = capture_plan_for(td->tg_relation);
	ChangeRecord record;
	start_record(&record, plan, 'T');
	record.acting_role = statement_role();
	// Rows changed earlier in the transaction whose entries are held come first, rows its AFTER
	// triggers put back (held: statement_levels.hpp) after: the entry takes the command the TRUNCATE
	// started under. (A running statement that changes the table cannot enclose a TRUNCATE of it:
	// PostgreSQL refuses that.)
	if (have_held_entries() || (capture_is_nested_in_write() && capture_follows_enclosing_statement())) {
		record.hold = true;
		record.command = statement_command();
	}
	if (plan->partition_name != nullptr) {
		// A partitioned table's TRUNCATE fires on each leaf partition: the entry names the parent and the leaf.
		JsonField partition = {"partition", 9, JsonKind::String, plan->partition_name, strlen(plan->partition_name)};
		record.row_key = json_object(&partition, 1, &record.view.row_key.canonical, &record.view.row_key.canonical_len);
		record.view.row_key.present = true;
	}
	write_entry(&record);
	return PointerGetDatum(nullptr);
}
}

namespace
{

// Reads every row of a relation that has just joined (ATTACH PARTITION, INHERIT) or left (DETACH,
// NO INHERIT) a tracked table, with the newest snapshot rather than the transaction's: under REPEATABLE
// READ the latter can predate rows the command (which locks the table against writers) moved. When
// capture is set, each row is recorded as an INSERT entry. Returns how many rows there are.
int64 scan_moved_rows(FunctionCallInfo fcinfo, bool capture)
{
	require_nargs(fcinfo, 1);
	require_not_null(fcinfo, 0, "table");
	Relation rel = try_table_open(PG_GETARG_OID(0), AccessShareLock);
	if (rel == nullptr)
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE),
		                errmsg("relation with OID %u does not exist", PG_GETARG_OID(0))));
	if (rel->rd_rel->relkind != RELKIND_RELATION)
		ereport(ERROR, (errcode(ERRCODE_WRONG_OBJECT_TYPE),
		                errmsg("\"%s\" is not a table", RelationGetRelationName(rel))));
	const CapturePlan *plan = capture ? capture_plan_for(rel) : nullptr;
	TupleTableSlot *slot = table_slot_create(rel, nullptr);
	Snapshot snapshot = RegisterSnapshot(GetLatestSnapshot());
	TableScanDesc scan = table_beginscan(rel, snapshot, 0, nullptr);
	MemoryContext per_row = AllocSetContextCreate(CurrentMemoryContext, "pg_witness moved rows", ALLOCSET_DEFAULT_SIZES);
	int64 n = 0;
	while (table_scan_getnextslot(scan, ForwardScanDirection, slot)) {
		CHECK_FOR_INTERRUPTS();
		n++;
		if (!capture)
			continue;
		MemoryContext old = MemoryContextSwitchTo(per_row);
		if (!plan->valid)
			plan = capture_plan_for(rel);
		capture_row(plan, 'I', nullptr, slot, nullptr);
		MemoryContextSwitchTo(old);
		MemoryContextReset(per_row);
	}
	table_endscan(scan);
	UnregisterSnapshot(snapshot);
	ExecDropSingleTupleTableSlot(slot);
	MemoryContextDelete(per_row);
	table_close(rel, NoLock);
	return n;
}

} // namespace

extern "C" {
// witness._capture_rows(target regclass): records every row of a relation that has just joined a
// tracked table as an INSERT entry: its rows entered the tracked table without any row trigger firing.
PG_FUNCTION_INFO_V1(witness_capture_rows);
Datum witness_capture_rows(PG_FUNCTION_ARGS);
// witness._count_rows(target regclass): how many rows a relation that has just left a tracked table has.
PG_FUNCTION_INFO_V1(witness_count_rows);
Datum witness_count_rows(PG_FUNCTION_ARGS);

Datum witness_capture_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(scan_moved_rows(fcinfo, true));
}

Datum witness_count_rows(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT64(scan_moved_rows(fcinfo, false));
}
}
