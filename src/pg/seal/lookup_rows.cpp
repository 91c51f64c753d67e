// witness._add_lookup_rows(b, prev_snapshot): writes the rows of witness.entry_lookup for the members
// of block b, the same rows witness._lookup_rows() returns, and returns how many. The lookup table is
// the largest share of the work after a seal (docs/performance.md), and its INSERT ... SELECT paid the
// executor, a WAL record per row and a BRIN insertion per row; here the rows go in with heap
// multi-inserts, and the stmt_time BRIN index gets only the earliest and the latest row of a batch in
// each page range. NULL when the table has anything the executor would have to run for an insert (a
// CHECK constraint, a row trigger, a rule, forced row-level security): the caller inserts through SQL
// then, so that nothing a DBA put on the table is skipped.
#include "pg/common/pg_includes.hpp"

#include "pg/access/old_row_key.hpp"
#include "pg/capture/internal_ddl.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/trail_brin.hpp"
#include "pg/common/subject_lookup_key.hpp"

#include <new>
#include <utility>

extern "C" {
#include "access/brin.h"
#include "access/heapam.h"
#include "access/tableam.h"
#include "catalog/namespace.h"
#include "catalog/pg_collation.h"
#include "executor/executor.h"
#include "executor/spi.h"
#include "utils/fmgrprotos.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/ruleutils.h"
}

extern "C" {
PG_FUNCTION_INFO_V1(witness_add_lookup_rows);
Datum witness_add_lookup_rows(PG_FUNCTION_ARGS);
}

