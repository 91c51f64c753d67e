// witness.export_trail(): the whole trail as lines of JSON for witness-verify, one row per call.
//
// The function streams (ValuePerCall): in the select list, as in
//   COPY (SELECT witness.export_trail()) TO STDOUT
// no row is kept after it was returned, and the backend's memory stays flat however long the trail
// (docs/verification.md, "Exporting"). In FROM (SELECT * FROM witness.export_trail()) the executor
// collects the rows in a tuplestore first, which spills to disk beyond work_mem.
//
// Rows: the header, the blocks in block_no order, the kept leaf hashes of pruned entries and the
// transaction-id eras after the first (through SQL, a cursor read 1,000 at a time), then the entries
// in id order. witness.entry has no btree on id, so a cursor sorts the entries' (id,
// ctid) pairs (an external sort under work_mem), and each entry is fetched by its ctid and printed
// here: compact JSON, one member after the other, without the per-call type lookups of
// json_build_object().
#include "pg/common/pg_includes.hpp"
#include "pg/seal/sealer.hpp"

#include "pg/common/trail_catalog.hpp"
#include "pg/common/trail_partitions.hpp"
#include "pg/common/access_check.hpp"
#include "pg/export/line_cursor.hpp"
#include "core/entry_encoding.hpp"
#include "pg/export/entry_line.hpp"

#include <initializer_list>

extern "C" {
#include "access/heapam.h"
#include "access/relscan.h"
#include "storage/bufmgr.h"
#include "storage/itemptr.h"
#include "utils/fmgrprotos.h"
#include "access/tableam.h"
#include "catalog/partition.h"
#include "utils/lsyscache.h"
#include "executor/executor.h"
#include "utils/snapmgr.h"
}

using namespace witness::pg;

namespace
{

// SPI queries name their functions, operators and types with their schema (docs/cpp-boundary.md).
// The header's "backslash" member is a string of one backslash: COPY's text format doubles it, so a
// reader can tell a COPY file from plain JSON lines (docs/verification.md, "Export format").
const char *const kHeaderAndBlocksQuery =
    "SELECT pg_catalog.json_build_object('type', 'header', 'format', 1, 'database', witness.database_id(),"
    " 'highest_block_no', COALESCE((SELECT pg_catalog.max(block_no) FROM witness.block), 0),"
    " 'backslash', '\\'::pg_catalog.text)::pg_catalog.text"
    " UNION ALL"
    " (SELECT (pg_catalog.jsonb_build_object('type', 'block') OPERATOR(pg_catalog.||) witness._block_json(b))"
    "::pg_catalog.text FROM witness.block b ORDER BY b.block_no)"
    " UNION ALL"
    " (SELECT pg_catalog.json_build_object('type', 'era', 'era_no', e.era_no, 'first_entry_id', e.first_entry_id,"
    " 'first_block_no', e.first_block_no)::pg_catalog.text FROM witness.era e ORDER BY e.first_entry_id)";

// In a cluster behind the trail's transaction ids, the era the next seal will start, marked due
// (docs/verification.md): the entries captured here are pending in it, not inserted into old blocks.
const char *const kDueEraFormat =
    " UNION ALL"
    " SELECT pg_catalog.json_build_object('type', 'era', 'era_no',"
    " COALESCE((SELECT pg_catalog.max(x.era_no) FROM witness.era x), 1) OPERATOR(pg_catalog.+) 1,"
    " 'first_entry_id', %lld::pg_catalog.int8, 'first_block_no', %lld::pg_catalog.int8, 'due', true)::pg_catalog.text";

// Version 0.2: the kept leaf hashes of pruned entries (docs/retention.md), after the blocks.
const char *const kPrunedQuery =
    " UNION ALL"
    " (SELECT pg_catalog.json_build_object('type', 'pruned', 'block_no', p.block_no, 'run_id', p.run_id,"
    " 'whole', p.whole, 'entry_ids', pg_catalog.to_json(p.entry_ids),"
    " 'leaf_hashes', pg_catalog.encode(p.leaf_hashes, 'hex'))::pg_catalog.text"
    " FROM witness.pruned_leaf p ORDER BY p.block_no, p.run_id)";

// ORDER BY uses int8's default btree ordering, found through the type, not the search_path.
// tableoid: the partition of witness.entry the entry is in (docs/scaling.md).
const char *const kEntryOrderQuery = "SELECT e.ctid, e.tableoid FROM witness.entry e ORDER BY e.id";

constexpr long kTidBatch = 10000; // entry ctids per cursor fetch

enum Phase { PhaseLines, PhaseEntries, PhaseDone };

struct ExportState {
	Phase phase;
	LineCursor lines; // header, blocks, pruned leaves and eras (line_cursor.hpp)
	char entries_cursor[NAMEDATALEN];
	MemoryContext batch_cxt; // the current batch of ctids; reset per batch
	MemoryContext row_cxt;   // detoasted values of the current entry; reset per entry
	ItemPointerData *tids;
	Oid *tableoids; // the relation each of tids is in
	long nbatch, next; // ctids in the batch, next one to return
	bool cursor_done;  // the entries cursor returned fewer rows than asked: nothing more
	Relation rel;  // witness.entry
	Relation leaf; // the partition of the current entry (rel when witness.entry is not partitioned)
	BufferAccessStrategy strategy; // a ring of buffers: an export does not flush shared_buffers
	Buffer buf;                    // the page of the last entry, pinned while entries stay on it
	HeapTupleData tuple;           // the entry in slot: the slot keeps a pointer to it
	TupleTableSlot *slot;
	Snapshot snapshot;
	StringInfoData out;
	ExprContext *econtext;
	bool cleaned;
};

// Fetches the next batch of entry ctids, in id order, into st->tids.
void fetch_tids(ExportState *st)
{
	MemoryContextReset(st->batch_cxt);
	st->nbatch = st->next = 0;
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	const Oid types[2] = {TIDOID, OIDOID};
	Portal portal = find_cursor(st->entries_cursor, 2, types);
	SPI_cursor_fetch(portal, true, kTidBatch);
	long n = (long)SPI_processed;
	st->tids = (ItemPointerData *)MemoryContextAlloc(st->batch_cxt, sizeof(ItemPointerData) * Max(n, 1));
	st->tableoids = (Oid *)MemoryContextAlloc(st->batch_cxt, sizeof(Oid) * Max(n, 1));
	for (long i = 0; i < n; i++) {
		bool isnull, oid_isnull;
		Datum d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 1, &isnull);
		Datum oid = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, 2, &oid_isnull);
		if (isnull || oid_isnull)
			elog(ERROR, "pg_witness: the export query returned a NULL ctid");
		st->tids[i] = *(ItemPointer)DatumGetPointer(d);
		st->tableoids[i] = DatumGetObjectId(oid);
	}
	st->nbatch = n;
	st->cursor_done = n < kTidBatch;
	SPI_finish();
}

