// Time-limited auditors and masking (docs/access.md): the limits witness.grant_auditor() sets are read
// from the roles' security labels once per statement, and the verdict for the calling roles is kept
// until the next statement, so that a row-level security policy calling this per row costs a
// comparison. Nothing here runs on the capture path.
#include "pg/common/access_check.hpp"

#include "pg/capture/internal_ddl.hpp"

extern "C" {
#include "access/genam.h"
#include "catalog/pg_authid.h"
#include "catalog/pg_shseclabel.h"
#include "commands/seclabel.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/fmgrprotos.h"
}

namespace
{

// One role's newest auditor_grant row: still granted, until when, and for which period.
struct Grant {
	Oid role;
	TimestampTz until;
	TimestampTz since; // DT_NOBEGIN when open
	TimestampTz till;  // DT_NOEND when open
};

// What the calling roles may do in this statement.
struct Verdict {
	bool expired;
	Oid expired_role;
	TimestampTz expired_at;
	bool restricted;
	TimestampTz since;
	TimestampTz till;
	bool unmasked;
};

constexpr const char *kLabelProvider = "pg_witness";

MemoryContext cache_context = nullptr;
Grant *grants = nullptr;
int ngrants = 0;
bool loaded = false;
LocalTransactionId loaded_lxid = InvalidLocalTransactionId;
TimestampTz loaded_stmt = 0;

bool verdict_valid = false;
Oid verdict_user = InvalidOid;
Oid verdict_outer = InvalidOid;
Verdict verdict;

// One field of a label "until=T since=T till=T" (T an ISO 8601 time, or - when open); open_value
// when it is "-".
TimestampTz label_field(const char *label, const char *key, TimestampTz open_value)
{
	const char *at = strstr(label, key);
	if (at == nullptr)
		ereport(ERROR, (errcode(ERRCODE_INVALID_PARAMETER_VALUE),
		                errmsg("invalid pg_witness label \"%s\"", label),
		                errdetail("It has no %s field.", key)));
	at += strlen(key);
	size_t len = strcspn(at, " ");
	char *value = pnstrdup(at, len);
	if (strcmp(value, "-") == 0)
		return open_value;
	return DatumGetTimestampTz(
	    DirectFunctionCall3(timestamptz_in, CStringGetDatum(value), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
}

void parse_label(const char *label, Grant *g)
{
	g->until = label_field(label, "until=", DT_NOEND);
	g->since = label_field(label, "since=", DT_NOBEGIN);
	g->till = label_field(label, "till=", DT_NOEND);
}

// The limits of every time-limited auditor, from the security labels witness.grant_auditor() puts on
// roles: labels of roles live in a shared catalog, so a limit set in one database binds the role in
// every database of the cluster, as its membership of witness_auditor does. Read through the catalog
// snapshot, which is always current: a revocation counts from the next statement.
void load_grants()
{
	if (cache_context == nullptr)
		cache_context = AllocSetContextCreate(TopMemoryContext, "pg_witness auditor grants", ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cache_context);
	grants = nullptr;
	ngrants = 0;
	int capacity = 0;
	Relation rel = table_open(SharedSecLabelRelationId, AccessShareLock);
	SysScanDesc scan = systable_beginscan(rel, InvalidOid, false, nullptr, 0, nullptr);
	HeapTuple tuple;
	while ((tuple = systable_getnext(scan)) != nullptr) {
		bool isnull;
		auto *row = (Form_pg_shseclabel)GETSTRUCT(tuple);
		if (row->classoid != AuthIdRelationId)
			continue;
		Datum provider = heap_getattr(tuple, Anum_pg_shseclabel_provider, RelationGetDescr(rel), &isnull);
		if (isnull || strcmp(TextDatumGetCString(provider), kLabelProvider) != 0)
			continue;
		Datum label = heap_getattr(tuple, Anum_pg_shseclabel_label, RelationGetDescr(rel), &isnull);
		if (isnull)
			continue;
		Grant g;
		g.role = row->objoid;
		parse_label(TextDatumGetCString(label), &g);
		if (ngrants == capacity) {
			capacity = capacity == 0 ? 16 : capacity * 2;
			grants = grants == nullptr ? (Grant *)MemoryContextAlloc(cache_context, capacity * sizeof(Grant))
			                           : (Grant *)repalloc(grants, capacity * sizeof(Grant));
		}
		grants[ngrants++] = g;
	}
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	loaded = true;
	loaded_lxid = MyProc->lxid;
	loaded_stmt = GetCurrentStatementStartTimestamp();
	verdict_valid = false;
}

// SECURITY LABEL FOR pg_witness: on roles only, and set only by witness.grant_auditor() and
// witness.revoke_auditor() (or a superuser, so that pg_dumpall output restores). Anyone else could
// otherwise lift its own limits.
void check_label(const ObjectAddress *object, const char *seclabel)
{
	if (object->classId != AuthIdRelationId)
		ereport(ERROR, (errcode(ERRCODE_FEATURE_NOT_SUPPORTED), errmsg("pg_witness labels roles only"),
		                errhint("witness.grant_auditor() sets them.")));
	if (!witness::pg::internal_ddl_active() && !superuser())
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE), errmsg("permission denied to set a pg_witness label"),
		                errdetail("The label of a role holds the limits of its auditor access."),
		                errhint("Use witness.grant_auditor() and witness.revoke_auditor().")));
	if (seclabel != nullptr) {
		Grant g;
		parse_label(seclabel, &g);
	}
}

