// Subject access (GDPR Art. 15): the one place where the subject export reads an entry's payload
// (docs/personal-data.md, "Subject access"). witness.subject_export() calls witness._entry_payload()
// for every entry it lists and reads row key and values from nowhere else, so that decrypting a
// payload stored encrypted at rest can be added here alone.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/verify/entry_hash.hpp"

extern "C" {
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
}

using namespace witness;
using namespace witness::pg;

namespace
{

// A stored JSON column as jsonb, or NULL (*is_null) when the column is NULL or its text is not JSON
// (only a tampered row): the export then shows no value, and the payload does not verify.
Datum stored_jsonb(const Datum *values, const bool *nulls, int col, bool *is_null)
{
	*is_null = true;
	if (nulls[col - 1])
		return (Datum)0;
	char *json = text_to_cstring(DatumGetTextPP(values[col - 1]));
	JsonLexContext *lex = makeJsonLexContextCstringLen(json, (int)strlen(json), GetDatabaseEncoding(), false);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return (Datum)0;
	*is_null = false;
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_entry_payload);
PG_FUNCTION_INFO_V1(witness_random_salt);
Datum witness_entry_payload(PG_FUNCTION_ARGS);
Datum witness_random_salt(PG_FUNCTION_ARGS);

// witness._entry_payload(e witness.entry, OUT row_key jsonb, OUT old_values jsonb, OUT new_values
// jsonb, OUT payload_verified boolean). payload_verified: for format 2, whether salt and payload
// reproduce the commitment (false also for a payload present without its salt); NULL for an erased
// payload (nothing left to check) and for format 1, whose payload the leaf hash covers directly.
Datum witness_entry_payload(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 1);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	entry_row_from_arg(fcinfo, 0, values, nulls);
	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE || desc->natts != 4)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("witness._entry_payload must return (row_key, old_values, new_values, payload_verified)")));
	Datum out[4];
	bool out_nulls[4];
	out[0] = stored_jsonb(values, nulls, EntryRowKey, &out_nulls[0]);
	out[1] = stored_jsonb(values, nulls, EntryOldValues, &out_nulls[1]);
	out[2] = stored_jsonb(values, nulls, EntryNewValues, &out_nulls[2]);
	out_nulls[3] = true;
	if (DatumGetInt16(values[EntryFormat - 1]) == kEntryFormatCommitted) {
		const bool payload_present = !nulls[EntryRowKey - 1] || !nulls[EntrySubject - 1] ||
		                             !nulls[EntryOldValues - 1] || !nulls[EntryNewValues - 1];
		if (!nulls[EntrySalt - 1]) {
			EntryView v;
			entry_view_from_row(values, nulls, &v);
			// A salt of the wrong length is not read (v.salt stays null): that payload does not verify.
			out[3] = BoolGetDatum(v.salt != nullptr && payload_matches_commitment(v));
			out_nulls[3] = false;
		} else if (payload_present) {
			out[3] = BoolGetDatum(false);
			out_nulls[3] = false;
		}
	}
	desc = BlessTupleDesc(desc);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, out, out_nulls)));
}

// witness._random_salt(): 32 fresh random bytes, for the salted subject digests of witness.erasure and
// witness.subject_access.
Datum witness_random_salt(PG_FUNCTION_ARGS)
{
	uint8_t salt[32];
	draw_salt(salt);
	PG_RETURN_BYTEA_P(hash_bytea(salt));
}
}