// Releases what the export holds across calls; runs once, at the end or when the query stops early.
void cleanup(ExportState *st)
{
	if (st->cleaned)
		return;
	st->cleaned = true;
	line_cursor_close(&st->lines);
	close_cursor(st->entries_cursor);
	if (st->slot != nullptr)
		ExecDropSingleTupleTableSlot(st->slot);
	if (BufferIsValid(st->buf))
		ReleaseBuffer(st->buf);
	st->buf = InvalidBuffer;
	if (st->leaf != nullptr && st->leaf != st->rel)
		table_close(st->leaf, NoLock); // its lock is kept until the end of the transaction
	st->leaf = nullptr;
	if (st->rel != nullptr)
		table_close(st->rel, AccessShareLock);
	if (st->snapshot != nullptr)
		UnregisterSnapshot(st->snapshot);
	st->slot = nullptr;
	st->rel = nullptr;
	st->snapshot = nullptr;
}

void shutdown_export(Datum arg)
{
	cleanup((ExportState *)DatumGetPointer(arg));
}

// ---------------------------------------------------------------------------------------------
// Printing an entry

// Bytes a JSON string must escape: '"', '\\' and the control characters.
struct EscapeTable {
	bool escape[256];
	constexpr EscapeTable() : escape()
	{
		for (int i = 0; i < 0x20; i++)
			escape[i] = true;
		escape[static_cast<unsigned char>('"')] = true;
		escape[static_cast<unsigned char>('\\')] = true;
	}
};
constexpr EscapeTable kEscape;
const char kHexDigits[] = "0123456789abcdef";

// A view of a column's bytes; ptr == nullptr for NULL.
struct Bytes {
	const char *ptr;
	int len;
};

Bytes varlena_bytes(const Datum *values, const bool *nulls, int col)
{
	if (nulls[col - 1])
		return Bytes{nullptr, 0};
	struct varlena *v = PG_DETOAST_DATUM_PACKED(values[col - 1]);
	return Bytes{VARDATA_ANY(v), (int)VARSIZE_ANY_EXHDR(v)};
}

