#!/usr/bin/env bash
# Integration test: erasure while the application keeps writing, and erasure cut by a crash.
#
#   - Once with payloads in clear, once encrypted at rest (entries found by the subject's pseudonym):
#     16 pgbench clients update random rows of a tracked customer table, a tenth of them one data
#     subject's, while witness.erase_subject() erases that subject twice, two seconds apart, and the
#     background sealer seals every 200 ms; the load stops once the subject has entries captured
#     after the second erasure. Afterwards: every committed update has its entry (none
#     lost), the subject's entries written after an erasure are captured with their payload, a last
#     erasure takes all of them, and witness.verify() and witness-verify find the chain valid.
#   - The postmaster and all its processes are killed with SIGKILL while an erasure of 20,000
#     entries runs. After restart the erasure has happened entirely or not at all, and the chain is
#     valid either way.
#
# Environment: PG_BINDIR, REPO (as scripts/test.sh passes them); the test runs its own cluster.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="${REPO:-$(cd "$HERE/../.." && pwd)}"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/erasure_under_load.XXXXXX)"
PORT="$(free_port)"
DB=witness_erasure
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres
ERASER_PID=

cleanup() {
	local rc=$?
	set +e
	[[ -z $ERASER_PID ]] || kill "$ERASER_PID" 2>/dev/null
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 20 lines of the server log ----"
		tail -n 20 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$WORK/data" immediate
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "own cluster on 127.0.0.1:$PORT, background sealing every 200 ms"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 200" "max_connections = 40" \
	"witness.master_key_file = '$WORK/master.key'"
as_pg sh -c "umask 077 && openssl rand -hex 32 >'$WORK/master.key'"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
# load_and_erase TABLE ENCRYPT: the load, erasures and checks on a fresh customer table, tracked with
# its payloads in clear (encrypt false) or encrypted under the master key (encrypt true), whose
# entries are then found by the subject's pseudonym.
load_and_erase() {
	local t=$1 encrypt=$2 of_target payload_kept
	if [[ $encrypt == true ]]; then
		of_target="subject_pseudonym = (witness._subject_pseudonyms('target@example.com'))[1]"
		payload_kept="sealed_payload IS NOT NULL AND salt IS NULL AND new_values IS NULL"
	else
		of_target="subject = 'target@example.com'"
		payload_kept="new_values IS NOT NULL AND salt IS NOT NULL"
	fi
	q "CREATE TABLE $t (id int PRIMARY KEY, email text NOT NULL, n int NOT NULL DEFAULT 0)" >/dev/null
	q "SET client_min_messages = warning; SELECT witness.track('$t', 'pii', subject_column => 'email', encrypt => $encrypt)" >/dev/null
	q "INSERT INTO $t SELECT g, CASE WHEN g % 10 = 0 THEN 'target@example.com' ELSE 'c' || g || '@example.com' END
	   FROM generate_series(1, 200) g" >/dev/null

	say "$t (encrypt => $encrypt): 16 clients write; the target subject is erased after 2 s and 2 s later again"
	cat >"$WORK/update.sql" <<SQL
\\set id random(1, 200)
UPDATE $t SET n = n + 1 WHERE id = :id;
SQL
	chmod 644 "$WORK/update.sql"
	# The load runs until the subject has entries captured after the second erasure (a slow machine
	# must not end it while the erasure still runs), then pgbench is stopped.
	"$PGBENCH" -n -h "$WORK" -p "$PORT" -c 16 -j 2 -T 120 -f "$WORK/update.sql" "$DB" >"$WORK/pgbench.log" 2>&1 &
	BENCH=$!
	sleep 2
	T0=$(date +%s%N)
	ERASED1="$(q "SELECT witness.erase_subject('target@example.com', 'load test, first request')")"
	T1=$(date +%s%N)
	sleep 2
	T2=$(date +%s%N)
	ERASED2="$(q "SELECT witness.erase_subject('target@example.com', 'load test, second request')")"
	T3=$(date +%s%N)
	note "the erasures took $(((T1 - T0) / 1000000)) ms and $(((T3 - T2) / 1000000)) ms"
	wait_for "the subject's entries captured after the second erasure" 60 \
		"SELECT count(*) >= 100 FROM witness.entry WHERE $of_target AND id > (SELECT max(i) FROM witness.erasure, unnest(entry_ids) i)"
	kill -TERM "$BENCH" 2>/dev/null || true
	wait "$BENCH" || true
	grep -q "aborted\|ERROR" "$WORK/pgbench.log" && { cat "$WORK/pgbench.log" >&2; exit 1; }
	note "erased during the load: $ERASED1, then $ERASED2 entries"
	check_ok "both erasures erased something" "$( ((ERASED1 > 0 && ERASED2 > 0)) && echo ok || echo "$ERASED1 / $ERASED2")"
	check "every committed update has its entry" "t" \
		"SELECT (SELECT sum(n) FROM $t) = (SELECT count(*) FROM witness.entry WHERE table_name = '$t' AND op = 'U')"
	check "the subject's entries after the second erasure are captured in full" "t" \
		"SELECT count(*) > 0 AND bool_and($payload_kept) FROM witness.entry
		 WHERE $of_target AND erasure_id IS NULL AND id > (SELECT max(i) FROM witness.erasure, unnest(entry_ids) i)"
	check "no other subject's entry was erased" "0" \
		"SELECT count(*) FROM witness.entry e WHERE e.erasure_id IS NOT NULL AND e.id NOT IN
		 (SELECT unnest(entry_ids) FROM witness.erasure)"
	LEFT="$(q "SELECT count(*) FROM witness.entry WHERE $of_target AND erasure_id IS NULL")"
	check "a last erasure takes the rest" "$LEFT" "SELECT witness.erase_subject('target@example.com', 'load test, last request')"
	check "none of the subject's payloads remain" "0" \
		"SELECT count(*) FROM witness.entry WHERE $of_target AND (salt IS NOT NULL OR sealed_payload IS NOT NULL OR new_values IS NOT NULL)"
	wait_for "everything sealed" 30 "SELECT entries_pending = 0 FROM witness.seal_status"
	check "the chain is valid and counts every erased entry" "valid|$((ERASED_BEFORE + ERASED1 + ERASED2 + LEFT))" \
		"SELECT status || '|' || entries_erased FROM witness.verify()"
	ERASED_BEFORE=$((ERASED_BEFORE + ERASED1 + ERASED2 + LEFT))
	if [[ -x $REPO/build/witness-verify ]]; then
		"$REPO/build/witness-verify" --connect "host=$WORK port=$PORT dbname=$DB user=postgres" >"$WORK/wv.out" 2>&1 || true
		check_ok "witness-verify agrees" "$(grep -q 'result: *VALID' "$WORK/wv.out" && echo ok || cat "$WORK/wv.out")"
	fi
}

ERASED_BEFORE=0
load_and_erase customer false
load_and_erase secret_customer true

say "SIGKILL of the whole cluster in the middle of an erasure of 20,000 entries"
q "INSERT INTO customer SELECT g, 'bulk@example.com' FROM generate_series(1001, 21000) g" >/dev/null
wait_for "the bulk rows sealed" 30 "SELECT entries_pending = 0 FROM witness.seal_status"
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d "$DB" -c "SELECT witness.erase_subject('bulk@example.com', 'crash test')" \
	>"$WORK/erase.log" 2>&1 &
ERASER_PID=$!
# Kill once the erasure has started updating entries (its transaction holds pg_witness's erasure lock,
# a row of witness.mutex locked FOR UPDATE, and so a lock on that table).
for ((i = 0; i < 200; i++)); do
	if [[ "$(q "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
	            WHERE l.relation = 'witness.mutex'::regclass AND l.granted AND a.query LIKE '%erase_subject%'")" != 0 ]]; then break; fi
	sleep 0.02
done
sleep 0.1
own_cluster_kill9 "$WORK/data"
wait "$ERASER_PID" 2>/dev/null || true
ERASER_PID=
own_cluster_start "$WORK"
STATE="$(q "SELECT (SELECT count(*) FROM witness.erasure WHERE reason = 'crash test') || '|' ||
                   (SELECT count(*) FROM witness.entry WHERE erasure_id IN (SELECT erasure_id FROM witness.erasure WHERE reason = 'crash test'))")"
note "after restart: erasures recorded | entries erased = $STATE"
check_ok "the erasure happened entirely or not at all" \
	"$([[ $STATE == "0|0" || $STATE == "1|20000" ]] && echo ok || echo "$STATE")"
check "no entry is half erased" "0" \
	"SELECT count(*) FROM witness.entry WHERE format = 2 AND ((salt IS NULL AND sealed_payload IS NULL) <> (erasure_id IS NOT NULL))"
wait_for "everything sealed after the restart" 30 "SELECT entries_pending = 0 FROM witness.seal_status"
check "the chain is valid after the crash" "valid" "SELECT status FROM witness.verify()"

finish erasure_under_load
