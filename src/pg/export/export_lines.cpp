// witness.export() and witness.export_encrypted(): the trail as csv, jsonl or syslog lines for other
// systems (docs/exports.md).
//
// Both stream (ValuePerCall): a cursor reads the rows of witness.log as the caller sees them (its
// masking and its auditor period), formatted by witness._export_line(), 1,000 at a time
// (line_cursor.hpp), in id order (a sort that spills to disk beyond work_mem, as export_trail()'s).
// The encrypted variant feeds each line to the cipher as it comes and returns the ciphertext as
// base64 lines of 64 characters: its memory is one batch of lines and one line of ciphertext.
#include "pg/common/pg_includes.hpp"

extern "C" {
#include "utils/array.h"
}

#include "pg/common/access_check.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/common/master_keys.hpp"
#include "pg/export/line_cursor.hpp"
#include "core/classification.hpp"
#include "core/hmac.hpp"
#include "core/openssl_enc.hpp"
#include "core/random_bytes.hpp"

#include <string>

extern "C" {
#include "catalog/pg_type.h"
#include "utils/datum.h"
#include "utils/fmgrprotos.h"
#include "utils/snapmgr.h"
}

using namespace witness::pg;

namespace
{

// The header of a csv export: the fields witness._export_line() prints, in its order.
const char kCsvHeader[] = "entry_id,time,schema_name,table_name,operation,row_key,subject,tags,old_values,new_values,"
                          "actor,session_user,current_user,application_name,client_addr,reason,block_no,leaf_hash";

constexpr int kMinPseudonymKeyBytes = 16;
constexpr int kMinIterations = 1000;
// Most PBKDF2 iterations accepted: about ten seconds of one core here; more only burned a backend's
// CPU until statement_timeout (a robustness review asked 2^31 - 1).
constexpr int kMaxIterations = 10000000;

// The C++ side of an encrypted export; made and destroyed outside PostgreSQL's error handling.
struct Encryption {
	witness::OpensslEncryptor enc;
	std::string pending; // ciphertext not returned yet, from `consumed` on
	size_t consumed = 0;
	Encryption(std::string_view pass, std::string_view salt, int iter) : enc(pass, salt, iter), pending(enc.header()) {}
};

// What an export keeps across calls, in the function's multi-call memory.
struct ExportState {
	LineCursor lines;
	Snapshot snapshot;
	bool header_pending; // csv: the header comes first
	bool finished;       // encrypted: the cipher has its last block
	Encryption *encryption; // encrypted exports only
	ExprContext *econtext;
	bool cleaned;
	bool has_key;            // anonymised under the key derived from the master key, kept here
	unsigned char key[32];
};

// The derived pseudonym key never becomes a value of SQL: an attack review had a reader print the
// export's plan (debug_print_plan, which any role may set) and read the key as a constant in it. The
// export's query passes this one-byte marker instead; witness._export_pseudonym() takes the key from
// here, while the export fetches its own lines (next_line()), and refuses the marker at any other time.
const unsigned char *fetching_key = nullptr;
const char kDerivedKeyMarker = '\0';

// Closes the cursor and the snapshot: at the end, or when the query stops early (LIMIT, a cursor
// closed), through the expression context's shutdown callback. Runs once.
void cleanup(ExportState *st)
{
	if (st->cleaned)
		return;
	st->cleaned = true;
	explicit_bzero(st->key, sizeof(st->key));
	st->has_key = false;
	line_cursor_close(&st->lines);
	if (st->snapshot != nullptr)
		UnregisterSnapshot(st->snapshot);
	st->snapshot = nullptr;
}

void shutdown_export(Datum arg)
{
	cleanup((ExportState *)DatumGetPointer(arg));
}

// The memory context that holds the state goes at the end of the query, also after an error: the
// C++ object goes with it (delete runs no PostgreSQL code).
void free_encryption(void *arg)
{
	auto *st = (ExportState *)arg;
	Encryption *e = st->encryption;
	st->encryption = nullptr;
	(void)run_guarded([&] { delete e; });
}

// The derived key is zeroed when the export's memory goes, also when an error ends the query and
// cleanup() never runs.
void forget_key(void *arg)
{
	auto *st = (ExportState *)arg;
	explicit_bzero(st->key, sizeof(st->key));
	st->has_key = false;
}

// Argument i as text, or nullptr when NULL.
char *text_arg(FunctionCallInfo fcinfo, int i)
{
	return PG_ARGISNULL(i) ? nullptr : text_to_cstring(PG_GETARG_TEXT_PP(i));
}

// The pseudonym key of an anonymised export: the given one, or the marker of the one derived from the
// master key, which is kept in st.
bytea *pseudonym_key(FunctionCallInfo fcinfo, int key_arg, ExportState *st)
{
	if (!PG_ARGISNULL(key_arg)) {
		bytea *key = PG_GETARG_BYTEA_PP(key_arg);
		if (VARSIZE_ANY_EXHDR(key) < kMinPseudonymKeyBytes)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("pseudonym_key is too short"),
			                errdetail("It has %d bytes; at least %d are needed.", (int)VARSIZE_ANY_EXHDR(key),
			                          kMinPseudonymKeyBytes),
			                errhint("Use 32 random bytes, for example from gen_random_bytes(32) or `openssl rand -hex 32`.")));
		return key;
	}
	const witness::MasterKey *master = current_master_key();
	if (master == nullptr)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("an anonymised export needs a pseudonym key"),
		                errdetail("No master key is configured (witness.master_key_file), and no pseudonym_key was given."),
		                errhint("Pass pseudonym_key => a secret of at least %d bytes, or configure a master key.",
		                        kMinPseudonymKeyBytes)));
	unsigned char *raw = st->key;
	run_core(ERRCODE_INTERNAL_ERROR, "could not derive the export pseudonym key", [&] {
		std::string k = master->export_pseudonym_key();
		memcpy(raw, k.data(), sizeof(st->key));
		std::fill(k.begin(), k.end(), '\0');
	});
	st->has_key = true;
	bytea *marker = (bytea *)palloc(VARHDRSZ + 1);
	SET_VARSIZE(marker, VARHDRSZ + 1);
	*VARDATA(marker) = kDerivedKeyMarker;
	return marker;
}