// Writes into memory reserved beforehand for the worst case: no bounds check per byte.
struct Writer {
	char *w;

	void raw(const char *s, size_t len)
	{
		memcpy(w, s, len);
		w += len;
	}
	template <size_t N> void lit(const char (&s)[N]) { raw(s, N - 1); }
	void null() { lit("null"); }
	void int64(int64 v) { w += pg_lltoa(v, w); }
	void uint64(uint64 v) { w += pg_ulltoa_n(v, w); }

	// A JSON string: at most 6 bytes per input byte, plus the quotes.
	void string(const char *s, int len)
	{
		*w++ = '"';
		int run = 0; // start of the bytes not copied yet
		for (int i = 0; i < len; i++) {
			unsigned char c = (unsigned char)s[i];
			if (likely(!kEscape.escape[c]))
				continue;
			raw(s + run, i - run);
			run = i + 1;
			*w++ = '\\';
			switch (c) {
			case '"':
			case '\\':
				*w++ = (char)c;
				break;
			case '\n':
				*w++ = 'n';
				break;
			case '\t':
				*w++ = 't';
				break;
			case '\r':
				*w++ = 'r';
				break;
			case '\b':
				*w++ = 'b';
				break;
			case '\f':
				*w++ = 'f';
				break;
			default:
				lit("u00");
				*w++ = kHexDigits[c >> 4];
				*w++ = kHexDigits[c & 15];
			}
		}
		raw(s + run, len - run);
		*w++ = '"';
	}
	void text(Bytes b)
	{
		if (b.ptr == nullptr)
			null();
		else
			string(b.ptr, b.len);
	}
	// A json column: its stored text, which json's input function checked, as a JSON value.
	void json(Bytes b)
	{
		if (b.ptr == nullptr)
			null();
		else
			raw(b.ptr, b.len);
	}
	// At most 2 bytes per input byte, plus the quotes.
	void hex(Bytes b)
	{
		if (b.ptr == nullptr) {
			null();
			return;
		}
		*w++ = '"';
		for (int i = 0; i < b.len; i++) {
			unsigned char c = (unsigned char)b.ptr[i];
			*w++ = kHexDigits[c >> 4];
			*w++ = kHexDigits[c & 15];
		}
		*w++ = '"';
	}
};

// A bytea as hex, or null.
void hex_or_null(Writer &w, const Bytes &b)
{
	if (b.ptr == nullptr)
		w.null();
	else
		w.hex(b);
}

// Member names, punctuation and numbers of an entry line, generously: the rest is reserved per value.
constexpr int kEntryFixedBytes = 1024;