namespace
{

using namespace witness::pg;

// Rows per heap multi-insert.
constexpr int kLookupBatch = 1000;

// The columns of witness.entry_lookup, found by name.
enum LookupColumn {
	LId, LBlockNo, LStmtTime, LTableHash, LKeyHash, LOp, LTags, LActor, LSessionUser, LOldKeyHash, LSubjectKey, LEntryTid,
	LColumns
};
const char *const kLookupColumnNames[LColumns] = {
    "id",  "block_no", "stmt_time", "table_hash",   "key_hash",    "op",
    "tags", "actor",   "session_user_name", "old_key_hash", "subject_key", "entry_tid"};

// The member columns the query below returns, in its order.
enum MemberColumn {
	MId = 1, MStmtTime, MSchema, MTable, MRowKey, MOldValues, MOp, MTags, MActor, MSessionUser, MErased, MSubject, MPseudonym,
	MCtid
};

// The members of block $1 (previous snapshot $2) with their ctid: witness._member_entries()'s
// condition written out, as witness._retention_members() writes it, since the rows that function
// returns cannot carry a ctid.
const char *const kMembersQuery =
    "SELECT m.id, m.stmt_time, m.schema_name, m.table_name, m.row_key, m.old_values, m.op, m.tags, m.actor, "
    "m.session_user_name, m.erasure_id IS NOT NULL, m.subject, m.subject_pseudonym, m.ctid "
    "FROM witness.entry m "
    "WHERE m.xid OPERATOR(pg_catalog.>=) COALESCE(pg_catalog.pg_snapshot_xmin($2), '0'::pg_catalog.xid8) "
    "AND m.xid OPERATOR(pg_catalog.<) pg_catalog.pg_snapshot_xmax(($1).snapshot) "
    "AND m.id OPERATOR(pg_catalog.>=) ($1).first_entry_id AND m.id OPERATOR(pg_catalog.<=) ($1).last_entry_id "
    "AND m.id OPERATOR(pg_catalog.>=) (SELECT era.first_id FROM witness._era_bounds(($1).first_entry_id) era) "
    "AND m.id OPERATOR(pg_catalog.<) (SELECT era.next_first_id FROM witness._era_bounds(($1).first_entry_id) era) "
    "AND pg_catalog.pg_visible_in_snapshot(m.xid, ($1).snapshot) "
    "AND ($2 IS NULL OR NOT pg_catalog.pg_visible_in_snapshot(m.xid, $2))";

// A table's schema and name, its text as witness._lookup_table_hash() hashes it, and that hash.
struct TableSeen {
	char *schema;
	char *name;
	char *text;
	int64 hash;
};
constexpr int kTablesSeen = 32;

// The open lookup table, its indexes, and the batch of rows waiting to be written.
struct LookupWriter {
	Relation rel;
	ResultRelInfo *rri;
	EState *estate;
	BulkInsertState bulk;
	AttrNumber att[LColumns];
	int brin = -1; // the stmt_time min/max BRIN index, moved last in the index list; -1 when there is none
	BlockNumber brin_pages = 0;
	TupleTableSlot *slots[kLookupBatch];
	TimestampTz times[kLookupBatch];
	int count = 0;
	MemoryContext batch_cxt; // the rows of one batch
	MemoryContext tables_cxt; // the tables seen
	// The tables seen and their hashes: a block's entries come from few tables, often interleaved
	// (each transaction of pgbench's tpcb-like changes four).
	TableSeen tables[kTablesSeen];
	int ntables = 0;
	const TableSeen *table = nullptr; // the current member's
};

// Whether an insert through the executor would run anything a direct insert skips.
bool needs_executor(Relation rel)
{
	TupleDesc desc = RelationGetDescr(rel);
	if (desc->constr != nullptr && desc->constr->num_check > 0)
		return true;
	TriggerDesc *trig = rel->trigdesc;
	if (trig != nullptr && (trig->trig_insert_before_row || trig->trig_insert_after_row || trig->trig_insert_instead_row ||
	                        trig->trig_insert_new_table))
		return true;
	return rel->rd_rules != nullptr || rel->rd_rel->relforcerowsecurity;
}

int64 text_hash(const char *s, size_t len)
{
	text *t = cstring_to_text_with_len(s, (int)len);
	return DatumGetInt64(DirectFunctionCall2Coll(hashtextextended, DEFAULT_COLLATION_OID, PointerGetDatum(t), Int64GetDatum(0)));
}

// quote_ident(schema) || '.' || quote_ident(table), as witness._lookup_table_hash() hashes it: found
// among the tables seen, or added to them (forgotten all at once when they are full).
void set_table(LookupWriter *w, const char *schema, const char *table)
{
	for (int i = 0; i < w->ntables; i++)
		if (strcmp(schema, w->tables[i].schema) == 0 && strcmp(table, w->tables[i].name) == 0) {
			w->table = &w->tables[i];
			return;
		}
	if (w->ntables == kTablesSeen) {
		MemoryContextReset(w->tables_cxt);
		w->ntables = 0;
	}
	MemoryContext saved = MemoryContextSwitchTo(w->tables_cxt);
	TableSeen *t = &w->tables[w->ntables++];
	t->schema = pstrdup(schema);
	t->name = pstrdup(table);
	t->text = psprintf("%s.%s", quote_identifier(schema), quote_identifier(table));
	MemoryContextSwitchTo(saved);
	t->hash = text_hash(t->text, strlen(t->text));
	w->table = t;
}

// witness._lookup_key_hash(schema, table, key::jsonb): the table's text, a space, the key as jsonb text.
int64 key_hash(const LookupWriter *w, const char *json_key)
{
	Datum jb = DirectFunctionCall1(jsonb_in, CStringGetDatum(json_key));
	char *jsonb_text = DatumGetCString(DirectFunctionCall1(jsonb_out, jb));
	char *s = psprintf("%s %s", w->table->text, jsonb_text);
	return text_hash(s, strlen(s));
}

void find_columns(LookupWriter *w)
{
	TupleDesc desc = RelationGetDescr(w->rel);
	for (int c = 0; c < LColumns; c++) {
		w->att[c] = InvalidAttrNumber;
		for (int i = 0; i < desc->natts; i++) {
			Form_pg_attribute a = TupleDescAttr(desc, i);
			if (!a->attisdropped && strcmp(NameStr(a->attname), kLookupColumnNames[c]) == 0)
				w->att[c] = a->attnum;
		}
		if (w->att[c] == InvalidAttrNumber)
			ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
			                errmsg("witness.entry_lookup has no column \"%s\"", kLookupColumnNames[c]),
			                errhint("Recreate the extension's objects with ALTER EXTENSION pg_witness UPDATE.")));
	}
}