// Checks the arguments from `first` on (format, since, until, table_name, actor, db_user,
// operation, tag, anonymise, pseudonym_key) and opens the cursor on the lines.
void start_export(FunctionCallInfo fcinfo, int first, ExportState *st, MemoryContext cxt)
{
	require_not_null(fcinfo, first, "format");
	char *format = text_arg(fcinfo, first);
	for (char *p = format; *p; p++) // any case, as the operation and subject_export()'s format
		*p = pg_ascii_tolower((unsigned char)*p);
	if (strcmp(format, "csv") != 0 && strcmp(format, "jsonl") != 0 && strcmp(format, "syslog") != 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown export format \"%s\"", format),
		                errhint("The format is csv, jsonl or syslog.")));
	char *operation = text_arg(fcinfo, first + 6);
	if (operation != nullptr) {
		for (char *p = operation; *p; p++)
			*p = pg_ascii_toupper((unsigned char)*p);
		if (strcmp(operation, "INSERT") != 0 && strcmp(operation, "UPDATE") != 0 && strcmp(operation, "DELETE") != 0 &&
		    strcmp(operation, "TRUNCATE") != 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown operation \"%s\"", operation),
			                errhint("The operation is INSERT, UPDATE, DELETE or TRUNCATE.")));
	}
	if (!PG_ARGISNULL(first + 7)) {
		char *tag = text_arg(fcinfo, first + 7);
		if (!witness::is_classification(tag))
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown tag \"%s\"", tag),
			                errhint("The tag is one of pii, financial, confidential, restricted, internal.")));
	}
	// A table name that no table can have is refused, as witness.search() refuses it (it matched
	// nothing, silently; a robustness review).
	if (!PG_ARGISNULL(first + 3)) {
		ArrayType *parts = DatumGetArrayTypeP(DirectFunctionCall2(parse_ident, PG_GETARG_DATUM(first + 3), BoolGetDatum(true)));
		if (ArrayGetNItems(ARR_NDIM(parts), ARR_DIMS(parts)) > 2)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			                errmsg("invalid table name \"%s\"", text_arg(fcinfo, first + 3)),
			                errhint("Write a table as table or schema.table, e.g. orders or sales.orders.")));
	}
	if (!PG_ARGISNULL(first + 1) && !PG_ARGISNULL(first + 2) &&
	    PG_GETARG_TIMESTAMPTZ(first + 1) >= PG_GETARG_TIMESTAMPTZ(first + 2))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("since must lie before until"),
		                errdetail("The export covers the entries captured in [since, until).")));
	const bool anonymise = !PG_ARGISNULL(first + 8) && PG_GETARG_BOOL(first + 8);
	if (!anonymise && !PG_ARGISNULL(first + 9))
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("pseudonym_key is used by anonymised exports only"), errhint("Pass anonymise => true.")));

	// $1 format, $2 key, then one parameter per filter given. Every name schema-qualified.
	Oid types[9] = {TEXTOID, BYTEAOID};
	Datum values[9];
	char nulls[9];
	int n = 2;
	values[0] = CStringGetTextDatum(format);
	nulls[0] = ' ';
	values[1] = anonymise ? PointerGetDatum(pseudonym_key(fcinfo, first + 9, st)) : (Datum)0;
	nulls[1] = anonymise ? ' ' : 'n';
	StringInfoData q;
	initStringInfo(&q);
	appendStringInfoString(&q, "SELECT witness._export_line($1, l, witness._export_block_no(l.xid, l.id), $2)"
	                           " FROM witness.log l WHERE true");
	auto add = [&](int arg, Oid type, Datum value, const char *condition) {
		types[n] = type;
		values[n] = value;
		nulls[n] = ' ';
		n++;
		appendStringInfo(&q, condition, n, n);
	};
	if (!PG_ARGISNULL(first + 1))
		add(first + 1, TIMESTAMPTZOID, PG_GETARG_DATUM(first + 1), " AND l.stmt_time OPERATOR(pg_catalog.>=) $%d");
	if (!PG_ARGISNULL(first + 2))
		add(first + 2, TIMESTAMPTZOID, PG_GETARG_DATUM(first + 2), " AND l.stmt_time OPERATOR(pg_catalog.<) $%d");
	if (!PG_ARGISNULL(first + 3))
		add(first + 3, TEXTOID, PG_GETARG_DATUM(first + 3),
		    " AND (l.table_name OPERATOR(pg_catalog.=) $%d OR pg_catalog.format('%%I.%%I', l.schema_name, l.table_name)"
		    " OPERATOR(pg_catalog.=) $%d)");
	if (!PG_ARGISNULL(first + 4))
		add(first + 4, TEXTOID, PG_GETARG_DATUM(first + 4), " AND l.actor OPERATOR(pg_catalog.=) $%d");
	if (!PG_ARGISNULL(first + 5))
		add(first + 5, TEXTOID, PG_GETARG_DATUM(first + 5),
		    " AND (l.session_user_name OPERATOR(pg_catalog.=) $%d OR l.current_user_name OPERATOR(pg_catalog.=) $%d)");
	if (operation != nullptr)
		add(first + 6, TEXTOID, CStringGetTextDatum(operation), " AND l.operation OPERATOR(pg_catalog.=) $%d");
	if (!PG_ARGISNULL(first + 7))
		add(first + 7, TEXTOID, PG_GETARG_DATUM(first + 7), " AND $%d OPERATOR(pg_catalog.=) ANY (l.tags)");
	appendStringInfoString(&q, " ORDER BY l.id");

	st->header_pending = strcmp(format, "csv") == 0;
	line_cursor_open(&st->lines, cxt, q.data, st->snapshot, n, types, values, nulls);
}