// One entry line, with the members and values of docs/verification.md ("Export format").
void print_entry(StringInfo out, const Datum *values, const bool *nulls)
{
	const char *missing = entry_null_required_column(nulls);
	if (missing != nullptr || nulls[EntryFormat - 1])
		ereport(ERROR,
		        (errcode(ERRCODE_DATA_CORRUPTED),
		         errmsg("entry %lld has no %s", nulls[EntryId - 1] ? 0LL : (long long)DatumGetInt64(values[EntryId - 1]),
		                missing != nullptr ? missing : "format"),
		         errhint("Run witness.verify() to see what was altered.")));
	int64 id = DatumGetInt64(values[EntryId - 1]);
	int64 stmt_time_us = unix_us_as_hashed(DatumGetTimestampTz(values[EntryStmtTime - 1]));
	// "char" prints a byte outside ASCII as an octal escape, and a zero byte as nothing.
	char op = DatumGetChar(values[EntryOp - 1]);
	Bytes op_text{&op, 1};
	if (op <= 0 || op >= 0x7f) {
		char *printed = DatumGetCString(DirectFunctionCall1(charout, values[EntryOp - 1]));
		op_text = Bytes{printed, (int)strlen(printed)};
	}
	Bytes schema = varlena_bytes(values, nulls, EntrySchemaName);
	Bytes table = varlena_bytes(values, nulls, EntryTableName);
	Bytes row_key = varlena_bytes(values, nulls, EntryRowKey);
	Bytes subject = varlena_bytes(values, nulls, EntrySubject);
	Bytes old_values = varlena_bytes(values, nulls, EntryOldValues);
	Bytes new_values = varlena_bytes(values, nulls, EntryNewValues);
	Bytes session_user = varlena_bytes(values, nulls, EntrySessionUser);
	Bytes current_user = varlena_bytes(values, nulls, EntryCurrentUser);
	Bytes application_name = varlena_bytes(values, nulls, EntryApplicationName);
	Bytes client_addr{nullptr, 0};
	if (!nulls[EntryClientAddr - 1]) {
		// As inet's output function prints it (192.0.2.10, not inet::text's 192.0.2.10/32).
		char *addr = DatumGetCString(DirectFunctionCall1(inet_out, values[EntryClientAddr - 1]));
		client_addr = Bytes{addr, (int)strlen(addr)};
	}
	Bytes actor = varlena_bytes(values, nulls, EntryActor);
	Bytes reason = varlena_bytes(values, nulls, EntryReason);
	Bytes context = varlena_bytes(values, nulls, EntryContext);
	Bytes leaf_hash = varlena_bytes(values, nulls, EntryLeafHash);
	Bytes salt = varlena_bytes(values, nulls, EntrySalt);
	Bytes commitment = varlena_bytes(values, nulls, EntryCommitment);
	Bytes pseudonym = varlena_bytes(values, nulls, EntrySubjectPseudonym);
	Bytes sealed = varlena_bytes(values, nulls, EntrySealedPayload);

	Size need = kEntryFixedBytes + (Size)row_key.len + old_values.len + new_values.len + context.len +
	            2 * ((Size)leaf_hash.len + salt.len + commitment.len + pseudonym.len + sealed.len);
	for (const Bytes *b : {&op_text, &schema, &table, &subject, &session_user, &current_user, &application_name,
	                       &client_addr, &actor, &reason})
		need += 6 * (Size)b->len;
	if (need >= MaxAllocSize - (Size)out->len)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("entry %lld is too large to export as one line", (long long)id)));
	enlargeStringInfo(out, (int)need);
	Writer w{out->data + out->len};
	w.lit("{\"type\":\"entry\",\"id\":");
	w.int64(id);
	w.lit(",\"xid\":");
	w.uint64(DatumGetUInt64(values[EntryXid - 1]));
	w.lit(",\"stmt_time_us\":");
	w.int64(stmt_time_us);
	w.lit(",\"op\":");
	w.text(op_text);
	w.lit(",\"schema_name\":");
	w.text(schema);
	w.lit(",\"table_name\":");
	w.text(table);
	w.lit(",\"tags\":");
	w.int64(DatumGetInt16(values[EntryTags - 1]));
	w.lit(",\"row_key\":");
	w.json(row_key);
	w.lit(",\"subject\":");
	w.text(subject);
	w.lit(",\"old_values\":");
	w.json(old_values);
	w.lit(",\"new_values\":");
	w.json(new_values);
	w.lit(",\"session_user\":");
	w.text(session_user);
	w.lit(",\"current_user\":");
	w.text(current_user);
	w.lit(",\"application_name\":");
	w.text(application_name);
	w.lit(",\"client_addr\":");
	w.text(client_addr);
	w.lit(",\"client_port\":");
	if (nulls[EntryClientPort - 1])
		w.null();
	else
		w.int64(DatumGetInt32(values[EntryClientPort - 1]));
	w.lit(",\"backend_pid\":");
	w.int64(DatumGetInt32(values[EntryBackendPid - 1]));
	w.lit(",\"actor\":");
	w.text(actor);
	w.lit(",\"reason\":");
	w.text(reason);
	w.lit(",\"context\":");
	w.json(context);
	w.lit(",\"leaf_hash\":");
	w.hex(leaf_hash);
	w.lit(",\"format\":");
	w.int64(DatumGetInt16(values[EntryFormat - 1]));
	if (DatumGetInt16(values[EntryFormat - 1]) == witness::kEntryFormatCommitted) {
		// Format 2 (docs/hashing.md): the commitment the leaf covers, and what the payload check needs.
		w.lit(",\"salt\":");
		hex_or_null(w, salt);
		w.lit(",\"commitment\":");
		hex_or_null(w, commitment);
		w.lit(",\"subject_pseudonym\":");
		hex_or_null(w, pseudonym);
		w.lit(",\"erasure_id\":");
		if (nulls[EntryErasureId - 1])
			w.null();
		else
			w.int64(DatumGetInt64(values[EntryErasureId - 1]));
		// Encrypted tables: the sealed salt and payload, exported as stored (a verifier without the
		// master key checks the header and commitment only).
		w.lit(",\"sealed_payload\":");
		hex_or_null(w, sealed);
	}
	w.lit("}");
	out->len = (int)(w.w - out->data);
	out->data[out->len] = '\0';
}