// Moves the min/max BRIN index on stmt_time to the end of the index list, where a row inside a page
// range's run can leave it out by shortening the list.
void find_time_brin(LookupWriter *w)
{
	ResultRelInfo *r = w->rri;
	for (int i = 0; i < r->ri_NumIndices; i++) {
		if (!is_minmax_brin(r->ri_IndexRelationDescs[i], r->ri_IndexRelationInfo[i], w->att[LStmtTime]))
			continue;
		int last = r->ri_NumIndices - 1;
		std::swap(r->ri_IndexRelationDescs[i], r->ri_IndexRelationDescs[last]);
		std::swap(r->ri_IndexRelationInfo[i], r->ri_IndexRelationInfo[last]);
		w->brin = last;
		w->brin_pages = BrinGetPagesPerRange(r->ri_IndexRelationDescs[last]);
		return;
	}
}

void open_writer(LookupWriter *w, Relation rel)
{
	w->rel = rel;
	w->estate = CreateExecutorState();
	w->rri = makeNode(ResultRelInfo);
	InitResultRelInfo(w->rri, rel, 1, nullptr, 0);
	ExecOpenIndices(w->rri, false);
	find_columns(w);
	find_time_brin(w);
	w->bulk = GetBulkInsertState();
	for (int i = 0; i < kLookupBatch; i++)
		w->slots[i] = MakeSingleTupleTableSlot(RelationGetDescr(rel), &TTSOpsHeapTuple);
	w->batch_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_witness lookup rows", ALLOCSET_DEFAULT_SIZES);
	w->tables_cxt = AllocSetContextCreate(CurrentMemoryContext, "pg_witness lookup tables", ALLOCSET_SMALL_SIZES);
}

void close_writer(LookupWriter *w)
{
	for (int i = 0; i < kLookupBatch; i++)
		ExecDropSingleTupleTableSlot(w->slots[i]);
	FreeBulkInsertState(w->bulk);
	ExecCloseIndices(w->rri);
	FreeExecutorState(w->estate);
	MemoryContextDelete(w->batch_cxt);
	MemoryContextDelete(w->tables_cxt);
}

// Whether row i of the batch is neither the earliest nor the latest of the batch's rows in its page
// range of the BRIN index: a min/max summary that holds those two holds it too.
void mark_brin_extremes(const LookupWriter *w, bool *extreme)
{
	for (int i = 0; i < w->count; i++)
		extreme[i] = false;
	for (int start = 0; start < w->count;) {
		BlockNumber range = ItemPointerGetBlockNumber(&w->slots[start]->tts_tid) / w->brin_pages;
		int lo = start, hi = start, end = start + 1;
		while (end < w->count && ItemPointerGetBlockNumber(&w->slots[end]->tts_tid) / w->brin_pages == range) {
			if (w->times[end] < w->times[lo])
				lo = end;
			if (w->times[end] > w->times[hi])
				hi = end;
			end++;
		}
		extreme[lo] = extreme[hi] = true;
		start = end;
	}
}

void flush_batch(LookupWriter *w)
{
	if (w->count == 0)
		return;
	CHECK_FOR_INTERRUPTS();
	table_multi_insert(w->rel, w->slots, w->count, GetCurrentCommandId(true), 0, w->bulk);
	bool extreme[kLookupBatch];
	if (w->brin >= 0)
		mark_brin_extremes(w, extreme);
	const int all = w->rri->ri_NumIndices;
	for (int i = 0; i < w->count; i++) {
		w->rri->ri_NumIndices = w->brin >= 0 && !extreme[i] ? all - 1 : all;
		ExecInsertIndexTuples(w->rri, w->slots[i], w->estate, false, false, nullptr, NIL);
		w->rri->ri_NumIndices = all;
		ResetPerTupleExprContext(w->estate);
		ExecClearTuple(w->slots[i]);
	}
	w->count = 0;
	MemoryContextReset(w->batch_cxt);
}

