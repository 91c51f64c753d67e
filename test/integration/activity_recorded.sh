#!/usr/bin/env bash
# Integration test: activity that has no transaction of its own, or whose transaction never commits,
# still reaches the chain (docs/activity.md). In a cluster of its own, with the background sealer
# writing the activity queue every 200 ms:
#   - logins over TCP: a good password, a wrong one, a role that does not exist, a pg_hba.conf line
#     that rejects, a NOLOGIN role that trust lets through authentication; each recorded with role, database, client address and method;
#   - a session terminated while it holds a cursor open on a table tracked with capture_reads: its
#     read is recorded (outcome failed, with the rows it had fetched);
#   - a read in a transaction that then rolls back, and a refused UPDATE: recorded;
#   - with the sealer stopped and a queue of 64 slots: reads wait for a free slot and are refused
#     (53000) when none frees, so that nothing is read unrecorded; events that cannot wait (logins)
#     are counted and the count recorded as a "lost" row;
#   - a clean restart (pg_ctl restart -m fast) with events not written yet (a read, capture switched
#     off and on): they are saved and written after the restart;
#   - what must be recorded (capture control, reads of capture_reads tables) waits for its own
#     database's drain however long that takes; another database's drain drops only what may be lost
#     (a login to a database without pg_witness) after witness.activity_unclaimed_timeout;
#   - logins to a database without pg_witness fill anyone's half of the queue at most: an auditor's
#     login and its read of the trail still find slots;
#   - a CREATE INDEX whose table name is moved to the tracked table while it waits for the lock: a read;
#   - every activity row an entry of the chain; the chain verifies.
#
# Environment: REPO, PG_BINDIR (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/activity_recorded.XXXXXX)"
HOLDER_PID=

