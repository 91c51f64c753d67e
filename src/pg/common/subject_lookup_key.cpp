// witness._subject_lookup_key(subject, pseudonym): the 64-bit key under which witness.entry_lookup
// finds an entry's subject (docs/personal-data.md, "Finding a subject's entries"). Encrypted entries
// carry only the keyed pseudonym, so their key comes from it; the others' from a SHA-256 of the subject
// (core/subject_lookup_key.hpp).
// The sign bit tells the two apart, so that whether any sealed entry is encrypted is one probe of
// witness.entry_lookup_subject (subject_key < 0) and not a scan of the trail.
#include "pg/common/subject_lookup_key.hpp"

#include <string_view>

#include "core/subject_lookup_key.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/cpp_guard.hpp"

extern "C" {
PG_FUNCTION_INFO_V1(witness_subject_lookup_key);
Datum witness_subject_lookup_key(PG_FUNCTION_ARGS);
}

namespace witness::pg
{

int64 pseudonym_lookup_key(const bytea *pseudonym)
{
	// A pseudonym is an HMAC output, as uniform as a hash: its first bytes are key enough.
	const auto *b = (const unsigned char *)VARDATA_ANY(pseudonym);
	const int len = (int)VARSIZE_ANY_EXHDR(pseudonym);
	uint64 key = 0;
	for (int i = 0; i < 8; i++)
		key = (key << 8) | (i < len ? b[i] : 0);
	return (int64)((key >> 1) | (UINT64CONST(1) << 63));
}

int64 clear_subject_lookup_key(text *subject)
{
	const char *data = VARDATA_ANY(subject);
	const size_t len = VARSIZE_ANY_EXHDR(subject);
	int64 key = 0;
	run_core(ERRCODE_INTERNAL_ERROR, "could not compute a subject's lookup key",
	         [&] { key = witness::clear_subject_key(std::string_view(data, len)); });
	return key;
}

} // namespace witness::pg

// The pseudonym's key when there is one (an encrypted entry, or any entry captured with a master key
// configured), else the subject's; NULL when both are NULL.
Datum witness_subject_lookup_key(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 2);
	if (!PG_ARGISNULL(1))
		PG_RETURN_INT64(witness::pg::pseudonym_lookup_key(PG_GETARG_BYTEA_PP(1)));
	if (!PG_ARGISNULL(0))
		PG_RETURN_INT64(witness::pg::clear_subject_lookup_key(PG_GETARG_TEXT_PP(0)));
	PG_RETURN_NULL();
}