// The first call of either function: access, arguments, state and cursor.
ExportState *first_call(FunctionCallInfo fcinfo, FuncCallContext *funcctx, int first)
{
	auto *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;
	if (rsinfo == nullptr || !IsA(rsinfo, ReturnSetInfo) || rsinfo->econtext == nullptr)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
		                errmsg("set-valued function called in context that cannot accept a set")));
	MemoryContext old = MemoryContextSwitchTo(funcctx->multi_call_memory_ctx);
	auto *st = (ExportState *)palloc0(sizeof(ExportState));
	auto *zero_key = (MemoryContextCallback *)palloc0(sizeof(MemoryContextCallback));
	zero_key->func = forget_key;
	zero_key->arg = st;
	MemoryContextRegisterResetCallback(funcctx->multi_call_memory_ctx, zero_key);
	st->snapshot = RegisterSnapshot(GetActiveSnapshot());
	st->econtext = rsinfo->econtext;
	RegisterExprContextCallback(st->econtext, shutdown_export, PointerGetDatum(st));
	funcctx->user_fctx = st;
	start_export(fcinfo, first, st, funcctx->multi_call_memory_ctx);
	MemoryContextSwitchTo(old);
	return st;
}

// The next plain line (the csv header first), or nullptr after the last.
text *next_line(ExportState *st)
{
	if (st->header_pending) {
		st->header_pending = false;
		return cstring_to_text(kCsvHeader);
	}
	const unsigned char *saved = fetching_key;
	text *volatile line = nullptr;
	fetching_key = st->has_key ? st->key : nullptr;
	PG_TRY();
	{
		line = line_cursor_next(&st->lines);
	}
	PG_FINALLY();
	{
		fetching_key = saved;
	}
	PG_END_TRY();
	return line;
}

