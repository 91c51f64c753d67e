// witness._old_row_key(row_key, old_values): the key a row had before an UPDATE that changed one of
// its key columns, NULL when the UPDATE kept the key (or its arguments are not JSON objects). The
// lookup table keeps a hash of it, so that witness.entity_history() of a row finds the UPDATE that
// gave the row another key (docs/views.md).
#include "pg/access/old_row_key.hpp"

#include <string>

#include "pg/common/arguments.hpp"
#include "pg/common/cpp_guard.hpp"
#include "core/row_key_change.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(witness_old_row_key);
Datum witness_old_row_key(PG_FUNCTION_ARGS);
}

namespace
{
std::string scratch; // static: no destructor for an ERROR to skip
}

namespace witness::pg
{

char *old_row_key_text(text *row_key, text *old_values)
{
	bool changed = false;
	const char *err = run_guarded([&] {
		changed = witness::old_row_key(std::string_view(VARDATA_ANY(row_key), VARSIZE_ANY_EXHDR(row_key)),
		                               std::string_view(VARDATA_ANY(old_values), VARSIZE_ANY_EXHDR(old_values)), scratch);
	});
	if (err != nullptr || !changed)
		return nullptr;
	return pnstrdup(scratch.data(), scratch.size());
}

} // namespace witness::pg

Datum witness_old_row_key(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 2);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	char *key = witness::pg::old_row_key_text(PG_GETARG_TEXT_PP(0), PG_GETARG_TEXT_PP(1));
	if (key == nullptr)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(key));
}