cleanup() {
	local rc=$?
	set +e
	[[ -z $HOLDER_PID ]] || kill "$HOLDER_PID" 2>/dev/null
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 30 lines of the own cluster's server log ----"
		tail -n 30 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$WORK/data" fast
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

PORT="$(free_port)"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 200ms" "witness.activity_queue_size = 64" \
	"password_encryption = 'scram-sha-256'"
# Password logins for act_pw and act_ghost over TCP; pg_hba.conf rejects act_rejected; the rest is trust.
as_pg sh -c "{ printf 'host all act_pw 127.0.0.1/32 scram-sha-256\nhost all act_ghost 127.0.0.1/32 scram-sha-256\nhost all act_rejected 127.0.0.1/32 reject\n'; cat '$WORK/data/pg_hba.conf'; } >'$WORK/data/pg_hba.new' && mv '$WORK/data/pg_hba.new' '$WORK/data/pg_hba.conf'"
own_cluster_start "$WORK"
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres
DB=postgres
q "CREATE DATABASE act_it" >/dev/null
DB=act_it
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE ROLE act_pw LOGIN PASSWORD 'right'" >/dev/null
q "CREATE ROLE act_rejected LOGIN" >/dev/null
q "CREATE ROLE act_nologin NOLOGIN" >/dev/null
q "CREATE TABLE act_secret (id int PRIMARY KEY, v text)" >/dev/null
q "INSERT INTO act_secret SELECT g, 'v' || g FROM generate_series(1, 100) g" >/dev/null
q "SELECT witness.track('act_secret', capture_reads => true)" >/dev/null
q "GRANT SELECT ON act_secret TO act_pw" >/dev/null

# login ROLE PASSWORD: one TCP connection attempt; never fails the script.
login() {
	PGPASSWORD=$2 "$PSQL" -X -q -A -t -h 127.0.0.1 -p "$PORT" -U "$1" -d act_it -c "SELECT 1" >/dev/null 2>&1 || true
}
# logins WHERE: activity rows of kind login matching WHERE
logins() { echo "SELECT count(*) FROM witness.activity WHERE kind = 'login' AND database_name = 'act_it' AND $1"; }

say "logins over TCP"
login act_pw right
login act_pw wrong
login act_ghost whatever
login act_rejected ''
login act_nologin ''
wait_for "five logins written by the sealer" 20 \
	"SELECT count(*) >= 5 FROM witness.activity WHERE kind = 'login' AND session_user_name IN ('act_pw', 'act_ghost', 'act_rejected', 'act_nologin')"
check "a good password: success, scram-sha-256, 127.0.0.1" 1 \
	"$(logins "session_user_name = 'act_pw' AND outcome = 'success' AND object_name = 'scram-sha-256' AND client_addr = '127.0.0.1'")"
check "a wrong password: denied, with the reason" 1 \
	"$(logins "session_user_name = 'act_pw' AND outcome = 'denied' AND message = 'authentication failed'")"
check "a role that does not exist: denied, under the name asked for" 1 \
	"$(logins "session_user_name = 'act_ghost' AND outcome = 'denied'")"
check "rejected by pg_hba.conf: denied, with PostgreSQL's message" 1 \
	"$(logins "session_user_name = 'act_rejected' AND outcome = 'denied' AND message LIKE 'pg_hba.conf rejects connection%'")"
check "a NOLOGIN role (authenticated by trust, refused after): denied, not success" "denied|28000" \
	"SELECT string_agg(outcome || '|' || sqlstate, ',') FROM witness.activity WHERE kind = 'login' AND session_user_name = 'act_nologin'"

say "a session terminated with a cursor open on a capture_reads table"
mkfifo "$WORK/holder.in"
PGPASSWORD=right PGAPPNAME=act_holder "$PSQL" -X -q -A -t -h 127.0.0.1 -p "$PORT" -U act_pw -d act_it \
	<"$WORK/holder.in" >"$WORK/holder.out" 2>&1 &
HOLDER_PID=$!
exec 3>"$WORK/holder.in"
printf '%s\n' "BEGIN;" "DECLARE c CURSOR FOR SELECT * FROM act_secret ORDER BY id;" "FETCH 7 FROM c;" "SELECT 'fetched';" >&3
for ((i = 0; i < 100; i++)); do grep -q '^fetched$' "$WORK/holder.out" 2>/dev/null && break; sleep 0.1; done
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'act_holder'" >/dev/null
exec 3>&-
wait "$HOLDER_PID" 2>/dev/null || true
HOLDER_PID=
wait_for "the cursor's read written" 20 \
	"SELECT EXISTS (SELECT FROM witness.activity WHERE kind = 'read' AND current_user_name = 'act_pw' AND statement LIKE 'DECLARE c CURSOR%')"
check "recorded as failed, with the 7 rows it had fetched" "failed|7" \
	"SELECT outcome || '|' || row_count FROM witness.activity WHERE kind = 'read' AND current_user_name = 'act_pw' AND statement LIKE 'DECLARE c CURSOR%'"

say "a read rolled back, an UPDATE refused"
PGPASSWORD=right "$PSQL" -X -q -h 127.0.0.1 -p "$PORT" -U act_pw -d act_it \
	-c "BEGIN" -c "SELECT v FROM act_secret WHERE id = 42" -c "ROLLBACK" >/dev/null
PGPASSWORD=right "$PSQL" -X -q -h 127.0.0.1 -p "$PORT" -U act_pw -d act_it -c "UPDATE act_secret SET v = 'x'" >/dev/null 2>&1 || true
wait_for "both written" 20 \
	"SELECT count(*) = 2 FROM witness.activity WHERE current_user_name = 'act_pw' AND (statement LIKE '%id = 42%' OR kind = 'denied')"
check "the refused UPDATE: denied, 42501, from 127.0.0.1" "denied|42501|127.0.0.1" \
	"SELECT outcome || '|' || sqlstate || '|' || client_addr FROM witness.activity WHERE kind = 'denied' AND current_user_name = 'act_pw'"

say "the sealer stopped, a queue of 64 slots"
q "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
wait_for "the last pass of the background sealer over (docs/alerts.md)" 10 \
	"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type IN ('pg_witness sealer', 'pg_witness maintainer'))" || true
q "SELECT witness.flush_activity()" >/dev/null
rc=0
start=$SECONDS
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -h "$WORK" -p "$PORT" -d act_it >"$WORK/full.out" 2>"$WORK/full.err" <<'SQL' || rc=$?
CREATE TEMP TABLE got (n int);
DO $$
BEGIN
	FOR i IN 1..100 LOOP
		INSERT INTO got SELECT count(*) FROM act_secret WHERE id = i;
	END LOOP;
END $$;
SQL
waited=$((SECONDS - start))
indent <"$WORK/full.err"
check_ok "the loop of 100 reads is refused" "$( ((rc != 0)) && echo ok || echo "psql exited $rc")"
check_ok "with SQLSTATE 53000, after waiting about 10 s for a slot (${waited} s)" \
	"$(grep -q '^ERROR:  53000: pg_witness cannot record this statement: its activity queue is full' "$WORK/full.err" &&
	   ((waited >= 9)) && echo ok || echo "unexpected: $(head -1 "$WORK/full.err"), ${waited} s")"
