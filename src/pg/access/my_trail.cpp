// Per-subject access (docs/personal-data.md, "Per-subject access"): the subject a role is bound to is
// kept sealed under the master key, never in clear, and witness.my_trail shows a bound role the
// entries about its subject(s) only. Two pieces live here:
//
// - sealing and opening a bound subject (witness._seal_bound_subject, witness._open_bound_subject):
//   AES-256-GCM under a key derived from the master key with a context of its own, the binding's id
//   as associated data, so a sealed subject cannot be moved onto another binding;
// - witness._my_trail(), the function behind the view: it takes the role to read for from the current
//   user at the moment it is called (a SECURITY DEFINER function could not: inside it, current_user is
//   its owner), then runs witness._my_trail_rows(role) as the extension's owner.
#include "pg/common/pg_includes.hpp"

#include "pg/common/core_bridge.hpp"
#include "pg/common/arguments.hpp"
#include "pg/common/cpp_guard.hpp"
#include "pg/common/master_keys.hpp"

#include "core/entry_payload_seal.hpp"

extern "C" {
#include "catalog/pg_proc.h"
#include "mb/pg_wchar.h"
#include "utils/tuplestore.h"
}

namespace
{

// The key context of sealed subjects: not 32 bytes long, so never a subject pseudonym (the context
// of entry payloads), and not the retired pseudonym keys' context.
constexpr std::string_view kBoundSubjectContext = "pg_witness bound subject v1";

// Static, so that no destructor is skipped when PostgreSQL raises an error.
std::string bound_scratch;

// bound_scratch as a palloc'd varlena (bytea or text), then wiped.
struct varlena *scratch_varlena()
{
	auto *out = (struct varlena *)palloc(VARHDRSZ + bound_scratch.size());
	SET_VARSIZE(out, VARHDRSZ + bound_scratch.size());
	memcpy(VARDATA(out), bound_scratch.data(), bound_scratch.size());
	explicit_bzero(bound_scratch.data(), bound_scratch.size());
	bound_scratch.clear();
	return out;
}

// The owner of the function being called: pg_witness's functions are owned by the role that created
// the extension, the one allowed to read the trail's tables.
Oid function_owner(Oid fn)
{
	HeapTuple tup = SearchSysCache1(PROCOID, ObjectIdGetDatum(fn));
	if (!HeapTupleIsValid(tup))
		elog(ERROR, "cache lookup failed for function %u", fn);
	Oid owner = ((Form_pg_proc)GETSTRUCT(tup))->proowner;
	ReleaseSysCache(tup);
	return owner;
}

} // namespace

extern "C" {
PG_FUNCTION_INFO_V1(witness_seal_bound_subject);
Datum witness_seal_bound_subject(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_open_bound_subject);
Datum witness_open_bound_subject(PG_FUNCTION_ARGS);
PG_FUNCTION_INFO_V1(witness_my_trail);
Datum witness_my_trail(PG_FUNCTION_ARGS);

// witness._seal_bound_subject(subject text, binding_id bigint): the subject (as UTF-8) sealed under
// the current master key; raises 55000 when none is configured.
Datum witness_seal_bound_subject(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 2);
	witness::pg::require_not_null(fcinfo, 0, "subject");
	witness::pg::require_not_null(fcinfo, 1, "binding_id");
	text *subject = PG_GETARG_TEXT_PP(0);
	const int64 id = PG_GETARG_INT64(1);
	const witness::MasterKey *key = witness::pg::require_master_key("cannot bind a role to a data subject");
	size_t len;
	const char *s = witness::pg::subject_utf8(subject, &len);
	witness::pg::run_core(ERRCODE_INTERNAL_ERROR, "could not seal the bound subject", [&] {
		bound_scratch = key->seal(kBoundSubjectContext, std::string_view(s, len), witness::entry_payload_aad(id));
	});
	PG_RETURN_BYTEA_P(scratch_varlena());
}

