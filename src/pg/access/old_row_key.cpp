// witness._old_row_key(row_key, old_values): the key a row had before an UPDATE that changed one of
// its key columns, NULL when the UPDATE kept the key (or its arguments are not JSON objects). The
// lookup table keeps a hash of it, so that witness.entity_history() of a row finds the UPDATE that
// gave the row another key (docs/views.md).
#include "pg/common/pg_includes.hpp"

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

Datum witness_old_row_key(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 2);
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		PG_RETURN_NULL();
	text *key = PG_GETARG_TEXT_PP(0);
	text *old = PG_GETARG_TEXT_PP(1);
	bool changed = false;
	// Not two JSON objects: only a tampered entry holds such a row key or old values. NULL rather than
	// an error, which would stop the lookup table's maintenance at that entry for good (verify()
	// reports the entry).
	const char *err = witness::pg::run_guarded([&] {
		changed = witness::old_row_key(std::string_view(VARDATA_ANY(key), VARSIZE_ANY_EXHDR(key)),
		                               std::string_view(VARDATA_ANY(old), VARSIZE_ANY_EXHDR(old)), scratch);
	});
	if (err != nullptr || !changed)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text_with_len(scratch.data(), (int)scratch.size()));
}
