// witness.digest() and the signature check behind witness.verify_digest().
#include "pg/common/pg_includes.hpp"

#include <string>

#include "core/digest.hpp"
#include "core/signatures.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/core_bridge.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/digest/digest_log.hpp"
#include "pg/common/trail_catalog.hpp"
#include "pg/common/settings.hpp"
#include "pg/common/access_check.hpp"

using namespace witness;
using namespace witness::pg;

namespace
{

DigestCheck checked; // static: survives no longjmp'd frame

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_digest);
PG_FUNCTION_INFO_V1(witness_check_digest);
Datum witness_digest(PG_FUNCTION_ARGS);
Datum witness_check_digest(PG_FUNCTION_ARGS);

Datum witness_digest(PG_FUNCTION_ARGS)
{
	check_access();
	char *digest = signed_digest_of_newest_block();
	if (digest == nullptr)
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE), errmsg("nothing is sealed yet"),
		                errhint("Call witness.seal() first, or wait for the background sealer.")));
	return DirectFunctionCall1(jsonb_in, CStringGetDatum(digest));
}

// witness._check_digest(signed jsonb, ed25519_public_key text): the digest's fields and the state of
// each signature, checked with the configured keys (or the given public key).
Datum witness_check_digest(PG_FUNCTION_ARGS)
{
	check_access();
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "digest");
	Jsonb *doc = PG_GETARG_JSONB_P(0);
	char *doc_text = JsonbToCString(nullptr, &doc->root, VARSIZE(doc));
	size_t doc_len = strlen(doc_text);
	if (doc_len > kMaxDigestBytes)
		ereport(ERROR, (errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED), errmsg("digest is too large"),
		                errdetail("The document has %zu bytes of JSON text; at most %zu are accepted.", doc_len,
		                          kMaxDigestBytes),
		                errhint("A signed digest made by witness.digest() has less than 1 kB.")));
	const char *hmac =
	    is_set(setting_hmac_key_file) ? read_setting_file("witness.hmac_key_file", setting_hmac_key_file) : "";
	const char *ed_key = "";
	if (!PG_ARGISNULL(1))
		ed_key = text_to_cstring(PG_GETARG_TEXT_PP(1));
	else if (is_set(setting_ed25519_key_file))
		ed_key = read_setting_file("witness.ed25519_key_file", setting_ed25519_key_file);
	run_core(ERRCODE_INVALID_PARAMETER_VALUE, "invalid digest", [&] {
		std::string key = *hmac != '\0' ? hmac_key_from_file_text(hmac) : std::string();
		checked = check_digest_signatures(doc_text, key, ed_key);
	});

	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "pg_witness: _check_digest must return a record");
	desc = BlessTupleDesc(desc);
	Datum values[7];
	bool nulls[7] = {false, false, false, false, false, false, false};
	values[0] = Int64GetDatum(checked.fields.block_no);
	values[1] = PointerGetDatum(hash_bytea(checked.fields.block_hash.data()));
	values[2] = CStringGetTextDatum(checked.fields.database_id.c_str());
	values[3] = Int64GetDatum(checked.fields.entry_count);
	values[4] = TimestampTzGetDatum(checked.fields.time_us - kUnixToPostgresEpochUs);
	values[5] = CStringGetTextDatum(signature_state_name(checked.hmac));
	values[6] = CStringGetTextDatum(signature_state_name(checked.ed25519));
	checked = DigestCheck();
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
}
