#!/usr/bin/env bash
# Integration test: per-subject access (docs/personal-data.md, "Per-subject access") with real logins,
# the master key set in postgresql.conf as in production, not by a superuser's session:
#   - two customers log in as themselves (session user and current user their own role), each bound
#     to a subject with entries in an encrypted and in a clear table, and read witness.my_trail: their
#     own entries only, decrypted; filters on the other's subject find nothing;
#   - a customer's session that reads through a cursor and is terminated mid-read leaves the record
#     of its read in witness.subject_access (committed before the first row);
#   - pg_dump of the database restored into another cluster with the same master key: the bindings
#     and their sealed subjects come along; a role of the new cluster that has the name but not the
#     OID of a bound role reads nothing until a superuser binds it again there.
#
# Environment: PG_BINDIR, REPO (as scripts/test.sh passes them); the test runs its own clusters.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="${REPO:-$(cd "$HERE/../.." && pwd)}"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/my_trail_login.XXXXXX)"
WORK2="$WORK/restored"
PORT="$(free_port)"
DB=witness_my_trail
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres

cleanup() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 20 lines of the server log ----"
		tail -n 20 "$WORK/server.log"
	fi
	[[ -n ${READER_PID:-} ]] && kill "$READER_PID" 2>/dev/null
	own_cluster_stop "$WORK2" "$WORK2/data" immediate
	own_cluster_stop "$WORK" "$WORK/data" immediate
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

# as_role ROLE SQL: one statement in a session logged in as ROLE.
as_role() {
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$Q_HOST" -p "$Q_PORT" -U "$1" -d "$DB" -c "$2"
}

say "own cluster on 127.0.0.1:$PORT, master key in postgresql.conf"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "witness.master_key_file = '$WORK/master.key'" \
	"max_worker_processes = 16"
as_pg sh -c "umask 077 && openssl rand -hex 32 >'$WORK/master.key'"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" >"$WORK/setup.out" 2>&1 <<'SQL' || { cat "$WORK/setup.out"; exit 1; }
CREATE EXTENSION pg_witness;
CREATE TABLE account (id int PRIMARY KEY, email text, plan text);
SELECT witness.track('account', 'pii', subject_column => 'email');
CREATE TABLE ticket (id int PRIMARY KEY, customer text, body text);
SELECT witness.track('ticket', 'pii', subject_column => 'customer', encrypt => false);
INSERT INTO account VALUES (1, 'c1@it.example', 'basic'), (2, 'c2@it.example', 'c2-secret-plan');
INSERT INTO ticket VALUES (10, 'c1@it.example', 'late parcel'), (11, 'c2@it.example', 'c2-secret-ticket');
SELECT count(*) FROM witness.seal();
UPDATE account SET plan = 'pro' WHERE id = 1;
CREATE ROLE c1 LOGIN;
CREATE ROLE c2 LOGIN;
GRANT USAGE ON SCHEMA witness TO c1, c2;
GRANT SELECT ON witness.my_trail TO c1, c2;
SELECT witness.bind_subject('c1', 'c1@it.example');
SELECT witness.bind_subject('c2', 'c2@it.example');
SQL

say "each customer, logged in as themselves, reads their own entries only"
got="$(as_role c1 "SELECT session_user || ' ' || current_user || ' ' || count(*) || ' ' || count(*) FILTER (WHERE subject = 'c1@it.example')
                    || ' ' || count(*) FILTER (WHERE table_name = 'public.account' AND changes::text LIKE '%basic%')
                    FROM witness.my_trail")"
check_ok "c1: session and current user c1; 3 rows, all c1's; the encrypted INSERT decrypted (c1 c1 3 3 2)" \
	"$([[ $got == "c1 c1 3 3 2" ]] && echo ok || echo "got [$got]")"
got="$(as_role c2 "SELECT count(*) || ' ' || count(*) FILTER (WHERE changes::text LIKE '%c2-secret%') FROM witness.my_trail")"
check_ok "c2: 2 rows, its secret values among them (2 2)" "$([[ $got == "2 2" ]] && echo ok || echo "got [$got]")"
got="$(as_role c1 "SELECT count(*) FROM witness.my_trail WHERE subject = 'c2@it.example' OR changes::text LIKE '%c2-secret%'")"
check_ok "c1: nothing of c2's through a filter" "$([[ $got == 0 ]] && echo ok || echo "got [$got]")"
got="$(as_role c1 "SELECT count(*) FROM witness.entry" 2>&1 || true)"
check_ok "c1: witness.entry refused" "$([[ $got == *"permission denied for table entry"* ]] && echo ok || echo "got [$got]")"
got="$(as_role c1 "SET SESSION AUTHORIZATION c2" 2>&1 || true)"
check_ok "c1: SET SESSION AUTHORIZATION c2 refused" "$([[ $got == *"permission denied"* ]] && echo ok || echo "got [$got]")"

