// witness._captured_value(name, type, typmod, value): the JSON object {name: v} where v is what capture
// writes for `value` (text input of a column of that type) in a row key or a payload. witness.hold()
// checks a row key with it, so that the check follows capture's own code instead of a copy of its rules
// in SQL (three reviews found such a copy accepting holds that matched nothing; docs/retention.md).
#include "pg/capture/capture_plan.hpp"
#include "pg/capture/value_capture.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"

extern "C" {
#include "catalog/pg_type_d.h"
#include "utils/jsonb.h"
#include "utils/syscache.h"

PG_FUNCTION_INFO_V1(witness_captured_value);
Datum witness_captured_value(PG_FUNCTION_ARGS);
}

namespace
{
// The value as capture sees it: parsed by the (base) type's input function, then converted under
// capture's pinned output settings. A money value is given as capture writes it, its
// stored integer (minor units): its text input reads "12" as 1200.
witness::pg::CapturedValue capture_text(Oid typoid, int32 typmod, char *input)
{
	witness::pg::ColumnPlan col{};
	const bool fixed_path = witness::pg::plan_column(&col, typoid, CurrentMemoryContext);
	Datum value;
	if (col.category == witness::pg::ValueCategory::Money) {
		value = DirectFunctionCall1(int8in, CStringGetDatum(input));
	} else {
		// Read as the domain's base type: a row may predate a constraint added NOT VALID, and capture
		// writes what the base type's output function prints (the review of the check).
		int32 base_typmod = typmod;
		const Oid base = getBaseTypeAndTypmod(typoid, &base_typmod);
		Oid infn;
		Oid ioparam;
		getTypeInputInfo(base, &infn, &ioparam);
		value = OidInputFunctionCall(infn, input, ioparam, base_typmod);
	}
	witness::pg::CapturedValue out{};
	witness::pg::OutputSettings saved;
	witness::pg::pin_output_settings(&saved, fixed_path);
	PG_TRY();
	{
		witness::pg::capture_value(col, value, false, &out);
	}
	PG_FINALLY();
	{
		witness::pg::restore_output_settings(&saved);
	}
	PG_END_TRY();
	return out;
}
} // namespace

Datum witness_captured_value(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 4);
	for (int i = 0; i < 4; i++)
		if (PG_ARGISNULL(i))
			PG_RETURN_NULL();
	const char *name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const Oid typoid = PG_GETARG_OID(1);
	const int32 typmod = PG_GETARG_INT32(2);
	char *input = text_to_cstring(PG_GETARG_TEXT_PP(3));
	if (!SearchSysCacheExists1(TYPEOID, ObjectIdGetDatum(typoid)))
		ereport(ERROR, (errcode(ERRCODE_UNDEFINED_OBJECT), errmsg("type with OID %u does not exist", typoid)));
	if (get_typtype(typoid) == TYPTYPE_PSEUDO)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("a column cannot be of pseudo-type %s", format_type_be(typoid))));
	const witness::pg::CapturedValue v = capture_text(typoid, typmod, input);
	const witness::JsonField field{name, strlen(name), v.kind, v.text, v.len};
	const char *json;
	size_t len;
	(void)witness::pg::json_object(&field, 1, &json, &len);
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(pnstrdup(json, len)));
}
