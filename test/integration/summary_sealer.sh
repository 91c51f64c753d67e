#!/usr/bin/env bash
# Integration test: the daily summary (docs/monitoring.md) kept by the background sealer, one count
# at a time, and carried over by pg_dump.
#
# A cluster of its own (witness.seal_interval = 1s):
#   - changes by two actors appear in witness.daily_summary and witness.actor_activity without anyone
#     calling witness.refresh_summary(): the sealer seals them and counts them in its next pass;
#     witness.stats follows (nothing pending, the summary at the newest block);
#   - background sealing off: one session holds a refresh open; a second refresh that must not wait
#     (what the sealer calls) returns 0 at once; a third waits, then finds nothing left to count; four
#     sessions refreshing in a loop while blocks are sealed count every entry exactly once;
#   - pg_dump / pg_restore (replica mode) into another database keeps the counts and the cursor:
#     refreshing there counts nothing twice.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it). Runs as root (the cluster belongs to
# PG_OS_USER, postgres) or as the owner of the cluster. Takes about 20 s.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

PIDS=()
stop_loops() { for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done; }
own_cluster_setup summary_sealer stop_loops

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=sm
chmod 755 "$WORK"
[[ $EUID -ne 0 ]] || chown "$PG_OS_USER:" "$WORK"

# The summary of table items against the trail, group by group: 0 when every entry is counted once.
MISMATCHES="SELECT count(*) FROM (
	SELECT operation, actor, sum(entries) AS n FROM witness.daily_summary WHERE table_name = 'items' GROUP BY 1, 2) s
	FULL JOIN (SELECT operation, actor, count(*) AS n FROM witness.log WHERE table_name = 'items' GROUP BY 1, 2) l
	ON l.operation = s.operation AND l.actor IS NOT DISTINCT FROM s.actor
	WHERE s.n IS DISTINCT FROM l.n"

# ---------------------------------------------------------------------------------------------
say "a cluster of its own: witness.seal_interval = 1s"

own_cluster_init "$WORK" "$PORT" "witness.seal_interval = '1s'" "witness.verify_interval = 0" "max_worker_processes = 16"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE sm" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE items (id int PRIMARY KEY, v text)" >/dev/null
q "SELECT witness.track('items')" >/dev/null
q "BEGIN; SET LOCAL witness.actor = 'ann@example.com'; INSERT INTO items SELECT g, 'v' FROM generate_series(1, 50) g; COMMIT" >/dev/null
q "BEGIN; SET LOCAL witness.actor = 'bob@example.com'; UPDATE items SET v = 'w' WHERE id <= 20; DELETE FROM items WHERE id > 45; COMMIT" >/dev/null

wait_for "the sealer counts the changes" 30 \
	"SELECT coalesce(sum(entries), 0) = 75 FROM witness.daily_summary WHERE table_name = 'items'" \
	|| { qt "SELECT * FROM witness.stats"; exit 1; }
check "no entry of items missing or counted twice" 0 "$MISMATCHES"
check "actor_activity: ann inserted 50, bob updated 20 and deleted 5" \
	"ann@example.com INSERT 50|bob@example.com DELETE 5|bob@example.com UPDATE 20" \
	"SELECT string_agg(actor || ' ' || operation || ' ' || changes, '|' ORDER BY actor, operation)
	 FROM witness.actor_activity WHERE table_name = 'public.items'"
wait_for "the stats at the newest block, nothing pending" 30 \
	"SELECT entries_pending = 0 AND summary_block_no = last_block_no AND background_sealing = 'on' AND last_pass_at IS NOT NULL
	 FROM witness.stats" || { qt "SELECT * FROM witness.stats"; exit 1; }
check "entries_per_second counts the blocks of the last 5 minutes" t \
	"SELECT entries_per_second > 0 FROM witness.stats"

# ---------------------------------------------------------------------------------------------
say "background sealing off: concurrent refreshes"