login act_pw right
q "SELECT witness.flush_activity()" >/dev/null
check "the reads that found a slot are recorded (one row, 60 or more statements)" t \
	"SELECT sum(statement_count) >= 60 FROM witness.activity WHERE kind = 'read' AND statement LIKE '%count(*) FROM act_secret%'"
check "the login that found no slot is counted in a lost row" t \
	"SELECT count(*) >= 1 FROM witness.activity WHERE kind = 'lost' AND row_count >= 1"
check "and the lost row names it: login role act_pw in database act_it" t \
	"SELECT count(*) >= 1 FROM witness.activity WHERE kind = 'lost' AND message LIKE '%role act_pw in database act_it: %'"

say "the lost row names the role whose events made a flood, whatever names came first"
# The review of the named lost rows filled its sixteen names with logins of made-up roles first: the
# flooding role's events went to "others". A name that finds no room takes the smallest count's.
q "CREATE ROLE act_flood LOGIN" >/dev/null
q "SELECT witness.flush_activity()" >/dev/null
L3="$(q "SELECT COALESCE(max(activity_id), 0) FROM witness.activity")"
for i in $(seq -w 1 60); do
	"$PSQL" -X -q -h 127.0.0.1 -p "$PORT" -U "act_junk$i" -d act_it -c "SELECT 1" >/dev/null 2>&1 || true
done
"$PSQL" -X -q -h 127.0.0.1 -p "$PORT" -U act_flood -d act_it >/dev/null 2>&1 <<'SQL' || true
DO $$ BEGIN FOR i IN 1 .. 200 LOOP BEGIN PERFORM count(*) FROM act_secret; EXCEPTION WHEN insufficient_privilege THEN NULL; END; END LOOP; END $$;
SQL
q "SELECT witness.flush_activity()" >/dev/null
q "SELECT message FROM witness.activity WHERE kind = 'lost' AND activity_id > $L3" | indent
check "the lost row names act_flood, with most of the 200 refusals" t \
	"SELECT count(*) = 1 FROM witness.activity WHERE kind = 'lost' AND activity_id > $L3
	 AND substring(message FROM 'role act_flood in database act_it: (?:at most )?([0-9]+)')::int >= 150"

# switch_capture_off_and_on TAG: as a superuser in replica mode (where pg_witness's event triggers
# stand aside), the capture trigger of act_secret disabled, a row changed, the trigger enabled again:
# two capture control events, which only this database's drain may write.
switch_capture_off_and_on() {
	q "SET session_replication_role = replica;
	   ALTER TABLE act_secret DISABLE TRIGGER witness_capture;
	   UPDATE act_secret SET v = '$1' WHERE id = 5;
	   ALTER TABLE act_secret ENABLE ALWAYS TRIGGER witness_capture" >/dev/null
}
capture_control_rows() {
	echo "SELECT count(*) FROM witness.activity WHERE kind = 'capture control' AND object_name LIKE '%act_secret%' AND statement LIKE '%witness_capture%' AND activity_id > $1"
}