// subject_key as witness._subject_lookup_key(subject, subject_pseudonym) computes it; NULL once the
// entry is erased, like the key hashes (a hash of a subject confirms a guessed subject).
template <typename Set> void set_subject_key(HeapTuple member, TupleDesc mdesc, bool erased, Set set)
{
	bool pseudonym_null, subject_null;
	Datum pseudonym = SPI_getbinval(member, mdesc, MPseudonym, &pseudonym_null);
	Datum subject = SPI_getbinval(member, mdesc, MSubject, &subject_null);
	if (erased || (pseudonym_null && subject_null))
		set(LSubjectKey, (Datum)0, true);
	else if (!pseudonym_null)
		set(LSubjectKey, Int64GetDatum(pseudonym_lookup_key(DatumGetByteaPP(pseudonym))), false);
	else
		set(LSubjectKey, Int64GetDatum(clear_subject_lookup_key(DatumGetTextPP(subject))), false);
}

// Forms the lookup row of one member (columns as kMembersQuery returns them) into the next slot.
void add_member(LookupWriter *w, HeapTuple member, TupleDesc mdesc, int64 block_no)
{
	bool isnull;
	MemoryContext saved = MemoryContextSwitchTo(w->batch_cxt);
	Datum values[MaxTupleAttributeNumber];
	bool nulls[MaxTupleAttributeNumber];
	const int natts = RelationGetDescr(w->rel)->natts;
	for (int i = 0; i < natts; i++) {
		values[i] = (Datum)0;
		nulls[i] = true;
	}
	auto set = [&](LookupColumn c, Datum v, bool null) {
		values[w->att[c] - 1] = v;
		nulls[w->att[c] - 1] = null;
	};
	Datum id = SPI_getbinval(member, mdesc, MId, &isnull);
	set(LId, id, isnull);
	set(LBlockNo, Int64GetDatum(block_no), false);
	Datum stmt_time = SPI_getbinval(member, mdesc, MStmtTime, &isnull);
	set(LStmtTime, stmt_time, isnull);
	w->times[w->count] = isnull ? 0 : DatumGetTimestampTz(stmt_time);
	char *schema = SPI_getvalue(member, mdesc, MSchema);
	char *table = SPI_getvalue(member, mdesc, MTable);
	set_table(w, schema != nullptr ? schema : "", table != nullptr ? table : "");
	// Both are NOT NULL in witness.entry; a NULL one would make the SQL's hash NULL too.
	set(LTableHash, Int64GetDatum(w->table->hash), schema == nullptr || table == nullptr);
	const bool erased = DatumGetBool(SPI_getbinval(member, mdesc, MErased, &isnull));
	char *key = SPI_getvalue(member, mdesc, MRowKey);
	const bool key_known = !erased && key != nullptr && schema != nullptr && table != nullptr;
	set(LKeyHash, key_known ? Int64GetDatum(key_hash(w, key)) : (Datum)0, !key_known);
	bool op_null;
	Datum op = SPI_getbinval(member, mdesc, MOp, &op_null);
	set(LOp, op, op_null);
	// (The Datum first, then its flag: the order in which a call's arguments are evaluated is unspecified.)
	for (auto [column, member_column] : {std::pair{LTags, MTags}, {LActor, MActor}, {LSessionUser, MSessionUser}}) {
		Datum v = SPI_getbinval(member, mdesc, member_column, &isnull);
		set(column, v, isnull);
	}
	bool old_known = false;
	if (key_known && !op_null && DatumGetChar(op) == 'U') {
		Datum row_key = SPI_getbinval(member, mdesc, MRowKey, &isnull);
		Datum old_values = SPI_getbinval(member, mdesc, MOldValues, &isnull);
		char *old_key = isnull ? nullptr : old_row_key_text(DatumGetTextPP(row_key), DatumGetTextPP(old_values));
		if (old_key != nullptr) {
			set(LOldKeyHash, Int64GetDatum(key_hash(w, old_key)), false);
			old_known = true;
		}
	}
	if (!old_known)
		set(LOldKeyHash, (Datum)0, true);
	set_subject_key(member, mdesc, erased, set);
	Datum ctid = SPI_getbinval(member, mdesc, MCtid, &isnull);
	set(LEntryTid, ctid, isnull);
	// NOT NULL holds as the executor would check it: witness.entry's own columns are NOT NULL too.
	TupleDesc desc = RelationGetDescr(w->rel);
	for (int i = 0; i < natts; i++)
		if (nulls[i] && TupleDescAttr(desc, i)->attnotnull)
			ereport(ERROR, (errcode(ERRCODE_NOT_NULL_VIOLATION),
			                errmsg("null value in column \"%s\" of relation \"entry_lookup\" violates not-null constraint",
			                       NameStr(TupleDescAttr(desc, i)->attname))));
	HeapTuple tuple = heap_form_tuple(desc, values, nulls);
	ExecStoreHeapTuple(tuple, w->slots[w->count], false);
	w->count++;
	MemoryContextSwitchTo(saved);
}

} // namespace

