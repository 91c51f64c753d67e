#!/usr/bin/env bash
# Integration test: a server that stops without saving the activity queue leaves a trace.
#
# An attack review, as superuser: capture switched off in replica mode, a row inserted, capture
# switched on, committed, and the server crashed at once (its own backend killed with SIGKILL). The
# record of the switch waited in the activity queue in shared memory, which the crash lost: after the
# restart the row had no entry, and nothing in witness.activity or witness.alert said anything.
# Now a crash (shared memory made again) or a postmaster killed (found at the next start) writes a
# row of kind lost into witness.activity, and the capture_off alert names it. A clean restart does not.
#
# Starts a cluster of its own (it crashes it). Environment: PG_BINDIR (lib/common.sh).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

own_cluster_setup capture_off_crash
DB=witness_crash_trace
Q_HOST="$WORK"
Q_PORT="$PORT"
DATADIR="$WORK/data"
RESTARTED="SELECT count(*) FROM witness.activity WHERE kind = 'lost' AND message LIKE 'events lost: the server restarted %'"
ALERTED="SELECT count(*) FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE 'the server restarted at %'"

# flush_and_alert: writes the queue, seals, evaluates the alert rules.
flush_and_alert() {
	q "SELECT witness.flush_activity()" >/dev/null
	q "SELECT count(*) FROM witness.seal()" >/dev/null
	q "SELECT count(*) FROM witness.check_alerts()" >/dev/null
}

say "setup: own cluster on 127.0.0.1:$PORT, database $DB; sealing off, so that the queue keeps its events"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE parent (id int PRIMARY KEY, v int)" >/dev/null
q "SELECT witness.track('parent')" >/dev/null
# A second database with a trail of its own: the restart is noted in each database (a review had a
# throw-away database take the only note).
OTHER=witness_crash_other
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $OTHER" >/dev/null
q_on "$WORK" "$PORT" "$OTHER" "CREATE EXTENSION pg_witness; CREATE TABLE t (id int PRIMARY KEY); SELECT witness.track('t'); INSERT INTO t VALUES (1)" >/dev/null
flush_and_alert
check "a first start notes nothing" "0|0" "SELECT ($RESTARTED) || '|' || ($ALERTED)"

say "a clean restart keeps the queue and notes nothing"
own_cluster_stop "$WORK"
own_cluster_start "$WORK"
flush_and_alert
check "after pg_ctl stop -m fast and start: no restart row, no alert" "0|0" "SELECT ($RESTARTED) || '|' || ($ALERTED)"

say "the review's attack: capture switched off and on, a row inserted, then the backend killed"
pid_file="$WORK/backend.pid"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" >/dev/null 2>&1 <<SQL || true
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE parent DISABLE TRIGGER witness_capture;
INSERT INTO parent VALUES (778, 1);
ALTER TABLE parent ENABLE ALWAYS TRIGGER witness_capture;
COMMIT;
COPY (SELECT pg_backend_pid()) TO '$pid_file';
SELECT format('COPY (SELECT 1) TO PROGRAM %L', 'kill -9 ' || pg_backend_pid()) \gexec
SQL
note "backend $(cat "$pid_file" 2>/dev/null || echo '?') killed; the postmaster reinitializes shared memory"
wait_for "the server back after the crash" 60 "SELECT true" || true
# A clean shutdown before any drain wrote the note keeps it (the review of the first version lost it so).
own_cluster_stop "$WORK"
own_cluster_start "$WORK"
# A database made after the restart lost nothing: it is told nothing.
q_on "$WORK" "$PORT" postgres "CREATE DATABASE witness_crash_new" >/dev/null
q_on "$WORK" "$PORT" witness_crash_new "CREATE EXTENSION pg_witness; CREATE TABLE t (id int PRIMARY KEY); SELECT witness.track('t'); INSERT INTO t VALUES (1)" >/dev/null
check "the row is there, with no entry (capture was off)" "1|0" \
	"SELECT (SELECT count(*) FROM parent WHERE id = 778) || '|' ||
	        (SELECT count(*) FROM witness.entry WHERE table_name = 'parent' AND new_values::jsonb ->> 'id' = '778')"
flush_and_alert
check "witness.activity says the server restarted without the queue" 1 "$RESTARTED"
check "its row: failed, no count, the time of the restart" "failed|true|true" \
	"SELECT outcome || '|' || (row_count IS NULL) || '|' || (happened_at > now() - interval '10 minutes')
	 FROM witness.activity WHERE kind = 'lost' AND message LIKE 'events lost: the server restarted %'"
check "the capture_off alert names the restart" 1 "$ALERTED"
q_on "$WORK" "$PORT" "$OTHER" "SELECT witness.flush_activity()" >/dev/null
check "the other database is told too" 1 "SELECT $(q_on "$WORK" "$PORT" "$OTHER" "$RESTARTED")"
q_on "$WORK" "$PORT" witness_crash_new "SELECT witness.flush_activity()" >/dev/null
check "the database made after the restart is not" 0 "SELECT $(q_on "$WORK" "$PORT" witness_crash_new "$RESTARTED")"
check "the row is an entry of the chain, sealed" 1 \
	"SELECT count(*) FROM witness.entry e JOIN witness.block b ON e.id BETWEEN b.first_entry_id AND b.last_entry_id
	 WHERE e.table_name = 'activity' AND e.new_values::jsonb ->> 'kind' = 'lost'"
check "witness.verify()" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"
grep -q 'pg_witness: the server did not stop cleanly' "$WORK/server.log" &&
	check_ok "the server log says so too" ok || check_ok "the server log says so too" "no line in the server log"

say "the postmaster killed with SIGKILL: found at the next start; a flush that rolls back gives the note back"
own_cluster_kill9 "$DATADIR" | indent
own_cluster_start "$WORK"
q "BEGIN; SELECT witness.flush_activity(); ROLLBACK" >/dev/null
check "nothing written by the flush rolled back" 1 "$RESTARTED"
flush_and_alert
check "a second restart row, a second alert" "2|2" "SELECT ($RESTARTED) || '|' || ($ALERTED)"

say "the mark removed before the postmaster is killed: pg_control still says the server was running"
rm -f "$DATADIR/pg_stat_tmp/pg_witness_activity.live"
own_cluster_kill9 "$DATADIR" | indent
own_cluster_start "$WORK"
flush_and_alert
check "a third restart row, a third alert" "3|3" "SELECT ($RESTARTED) || '|' || ($ALERTED)"

say "a clean restart after that notes nothing more, nor does an immediate shutdown (it saves the queue)"
own_cluster_stop "$WORK"
own_cluster_start "$WORK"
own_cluster_stop "$WORK" "$DATADIR" immediate
own_cluster_start "$WORK"
flush_and_alert
check "still three" "3|3" "SELECT ($RESTARTED) || '|' || ($ALERTED)"
check "witness.verify()" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

finish capture_off_crash
