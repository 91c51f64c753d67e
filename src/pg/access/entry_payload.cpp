// Subject access (GDPR Art. 15): the one place where the subject export reads an entry's payload
// (docs/personal-data.md, "Subject access"). witness.subject_export() calls witness._entry_payload()
// for every entry it lists and reads row key and values from nowhere else, so that decrypting a
// payload stored encrypted at rest can be added here alone.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/master_keys.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/verify/entry_hash.hpp"
#include "pg/common/access_check.hpp"
#include "pg/common/subtransaction.hpp"
#include "core/canonical_json.hpp"

extern "C" {
#include "common/jsonapi.h"
#include "mb/pg_wchar.h"
}

using namespace witness;
using namespace witness::pg;

namespace
{

// A payload JSON field as jsonb, or NULL (*is_null) when it is absent or its text is not JSON (only a
// tampered row): the export then shows no value, and the payload does not verify.
Datum payload_jsonb(const JsonDoc &doc, bool *is_null)
{
	*is_null = true;
	if (!doc.present || doc.canonical == nullptr)
		return (Datum)0;
	char *json = pnstrdup(doc.canonical, doc.canonical_len);
	JsonLexContext *lex = makeJsonLexContextCstringLen(json, (int)strlen(json), GetDatabaseEncoding(), false);
	if (pg_parse_json(lex, &nullSemAction) != JSON_SUCCESS)
		return (Datum)0;
	*is_null = false;
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(json));
}

// Values this long may be too long for jsonb (whose containers hold at most 256 MB), and values nested
// this deep may be too deep for its input, which recurses per level (a value written at the limit of
// the writer's stack, some 14,500 levels, exhausted it in the export: an attack review). They are
// made jsonb in a subtransaction, so that one that fails is omitted instead of failing the export.
constexpr size_t kMaybeTooLongForJsonb = 128 * 1024 * 1024;
constexpr size_t kMaybeTooDeepForJsonb = 1000;

bool may_fail_as_jsonb(const JsonDoc &doc)
{
	if (doc.canonical_len >= kMaybeTooLongForJsonb)
		return true;
	// Nesting n deep takes 2n bytes: a shorter value cannot be too deep.
	return doc.canonical_len > 2 * kMaybeTooDeepForJsonb &&
	       json_nesting_depth(std::string_view(doc.canonical, doc.canonical_len)) > kMaybeTooDeepForJsonb;
}

struct JsonbAttempt {
	const JsonDoc *doc;
	Datum result;
	bool is_null;
};

void attempt_jsonb(void *arg)
{
	auto *a = static_cast<JsonbAttempt *>(arg);
	a->result = payload_jsonb(*a->doc, &a->is_null);
}

// payload_jsonb(), and *omitted when the value is present but too long or too deep for jsonb (then NULL).
Datum payload_jsonb_or_omit(const JsonDoc &doc, bool *is_null, bool *omitted)
{
	if (!doc.present || doc.canonical == nullptr || !may_fail_as_jsonb(doc))
		return payload_jsonb(doc, is_null);
	JsonbAttempt a{&doc, (Datum)0, true};
	char message[256];
	if (run_in_subtransaction(attempt_jsonb, &a, message, sizeof(message))) {
		*is_null = a.is_null;
		return a.result;
	}
	*is_null = true;
	*omitted = true;
	return (Datum)0;
}

// An entry row (entry_row_from_arg()) as a view, its payload opened (decrypted when it is stored
// sealed). Raises when it is sealed and no configured key opens it: not "altered", since the key that
// sealed it may only be missing from the configuration, and an erasure would otherwise record it as
// tampered, for good.
StoredPayload open_entry_row(Datum *values, bool *nulls, EntryView *v)
{
	entry_view_from_row(values, nulls, v);
	const char *why;
	const StoredPayload state = open_stored_payload(values, nulls, v, &why);
	if (state == StoredPayload::NoKey)
		require_master_key(psprintf("cannot read the encrypted payload of entry %lld", (long long)v->id));
	if (state == StoredPayload::ForeignKey)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("cannot read the encrypted payload of entry %lld", (long long)v->id), errdetail("%s", why),
		                errhint("Set witness.previous_master_key_file to that key's file. If a rotation was cut short, "
		                        "call witness.rotate_master_key() again to finish it.")));
	return state;
}

// Format 2: whether salt and payload reproduce the commitment (false also for a payload present without
// its salt, and for a sealed payload that does not open); *is_null for an erased payload (nothing left
// to check) and for format 1, whose payload the leaf hash covers directly.
bool payload_verified(const EntryView &v, StoredPayload state, bool *is_null)
{
	*is_null = true;
	if (v.format != kEntryFormatCommitted)
		return false;
	const bool payload_present = v.row_key.present || v.subject.present || v.old_values.present || v.new_values.present;
	if (state == StoredPayload::Unreadable || (v.salt == nullptr && payload_present)) {
		*is_null = false;
		return false;
	}
	if (v.salt == nullptr)
		return false;
	// A salt of the wrong length was read as altered: that payload does not verify.
	*is_null = false;
	return payload_matches_commitment(v);
}

