#!/usr/bin/env bash
# Integration test: master key rotation cut by a crash, then resumed to completion.
#
#   - A trail of about 45,000 encrypted entries (a table with a subject column, so sealed under the
#     subject's pseudonym as key context, and one without), sealed into blocks, under master key A.
#   - The operator's steps: key B written, witness.previous_master_key_file = A,
#     witness.master_key_file = B, reload, CALL witness.rotate_master_key(20); a second call is refused
#     while it runs.
#   - The postmaster and all its processes are killed with SIGKILL once the rotation has committed
#     a few thousand payloads. After the restart: some payloads are under B, the rest under A;
#     witness.verify() is valid; no leaf hash or commitment changed; witness.key_rotation shows the
#     start and no end.
#   - More changes are captured (under B), then the rotation is called again while
#     witness.erase_subject() erases a subject of 1,000 entries concurrently: both finish; every
#     sealed payload is under B; no leaf hash or commitment changed; witness.verify() is valid with
#     both keys and with B alone; witness.key_rotation shows started, resumed, finished, and those
#     rows are in the chain. The rotation rate of the resumed call is printed.
#
# Environment: PG_BINDIR, REPO (as scripts/test.sh passes them); the test runs its own cluster.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="${REPO:-$(cd "$HERE/../.." && pwd)}"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/rotation_kill9.XXXXXX)"
DATADIR="$WORK/data"
PORT="$(free_port)"
DB=witness_rotation
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres
ROTATE_PID=
ERASE_PID=

