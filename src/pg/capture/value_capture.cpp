#include "pg/capture/value_capture.hpp"

#include <cmath>

#include "pg/common/core_bridge.hpp"
#include "pg/capture/jsonb_canonical.hpp"

namespace witness::pg
{
namespace
{

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
void set_float(CapturedValue *out, double v, const char *text)
{
	if (std::isnan(v) || std::isinf(v)) {
		set_string(out, text);
		return;
	}
	Datum n = DirectFunctionCall3(numeric_in, CStringGetDatum(text), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	set_number(out, DatumGetNumeric(n));
}

// The schema-qualified name of the object an OID-alias value refers to, or nullptr if it is gone.
const char *qualified_name(ValueCategory category, Oid oid)
{
	switch (category) {
	case ValueCategory::RegClass: {
		char *rel = get_rel_name(oid);
		char *nsp = rel != nullptr ? get_namespace_name(get_rel_namespace(oid)) : nullptr;
		return nsp != nullptr ? quote_qualified_identifier(nsp, rel) : nullptr;
	}
	case ValueCategory::RegType:
		return format_type_extended(oid, -1, FORMAT_TYPE_FORCE_QUALIFY | FORMAT_TYPE_INVALID_AS_NULL);
	case ValueCategory::RegProc:
		return format_procedure_extended(oid, FORMAT_PROC_FORCE_QUALIFY | FORMAT_PROC_INVALID_AS_NULL);
	case ValueCategory::RegOper:
		return format_operator_extended(oid, FORMAT_OPERATOR_FORCE_QUALIFY | FORMAT_OPERATOR_INVALID_AS_NULL);
	case ValueCategory::RegNamespace: {
		char *nsp = get_namespace_name(oid);
		return nsp != nullptr ? quote_identifier(nsp) : nullptr;
	}
	case ValueCategory::RegRole: {
		char *role = GetUserNameFromId(oid, true);
		return role != nullptr ? quote_identifier(role) : nullptr;
	}
	default:
		return nullptr;
	}
}

} // namespace

void pin_output_settings(OutputSettings *saved)
{
	if (utc == nullptr)
		utc = pg_tzset("UTC");
	saved->date_style = DateStyle;
	saved->date_order = DateOrder;
	saved->interval_style = IntervalStyle;
	saved->float_digits = extra_float_digits;
	saved->bytea = bytea_output;
	saved->timezone = session_timezone;
	DateStyle = USE_ISO_DATES;
	DateOrder = DATEORDER_YMD;
	IntervalStyle = INTSTYLE_ISO_8601;
	extra_float_digits = 1;
	bytea_output = BYTEA_OUTPUT_HEX;
	session_timezone = utc;
}

void restore_output_settings(const OutputSettings *saved)
{
	DateStyle = saved->date_style;
	DateOrder = saved->date_order;
	IntervalStyle = saved->interval_style;
	extra_float_digits = saved->float_digits;
	bytea_output = saved->bytea;
	session_timezone = saved->timezone;
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
	case ValueCategory::Text:
		set_string(out, OutputFunctionCall(const_cast<FmgrInfo *>(&col.output), value));
		return;
	case ValueCategory::RegClass:
	case ValueCategory::RegType:
	case ValueCategory::RegProc:
	case ValueCategory::RegOper:
	case ValueCategory::RegNamespace:
	case ValueCategory::RegRole: {
		const char *name = qualified_name(col.category, DatumGetObjectId(value));
		if (name != nullptr)
			set_string(out, name);
		else // a dangling reference keeps its number
			set_integer(out, (int64)DatumGetObjectId(value));
		return;
	}
	}
}

} // namespace witness::pg
