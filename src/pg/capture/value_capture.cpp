#include "pg/capture/value_capture.hpp"

#include <cmath>

#include "pg/common/core_bridge.hpp"
#include "pg/capture/jsonb_canonical.hpp"

extern "C" {
#include "catalog/pg_collation.h"
#include "catalog/pg_operator.h"
#include "catalog/pg_proc.h"
#include "catalog/pg_ts_config.h"
#include "catalog/pg_ts_dict.h"
}

namespace witness::pg
{
namespace
{

// Values larger than this are printed under print_large()'s guard; smaller ones cannot print past 1 GB
// but through output functions that multiply far more than the ones PostgreSQL ships.
constexpr size_t kPrintGuardBytes = size_t(16) << 20;

// A value whose text form may pass the 1 GB a string can hold (a bytea prints at twice its size plus
// 3, an array of NULLs at five bytes a bit): the output function's failed allocation is an internal
// error (XX000), reported as what capture says of values too large (54000) instead (a robustness
// review deleted a tracked row holding a 540 MB bytea). The transaction aborts either way.
char *print_large(FmgrInfo *output, Datum plain, size_t raw_bytes)
{
	char *text = nullptr;
	MemoryContext cxt = CurrentMemoryContext;
	PG_TRY();
	{
		text = OutputFunctionCall(output, plain);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		ErrorData *e = CopyErrorData();
		if (e->sqlerrcode != ERRCODE_INTERNAL_ERROR || e->message == nullptr ||
		    strncmp(e->message, "invalid memory alloc request size", 33) != 0) {
			FreeErrorData(e);
			PG_RE_THROW();
		}
		FlushErrorState();
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
		                errmsg("values too large to capture: a value of %zu bytes whose text form passes 1 GB", raw_bytes),
		                errdetail("Its output function failed: %s.", e->message)));
	}
	PG_END_TRY();
	return text;
}

pg_tz *utc = nullptr;

void set_number(CapturedValue *out, Numeric n)
{
	out->kind = JsonKind::Number;
	out->text = DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n)));
	out->len = strlen(out->text);
}

void set_integer(CapturedValue *out, int64 v)
{
	char *buf = (char *)palloc(MAXINT8LEN + 1);
	out->len = pg_lltoa(v, buf);
	out->text = buf;
	out->kind = JsonKind::Number;
}

void set_string(CapturedValue *out, const char *text)
{
	out->kind = JsonKind::String;
	out->text = text;
	out->len = strlen(text);
}

// Floats print shortest-exact (settings pinned), then as numeric prints them, like jsonb numbers.
// Negative zero, which numeric cannot hold, is the number -0.
void set_float(CapturedValue *out, double v, const char *text)
{
	if (std::isnan(v) || std::isinf(v)) {
		set_string(out, text);
		return;
	}
	if (v == 0 && std::signbit(v)) {
		out->kind = JsonKind::Number;
		out->text = "-0";
		out->len = 2;
		return;
	}
	Datum n = DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	set_number(out, DatumGetNumeric(n));
}

// Names of referenced objects, built from the catalog rather than by the reg* output functions, which
// leave out the schema of whatever the search_path finds and spell built-in types the SQL way
// ("timestamp with time zone"). Each part is quoted as quote_ident() quotes it (quote_all_identifiers
// is pinned off). They return nullptr when the object, or its schema, does not exist.

const char *qualified(Oid nsp, const char *name)
{
	char *nspname = get_namespace_name(nsp);
	return nspname != nullptr ? quote_qualified_identifier(nspname, name) : nullptr;
}

const char *relation_name(Oid oid)
{
	char *rel = get_rel_name(oid);
	return rel != nullptr ? qualified(get_rel_namespace(oid), rel) : nullptr;
}