[[noreturn]] void entry_vanished(const ItemPointerData *tid)
{
	ereport(ERROR, (errcode(ERRCODE_DATA_CORRUPTED),
	                errmsg("entry at ctid (%u,%u) vanished during the export", ItemPointerGetBlockNumber(tid),
	                       ItemPointerGetOffsetNumber(tid))));
}

// Stores in st->slot the tuple version at tid, which the cursor's scan saw under the same snapshot.
// Not through the index-fetch interface: that one starts from the root of a HOT chain, and a row
// updated in place (by someone tampering with the trail) is a heap-only tuple the scan returns itself.
// As heap_fetch(), but the page stays pinned while the entries stay on it.
void fetch_entry(ExportState *st, const ItemPointerData *tid, Oid tableoid)
{
	if (RelationGetRelid(st->leaf) != tableoid) { // the next partition: entries are in id order
		if (BufferIsValid(st->buf))
			ReleaseBuffer(st->buf);
		st->buf = InvalidBuffer;
		ExecClearTuple(st->slot);
		if (st->leaf != st->rel)
			table_close(st->leaf, NoLock);
		st->leaf = st->rel;
		if (tableoid != RelationGetRelid(st->rel)) {
			// Read past row-level security: only a partition of witness.entry (the cursor's rows are
			// its own, line_cursor.cpp; this is the second lock on that door).
			if (!get_rel_relispartition(tableoid) || get_partition_parent(tableoid, true) != RelationGetRelid(st->rel))
				ereport(ERROR, (errcode(ERRCODE_INVALID_CURSOR_STATE),
				                errmsg("the export's cursor returned a row of relation %u, not of witness.entry", tableoid)));
			Relation leaf = table_open(tableoid, AccessShareLock);
			check_partition_layout(st->rel, leaf);
			st->leaf = leaf;
		}
	}
	BlockNumber block = ItemPointerGetBlockNumber(tid);
	if (!BufferIsValid(st->buf) || BufferGetBlockNumber(st->buf) != block) {
		if (BufferIsValid(st->buf))
			ReleaseBuffer(st->buf);
		st->buf = InvalidBuffer;
		st->buf = ReadBufferExtended(st->leaf, MAIN_FORKNUM, block, RBM_NORMAL, st->strategy);
	}
	LockBuffer(st->buf, BUFFER_LOCK_SHARE);
	Page page = BufferGetPage(st->buf);
	OffsetNumber offset = ItemPointerGetOffsetNumber(tid);
	ItemId lp = offset >= FirstOffsetNumber && offset <= PageGetMaxOffsetNumber(page) ? PageGetItemId(page, offset)
	                                                                                  : nullptr;
	if (lp == nullptr || !ItemIdIsNormal(lp)) {
		LockBuffer(st->buf, BUFFER_LOCK_UNLOCK);
		entry_vanished(tid);
	}
	HeapTuple tuple = &st->tuple; // not on the stack: the slot keeps a pointer to it
	tuple->t_data = (HeapTupleHeader)PageGetItem(page, lp);
	tuple->t_len = ItemIdGetLength(lp);
	tuple->t_tableOid = RelationGetRelid(st->leaf);
	tuple->t_self = *tid;
	if (!HeapTupleSatisfiesVisibility(tuple, st->snapshot, st->buf)) {
		LockBuffer(st->buf, BUFFER_LOCK_UNLOCK);
		entry_vanished(tid);
	}
	ExecStoreBufferHeapTuple(tuple, st->slot, st->buf); // the slot pins the page too
	LockBuffer(st->buf, BUFFER_LOCK_UNLOCK);
}

// The next entry line, or nullptr after the last entry.
text *next_entry(ExportState *st)
{
	if (st->next == st->nbatch) {
		if (st->cursor_done)
			return nullptr;
		fetch_tids(st);
		if (st->nbatch == 0)
			return nullptr;
	}
	ItemPointerData tid = st->tids[st->next];
	const Oid tableoid = st->tableoids[st->next++];
	fetch_entry(st, &tid, tableoid);
	slot_getallattrs(st->slot);
	MemoryContext caller = MemoryContextSwitchTo(st->row_cxt);
	MemoryContextReset(st->row_cxt);
	resetStringInfo(&st->out);
	// A 0.1 table (before ALTER EXTENSION pg_witness UPDATE) lacks the format-2 columns: NULL.
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	const int natts = Min(st->slot->tts_tupleDescriptor->natts, (int)EntryNatts);
	memset(nulls, true, sizeof(nulls));
	memcpy(values, st->slot->tts_values, sizeof(Datum) * natts);
	memcpy(nulls, st->slot->tts_isnull, sizeof(bool) * natts);
	print_entry(&st->out, values, nulls);
	MemoryContextSwitchTo(caller);
	return cstring_to_text_with_len(st->out.data, st->out.len);
}