say "a clean restart keeps what the sealer had not written yet"
q "SELECT witness.flush_activity()" >/dev/null
A0="$(q "SELECT coalesce(max(activity_id), 0) FROM witness.activity")"
q "SELECT v FROM act_secret WHERE id = 77" >/dev/null
switch_capture_off_and_on restarted
(cd "$WORK" && as_pg "$PG_BINDIR/pg_ctl" -D "$WORK/data" -l "$WORK/server.log" -m fast -w -t 60 restart) >/dev/null
check_ok "the postmaster saved and queued it again" \
	"$(grep -q 'pg_witness: [0-9]* activity events saved at shutdown are queued again' "$WORK/server.log" && echo ok || echo 'no such line in the server log')"
q "SELECT witness.flush_activity()" >/dev/null
check "the read before the restart is recorded" 1 \
	"SELECT count(*) FROM witness.activity WHERE kind = 'read' AND statement LIKE '%id = 77%'"
# (The saved file's capture control events were thrown away at load: found by an attack review.)
check "so are the trigger disabled and enabled again before it" 2 "$(capture_control_rows "$A0")"

say "what must be recorded waits for its own database's drain, however long"
# Another database's drain drops the events no drain will take after witness.activity_unclaimed_timeout
# (a login to a database without pg_witness). It dropped capture control events too: a superuser who
# kept this database's drain from running (a lock on witness.activity held for ten minutes; here the
# sealer is off) switched capture off, changed a row, and left no trace (found by an attack review).
q "ALTER SYSTEM SET witness.activity_unclaimed_timeout = '1s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
DB=postgres q "CREATE DATABASE act_other" >/dev/null
DB=act_other q "CREATE EXTENSION pg_witness" >/dev/null
DB=act_other q "SELECT witness.flush_activity()" >/dev/null
LOST0="$(DB=act_other q "SELECT coalesce(sum(row_count), 0) FROM witness.activity WHERE kind = 'lost'")"
q "SELECT witness.flush_activity()" >/dev/null
A1="$(q "SELECT max(activity_id) FROM witness.activity")"
switch_capture_off_and_on unrecorded
q "SELECT v FROM act_secret WHERE id = 78" >/dev/null
PGPASSWORD=right "$PSQL" -X -q -A -t -h 127.0.0.1 -p "$PORT" -U act_pw -d postgres -c "SELECT 1" >/dev/null
sleep 2
DB=act_other q "SELECT witness.flush_activity()" >/dev/null
LOST1="$(DB=act_other q "SELECT coalesce(sum(row_count), 0) FROM witness.activity WHERE kind = 'lost'")"
check_ok "the other database's drain dropped the login to a database without pg_witness (lost: $LOST0, then $LOST1)" \
	"$( ((LOST1 > LOST0)) && echo ok || echo "no lost row")"
q "SELECT witness.flush_activity()" >/dev/null
check "this database's drain still wrote the trigger disabled and enabled again" 2 "$(capture_control_rows "$A1")"
check "and the read of the capture_reads table" 1 \
	"SELECT count(*) FROM witness.activity WHERE kind = 'read' AND statement LIKE '%id = 78%' AND activity_id > $A1"
q "ALTER SYSTEM RESET witness.activity_unclaimed_timeout" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