cleanup() {
	local rc=$?
	set +e
	[[ -z $ROTATE_PID ]] || kill "$ROTATE_PID" 2>/dev/null
	[[ -z $ERASE_PID ]] || kill "$ERASE_PID" 2>/dev/null
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 30 lines of the server log ----"
		tail -n 30 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$DATADIR" immediate
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "own cluster on 127.0.0.1:$PORT with master key A"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "witness.master_key_file = 'key_a.key'"
as_pg sh -c "umask 077; printf '%s\n' $(printf '1e%.0s' {1..32}) >'$DATADIR/key_a.key'; printf '%s\n' $(printf 'b7%.0s' {1..32}) >'$DATADIR/key_b.key'"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
KEY_A="$(q "SELECT witness.master_key_id()")"
note "key A: $KEY_A"
q "CREATE TABLE customer (id int PRIMARY KEY, email text NOT NULL, plan text)" >/dev/null
q "CREATE TABLE note (id int PRIMARY KEY, body text)" >/dev/null
q "SELECT witness.track('customer', 'pii', subject_column => 'email')" >/dev/null
q "SELECT witness.track('note', encrypt => true)" >/dev/null
q "INSERT INTO customer SELECT g, CASE WHEN g % 30 = 0 THEN 'target@example.com' ELSE 'c' || g || '@example.com' END, 'basic'
   FROM generate_series(1, 30000) g" >/dev/null
q "UPDATE customer SET plan = 'pro' WHERE id % 6 = 0" >/dev/null
q "INSERT INTO note SELECT g, 'note ' || g FROM generate_series(1, 10000) g" >/dev/null
q "SELECT witness.seal()" >/dev/null
SEALED="$(q "SELECT count(*) FROM witness.entry WHERE sealed_payload IS NOT NULL")"
note "$SEALED sealed payloads under key A"
check "every sealed payload is under key A" "$SEALED" \
	"SELECT count(*) FROM witness.entry WHERE sealed_payload IS NOT NULL AND encode(substring(sealed_payload, 2, 8), 'hex') = '$KEY_A'"
q "CREATE TABLE before AS SELECT id, leaf_hash, commitment FROM witness.entry" >/dev/null
UNCHANGED_SQL="SELECT count(*) FILTER (WHERE e.leaf_hash IS DISTINCT FROM b.leaf_hash OR e.commitment IS DISTINCT FROM b.commitment)
                      || '|' || count(e.id) || '|' || count(*)
                 FROM before b LEFT JOIN witness.entry e USING (id)"
BEFORE_COUNT="$(q "SELECT count(*) FROM before")"

say "the operator's steps: key B as witness.master_key_file, key A as witness.previous_master_key_file, reload"
q "ALTER SYSTEM SET witness.previous_master_key_file = 'key_a.key'" >/dev/null
q "ALTER SYSTEM SET witness.master_key_file = 'key_b.key'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
KEY_B="$(q "SELECT witness.master_key_id()")"
note "key B: $KEY_B"
check_ok "key B differs from key A" "$([[ $KEY_B != "$KEY_A" && -n $KEY_B ]] && echo ok || echo "$KEY_A / $KEY_B")"
UNDER_B_SQL="SELECT count(*) FROM witness.entry WHERE sealed_payload IS NOT NULL AND encode(substring(sealed_payload, 2, 8), 'hex') = '$KEY_B'"

say "SIGKILL of the whole cluster in the middle of CALL witness.rotate_master_key(20)"
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d "$DB" -c "CALL witness.rotate_master_key(20)" >"$WORK/rotate1.log" 2>&1 &
ROTATE_PID=$!
wait_for "a few thousand payloads re-encrypted" 120 "SELECT ($UNDER_B_SQL) >= 2000"
check_ok "a second rotation is refused while one runs" \
	"$({ q "CALL witness.rotate_master_key()" 2>&1 || true; } | grep -q 'another rotation of the master key is running (process [0-9]' && echo ok || echo 'not refused')"
own_cluster_kill9 "$DATADIR"
wait "$ROTATE_PID" 2>/dev/null || true
ROTATE_PID=
own_cluster_start "$WORK"
check "the server recovered from a crash" "t" \
	"SELECT pg_postmaster_start_time() > now() - interval '5 minutes'"
DONE_AT_CRASH="$(q "$UNDER_B_SQL")"
note "after the restart: $DONE_AT_CRASH of $SEALED payloads under key B"
check_ok "the rotation was cut in the middle" \
	"$( ((DONE_AT_CRASH > 0 && DONE_AT_CRASH < SEALED)) && echo ok || echo "$DONE_AT_CRASH of $SEALED")"
check "every sealed payload is under key A or key B" "0" \
	"SELECT count(*) FROM witness.entry WHERE sealed_payload IS NOT NULL
	   AND encode(substring(sealed_payload, 2, 8), 'hex') NOT IN ('$KEY_A', '$KEY_B')"
check "no leaf hash or commitment changed, no entry lost" "0|$BEFORE_COUNT|$BEFORE_COUNT" "$UNCHANGED_SQL"
check "the chain is valid in the middle of the rotation, every payload checked" "valid|0" \
	"SELECT status || '|' || entries_unchecked FROM witness.verify()"
check "witness.key_rotation: started, not finished" "started" \
	"SELECT string_agg(event, ',' ORDER BY rotation_id) FROM witness.key_rotation"

say "changes captured after the crash, then the rotation called again while a subject is erased"
q "INSERT INTO customer SELECT g, 'late' || g || '@example.com', 'basic' FROM generate_series(30001, 30500) g" >/dev/null
check "entries captured now are under key B" "500" \
	"SELECT count(*) FROM witness.entry WHERE table_name = 'customer' AND op = 'I' AND id > (SELECT max(id) FROM before)
	   AND encode(substring(sealed_payload, 2, 8), 'hex') = '$KEY_B'"
TARGET="$(q "SELECT count(*) FROM witness.entry e
              WHERE e.subject_pseudonym = ANY (witness._subject_pseudonyms('target@example.com')) AND e.erasure_id IS NULL")"
note "the target subject has $TARGET entries"
START_NS=$(date +%s%N)
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d "$DB" -c "CALL witness.rotate_master_key(100)" >"$WORK/rotate2.log" 2>&1 &
ROTATE_PID=$!
sleep 0.3
"$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -c "SELECT witness.erase_subject('target@example.com', 'erased during a rotation')" \
	>"$WORK/erase.log" 2>&1 &
ERASE_PID=$!
ROTATE_RC=0
wait "$ROTATE_PID" || ROTATE_RC=$?
END_NS=$(date +%s%N)
ROTATE_PID=
ERASE_RC=0
wait "$ERASE_PID" || ERASE_RC=$?
ERASE_PID=
check_ok "the resumed rotation finished" "$( ((ROTATE_RC == 0)) && echo ok || cat "$WORK/rotate2.log")"
check_ok "the concurrent erasure finished and erased the subject's $TARGET entries" \
	"$( ((ERASE_RC == 0)) && [[ $(cat "$WORK/erase.log") == "$TARGET" ]] && echo ok || cat "$WORK/erase.log")"
RESUMED="$(q "SELECT payloads FROM witness.key_rotation WHERE event = 'finished'")"
MS=$(((END_NS - START_NS) / 1000000))
note "the resumed call re-encrypted $RESUMED payloads in $MS ms ($((RESUMED * 1000 / (MS > 0 ? MS : 1))) payloads/s, batches of 100, an erasure running alongside)"
check "every sealed payload is under key B" "0" \
	"SELECT count(*) FROM witness.entry WHERE sealed_payload IS NOT NULL AND encode(substring(sealed_payload, 2, 8), 'hex') <> '$KEY_B'"
# Payloads the erasure removed before the rotation reached them were not re-encrypted.
check_ok "the crash and the resumed call together re-encrypted every payload under key A (the erased ones aside)" \
	"$( ((DONE_AT_CRASH + RESUMED <= SEALED && DONE_AT_CRASH + RESUMED >= SEALED - TARGET)) && echo ok ||
		echo "$DONE_AT_CRASH + $RESUMED of $SEALED")"
