// The record of a subject access export (docs/personal-data.md, "Every export is recorded"): one row
// of witness.subject_access, written and committed by a background worker before the export produces
// its first line (common/autonomous_record.cpp), so that no rollback, cancel or error of the caller's
// transaction can take it back. The subject never leaves this backend: the worker gets its salted
// digest, computed here, and the role is the caller's, never an argument.
#include "pg/common/pg_includes.hpp"

#include "pg/common/arguments.hpp"
#include "pg/common/autonomous_record.hpp"
#include "pg/common/core_bridge.hpp"

extern "C" {
#include "mb/pg_wchar.h"
}

using namespace witness::pg;

namespace
{

// SHA-256(0x04 || salt || subject as UTF-8): the salted subject digest of witness.erasure and
// witness.subject_access, computed here alone (witness._subject_digest() calls this too).
bytea *subject_digest(const char *salt, int salt_len, text *subject)
{
	size_t utf8_len;
	const char *utf8 = witness::pg::subject_utf8(subject, &utf8_len);
	const int len = (int)utf8_len;
	bytea *input = (bytea *)palloc(VARHDRSZ + 1 + salt_len + len);
	SET_VARSIZE(input, VARHDRSZ + 1 + salt_len + len);
	char *p = VARDATA(input);
	p[0] = 0x04;
	memcpy(p + 1, salt, salt_len);
	memcpy(p + 1 + salt_len, utf8, len);
	return DatumGetByteaPP(DirectFunctionCall1(sha256_bytea, PointerGetDatum(input)));
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_record_subject_access);
Datum witness_record_subject_access(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_subject_digest);
Datum witness_subject_digest(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_subject_request_to_record);
Datum witness_subject_request_to_record(PG_FUNCTION_ARGS);

// witness._subject_request_to_record(): whether an erasure, or a hold naming a subject, is recorded
// first by the record worker: for every caller but a superuser. Refused inside a security-restricted
// operation (ANALYZE, autovacuum, an index expression), which runs a table owner's code while the
// outer user is someone else, a superuser even (a helper's review got counts that way, unrecorded).
Datum witness_subject_request_to_record(PG_FUNCTION_ARGS)
{
	if (InSecurityRestrictedOperation())
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("cannot erase or hold a data subject's entries inside a security-restricted operation"),
		                errdetail("Such an operation (ANALYZE, an index expression, a materialized view's refresh) runs a "
		                          "table owner's code.")));
	PG_RETURN_BOOL(!superuser_arg(GetOuterUserId()));
}

// witness._subject_digest(salt bytea, subject text).
Datum witness_subject_digest(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 2);
	require_not_null(fcinfo, 0, "salt");
	require_not_null(fcinfo, 1, "subject");
	bytea *salt = PG_GETARG_BYTEA_PP(0);
	PG_RETURN_BYTEA_P(subject_digest(VARDATA_ANY(salt), (int)VARSIZE_ANY_EXHDR(salt), PG_GETARG_TEXT_PP(1)));
}

// witness._record_subject_access(subject text, format text, reason text, OUT access_id bigint,
// OUT accessed_at timestamptz): records an export of the subject's data, committed whatever the
// caller's transaction does next. witness.subject_export() has checked the arguments already, with
// friendlier messages; they are checked again because a superuser can call this directly.
Datum witness_record_subject_access(PG_FUNCTION_ARGS)
{
	require_nargs(fcinfo, 3);
	require_not_null(fcinfo, 0, "subject");
	require_not_null(fcinfo, 1, "format");
	require_not_null(fcinfo, 2, "reason");
	text *subject = PG_GETARG_TEXT_PP(0);
	char *format = text_to_cstring(PG_GETARG_TEXT_PP(1));
	text *reason = PG_GETARG_TEXT_PP(2);
	if (VARSIZE_ANY_EXHDR(subject) == 0)
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("subject must not be null or empty")));
	// my_trail: a bound role read its own entries through witness.my_trail (access/my_trail.cpp);
	// erasure, hold: a role that is not a superuser asked witness.erase_subject() to erase them, or
	// witness.hold() to hold them (witness._subject_request_to_record()).
	const bool erasure = strcmp(format, "erasure") == 0, hold = strcmp(format, "hold") == 0;
	if (strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 && strcmp(format, "my_trail") != 0 && !erasure &&
	    !hold)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE), errmsg("unknown export format \"%s\"", format)));
	int reason_len = VARSIZE_ANY_EXHDR(reason);
	if (reason_len == 0 || reason_len > kMaxReasonBytes)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("reason must have 1 to %d bytes", kMaxReasonBytes)));

	RecordRequest request;
	memset(&request, 0, sizeof(request));
	request.kind = erasure ? RecordKind::ErasureRequest : hold ? RecordKind::HoldRequest : RecordKind::SubjectAccess;
	SubjectAccessValues &v = request.subject_access;
	draw_salt(v.subject_salt);
	bytea *digest = subject_digest((const char *)v.subject_salt, sizeof(v.subject_salt), subject);
	memcpy(v.subject_digest, VARDATA_ANY(digest), sizeof(v.subject_digest));
	strlcpy(v.format, format, sizeof(v.format));
	memcpy(v.reason, VARDATA_ANY(reason), reason_len);
	strlcpy(v.role_name, GetUserNameFromId(GetOuterUserId(), false), sizeof(v.role_name));

	RecordResult result;
	record_autonomously(&request, &result);

	TupleDesc desc;
	if (get_call_result_type(fcinfo, nullptr, &desc) != TYPEFUNC_COMPOSITE)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("witness._record_subject_access must return a record of two columns")));
	desc = BlessTupleDesc(desc);
	if (desc->natts != 2)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("witness._record_subject_access must return a record of two columns")));
	Datum values[2] = {Int64GetDatum(result.id), TimestampTzGetDatum(result.at)};
	bool nulls[2] = {false, false};
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(desc, values, nulls)));
}
}
