// Time-limited auditors and masking (docs/access.md): the grants of witness.grant_auditor() are read
// from witness.auditor_grant once per statement, and the verdict for the calling roles is kept until
// the next statement, so that a row-level security policy calling this per row costs a comparison.
// Nothing here runs on the capture path.
#include "pg/common/access_check.hpp"

#include "pg/common/trail_catalog.hpp"

extern "C" {
#include "access/heapam.h"
#include "access/tableam.h"
#include "storage/proc.h"
#include "utils/acl.h"
#include "utils/snapmgr.h"
}

namespace
{

// One role's newest auditor_grant row: still granted, until when, and for which period.
struct Grant {
	Oid role;
	int64 grant_id;
	bool granted;
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

// The newest row of each role in witness.auditor_grant, read with the newest snapshot: a revocation or
// a new grant counts from the statement after it, even in a REPEATABLE READ transaction.
void load_grants()
{
	if (cache_context == nullptr)
		cache_context = AllocSetContextCreate(TopMemoryContext, "pg_witness auditor grants", ALLOCSET_SMALL_SIZES);
	MemoryContextReset(cache_context);
	grants = nullptr;
	ngrants = 0;
	Oid relid = witness::pg::witness_relation_if_exists("auditor_grant");
	if (OidIsValid(relid)) {
		Relation rel = table_open(relid, AccessShareLock);
		TupleDesc desc = RelationGetDescr(rel);
		const AttrNumber a_id = get_attnum(relid, "grant_id"), a_role = get_attnum(relid, "role_name"),
		                 a_event = get_attnum(relid, "event"), a_until = get_attnum(relid, "until"),
		                 a_since = get_attnum(relid, "since"), a_till = get_attnum(relid, "till");
		if (a_id == InvalidAttrNumber || a_role == InvalidAttrNumber || a_event == InvalidAttrNumber ||
		    a_until == InvalidAttrNumber || a_since == InvalidAttrNumber || a_till == InvalidAttrNumber)
			elog(ERROR, "pg_witness: witness.auditor_grant does not have the layout this library expects");
		int capacity = 16;
		grants = (Grant *)MemoryContextAlloc(cache_context, capacity * sizeof(Grant));
		// A parallel query may take no new snapshot: it uses the statement's.
		Snapshot snap = RegisterSnapshot(IsInParallelMode() ? GetActiveSnapshot() : GetLatestSnapshot());
		TableScanDesc scan = table_beginscan(rel, snap, 0, nullptr);
		HeapTuple tuple;
		while ((tuple = heap_getnext(scan, ForwardScanDirection)) != nullptr) {
			bool isnull;
			Grant g;
			g.grant_id = DatumGetInt64(heap_getattr(tuple, a_id, desc, &isnull));
			// By name: a dump restored into another cluster keeps names, not role Oids. A dropped role
			// matches nothing; one created again under its name is bound by its grants again.
			g.role = get_role_oid(TextDatumGetCString(heap_getattr(tuple, a_role, desc, &isnull)), true);
			if (!OidIsValid(g.role))
				continue;
			text *event = DatumGetTextPP(heap_getattr(tuple, a_event, desc, &isnull));
			g.granted = VARSIZE_ANY_EXHDR(event) == 7 && memcmp(VARDATA_ANY(event), "granted", 7) == 0;
			Datum d = heap_getattr(tuple, a_until, desc, &isnull);
			g.until = isnull ? DT_NOEND : DatumGetTimestampTz(d);
			d = heap_getattr(tuple, a_since, desc, &isnull);
			g.since = isnull ? DT_NOBEGIN : DatumGetTimestampTz(d);
			d = heap_getattr(tuple, a_till, desc, &isnull);
			g.till = isnull ? DT_NOEND : DatumGetTimestampTz(d);
			int i = 0;
			while (i < ngrants && grants[i].role != g.role)
				i++;
			if (i < ngrants) {
				if (g.grant_id > grants[i].grant_id)
					grants[i] = g;
				continue;
			}
			if (ngrants == capacity) {
				capacity *= 2;
				grants = (Grant *)repalloc(grants, capacity * sizeof(Grant));
			}
			grants[ngrants++] = g;
		}
		table_endscan(scan);
		UnregisterSnapshot(snap);
		table_close(rel, AccessShareLock);
	}
	loaded = true;
	loaded_lxid = MyProc->lxid;
	loaded_stmt = GetCurrentStatementStartTimestamp();
	verdict_valid = false;
}

bool sees_values(Oid user)
{
	if (superuser_arg(user))
		return true;
	Oid auditor = get_role_oid("witness_auditor", true);
	Oid admin = get_role_oid("witness_admin", true);
	return (OidIsValid(auditor) && has_privs_of_role(user, auditor)) ||
	       (OidIsValid(admin) && has_privs_of_role(user, admin));
}

// Adds the grants that apply to user (every role whose privileges it has) to v.
void apply_grants(Oid user, TimestampTz now, Verdict *v)
{
	if (superuser_arg(user))
		return;
	for (int i = 0; i < ngrants; i++) {
		const Grant &g = grants[i];
		if (!g.granted || !has_privs_of_role(user, g.role))
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

const Verdict &current_verdict()
{
	Oid user = GetUserId();
	Oid outer = GetOuterUserId();
	if (!loaded || loaded_lxid != MyProc->lxid || loaded_stmt != GetCurrentStatementStartTimestamp())
		load_grants();
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

bool entry_visible(TimestampTz stmt_time)
{
	TimestampTz since, till;
	if (!access_period(&since, &till))
		return true;
	return stmt_time >= since && stmt_time < till;
}

} // namespace witness::pg

extern "C" {
PG_FUNCTION_INFO_V1(witness_access_check);
PG_FUNCTION_INFO_V1(witness_entry_visible);
PG_FUNCTION_INFO_V1(witness_values_unmasked);
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