check "no leaf hash or commitment changed, no entry lost" "0|$BEFORE_COUNT|$BEFORE_COUNT" "$UNCHANGED_SQL"
check "witness.key_rotation: started, resumed, finished, from key A to key B" \
	"started:$KEY_A:$KEY_B,resumed:$KEY_A:$KEY_B,finished:$KEY_A:$KEY_B" \
	"SELECT string_agg(event || ':' || old_key_id || ':' || new_key_id, ',' ORDER BY rotation_id) FROM witness.key_rotation"
check "the rotation's events are entries of the chain" "started,resumed,finished" \
	"SELECT string_agg(new_values ->> 'event', ',' ORDER BY id) FROM witness.entry WHERE table_name = 'key_rotation'"
q "SELECT witness.seal()" >/dev/null
check "the chain is valid with both keys" "valid|0" "SELECT status || '|' || entries_unchecked FROM witness.verify()"
check "the chain is valid with key B alone, every payload checked" "valid|0" \
	"SET witness.previous_master_key_file = ''; SELECT status || '|' || entries_unchecked FROM witness.verify()"
q "CALL witness.rotate_master_key()" >/dev/null 2>&1
check "called once more, there is nothing left to do and nothing is recorded" "3" "SELECT count(*) FROM witness.key_rotation"
check_ok "refused in an implicit transaction block (two statements in one query)" \
	"$({ q "CALL witness.rotate_master_key(); SELECT 1" 2>&1 || true; } | grep -q 'cannot run inside a transaction block' && echo ok || echo 'not refused')"
if [[ -x $REPO/build/witness-verify ]]; then
	"$REPO/build/witness-verify" --connect "host=$WORK port=$PORT dbname=$DB user=postgres" >"$WORK/wv.out" 2>&1 || true
	check_ok "witness-verify agrees" "$(grep -q 'result: *VALID' "$WORK/wv.out" && echo ok || cat "$WORK/wv.out")"
fi

finish rotation_kill9