say "logins to a database without pg_witness keep to anyone's half of the queue"
# A review kept three quarters of the queue full with logins to a database without pg_witness (no
# drain takes them for witness.activity_unclaimed_timeout): an auditor's login and its read of the
# trail were lost. A login reserves in anyone's half until InitPostgres is through.
q "CREATE ROLE act_aud LOGIN IN ROLE witness_auditor" >/dev/null
q "SELECT witness.flush_activity()" >/dev/null
A2="$(q "SELECT max(activity_id) FROM witness.activity")"
for i in $(seq 60); do DB=postgres q "SELECT 1" >/dev/null; done
PGUSER=act_aud q "SELECT count(*) FROM witness.entry" >/dev/null
q "SELECT witness.flush_activity()" >/dev/null
check "after 60 logins to a database without pg_witness, an auditor's login and trail read are recorded" "1|1" \
	"SELECT count(*) FILTER (WHERE kind = 'login') || '|' || count(*) FILTER (WHERE kind = 'trail read')
	 FROM witness.activity WHERE session_user_name = 'act_aud' AND activity_id > $A2"

say "a rename while a command waits for its lock: the table the command reads is the one recorded"
# The review of the utility reads renamed an untracked decoy and the tracked table while a CREATE INDEX
# on the decoy's name waited for the decoy's lock: the index was built over every value of the tracked
# table, and the hook, which had looked the name up without a lock, recorded no read.
# race_renamed SQL: runs SQL on act_decoy while another session, which holds act_decoy's lock, renames
# act_decoy away and act_secret to act_decoy; then puts the names back. Prints the activity id before.
race_renamed() {
	q "CREATE TABLE act_decoy (id int, v text)" >/dev/null
	q "SELECT witness.flush_activity()" >/dev/null
	q "SELECT max(activity_id) FROM witness.activity"
	"$PSQL" -X -q -h "$WORK" -p "$PORT" -d act_it -c "BEGIN; LOCK act_decoy; SELECT pg_sleep(2);
		ALTER TABLE act_decoy RENAME TO act_decoy_old; ALTER TABLE act_secret RENAME TO act_decoy; COMMIT" >/dev/null &
	local renamer=$!
	sleep 0.5
	q "$1" >/dev/null 2>&1 || true
	wait "$renamer"
	q "ALTER TABLE act_decoy RENAME TO act_secret" >/dev/null
	q "DROP TABLE act_decoy_old" >/dev/null
	q "SELECT witness.flush_activity()" >/dev/null
}
A3="$(race_renamed "CREATE INDEX act_race ON act_decoy ((v || '!'))")"
q "DROP INDEX act_race" >/dev/null
check "the index built over the renamed tracked table is a read of it" "1" \
	"SELECT count(*) FROM witness.activity WHERE kind = 'read' AND activity_id > $A3 AND statement LIKE 'CREATE INDEX act_race%'"
# The same race with a command that fails after reading (a unique index over equal values): a read.
A5="$(race_renamed "CREATE UNIQUE INDEX act_race_fails ON act_decoy ((1))")"
check "a command that failed after reading the renamed tracked table: a read, failed" "failed" \
	"SELECT string_agg(outcome, ',') FROM witness.activity WHERE kind = 'read' AND activity_id > $A5 AND statement LIKE 'CREATE UNIQUE INDEX act_race_fails%'"
# The review of the watch's second version: a raced CREATE INDEX nested in another command (an
# ALTER TABLE whose CHECK runs it), and a plain VACUUM of the decoy's name reaching the tracked
# table's BRIN expression index: each a read.
q "CREATE TABLE act_outer (id int); INSERT INTO act_outer VALUES (1);
   CREATE FUNCTION act_nested(int) RETURNS boolean LANGUAGE plpgsql AS
   \$\$ BEGIN EXECUTE 'CREATE INDEX act_nested_idx ON act_decoy ((v || ''?''))'; RETURN true; END \$\$" >/dev/null
A7="$(race_renamed "ALTER TABLE act_outer ADD CONSTRAINT act_outer_c CHECK (act_nested(id))")"
check "a raced CREATE INDEX nested in an ALTER TABLE: a read" "1" \
	"SELECT count(*) FROM witness.activity WHERE kind = 'read' AND activity_id > $A7 AND statement LIKE 'ALTER TABLE act_outer%'"
