// witness._json_depth(v json): how deep arrays and objects nest in a stored value, read in one pass
// without recursion. witness._readable_jsonb() shows a value nested deeper than jsonb's recursive input
// takes on a reader's stack as a note instead (an attack review wrote one 14,540 deep with INSERT
// alone, and witness.export() and witness.search() failed for every range that held it).
#include "pg/common/pg_includes.hpp"

#include "core/canonical_json.hpp"
#include "pg/common/arguments.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(witness_json_depth);
Datum witness_json_depth(PG_FUNCTION_ARGS);
}

Datum witness_json_depth(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 1);
	if (PG_ARGISNULL(0))
		PG_RETURN_NULL();
	text *v = PG_GETARG_TEXT_PP(0);
	const size_t depth = witness::json_nesting_depth(std::string_view(VARDATA_ANY(v), VARSIZE_ANY_EXHDR(v)));
	PG_RETURN_INT64((int64)depth);
}