// witness._open_bound_subject(sealed bytea, binding_id bigint): the subject a binding holds, opened
// with the configured master key (current or previous) that sealed it.
Datum witness_open_bound_subject(PG_FUNCTION_ARGS)
{
	witness::pg::require_nargs(fcinfo, 2);
	witness::pg::require_not_null(fcinfo, 0, "sealed");
	witness::pg::require_not_null(fcinfo, 1, "binding_id");
	bytea *sealed = PG_GETARG_BYTEA_PP(0);
	const int64 id = PG_GETARG_INT64(1);
	const char *bytes = VARDATA_ANY(sealed);
	const size_t len = VARSIZE_ANY_EXHDR(sealed);
	const witness::MasterKey *key = witness::pg::master_key_for_sealed(bytes, len);
	if (key == nullptr) {
		char key_id[17] = "unknown";
		if (len >= 9)
			witness::pg::sealed_key_id_hex(bytes, key_id);
		ereport(ERROR, (errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
		                errmsg("cannot open the subject of binding " INT64_FORMAT ": it is sealed under master key %s, "
		                       "which is not configured", id, key_id),
		                errhint("Set witness.master_key_file (or witness.previous_master_key_file) to that key's file.")));
	}
	witness::pg::run_core(ERRCODE_DATA_CORRUPTED, psprintf("cannot open the subject of binding " INT64_FORMAT, id), [&] {
		bound_scratch = key->open(kBoundSubjectContext, std::string_view(bytes, len), witness::entry_payload_aad(id));
	});
	struct varlena *utf8 = scratch_varlena();
	// SQL_ASCII converts nothing: the bytes bound are the bytes stored (core_bridge.hpp, subject_utf8()).
	if (GetDatabaseEncoding() == PG_SQL_ASCII)
		PG_RETURN_TEXT_P((text *)utf8);
	char *server = pg_any_to_server(VARDATA(utf8), (int)VARSIZE(utf8) - VARHDRSZ, PG_UTF8);
	if (server == VARDATA(utf8))
		PG_RETURN_TEXT_P((text *)utf8);
	PG_RETURN_TEXT_P(cstring_to_text(server));
}

// witness._my_trail(): the rows of witness._my_trail_rows() for the current user, read as the owner
// of this function. Not SECURITY DEFINER on purpose: the role is the current user of the caller, so a
// SECURITY DEFINER function of another role that reads witness.my_trail sees its owner's trail, never
// that of whoever calls it; and a role has no argument to name another one with.
Datum witness_my_trail(PG_FUNCTION_ARGS)
{
	const Oid caller = GetUserId();
	const Oid owner = function_owner(fcinfo->flinfo->fn_oid);
	InitMaterializedSRF(fcinfo, 0);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *)fcinfo->resultinfo;

	// An error restores the user with the (sub)transaction's abort, as for SECURITY DEFINER.
	Oid saved_user;
	int saved_context;
	GetUserIdAndSecContext(&saved_user, &saved_context);
	SetUserIdAndSecContext(owner, saved_context | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "pg_witness: SPI_connect failed");
	Oid argtypes[1] = {OIDOID};
	Datum values[1] = {ObjectIdGetDatum(caller)};
	int rc = SPI_execute_with_args("SELECT * FROM witness._my_trail_rows($1)", 1, argtypes, values, nullptr, false, 0);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "pg_witness: reading witness._my_trail_rows failed (SPI result %d)", rc);
	// A superuser can redeclare either function: copying values of another type would read memory wrongly.
	bool same_columns = SPI_tuptable->tupdesc->natts == rsinfo->setDesc->natts;
	for (int i = 0; same_columns && i < rsinfo->setDesc->natts; i++)
		same_columns = TupleDescAttr(SPI_tuptable->tupdesc, i)->atttypid == TupleDescAttr(rsinfo->setDesc, i)->atttypid;
	if (!same_columns)
		ereport(ERROR, (errcode(ERRCODE_INVALID_FUNCTION_DEFINITION),
		                errmsg("witness._my_trail must return the columns of witness._my_trail_rows")));
	MemoryContext per_query = rsinfo->econtext->ecxt_per_query_memory;
	for (uint64 i = 0; i < SPI_processed; i++) {
		Datum row[64];
		bool nulls[64];
		const int natts = rsinfo->setDesc->natts;
		if (natts > 64)
			elog(ERROR, "pg_witness: too many columns in witness._my_trail");
		heap_deform_tuple(SPI_tuptable->vals[i], SPI_tuptable->tupdesc, row, nulls);
		MemoryContext old = MemoryContextSwitchTo(per_query);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
		MemoryContextSwitchTo(old);
	}
	SPI_finish();
	SetUserIdAndSecContext(saved_user, saved_context);
	return (Datum)0;
}
}