bool sees_values(Oid user)
{
	return witness::pg::superuser_or_member_of(user, {"witness_auditor", "witness_admin"});
}

// Adds the grants that apply to user (every role whose privileges it has) to v.
void apply_grants(Oid user, TimestampTz now, Verdict *v)
{
	if (superuser_arg(user))
		return;
	for (int i = 0; i < ngrants; i++) {
		const Grant &g = grants[i];
		if (!has_privs_of_role(user, g.role))
			continue;
		if (g.until <= now && !v->expired) {
			v->expired = true;
			v->expired_role = g.role;
			v->expired_at = g.until;
		}
		if (g.since != DT_NOBEGIN || g.till != DT_NOEND) {
			// Two restricted grants: only what both allow.
			v->since = v->restricted ? Max(v->since, g.since) : g.since;
			v->till = v->restricted ? Min(v->till, g.till) : g.till;
			v->restricted = true;
		}
	}
}

void load_grants_for_statement()
{
	if (!loaded || loaded_lxid != MyProc->lxid || loaded_stmt != GetCurrentStatementStartTimestamp())
		load_grants();
}

const Verdict &current_verdict()
{
	Oid user = GetUserId();
	Oid outer = GetOuterUserId();
	load_grants_for_statement();
	if (verdict_valid && verdict_user == user && verdict_outer == outer)
		return verdict;
	Verdict v = {false, InvalidOid, 0, false, DT_NOBEGIN, DT_NOEND, false};
	TimestampTz now = GetCurrentStatementStartTimestamp();
	apply_grants(user, now, &v);
	if (outer != user)
		apply_grants(outer, now, &v);
	v.unmasked = sees_values(user) && (outer == user || sees_values(outer));
	verdict = v;
	verdict_user = user;
	verdict_outer = outer;
	verdict_valid = true;
	return verdict;
}

void raise_if_expired(const Verdict &v)
{
	if (!v.expired)
		return;
	const char *role = GetUserNameFromId(v.expired_role, true);
	const char *at = timestamptz_to_str(v.expired_at);
	ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
	                errmsg("auditor access of role %s expired at %s", role ? role : "(dropped)", at),
	                errdetail("witness.grant_auditor() made role %s an auditor of the trail until %s.",
	                          role ? role : "(dropped)", at),
	                errhint("A member of witness_admin can grant it again with witness.grant_auditor(), or revoke it "
	                        "with witness.revoke_auditor().")));
}

} // namespace