say "a reader terminated in the middle of a cursor: its read is recorded"
before="$(q "SELECT count(*) FROM witness.subject_access WHERE format = 'my_trail' AND role_name = 'c1'")"
"$PSQL" -X -q -h "$WORK" -p "$PORT" -U c1 -d "$DB" -v ON_ERROR_STOP=1 >"$WORK/reader.out" 2>&1 <<'SQL' &
SET application_name = 'my_trail_reader';
BEGIN;
DECLARE cur CURSOR FOR SELECT * FROM witness.my_trail;
FETCH 1 FROM cur;
SELECT pg_sleep(60);
SQL
READER_PID=$!
wait_for "the reader holds its cursor" 30 \
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE application_name = 'my_trail_reader' AND query LIKE '%pg_sleep%'"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'my_trail_reader'" >/dev/null
wait "$READER_PID" 2>/dev/null || true
READER_PID=
check "the terminated read left its record" "$((before + 1))" \
	"SELECT count(*) FROM witness.subject_access WHERE format = 'my_trail' AND role_name = 'c1'"

say "pg_dump restored into another cluster with the same master key"
mkdir -p "$WORK2"
PORT2="$(free_port)"
own_cluster_init "$WORK2" "$PORT2" "witness.seal_interval = 0" "witness.master_key_file = '$WORK2/master.key'"
as_pg sh -c "umask 077 && cp '$WORK/master.key' '$WORK2/master.key'"
own_cluster_start "$WORK2"
# Roles created in another order than in the source, and one more first: OIDs differ.
for stmt in "CREATE ROLE filler" "CREATE ROLE c2 LOGIN" "CREATE ROLE c1 LOGIN" "CREATE DATABASE $DB"; do
	q_on "$WORK2" "$PORT2" postgres "$stmt" >/dev/null
done
"$PG_BINDIR/pg_dump" -h "$WORK" -p "$PORT" -Fc -f "$WORK/src.dump" "$DB"
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -h "$WORK2" -p "$PORT2" -d "$DB" \
	--single-transaction "$WORK/src.dump" >"$WORK/restore.out" 2>&1 || rc=$?
[[ $rc == 0 ]] || cat "$WORK/restore.out"
check_ok "pg_restore exit status 0" "$([[ $rc == 0 ]] && echo ok || echo "exit status $rc")"
Q_HOST=$WORK2
Q_PORT=$PORT2
check "the bindings and their sealed subjects came along" "2|2" \
	"SELECT (SELECT count(*) FROM witness.bound_subject) || '|' || (SELECT count(*) FROM witness.subject_binding WHERE event = 'bound')"
check "c1's OID differs from the source's" "f" \
	"SELECT 'c1'::regrole::oid = (SELECT role_oid FROM witness.subject_binding WHERE role_name = 'c1')"
got="$(as_role c1 "SELECT count(*) FROM witness.my_trail" 2>&1 || true)"
check_ok "c1 of the new cluster is not bound by the source's binding" \
	"$([[ $got == *"role c1 is not bound to a data subject"* ]] && echo ok || echo "got [$got]")"
q "SELECT witness.bind_subject('c1', 'c1@it.example')" >/dev/null
got="$(as_role c1 "SELECT count(*) || ' ' || count(*) FILTER (WHERE subject = 'c1@it.example') FROM witness.my_trail")"
check_ok "bound again in the new cluster, c1 reads its 3 entries (3 3)" "$([[ $got == "3 3" ]] && echo ok || echo "got [$got]")"
# The new cluster's transaction ids are behind the restored snapshots: until a seal starts a new era,
# the entries captured here (the binding) are pending in the due era, not late members of block 1
# (docs/verification.md, "Transaction-id eras").
check "verify() before the first seal: valid" "valid" "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "verify() after it: valid" "valid" "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

finish my_trail_login