// Opens the entries: the relation, the fetcher and the cursor that orders the ctids.
void start_entries(ExportState *st, MemoryContext state_cxt)
{
	MemoryContext old = MemoryContextSwitchTo(state_cxt);
	st->rel = table_open(entry_relid(), AccessShareLock);
	st->leaf = st->rel;
	check_entry_layout(RelationGetDescr(st->rel));
	st->strategy = GetAccessStrategy(BAS_BULKREAD);
	st->buf = InvalidBuffer;
	// Heap tuples of a partition: a partitioned witness.entry has no table access method of its own.
	st->slot = MakeSingleTupleTableSlot(RelationGetDescr(st->rel), &TTSOpsBufferHeapTuple);
	MemoryContextSwitchTo(old);
	open_cursor(kEntryOrderQuery, st->snapshot, st->entries_cursor);
	st->nbatch = st->next = 0;
	st->cursor_done = false;
	st->phase = PhaseEntries;
}

} // namespace

void witness::pg::append_entry_line(StringInfo out, const Datum *values, const bool *nulls)
{
	print_entry(out, values, nulls);
}

extern "C" {
PG_FUNCTION_INFO_V1(witness_export_trail);
Datum witness_export_trail(PG_FUNCTION_ARGS);

Datum witness_export_trail(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	if (SRF_IS_FIRSTCALL()) {
		check_access();
		auto *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
		if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) || rsinfo->econtext == nullptr)
			ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
			                errmsg("set-valued function called in context that cannot accept a set")));
		funcctx = SRF_FIRSTCALL_INIT();
		MemoryContext old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
		auto *st = (ExportState *)palloc0(sizeof(ExportState));
		st->batch_cxt = AllocSetContextCreate(funcctx->multi_call_memory_ctx, "pg_witness export batch",
		                                      ALLOCSET_DEFAULT_SIZES);
		st->row_cxt =
		    AllocSetContextCreate(funcctx->multi_call_memory_ctx, "pg_witness export row", ALLOCSET_DEFAULT_SIZES);
		initStringInfo(&st->out);
		st->snapshot = RegisterSnapshot(GetActiveSnapshot());
		MemoryContextSwitchTo(old);
		st->econtext = rsinfo->econtext;
		RegisterExprContextCallback(st->econtext, shutdown_export, PointerGetDatum(st));
		funcctx->user_fctx = st;
		const DueEra due = due_era(st->snapshot);
		const char *due_line = due.first_entry_id == 0 ? ""
		                                               : psprintf(kDueEraFormat, (long long)due.first_entry_id,
		                                                          (long long)due.first_block_no);
		line_cursor_open(&st->lines, funcctx->multi_call_memory_ctx,
		                 psprintf("%s%s%s", kHeaderAndBlocksQuery, due_line,
		                          OidIsValid(witness_relation_if_exists("pruned_leaf")) ? kPrunedQuery : ""),
		                 st->snapshot);
		st->phase = PhaseLines;
	}
	funcctx = SRF_PERCALL_SETUP();
	auto *st = (ExportState *)funcctx->user_fctx;
	CHECK_FOR_INTERRUPTS();

	if (st->phase == PhaseLines) {
		text *line = line_cursor_next(&st->lines);
		if (line != nullptr)
			SRF_RETURN_NEXT(funcctx, PointerGetDatum(pg_detoast_datum_copy((struct varlena *)line)));
		line_cursor_close(&st->lines);
		start_entries(st, funcctx->multi_call_memory_ctx);
	}
	if (st->phase == PhaseEntries) {
		text *line = next_entry(st);
		if (line != nullptr)
			SRF_RETURN_NEXT(funcctx, PointerGetDatum(line));
		st->phase = PhaseDone;
	}
	UnregisterExprContextCallback(st->econtext, shutdown_export, PointerGetDatum(st));
	cleanup(st);
	SRF_RETURN_DONE(funcctx);
}
}