namespace witness::pg
{

// Whether a role is a superuser or has the privileges of one of the named roles; a name that does not
// exist (the extension is being created or dropped) counts as not held.
bool superuser_or_member_of(Oid role, std::initializer_list<const char *> names)
{
	if (superuser_arg(role))
		return true;
	for (const char *name : names) {
		const Oid r = get_role_oid(name, true);
		if (OidIsValid(r) && has_privs_of_role(role, r))
			return true;
	}
	return false;
}

void check_access()
{
	// Fast path: a superuser session (the sealer, CREATE EXTENSION, pg_restore) is never limited.
	if (superuser_arg(GetUserId()) && superuser_arg(GetOuterUserId()))
		return;
	raise_if_expired(current_verdict());
}

bool access_period(TimestampTz *since, TimestampTz *till)
{
	if (superuser_arg(GetUserId()) && superuser_arg(GetOuterUserId()))
		return false;
	const Verdict &v = current_verdict();
	raise_if_expired(v);
	*since = v.since;
	*till = v.till;
	return v.restricted;
}

void check_trail_read_as(Oid role)
{
	if (!OidIsValid(role) || role == GetUserId() || superuser_arg(role) || superuser_arg(GetUserId()))
		return;
	load_grants_for_statement();
	const TimestampTz now = GetCurrentStatementStartTimestamp();
	for (int i = 0; i < ngrants; i++) {
		const Grant &g = grants[i];
		if (!has_privs_of_role(role, g.role))
			continue;
		const char *name = GetUserNameFromId(role, true);
		const char *auditor = GetUserNameFromId(g.role, true);
		const char *expired = g.until <= now ? ", and it has expired" : "";
		if (name == nullptr)
			name = "(dropped)";
		ereport(ERROR, (errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
		                errmsg("permission denied to read the trail with the privileges of role %s", name),
		                g.role == role
		                    ? errdetail("The statement reads the trail through a view or rule owned by role %s, an auditor "
		                                "whose access witness.grant_auditor() limited%s.",
		                                name, expired)
		                    : errdetail("The statement reads the trail through a view or rule owned by role %s, which has "
		                                "the privileges of role %s, an auditor whose access witness.grant_auditor() "
		                                "limited%s.",
		                                name, auditor ? auditor : "(dropped)", expired),
		                errhint("A time-limited auditor's access cannot be handed on: read the trail as a role of "
		                        "your own.")));
	}
}

bool entry_visible(TimestampTz stmt_time)
{
	TimestampTz since, till;
	if (!access_period(&since, &till))
		return true;
	return stmt_time >= since && stmt_time < till;
}

void register_auditor_labels()
{
	register_label_provider(kLabelProvider, check_label);
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_access_check);
PG_FUNCTION_INFO_V1(witness_entry_visible);
PG_FUNCTION_INFO_V1(witness_values_unmasked);
PG_FUNCTION_INFO_V1(witness_activity_visible);
Datum witness_activity_visible(PG_FUNCTION_ARGS);
Datum witness_access_check(PG_FUNCTION_ARGS);
Datum witness_entry_visible(PG_FUNCTION_ARGS);
Datum witness_values_unmasked(PG_FUNCTION_ARGS);

// witness.access_check(): true, or 42501 for an expired auditor; views use it as a one-time filter.
Datum witness_access_check(PG_FUNCTION_ARGS)
{
	witness::pg::check_access();
	PG_RETURN_BOOL(true);
}

// witness.entry_visible(stmt_time): the row-level security policy of witness.entry and the filter of
// the views over it.
Datum witness_entry_visible(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0)) {
		witness::pg::check_access();
		PG_RETURN_BOOL(false);
	}
	PG_RETURN_BOOL(witness::pg::entry_visible(PG_GETARG_TIMESTAMPTZ(0)));
}

// witness._activity_visible(schema_name, table_name, new_values): an entry of witness.activity is
// captured when a drain writes it, after the event, so a period-restricted auditor sees it by the
// event's time (happened_at), as it sees the row of witness.activity (an attack review read a refusal
// made just before its period through witness.log). Other entries, and unrestricted callers: true,
// without reading the row.
Datum witness_activity_visible(PG_FUNCTION_ARGS)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1) || PG_ARGISNULL(2))
		PG_RETURN_BOOL(true);
	const text *schema = PG_GETARG_TEXT_PP(0), *table = PG_GETARG_TEXT_PP(1);
	auto is = [](const text *t, const char *s) {
		return VARSIZE_ANY_EXHDR(t) == strlen(s) && memcmp(VARDATA_ANY(t), s, strlen(s)) == 0;
	};
	if (!is(schema, "witness") || !is(table, "activity"))
		PG_RETURN_BOOL(true);
	TimestampTz since, till;
	if (!witness::pg::access_period(&since, &till))
		PG_RETURN_BOOL(true);
	LOCAL_FCINFO(field, 2);
	InitFunctionCallInfoData(*field, nullptr, 2, InvalidOid, nullptr, nullptr);
	field->args[0].value = PG_GETARG_DATUM(2);
	field->args[0].isnull = false;
	field->args[1].value = CStringGetTextDatum("happened_at");
	field->args[1].isnull = false;
	const Datum at = json_object_field_text(field);
	if (field->isnull)
		PG_RETURN_BOOL(false);
	char *text_at = TextDatumGetCString(at);
	const TimestampTz happened = DatumGetTimestampTz(
	    DirectFunctionCall3(timestamptz_in, CStringGetDatum(text_at), ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1)));
	PG_RETURN_BOOL(witness::pg::entry_visible(happened));
}

// witness.values_unmasked(): whether classified values are shown to the calling role (superusers,
// witness_admin, witness_auditor) or masked (everyone else, witness_reader among them).
Datum witness_values_unmasked(PG_FUNCTION_ARGS)
{
	if (superuser_arg(GetUserId()) && superuser_arg(GetOuterUserId()))
		PG_RETURN_BOOL(true);
	const Verdict &v = current_verdict();
	raise_if_expired(v);
	PG_RETURN_BOOL(v.unmasked);
}
}