Datum witness_add_lookup_rows(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "b");
	if (!internal_ddl_active())
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("cannot insert into witness.entry_lookup"),
		                errdetail("The lookup table of witness.search() and witness.entity_history() is written only by pg_witness's sealer.")));
	HeapTupleHeader block = PG_GETARG_HEAPTUPLEHEADER(0);
	bool isnull;
	const int64 block_no = DatumGetInt64(GetAttributeByName(block, "block_no", &isnull));
	if (isnull)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("the block has no number")));

	Oid relid = get_relname_relid("entry_lookup", get_namespace_oid("witness", false));
	if (!OidIsValid(relid))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_TABLE), errmsg("witness.entry_lookup does not exist")));
	Relation rel = table_open(relid, RowExclusiveLock);
	if (needs_executor(rel)) {
		table_close(rel, RowExclusiveLock);
		PG_RETURN_NULL();
	}

	Oid argtypes[2] = {get_fn_expr_argtype(fcinfo->flinfo, 0), PG_SNAPSHOTOID};
	Datum args[2] = {PG_GETARG_DATUM(0), PG_ARGISNULL(1) ? (Datum)0 : PG_GETARG_DATUM(1)};
	char argnulls[2] = {' ', PG_ARGISNULL(1) ? 'n' : ' '};
	if (!OidIsValid(argtypes[0]))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("cannot tell the type of the block")));

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	LookupWriter *w = (LookupWriter *)palloc0(sizeof(LookupWriter));
	new (w) LookupWriter();
	open_writer(w, rel);
	Portal portal = SPI_cursor_open_with_args(nullptr, kMembersQuery, 2, argtypes, args, argnulls, true, 0);
	int64 added = 0;
	for (;;) {
		SPI_cursor_fetch(portal, true, kLookupBatch);
		const uint64 n = SPI_processed;
		if (n == 0)
			break;
		for (uint64 i = 0; i < n; i++) {
			add_member(w, SPI_tuptable->vals[i], SPI_tuptable->tupdesc, block_no);
			if (w->count == kLookupBatch)
				flush_batch(w);
		}
		added += (int64)n;
		SPI_freetuptable(SPI_tuptable);
	}
	flush_batch(w);
	SPI_cursor_close(portal);
	close_writer(w);
	SPI_finish();
	table_close(rel, NoLock);
	PG_RETURN_INT64(added);
}