q "DROP TABLE act_outer; DROP FUNCTION act_nested(int); DROP INDEX IF EXISTS act_nested_idx" >/dev/null
q "CREATE INDEX act_brin ON act_secret USING brin ((v || '?'))" >/dev/null
A8="$(race_renamed "VACUUM act_decoy")"
check "a raced plain VACUUM reaching the tracked table's BRIN expression index: a read" "1" \
	"SELECT count(*) FROM witness.activity WHERE kind = 'read' AND activity_id > $A8 AND statement LIKE 'VACUUM act_decoy%'"
q "DROP INDEX act_brin" >/dev/null
# The review of the watch: a session that already holds a lock on the tracked table (LOCK TABLE, which
# is not a read) takes no new one when a moved name leads COPY to it; the name is looked up again
# when the command ends. Here the decoy shadows the tracked table on the search_path, and is renamed
# away while COPY waits for its lock.
q "CREATE SCHEMA act_shadow; CREATE TABLE act_shadow.act_secret (id int, v text)" >/dev/null
q "SELECT witness.flush_activity()" >/dev/null
A6="$(q "SELECT max(activity_id) FROM witness.activity")"
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d act_it -c "BEGIN; LOCK act_shadow.act_secret; SELECT pg_sleep(2);
	ALTER TABLE act_shadow.act_secret RENAME TO act_gone; COMMIT" >/dev/null &
RENAMER=$!
sleep 0.5
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d act_it -c "SET search_path = act_shadow, public" \
	-c "BEGIN; LOCK TABLE public.act_secret IN ACCESS SHARE MODE; COPY act_secret TO STDOUT; COMMIT" >/dev/null
wait "$RENAMER"
q "DROP SCHEMA act_shadow CASCADE" >/dev/null 2>&1
q "SELECT witness.flush_activity()" >/dev/null
check "COPY led to the tracked table by a name moved while it waited, its lock held before: a read" "1" \
	"SELECT count(*) FROM witness.activity WHERE kind = 'read' AND activity_id > $A6 AND statement LIKE '%COPY act_secret TO STDOUT%'"
# The review of the fix: REINDEX INDEX waits for its table's lock, and an index renamed meanwhile gave
# its name to the tracked table's index (search_path picks the first schema holding the name).
q "CREATE SCHEMA act_s1; CREATE TABLE act_s1.t (id int, v text); CREATE INDEX act_idx ON act_s1.t ((v || '?'));
   CREATE INDEX act_idx ON public.act_secret ((v || '?'))" >/dev/null
q "SELECT witness.flush_activity()" >/dev/null
A4="$(q "SELECT max(activity_id) FROM witness.activity")"
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d act_it -c "BEGIN; INSERT INTO act_s1.t VALUES (1, 'x'); SELECT pg_sleep(2); COMMIT" >/dev/null &
HOLDER=$!
sleep 0.5
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d act_it -c "SET search_path = act_s1, public" -c "REINDEX INDEX act_idx" >/dev/null &
REINDEXER=$!
sleep 0.5
q "ALTER INDEX act_s1.act_idx RENAME TO act_idx_gone" >/dev/null
wait "$HOLDER" "$REINDEXER"
q "SELECT witness.flush_activity()" >/dev/null
check "the tracked table's index rebuilt under the name it took meanwhile is a read of the table" "1" \
	"SELECT count(*) FROM witness.activity WHERE kind = 'read' AND activity_id > $A4 AND statement LIKE 'REINDEX INDEX act_idx%'"
q "DROP SCHEMA act_s1 CASCADE; DROP INDEX public.act_idx" >/dev/null

say "the chain"
q "SELECT witness.flush_activity()" >/dev/null
check "every activity row is an entry" t \
	"SELECT (SELECT count(*) FROM witness.activity) = (SELECT count(*) FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'activity')"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "witness.verify() is valid" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

finish activity_recorded