// The entry argument of a function returning a row of natts columns (described by shape), opened;
// *desc is its result type, blessed.
StoredPayload opened_entry_arg(FunctionCallInfo fcinfo, int natts, const char *shape, EntryView *v, TupleDesc *desc)
{
	witness::pg::check_access();
	require_nargs(fcinfo, 1);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	entry_row_from_arg(fcinfo, 0, values, nulls);
	if (get_call_result_type(fcinfo, nullptr, desc) != TYPEFUNC_COMPOSITE || (*desc)->natts != natts)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION), errmsg("%s", shape)));
	*desc = BlessTupleDesc(*desc);
	return open_entry_row(values, nulls, v);
}

// The row key (jsonb) and the subject (text) of an opened entry into out[0] and out[1].
void set_key_and_subject(const EntryView &v, Datum *out, bool *out_nulls)
{
	out[0] = payload_jsonb(v.row_key, &out_nulls[0]);
	out_nulls[1] = !v.subject.present;
	out[1] = v.subject.present ? PointerGetDatum(cstring_to_text_with_len(v.subject.ptr, (int)v.subject.len)) : (Datum)0;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_entry_payload);
PG_FUNCTION_INFO_V1(witness_entry_payload_verified);
PG_FUNCTION_INFO_V1(witness_entry_key_subject);
PG_FUNCTION_INFO_V1(witness_random_salt);
Datum witness_entry_payload(PG_FUNCTION_ARGS);
Datum witness_entry_payload_verified(PG_FUNCTION_ARGS);
Datum witness_entry_key_subject(PG_FUNCTION_ARGS);
Datum witness_random_salt(PG_FUNCTION_ARGS);

// witness._entry_payload(e witness.entry, OUT row_key jsonb, OUT subject text, OUT old_values jsonb,
// OUT new_values jsonb, OUT payload_verified boolean, OUT values_omitted boolean): values_omitted when
// old or new values were too long for jsonb and are NULL here for that. An encrypted entry's payload is opened with the
// configured master key (refused when there is none). payload_verified: for format 2, whether salt and
// payload reproduce the commitment (false also for a payload present without its salt, and for a
// sealed payload that does not open); NULL for an erased payload (nothing left to check) and for
// format 1, whose payload the leaf hash covers directly.
Datum witness_entry_payload(PG_FUNCTION_ARGS)
{
	EntryView v;
	TupleDesc desc;
	const StoredPayload state = opened_entry_arg(
	    fcinfo, 6, "witness._entry_payload must return (row_key, subject, old_values, new_values, payload_verified, values_omitted)",
	    &v, &desc);
	Datum out[6];
	bool out_nulls[6];
	bool omitted = false;
	set_key_and_subject(v, out, out_nulls);
	out[2] = payload_jsonb_or_omit(v.old_values, &out_nulls[2], &omitted);
	out[3] = payload_jsonb_or_omit(v.new_values, &out_nulls[3], &omitted);
	out[4] = BoolGetDatum(payload_verified(v, state, &out_nulls[4]));
	out[5] = BoolGetDatum(omitted);
	out_nulls[5] = false;
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, out, out_nulls)));
}

// witness._entry_key_subject(e witness.entry, OUT row_key jsonb, OUT subject text): the row key and
// subject of witness._entry_payload() alone, what a legal hold's scope is matched against; the values,
// which may be longer than jsonb takes (256 MB), are not made jsonb.
Datum witness_entry_key_subject(PG_FUNCTION_ARGS)
{
	EntryView v;
	TupleDesc desc;
	opened_entry_arg(fcinfo, 2, "witness._entry_key_subject must return (row_key, subject)", &v, &desc);
	Datum out[2];
	bool out_nulls[2];
	set_key_and_subject(v, out, out_nulls);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, out, out_nulls)));
}

// witness._payload_verified(e witness.entry): payload_verified of witness._entry_payload() alone,
// without making the values jsonb: an erasure needs only this, and a value longer than jsonb takes
// (256 MB) must not keep its subject from being erased.
Datum witness_entry_payload_verified(PG_FUNCTION_ARGS)
{
	witness::pg::check_access();
	require_nargs(fcinfo, 1);
	Datum values[EntryNatts];
	bool nulls[EntryNatts];
	entry_row_from_arg(fcinfo, 0, values, nulls);
	EntryView v;
	const StoredPayload state = open_entry_row(values, nulls, &v);
	bool is_null;
	const bool verified = payload_verified(v, state, &is_null);
	if (is_null)
		PG_RETURN_NULL();
	PG_RETURN_BOOL(verified);
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