const char *type_name(Oid oid)
{
	HeapTuple tup = SearchSysCache1(TYPEOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		return nullptr;
	auto *t = (Form_pg_type)GETSTRUCT(tup);
	const char *name = qualified(t->typnamespace, NameStr(t->typname));
	ReleaseSysCache(tup);
	return name;
}

// An argument type inside a function's or operator's signature; a type that is gone keeps its number.
void append_arg_type(StringInfo buf, Oid oid)
{
	const char *name = type_name(oid);
	if (name != nullptr)
		appendStringInfoString(buf, name);
	else
		appendStringInfo(buf, "%u", oid);
}

const char *function_name(Oid oid, bool with_args)
{
	HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		return nullptr;
	auto *p = (Form_pg_proc)GETSTRUCT(tup);
	const char *name = qualified(p->pronamespace, NameStr(p->proname));
	if (name != nullptr && with_args) {
		StringInfoData buf;
		initStringInfo(&buf);
		appendStringInfo(&buf, "%s(", name);
		for (int i = 0; i < p->pronargs; i++) {
			if (i > 0)
				appendStringInfoChar(&buf, ',');
			append_arg_type(&buf, p->proargtypes.values[i]);
		}
		appendStringInfoChar(&buf, ')');
		name = buf.data;
	}
	ReleaseSysCache(tup);
	return name;
}

// schema.op, the operator's symbol never quoted (as regoperator writes it).
const char *operator_name(Oid oid, bool with_args)
{
	HeapTuple tup = SearchSysCache1(OPEROID, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		return nullptr;
	auto *o = (Form_pg_operator)GETSTRUCT(tup);
	char *nspname = get_namespace_name(o->oprnamespace);
	const char *name = nullptr;
	if (nspname != nullptr) {
		StringInfoData buf;
		initStringInfo(&buf);
		appendStringInfo(&buf, "%s.%s", quote_identifier(nspname), NameStr(o->oprname));
		if (with_args) {
			appendStringInfoChar(&buf, '(');
			if (OidIsValid(o->oprleft))
				append_arg_type(&buf, o->oprleft);
			else
				appendStringInfoString(&buf, "NONE");
			appendStringInfoChar(&buf, ',');
			if (OidIsValid(o->oprright))
				append_arg_type(&buf, o->oprright);
			else
				appendStringInfoString(&buf, "NONE");
			appendStringInfoChar(&buf, ')');
		}
		name = buf.data;
	}
	ReleaseSysCache(tup);
	return name;
}

// A text search configuration or dictionary, or a collation: name and schema from the catalog row.
const char *named_in_schema(int cache, Oid oid)
{
	HeapTuple tup = SearchSysCache1(cache, ObjectIdGetDatum(oid));
	if (!HeapTupleIsValid(tup))
		return nullptr;
	const char *name = nullptr;
	switch (cache) {
	case TSCONFIGOID: {
		auto *c = (Form_pg_ts_config)GETSTRUCT(tup);
		name = qualified(c->cfgnamespace, NameStr(c->cfgname));
		break;
	}
	case TSDICTOID: {
		auto *d = (Form_pg_ts_dict)GETSTRUCT(tup);
		name = qualified(d->dictnamespace, NameStr(d->dictname));
		break;
	}
	case COLLOID: {
		auto *c = (Form_pg_collation)GETSTRUCT(tup);
		name = qualified(c->collnamespace, NameStr(c->collname));
		break;
	}
	default:
		break;
	}
	ReleaseSysCache(tup);
	return name;
}

// The name an object reference value stands for, or nullptr if there is no such object.
const char *object_name(ValueCategory category, Oid oid)
{
	switch (category) {
	case ValueCategory::RegClass:
		return relation_name(oid);
	case ValueCategory::RegType:
		return type_name(oid);
	case ValueCategory::RegProc:
		return function_name(oid, false);
	case ValueCategory::RegProcedure:
		return function_name(oid, true);
	case ValueCategory::RegOper:
		return operator_name(oid, false);
	case ValueCategory::RegOperator:
		return operator_name(oid, true);
	case ValueCategory::RegNamespace: {
		char *nsp = get_namespace_name(oid);
		return nsp != nullptr ? quote_identifier(nsp) : nullptr;
	}
	case ValueCategory::RegRole: {
		char *role = GetUserNameFromId(oid, true);
		return role != nullptr ? quote_identifier(role) : nullptr;
	}
	case ValueCategory::RegConfig:
		return named_in_schema(TSCONFIGOID, oid);
	case ValueCategory::RegDictionary:
		return named_in_schema(TSDICTOID, oid);
	case ValueCategory::RegCollation:
		return named_in_schema(COLLOID, oid);
	default:
		return nullptr;
	}
}

} // namespace

void pin_output_settings(OutputSettings *saved, bool fixed_search_path)
{
	if (utc == nullptr)
		utc = pg_tzset("UTC");
	// First what can fail (it allocates), then the settings, which cannot.
	saved->path_pushed = false;
	if (fixed_search_path) {
		// pg_catalog alone, not even the temporary schema: a name is qualified unless it is pg_catalog's.
		OverrideSearchPath path;
		path.schemas = NIL;
		path.addCatalog = true;
		path.addTemp = false;
		path.generation = 0;
		PushOverrideSearchPath(&path);
		saved->path_pushed = true;
	}
	saved->date_style = DateStyle;
	saved->date_order = DateOrder;
	saved->interval_style = IntervalStyle;
	saved->float_digits = extra_float_digits;
	saved->bytea = bytea_output;
	saved->timezone = session_timezone;
	saved->quote_all = quote_all_identifiers;
	DateStyle = USE_ISO_DATES;
	DateOrder = DATEORDER_YMD;
	IntervalStyle = INTSTYLE_ISO_8601;
	extra_float_digits = 1;
	bytea_output = BYTEA_OUTPUT_HEX;
	session_timezone = utc;
	quote_all_identifiers = false;
}

void restore_output_settings(const OutputSettings *saved)
{
	DateStyle = saved->date_style;
	DateOrder = saved->date_order;
	IntervalStyle = saved->interval_style;
	extra_float_digits = saved->float_digits;
	bytea_output = saved->bytea;
	session_timezone = saved->timezone;
	quote_all_identifiers = saved->quote_all;
	if (saved->path_pushed)
		PopOverrideSearchPath();
}

void capture_value(const ColumnPlan &col, Datum value, bool isnull, CapturedValue *out)
{
	if (isnull) {
		out->kind = JsonKind::Null;
		out->text = "null";
		out->len = 4;
		return;
	}
	switch (col.category) {
	case ValueCategory::Bool:
		out->kind = JsonKind::Bool;
		out->text = DatumGetBool(value) ? "true" : "false";
		out->len = strlen(out->text);
		return;
	case ValueCategory::Int16:
		set_integer(out, DatumGetInt16(value));
		return;
	case ValueCategory::Int32:
		set_integer(out, DatumGetInt32(value));
		return;
	case ValueCategory::Int64:
	case ValueCategory::Money: // its stored integer (minor units): the text form depends on lc_monetary
		set_integer(out, DatumGetInt64(value));
		return;
	case ValueCategory::Oid:
		set_integer(out, (int64)DatumGetObjectId(value));
		return;
	case ValueCategory::Numeric: {
		Numeric n = DatumGetNumeric(value);
		if (numeric_is_nan(n) || numeric_is_inf(n))
			set_string(out, DatumGetCString(DirectFunctionCall1(numeric_out, NumericGetDatum(n))));
		else
			set_number(out, n);
		return;
	}
	case ValueCategory::Float4:
		set_float(out, DatumGetFloat4(value), DatumGetCString(DirectFunctionCall1(float4out, value)));
		return;
	case ValueCategory::Float8:
		set_float(out, DatumGetFloat8(value), DatumGetCString(DirectFunctionCall1(float8out, value)));
		return;
	case ValueCategory::Jsonb: {
		out->kind = JsonKind::Raw;
		out->text = jsonb_canonical(DatumGetJsonbP(value), &out->len);
		return;
	}
	case ValueCategory::Text: {
		// A toasted value is detoasted here, so that the copy can go as soon as it is printed.
		Datum plain = value;
		if (col.typlen == -1 && VARATT_IS_EXTENDED(DatumGetPointer(value)))
			plain = PointerGetDatum(PG_DETOAST_DATUM_PACKED(value));
		const size_t raw_bytes = col.typlen == -1 ? VARSIZE_ANY_EXHDR(DatumGetPointer(plain)) : 0;
		set_string(out, raw_bytes > kPrintGuardBytes ? print_large(const_cast<FmgrInfo *>(&col.output), plain, raw_bytes)
		                                             : OutputFunctionCall(const_cast<FmgrInfo *>(&col.output), plain));
		if (plain != value) {
			const char *copy = (const char *)DatumGetPointer(plain);
			// An output function that answered with a pointer into its input keeps the copy.
			if (out->text < copy || out->text >= copy + VARSIZE_ANY(copy))
				pfree(DatumGetPointer(plain));
		}
		return;
	}
	case ValueCategory::RegClass:
	case ValueCategory::RegType:
	case ValueCategory::RegProc:
	case ValueCategory::RegProcedure:
	case ValueCategory::RegOper:
	case ValueCategory::RegOperator:
	case ValueCategory::RegNamespace:
	case ValueCategory::RegRole:
	case ValueCategory::RegConfig:
	case ValueCategory::RegDictionary:
	case ValueCategory::RegCollation: {
		const char *name = object_name(col.category, DatumGetObjectId(value));
		if (name != nullptr)
			set_string(out, name);
		else // a dangling reference keeps its number
			set_integer(out, (int64)DatumGetObjectId(value));
		return;
	}
	}
}

} // namespace witness::pg