q_on "$WORK" "$PORT" postgres "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
q_on "$WORK" "$PORT" postgres "SELECT pg_reload_conf()" >/dev/null
sleep 2 # a pass under way ends
wait_for "the last pass of the background sealer over (docs/alerts.md)" 10 \
	"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type IN ('pg_witness sealer', 'pg_witness maintainer'))" || true
q "INSERT INTO items SELECT g, 'x' FROM generate_series(100, 199) g" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null

"$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" \
	-c "BEGIN" -c "SELECT 'holder counted ' || witness.refresh_summary()" -c "SELECT pg_sleep(3)" -c "COMMIT" \
	>"$WORK/holder.out" 2>&1 &
PIDS+=($!)
holder=$!
sleep 1
start=$(date +%s%N)
check "a refresh that must not wait (the sealer's) returns 0 while another holds the lock" 0 \
	"SELECT witness._refresh_summary(false, NULL)"
check_ok "... at once" "$( (( ($(date +%s%N) - start) / 1000000 < 1500 )) && echo ok || echo "took $(( ($(date +%s%N) - start) / 1000000 )) ms")"
check "a waiting refresh finds nothing left once the holder committed" 0 "SELECT witness.refresh_summary()"
wait "$holder"
check_ok "the holder counted the 100 inserts" "$(grep -q 'holder counted 100' "$WORK/holder.out" && echo ok || cat "$WORK/holder.out")"
check "no entry of items missing or counted twice" 0 "$MISMATCHES"

note "four sessions refreshing in a loop while 20 blocks are sealed"
for i in 1 2 3 4; do
	"$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -c "DO \$\$
		BEGIN
			FOR k IN 1..60 LOOP
				PERFORM witness._refresh_summary(k % 2 = 0, 3);
				PERFORM pg_sleep(0.02);
			END LOOP;
		END \$\$" >"$WORK/loop$i.out" 2>&1 &
	PIDS+=($!)
done
for ((b = 0; b < 20; b++)); do
	q "BEGIN; SET LOCAL witness.actor = 'cy@example.com'; INSERT INTO items SELECT g, 'y' FROM generate_series(1000 + $b * 10, 1009 + $b * 10) g; COMMIT" >/dev/null
	q "SELECT count(*) FROM witness.seal()" >/dev/null
done
for p in "${PIDS[@]}"; do wait "$p" || true; done
PIDS=()
for i in 1 2 3 4; do
	[[ ! -s $WORK/loop$i.out ]] || { echo "session $i:"; cat "$WORK/loop$i.out"; }
done
q "SELECT witness.refresh_summary()" >/dev/null
check "cy's 200 inserts counted once" 200 \
	"SELECT sum(entries) FROM witness.daily_summary WHERE actor = 'cy@example.com'"
check "no entry of items missing or counted twice" 0 "$MISMATCHES"
check "summary_state: every block counted" t \
	"SELECT last_block_no = (SELECT max(block_no) FROM witness.block) FROM witness.summary_state"

# ---------------------------------------------------------------------------------------------
say "pg_dump / pg_restore keeps the counts and the cursor"

"$PG_BINDIR/pg_dump" -h "$WORK" -p "$PORT" -Fc -f "$WORK/sm.dump" sm
q_on "$WORK" "$PORT" postgres "CREATE DATABASE sm_restored" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -h "$WORK" -p "$PORT" -d sm_restored \
	--single-transaction "$WORK/sm.dump" >"$WORK/restore.out" 2>&1 || rc=$?
[[ ! -s $WORK/restore.out ]] || cat "$WORK/restore.out"
check "pg_restore exit status" 0 "SELECT $rc"
before="$(q "SELECT sum(entries) FROM witness.daily_count")"
DB=sm_restored
check "the counts are restored" "$before" "SELECT sum(entries) FROM witness.daily_count"
check "refreshing the restored database counts nothing twice" 0 "SELECT witness.refresh_summary()"
check "no entry of items missing or counted twice there" 0 "$MISMATCHES"

finish summary_sealer