Datum finish(FunctionCallInfo fcinfo, FuncCallContext *funcctx, ExportState *st)
{
	UnregisterExprContextCallback(st->econtext, shutdown_export, PointerGetDatum(st));
	cleanup(st);
	SRF_RETURN_DONE(funcctx);
}

// The block of the previous entry, for witness._export_block_no(): entries come in id order, and most
// belong to the block of the entry before them.
struct BlockCache {
	bool valid;
	int64 block_no;
	Datum snapshot;  // the block's snapshot (pg_snapshot, in fn_mcxt)
	Datum previous;  // the snapshot whose transactions it does not hold, if any
	bool has_previous;
	int64 era_first, era_next; // the entry ids of its transaction-id era
	int64 first_id, last_id;   // its sealed ids: no member lies outside them (an entry of the due era
	                           // that its snapshot sees does, docs/verification.md)
};

// Whether the cached block holds the transaction xid of entry id: the same test as the subject
// export's (witness._subject_export_lines()).
bool cached_block_holds(const BlockCache *c, Datum xid, int64 id)
{
	return c->valid && id >= c->era_first && id < c->era_next && id >= c->first_id && id <= c->last_id &&
	       DatumGetBool(DirectFunctionCall2(pg_visible_in_snapshot, xid, c->snapshot)) &&
	       !(c->has_previous && DatumGetBool(DirectFunctionCall2(pg_visible_in_snapshot, xid, c->previous)));
}

const char *const kBlockOfQuery =
    "SELECT b.block_no, b.snapshot, witness._previous_snapshot(b.block_no), e.first_id, e.next_first_id,"
    " b.first_entry_id, b.last_entry_id"
    " FROM witness._block_of_xid($1, $2) b CROSS JOIN witness._era_bounds($2) e WHERE b.block_no IS NOT NULL";

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_export_block_no);
Datum witness_export_block_no(PG_FUNCTION_ARGS);

