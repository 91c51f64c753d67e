#!/usr/bin/env bash
# Integration test: every subject access export leaves its record, committed before the first line
# by a background worker, whatever the client does after it received the lines (docs/personal-data.md,
# "Every export is recorded"; src/pg/common/autonomous_record.cpp).
#   - psql with FETCH_COUNT (a cursor in a transaction psql opens): the lines arrive, the record is there;
#     also when the script then rolls its own transaction back;
#   - a session terminated while the rows are being sent: the record is there;
#   - a role granted EXECUTE, connected over TCP: the record's entry names its session user, client
#     address and port, backend pid and application_name;
#   - a cluster without a free background worker slot (max_worker_processes = 2, taken by the logical
#     replication launcher and pg_witness's): the export is refused with SQLSTATE 53000 and a hint, psql prints no line, nothing is
#     recorded.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them); the last
# part starts a cluster of its own.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
WORK="$(mktemp -d /tmp/subject_export_recorded.XXXXXX)"
SLEEPER_PID=

cleanup() {
	local rc=$?
	set +e
	[[ -z $SLEEPER_PID ]] || kill "$SLEEPER_PID" 2>/dev/null
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 20 lines of the own cluster's server log ----"
		tail -n 20 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$WORK/data" fast
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

recorded() { # recorded REASON: how many records of that reason exist
	q "SELECT count(*) FROM witness.subject_access WHERE reason = '$1'"
}

say "a trail with one subject's entries"
q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE rec_account (id int PRIMARY KEY, email text, note text)" >/dev/null
q "SELECT witness.track('rec_account', 'pii', subject_column => 'email', encrypt => false)" >/dev/null
q "INSERT INTO rec_account SELECT g, 's' || (g % 3) || '@rec.example', 'note-' || g FROM generate_series(1, 30) g" >/dev/null
ENTRIES="$(q "SELECT count(*) FROM witness.entry WHERE subject = 's1@rec.example'")"

say "psql with FETCH_COUNT: a cursor in a transaction of psql's own"
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -v FETCH_COUNT=2 -d "$DB" \
	-c "SELECT witness.subject_export('s1@rec.example', 'json', 'fetch count')" >"$WORK/fetch.jsonl"
check "every line arrived (a first line and one per entry)" "$((ENTRIES + 1))" "SELECT $(grep -c . "$WORK/fetch.jsonl")"
check "the export is recorded" 1 "SELECT count(*) FROM witness.subject_access WHERE reason = 'fetch count'"
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" >"$WORK/fetch_rollback.jsonl" <<'SQL'
\set FETCH_COUNT 1
BEGIN;
SELECT witness.subject_export('s1@rec.example', 'json', 'fetch count, rolled back');
ROLLBACK;
SQL
check "in a transaction rolled back after the lines: every line arrived" "$((ENTRIES + 1))" \
	"SELECT $(grep -c . "$WORK/fetch_rollback.jsonl")"
check "... and the export is recorded" 1 "SELECT $(recorded 'fetch count, rolled back')"

say "a session terminated while its rows are sent"
"$PSQL" -X -q -A -t -d "$DB" -v ON_ERROR_STOP=1 \
	-c "SET application_name = 'rec-terminated'" \
	-c "SELECT line, pg_sleep(60) FROM witness.subject_export('s1@rec.example', 'csv', 'terminated') AS line" \
	>/dev/null 2>&1 &
SLEEPER_PID=$!
wait_for "the export sends its rows" 30 \
	"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = 'rec-terminated' AND wait_event = 'PgSleep')"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'rec-terminated'" >/dev/null
wait "$SLEEPER_PID" || true
SLEEPER_PID=
check "the terminated session's export is recorded" 1 "SELECT $(recorded terminated)"

say "a role granted EXECUTE, over TCP: the record's entry is attributed to its session"
q "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'rec_dpo') THEN CREATE ROLE rec_dpo LOGIN; END IF; END \$\$" >/dev/null
q "GRANT USAGE ON SCHEMA witness TO rec_dpo" >/dev/null
q "GRANT EXECUTE ON FUNCTION witness.subject_export(text, text, text) TO rec_dpo" >/dev/null
SESSION="$("$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -U rec_dpo -d "$DB" \
	-c "SET application_name = 'rec-dpo-app'" \
	-c "SET witness.actor = 'officer-7'" \
	-c "BEGIN" \
	-c "SELECT WHERE (SELECT count(*) FROM witness.subject_export('s1@rec.example', 'csv', 'over tcp')) < 0" \
	-c "SELECT host(inet_client_addr()) || '|' || inet_client_port() || '|' || pg_backend_pid()" \
	-c "ROLLBACK")"
note "rec_dpo's session: $SESSION"
check "session user, client address and port, backend pid, application_name, actor, role_name" \
	"rec_dpo|$SESSION|rec-dpo-app|officer-7|rec_dpo" \
	"SELECT e.session_user_name || '|' || host(e.client_addr) || '|' || e.client_port || '|' || e.backend_pid || '|' ||
	        e.application_name || '|' || e.actor || '|' || (e.new_values ->> 'role_name')
	 FROM witness.subject_access a
	 JOIN witness.entry e ON e.schema_name = 'witness' AND e.table_name = 'subject_access' AND e.op = 'I'
	                     AND (e.new_values ->> 'access_id')::bigint = a.access_id
	 WHERE a.reason = 'over tcp'"
q "REVOKE ALL ON FUNCTION witness.subject_export(text, text, text) FROM rec_dpo" >/dev/null
q "REVOKE ALL ON SCHEMA witness FROM rec_dpo" >/dev/null
q "DROP ROLE rec_dpo" >/dev/null

say "no free background worker slot: own cluster with max_worker_processes = 2 (both launchers' slots)"
PORT="$(free_port)"
# The two slots go to the workers registered at start: PostgreSQL's logical replication launcher and
# pg_witness's launcher.
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "max_worker_processes = 2"
own_cluster_start "$WORK"
Q_HOST=$WORK
Q_PORT=$PORT
DB=postgres
export PGUSER=postgres # the own cluster's superuser (initdb -U postgres)
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE rec_account (id int PRIMARY KEY, email text)" >/dev/null
q "SELECT witness.track('rec_account', 'pii', subject_column => 'email', encrypt => false)" >/dev/null
q "INSERT INTO rec_account VALUES (1, 's1@rec.example')" >/dev/null
wait_for "the launcher runs" 30 "SELECT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'pg_witness launcher')"
rc=0
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -h "$WORK" -p "$PORT" -d postgres \
	-c "SELECT witness.subject_export('s1@rec.example', 'json', 'no slot')" >"$WORK/noslot.out" 2>"$WORK/noslot.err" || rc=$?
indent <"$WORK/noslot.err"
check_ok "refused (psql exits non-zero)" "$( ((rc != 0)) && echo ok || echo "psql exited $rc")"
check_ok "SQLSTATE 53000 and a hint to raise max_worker_processes" \
	"$(grep -q '^ERROR:  53000: subject access export refused: no background worker slot' "$WORK/noslot.err" &&
	   grep -q '^HINT: .*raise max_worker_processes' "$WORK/noslot.err" && echo ok || echo "unexpected error text")"
check "no line printed" 0 "SELECT $(grep -c . "$WORK/noslot.out" || true)"
check "nothing recorded" 0 "SELECT count(*) FROM witness.subject_access"
check "nothing captured for it" 0 "SELECT count(*) FROM witness.entry WHERE table_name = 'subject_access'"

finish subject_export_recorded