// witness._export_block_no(xid, entry_id): the block the entry is sealed in, NULL while pending. A
// binary search over the blocks (witness._block_of_xid()) only when the previous entry's block does
// not hold this one.
Datum witness_export_block_no(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	check_access();
	Datum xid = PG_GETARG_DATUM(0);
	const int64 id = PG_GETARG_INT64(1);
	auto *c = (BlockCache *)fcinfo->flinfo->fn_extra;
	if (c == nullptr) {
		c = (BlockCache *)MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt, sizeof(BlockCache));
		fcinfo->flinfo->fn_extra = c;
	}
	if (cached_block_holds(c, xid, id))
		PG_RETURN_INT64(c->block_no);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	Oid types[2] = {XID8OID, INT8OID};
	Datum values[2] = {xid, Int64GetDatum(id)};
	if (SPI_execute_with_args(kBlockOfQuery, 2, types, values, nullptr, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: could not look up the block of entry %lld", (long long)id);
	if (SPI_processed == 0) {
		SPI_finish();
		PG_RETURN_NULL();
	}
	HeapTuple row = SPI_tuptable->vals[0];
	TupleDesc desc = SPI_tuptable->tupdesc;
	bool isnull[7];
	Datum d[7];
	for (int i = 0; i < 7; i++)
		d[i] = SPI_getbinval(row, desc, i + 1, &isnull[i]);
	if (c->valid) {
		pfree(DatumGetPointer(c->snapshot));
		if (c->has_previous)
			pfree(DatumGetPointer(c->previous));
	}
	c->valid = false;
	MemoryContext old = MemoryContextSwitchTo(fcinfo->flinfo->fn_mcxt);
	c->block_no = DatumGetInt64(d[0]);
	c->snapshot = datumCopy(d[1], false, -1);
	c->has_previous = !isnull[2];
	c->previous = c->has_previous ? datumCopy(d[2], false, -1) : (Datum)0;
	c->era_first = DatumGetInt64(d[3]);
	c->era_next = DatumGetInt64(d[4]);
	c->first_id = isnull[5] ? 0 : DatumGetInt64(d[5]);
	c->last_id = isnull[6] ? 0 : DatumGetInt64(d[6]);
	c->valid = !isnull[1] && !isnull[3] && !isnull[4] && !isnull[5] && !isnull[6];
	MemoryContextSwitchTo(old);
	const int64 block_no = c->block_no;
	SPI_finish();
	PG_RETURN_INT64(block_no);
}

PG_FUNCTION_INFO_V1(witness_export);
PG_FUNCTION_INFO_V1(witness_export_encrypted);
PG_FUNCTION_INFO_V1(witness_export_pseudonym);
Datum witness_export(PG_FUNCTION_ARGS);
Datum witness_export_encrypted(PG_FUNCTION_ARGS);
Datum witness_export_pseudonym(PG_FUNCTION_ARGS);

Datum witness_export(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	if (SRF_IS_FIRSTCALL()) {
		check_access();
		require_nargs(fcinfo, 10);
		funcctx = SRF_FIRSTCALL_INIT();
		first_call(fcinfo, funcctx, 0);
	}
	funcctx = SRF_PERCALL_SETUP();
	auto *st = (ExportState *)funcctx->user_fctx;
	CHECK_FOR_INTERRUPTS();
	text *line = next_line(st);
	if (line != nullptr)
		SRF_RETURN_NEXT(funcctx, PointerGetDatum(pg_detoast_datum_copy((struct varlena *)line)));
	return finish(fcinfo, funcctx, st);
}

Datum witness_export_encrypted(PG_FUNCTION_ARGS)
{
	FuncCallContext *funcctx;
	if (SRF_IS_FIRSTCALL()) {
		check_access();
		require_nargs(fcinfo, 12);
		require_not_null(fcinfo, 0, "passphrase");
		require_not_null(fcinfo, 11, "iterations");
		text *pass = PG_GETARG_TEXT_PP(0);
		const int iterations = PG_GETARG_INT32(11);
		if (VARSIZE_ANY_EXHDR(pass) == 0)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("passphrase must not be empty")));
		if (iterations < kMinIterations)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("iterations must be at least %d", kMinIterations),
			                errdetail("It is %d.", iterations)));
		if (iterations > kMaxIterations)
			ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("iterations must be at most %d", kMaxIterations),
			                errdetail("It is %d.", iterations)));
		funcctx = SRF_FIRSTCALL_INIT();
		ExportState *st = first_call(fcinfo, funcctx, 1);
		MemoryContextCallback *cb =
		    (MemoryContextCallback *)MemoryContextAllocZero(funcctx->multi_call_memory_ctx, sizeof(MemoryContextCallback));
		cb->func = free_encryption;
		cb->arg = st;
		MemoryContextRegisterResetCallback(funcctx->multi_call_memory_ctx, cb);
		const char *p = VARDATA_ANY(pass);
		const size_t plen = VARSIZE_ANY_EXHDR(pass);
		run_core(ERRCODE_INTERNAL_ERROR, "could not start the encrypted export", [&] {
			const std::string salt = witness::random_bytes(witness::kOpensslEncSaltSize);
			st->encryption = new Encryption(std::string_view(p, plen), salt, iterations);
		});
	}
	funcctx = SRF_PERCALL_SETUP();
	auto *st = (ExportState *)funcctx->user_fctx;
	CHECK_FOR_INTERRUPTS();
	Encryption *e = st->encryption;
	// Encrypt lines until a whole base64 line of ciphertext is ready, or the export is over.
	while (!st->finished && e->pending.size() - e->consumed < witness::kBase64LineBytes) {
		text *line = next_line(st);
		const char *data = line != nullptr ? VARDATA_ANY(line) : nullptr;
		const size_t len = line != nullptr ? VARSIZE_ANY_EXHDR(line) : 0;
		run_core(ERRCODE_INTERNAL_ERROR, "could not encrypt the export", [&] {
			if (e->consumed > 4096) {
				e->pending.erase(0, e->consumed);
				e->consumed = 0;
			}
			if (data != nullptr) {
				e->enc.update(std::string_view(data, len), e->pending);
				e->enc.update("\n", e->pending);
			} else
				e->enc.finish(e->pending);
		});
		if (line == nullptr)
			st->finished = true;
	}
	if (e->pending.size() == e->consumed)
		return finish(fcinfo, funcctx, st);
	char out[65];
	run_core(ERRCODE_INTERNAL_ERROR, "could not encode the export", [&] {
		const size_t take = std::min(witness::kBase64LineBytes, e->pending.size() - e->consumed);
		const std::string b64 = witness::base64(std::string_view(e->pending).substr(e->consumed, take));
		memcpy(out, b64.data(), b64.size());
		out[b64.size()] = '\0';
		e->consumed += take;
	});
	SRF_RETURN_NEXT(funcctx, PointerGetDatum(cstring_to_text(out)));
}

// witness._export_pseudonym(key, value): "anon:" and 32 hex digits of HMAC-SHA256(key, value).
Datum witness_export_pseudonym(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "key");
	require_not_null(fcinfo, 1, "value");
	bytea *key = PG_GETARG_BYTEA_PP(0);
	text *value = PG_GETARG_TEXT_PP(1);
	const char *k = VARDATA_ANY(key);
	size_t klen = VARSIZE_ANY_EXHDR(key);
	const char *v = VARDATA_ANY(value);
	const size_t vlen = VARSIZE_ANY_EXHDR(value);
	if (klen == 0)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("key must not be empty")));
	if (klen == 1 && *k == kDerivedKeyMarker) {
		if (fetching_key == nullptr)
			ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
			                errmsg("the export pseudonym key derived from the master key is not available here"),
			                errdetail("Only witness.export() and witness.export_encrypted() compute pseudonyms under it, while they read their lines.")));
		k = (const char *)fetching_key;
		klen = sizeof(ExportState::key);
	}
	static const char kHex[] = "0123456789abcdef";
	char out[5 + 32 + 1] = "anon:";
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute a pseudonym", [&] {
		const std::string mac = witness::hmac_sha256(std::string_view(k, klen), std::string_view(v, vlen));
		for (int i = 0; i < 16; i++) {
			out[5 + 2 * i] = kHex[(unsigned char)mac[i] >> 4];
			out[6 + 2 * i] = kHex[(unsigned char)mac[i] & 15];
		}
		out[37] = '\0';
	});
	PG_RETURN_TEXT_P(cstring_to_text(out));
}
}
