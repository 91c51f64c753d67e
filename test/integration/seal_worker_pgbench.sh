#!/usr/bin/env bash
# Integration test: the background sealer under concurrent pgbench load (docs/verification.md).
#
# Switches the background sealer on for the shared test cluster (witness.seal_interval = 200ms by
# ALTER SYSTEM; the previous setting is restored at exit, whatever happens), creates its own
# database, loads pgbench (-i -s 2), tracks the four pgbench tables and runs pgbench with 16
# clients (-j 2) for WITNESS_SEAL_PGBENCH_SECONDS (default 60) with a mix of
#   tpcb.sql      the builtin tpcb-like transaction, attributed with witness.actor
#   rollback.sql  the same kind of changes with the marker delta 1000000013, then ROLLBACK
# while the worker seals. Then, once nothing is pending:
#   - witness.verify() is valid;
#   - every committed entry is in exactly one block (SQL over the stored snapshots: block k holds the
#     entries visible in snapshot k and not in snapshot k-1), sum(entry_count) = number of entries,
#     each block's entry_count / first / last entry id match its members;
#   - block numbers are consecutive, prev_hash links them, sealed_at and snapshots only move forward;
#   - nothing of the rolled-back transactions is in the trail;
#   - the worker really sealed (at least one block per second of the run on average);
#   - seal lag (block sealed_at - entry stmt_time): p50/p99/max per entry and per block are printed;
#     the check fails if p99 > 3 s (3 x the default interval of 1 s);
#   - a long-running open transaction does not delay the sealing of others: its entry stays out of
#     every block while it is open, later commits are sealed within 2 s, and it is sealed into a
#     later block once it commits;
#   - two sealers never run at once: a witness.seal() in a transaction that stays open 3 s makes a
#     second witness.seal() wait (and the worker skip), block numbers stay consecutive and chained;
#   - finally the whole trail is recomputed outside the database (lib/trail_check.py) and every leaf
#     hash inside it.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); optional
#   WITNESS_SEAL_PGBENCH_DB       database to create and drop (default witness_it_seal_worker)
#   WITNESS_SEAL_PGBENCH_SECONDS  pgbench duration (default 60)
# Needs a superuser (ALTER SYSTEM) and pg_witness in shared_preload_libraries.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"
SCRIPTS="$HERE/seal_worker_pgbench"

DB="${WITNESS_SEAL_PGBENCH_DB:-witness_it_seal_worker}"
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$DB" ]] || MAINT_DB=postgres
SECS="${WITNESS_SEAL_PGBENCH_SECONDS:-60}"
INTERVAL=200ms
SCALE=2
CLIENTS=16
THREADS=2
MARKER=1000000013
LAG_P99_LIMIT=3

WORK="$(mktemp -d /tmp/seal_worker_pgbench.XXXXXX)"
DB_CREATED=0
INTERVAL_CHANGED=0
PREV_AUTO_INTERVAL=
BG_PIDS=()

maint() { "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "$1"; }

cleanup() {
	local rc=$?
	set +e
	local p
	for p in "${BG_PIDS[@]}"; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	if ((INTERVAL_CHANGED)); then
		if [[ -n $PREV_AUTO_INTERVAL ]]; then
			maint "ALTER SYSTEM SET witness.seal_interval = '$PREV_AUTO_INTERVAL'" >/dev/null
		else
			maint "ALTER SYSTEM RESET witness.seal_interval" >/dev/null
		fi
		maint "ALTER SYSTEM RESET witness.record_activity" >/dev/null
		maint "SELECT pg_reload_conf()" >/dev/null
		# Every sealer exits after its pass and the launcher starts no more; wait for the last ones.
		local i
		for ((i = 0; i < 50; i++)); do
			[[ "$(maint "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'pg_witness sealer'")" == 0 ]] && break
			[[ "$(maint "SHOW witness.seal_interval")" != 0 ]] && break
			sleep 0.2
		done
		echo "witness.seal_interval restored: $(maint "SHOW witness.seal_interval")"
	fi
	if ((DB_CREATED)); then
		"$PSQL" -X -q -d "$MAINT_DB" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null ||
			echo "warning: could not drop database $DB" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }

# The chain invariants, as a count of offending blocks.
CHAIN_BAD="SELECT block_no, rn, entry_count, sealed_at, prev_sealed_at, prev_hash = ph AS linked FROM (
             SELECT b.*, row_number() OVER w AS rn, lag(block_hash, 1, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) OVER w AS ph,
                    lag(sealed_at) OVER w AS prev_sealed_at
               FROM witness.block b WINDOW w AS (ORDER BY block_no)) x
            WHERE block_no <> rn OR prev_hash <> ph OR sealed_at < prev_sealed_at OR octet_length(block_hash) <> 32"

# ---------------------------------------------------------------------------------------------
say "setup: database $DB, pg_witness, pgbench -i -s $SCALE, tracking"

maint "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1
maint "CREATE DATABASE \"$DB\"" >/dev/null
DB_CREATED=1
q "CREATE EXTENSION pg_witness" >/dev/null
"$PGBENCH" -i -q -s "$SCALE" "$DB" >"$WORK/init.out" 2>&1 || {
	cat "$WORK/init.out" >&2
	exit 1
}
tail -n 1 "$WORK/init.out"
q "SELECT witness.track('pgbench_accounts', 'financial'), witness.track('pgbench_tellers', 'financial'),
          witness.track('pgbench_branches', 'financial'), witness.track('pgbench_history', 'financial')" >/dev/null
check "tracked tables" "pgbench_accounts|pgbench_branches|pgbench_history|pgbench_tellers" \
	"SELECT string_agg(table_name::text, '|' ORDER BY table_name::text) FROM witness.tracked_tables WHERE table_name::text LIKE 'pgbench%'"
q "CREATE TABLE it_release (x int)" >/dev/null

# Switch the worker on only now, so that the tracking above is not sealed piecemeal.
PREV_AUTO_INTERVAL="$(maint "SELECT setting FROM pg_file_settings WHERE name = 'witness.seal_interval'
                              AND sourcefile LIKE '%postgresql.auto.conf' AND applied ORDER BY seqno DESC LIMIT 1")"
echo "witness.seal_interval before: $(maint "SHOW witness.seal_interval")"
INTERVAL_CHANGED=1
# The checks count entries and blocks exactly: the logins and calls of the checks themselves, which
# pg_witness would record as activity (docs/activity.md), are not recorded here.
maint "ALTER SYSTEM SET witness.record_activity = reads" >/dev/null
maint "ALTER SYSTEM SET witness.seal_interval = '$INTERVAL'" >/dev/null
maint "SELECT pg_reload_conf()" >/dev/null
# Each background pass is a short-lived worker: witness.seal_status shows that one finished here.
if ! wait_for "a background pass in $DB" 30 \
	"SELECT last_pass_result IN ('sealed', 'nothing to seal') FROM witness.seal_status"; then
	check_ok "background sealer sealed in $DB within 30 s" "witness.seal_status: $(q "SELECT * FROM witness.seal_status")"
	finish seal_worker_pgbench
fi
check "background sealer on in $DB, a pass within the last 2 s, witness.seal_interval" "on|true|200ms" \
	"SELECT background || '|' || (clock_timestamp() - last_pass_at < interval '2 s') || '|' || current_setting('witness.seal_interval')
	   FROM witness.seal_status"
wait_for "initial entries sealed" 10 "SELECT entries_pending = 0 FROM witness.verify()" || true
MAX0="$(q "SELECT coalesce(max(id), 0) FROM witness.entry")"
B_BEFORE="$(q "SELECT coalesce(max(block_no), 0) FROM witness.block")"
echo "before the run: max entry id $MAX0, $B_BEFORE blocks"

# ---------------------------------------------------------------------------------------------
say "pgbench: $CLIENTS clients, $THREADS threads, ${SECS}s (tpcb 8 : rollback 2), sealer every $INTERVAL"

T0="$(q "SELECT clock_timestamp()")"
rc=0
# In the background, so that a signal reaches the cleanup at once (it stops pgbench).
"$PGBENCH" -n -h 127.0.0.1 -c "$CLIENTS" -j "$THREADS" -T "$SECS" -s "$SCALE" \
	-f "$SCRIPTS/tpcb.sql@8" -f "$SCRIPTS/rollback.sql@2" "$DB" >"$WORK/pgbench.out" 2>&1 &
BG_PIDS+=("$!")
wait "$!" || rc=$?
BG_PIDS=()
T1="$(q "SELECT clock_timestamp()")"
grep -E '^(number of|tps|latency average)' "$WORK/pgbench.out" || true
if ((rc != 0)) || grep -qiE 'aborted|error' "$WORK/pgbench.out"; then
	echo "---- pgbench output (errors) ----"
	grep -iE 'aborted|error' "$WORK/pgbench.out" | head -20 || true
fi
TPS="$(sed -n 's|^tps = \([0-9.]*\).*|\1|p' "$WORK/pgbench.out")"
FAILED_TX="$(sed -n 's|^number of failed transactions: \([0-9]*\).*|\1|p' "$WORK/pgbench.out")"
PROCESSED="$(sed -n 's|^number of transactions actually processed: \([0-9]*\).*|\1|p' "$WORK/pgbench.out")"
check "pgbench exit status" 0 "SELECT $rc"
check "pgbench failed transactions" 0 "SELECT ${FAILED_TX:-NULL}::int"
check "pgbench processed transactions > 0" t "SELECT ${PROCESSED:-0} > 0"
BLOCKS_RUN="$(q "SELECT count(*) FROM witness.block WHERE sealed_at BETWEEN '$T0' AND '$T1'")"
echo "tps ${TPS:-?}, $PROCESSED transactions, $BLOCKS_RUN blocks sealed during the run"

# ---------------------------------------------------------------------------------------------
say "drain: wait until witness.verify() reports nothing pending (30 s at most)"

# The maintainer (docs/verification.md, "The background sealer") evaluates the alert rules after the
# seals and may still be catching up when the last seal is done; an alert it raises is an entry of
# its own, sealed by a later pass. Settled: the alert rules have seen every block, and nothing is
# pending.
SETTLED="SELECT (SELECT COALESCE(max(last_block), 0) FROM witness.alert_state) >= (SELECT COALESCE(max(block_no), 0) FROM witness.block)
                AND (SELECT entries_pending = 0 FROM witness.verify())"
t_drain=$(now)
if wait_for "entries_pending = 0" 30 "$SETTLED"; then
	check_ok "nothing pending $(elapsed "$t_drain" "$(now)") s after pgbench ended" ok
else
	check_ok "nothing pending within 30 s after pgbench ended" \
		"still pending: $(q "SELECT entries_pending FROM witness.verify()")"
fi
t_v=$(now)
check "witness.verify(): one row, status valid, nothing pending" "1|valid|0" \
	"SELECT count(*), string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
echo "verify() took $(elapsed "$t_v" "$(now)") s"
qt "SELECT status, blocks_checked, entries_checked, entries_pending FROM witness.verify()"

# ---------------------------------------------------------------------------------------------
say "block membership recomputed in SQL from the stored snapshots"

# block k = entries visible in snapshot k and not in snapshot k-1. The xid bounds only help the
# index: xid < xmin(k-1) implies visible in k-1, xid >= xmax(k) implies not visible in k.
# The checks cover the blocks there were when it_member was made (it_last, the newest of them, read
# in the same snapshot) and the entries its snapshot sees: the sealer keeps sealing meanwhile, and
# entries keep arriving (the activity drain writes a "lost" row whenever another database's events
# expire), so later ones are pending, not missing.
q "BEGIN ISOLATION LEVEL REPEATABLE READ;
   CREATE TABLE it_last AS SELECT block_no, snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1;
   CREATE TABLE it_member AS
   WITH bp AS (SELECT block_no, snapshot AS s, lag(snapshot) OVER (ORDER BY block_no) AS p, sealed_at FROM witness.block)
   SELECT e.id, e.xid, e.stmt_time, bp.block_no, bp.sealed_at
     FROM bp JOIN witness.entry e
       ON e.xid >= coalesce(pg_snapshot_xmin(bp.p), '0'::xid8) AND e.xid < pg_snapshot_xmax(bp.s)
      AND pg_visible_in_snapshot(e.xid, bp.s) AND (bp.p IS NULL OR NOT pg_visible_in_snapshot(e.xid, bp.p));
   COMMIT;
   ANALYZE it_member" >/dev/null
SEALED_ENTRIES="SELECT e.* FROM witness.entry e, it_last l WHERE pg_visible_in_snapshot(e.xid, l.snapshot)"
N_ENTRIES="$(q "SELECT count(*) FROM ($SEALED_ENTRIES) e")"
N_BLOCKS="$(q "SELECT block_no FROM it_last")"
echo "$N_ENTRIES entries, $N_BLOCKS blocks"
not_once="SELECT e.id, e.xid, e.stmt_time, m.n, m.blocks FROM ($SEALED_ENTRIES) e
            LEFT JOIN (SELECT id, count(*) AS n, array_agg(block_no) AS blocks FROM it_member GROUP BY id) m USING (id)
           WHERE coalesce(m.n, 0) <> 1"
check "entries not in exactly one block" 0 "SELECT count(*) FROM ($not_once) x" "$not_once"
check "sum(block.entry_count) = count(*) of witness.entry" "$N_ENTRIES" \
	"SELECT sum(entry_count) FROM witness.block WHERE block_no <= (SELECT block_no FROM it_last)"
block_bad="SELECT b.block_no, b.entry_count, m.n, b.first_entry_id, m.first_id, b.last_entry_id, m.last_id
             FROM witness.block b LEFT JOIN (SELECT block_no, count(*) AS n, min(id) AS first_id, max(id) AS last_id
                                               FROM it_member GROUP BY block_no) m USING (block_no)
            WHERE b.block_no <= (SELECT block_no FROM it_last)
              AND (b.entry_count, b.first_entry_id, b.last_entry_id) IS DISTINCT FROM (coalesce(m.n, 0), m.first_id, m.last_id)"
check "blocks whose entry_count / first_entry_id / last_entry_id differ from their members" 0 \
	"SELECT count(*) FROM ($block_bad) x" "$block_bad"
check "blocks without entries (the sealer makes none)" 0 "SELECT count(*) FROM witness.block WHERE entry_count = 0"
check "blocks: numbers consecutive from 1, prev_hash = previous block_hash, sealed_at ascending" 0 \
	"SELECT count(*) FROM ($CHAIN_BAD) x" "$CHAIN_BAD"

# ---------------------------------------------------------------------------------------------
say "rolled-back work is absent"

check "no entry contains the marker $MARKER" 0 \
	"SELECT count(*) FROM witness.entry WHERE concat(old_values::text, ' ', new_values::text, ' ', row_key::text) LIKE '%$MARKER%'" \
	"SELECT id, table_name, old_values, new_values FROM witness.entry
	  WHERE concat(old_values::text, ' ', new_values::text, ' ', row_key::text) LIKE '%$MARKER%'"
check "no history entry with filler 'marker'" 0 \
	"SELECT count(*) FROM witness.entry WHERE table_name = 'pgbench_history' AND new_values->>'filler' LIKE 'marker%'"
check "tables hold no marker either (balances stay below 500000000)" 0 \
	"SELECT (SELECT count(*) FROM pgbench_accounts WHERE abs(abalance) >= 500000000)
	      + (SELECT count(*) FROM pgbench_tellers WHERE abs(tbalance) >= 500000000)
	      + (SELECT count(*) FROM pgbench_branches WHERE abs(bbalance) >= 500000000)
	      + (SELECT count(*) FROM pgbench_history WHERE abs(delta) >= 500000000)"
check "history rows = history INSERT entries of the run" t \
	"SELECT (SELECT count(*) FROM pgbench_history) = (SELECT count(*) FROM witness.entry WHERE id > $MAX0 AND table_name = 'pgbench_history')"

# ---------------------------------------------------------------------------------------------
say "the worker sealed, and how fast"

check "blocks sealed during the ${SECS}s run >= $SECS (one per second on average; interval $INTERVAL)" t \
	"SELECT $BLOCKS_RUN >= $SECS"
qt "SELECT count(*) AS blocks, round(avg(entry_count), 1) AS avg_entries, max(entry_count) AS max_entries,
           round(extract(epoch FROM max(sealed_at) - min(sealed_at)) / greatest(count(*) - 1, 1), 3) AS avg_gap_s
      FROM witness.block WHERE sealed_at BETWEEN '$T0' AND '$T1'"
LAGS="$(q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3) || '|' ||
                 round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3) || '|' || round(max(l)::numeric, 3) || '|' ||
                 round(min(l)::numeric, 3) || '|' || count(*)
            FROM (SELECT extract(epoch FROM sealed_at - stmt_time) AS l FROM it_member WHERE id > $MAX0) x")"
IFS='|' read -r LAG_P50 LAG_P99 LAG_MAX LAG_MIN LAG_N <<<"$LAGS"
BLAGS="$(q "SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY l)::numeric, 3) || '|' ||
                  round(percentile_cont(0.99) WITHIN GROUP (ORDER BY l)::numeric, 3) || '|' || round(max(l)::numeric, 3)
             FROM (SELECT block_no, max(extract(epoch FROM sealed_at - stmt_time)) AS l FROM it_member WHERE id > $MAX0 GROUP BY block_no) x")"
IFS='|' read -r BLAG_P50 BLAG_P99 BLAG_MAX <<<"$BLAGS"
echo "seal lag per entry (sealed_at of its block - stmt_time), $LAG_N entries: p50 ${LAG_P50}s p99 ${LAG_P99}s max ${LAG_MAX}s (min ${LAG_MIN}s)"
echo "seal lag per block (its oldest entry): p50 ${BLAG_P50}s p99 ${BLAG_P99}s max ${BLAG_MAX}s"
check "no entry sealed before its statement started (min lag >= 0)" t "SELECT $LAG_MIN >= 0"
check "entry seal lag p99 <= ${LAG_P99_LIMIT}s" t "SELECT $LAG_P99 <= $LAG_P99_LIMIT"

# ---------------------------------------------------------------------------------------------
say "a long-running open transaction does not hold back the sealing of others"

cat >"$WORK/long.sql" <<'SQL'
SET application_name = 'it_long_tx';
BEGIN;
SET LOCAL witness.actor = 'long-tx';
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler) VALUES (1, 1, 1, 0, now(), 'long-tx');
-- Stays open until the test inserts into it_release (each statement of the loop sees new commits), 60 s at most.
DO $$ BEGIN FOR i IN 1..600 LOOP EXIT WHEN EXISTS (SELECT 1 FROM it_release); PERFORM pg_sleep(0.1); END LOOP; END $$;
COMMIT;
SQL
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -f "$WORK/long.sql" >"$WORK/long.out" 2>&1 &
LONG_PID=$!
BG_PIDS+=("$LONG_PID")
LONG_OPEN="SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = 'it_long_tx' AND backend_xid IS NOT NULL AND state = 'active')"
if ! wait_for "the long transaction has written its row" 20 "$LONG_OPEN"; then
	cat "$WORK/long.out"
	check_ok "long transaction started" "it did not show up in pg_stat_activity"
	finish seal_worker_pgbench
fi
# Its full xid (xid8): backend_xid with the epoch of the current snapshot's xmax (one epoch earlier
# if that would put it far beyond xmax, across a wraparound).
LONG_XID="$(q "WITH c AS (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint AS cur, backend_xid::text::bigint AS x
                           FROM pg_stat_activity WHERE application_name = 'it_long_tx')
               SELECT CASE WHEN ((cur >> 32) << 32 | x) > cur + 100000000 THEN (((cur >> 32) - 1) << 32 | x)
                           ELSE ((cur >> 32) << 32 | x) END FROM c")"
B_LONG="$(q "SELECT coalesce(max(block_no), 0) FROM witness.block")"
echo "long transaction xid $LONG_XID open; newest block $B_LONG"
for i in 1 2 3; do
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "SET witness.actor = 'short-$i'" \
		-c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = $i" >/dev/null
done
sleep 2
check "long transaction still open (precondition of the checks below)" t "$LONG_OPEN"
check "3 short transactions committed after it are sealed within 2 s" 3 \
	"SELECT count(*) FROM witness.entry WHERE actor LIKE 'short-%' AND (witness.block_of(id)).block_no IS NOT NULL" \
	"SELECT id, xid, actor, (witness.block_of(id)).block_no FROM witness.entry WHERE actor LIKE 'short-%'"
check "... into blocks made after the long transaction started" t \
	"SELECT bool_and((witness.block_of(id)).block_no > $B_LONG) FROM witness.entry WHERE actor LIKE 'short-%'"
check "the long transaction is in progress in the newest block's snapshot (its entry sealed nowhere)" "f|t" \
	"SELECT pg_visible_in_snapshot('$LONG_XID'::xid8, snapshot), '$LONG_XID'::xid8 IN (SELECT pg_snapshot_xip(snapshot))
	   FROM witness.block ORDER BY block_no DESC LIMIT 1"
check "its entry is not visible to others yet" 0 "SELECT count(*) FROM witness.entry WHERE actor = 'long-tx'"
check "witness.verify() valid meanwhile" valid "SELECT string_agg(status, ',') FROM witness.verify()"
SHORT_MAX_BLOCK="$(q "SELECT max((witness.block_of(id)).block_no) FROM witness.entry WHERE actor LIKE 'short-%'")"

q "INSERT INTO it_release VALUES (1)" >/dev/null
rc=0
wait "$LONG_PID" || rc=$?
BG_PIDS=()
check "long transaction committed (psql exit status)" 0 "SELECT $rc"
[[ $rc -eq 0 ]] || cat "$WORK/long.out"
wait_for "the long transaction's entry is sealed" 10 \
	"SELECT coalesce(bool_and((witness.block_of(id)).block_no IS NOT NULL), false) FROM witness.entry WHERE actor = 'long-tx'" || true
check "long transaction: one entry, xid $LONG_XID, sealed into a block after those of the short ones (> $SHORT_MAX_BLOCK)" "1|t|t" \
	"SELECT count(*), bool_and(xid = '$LONG_XID'::xid8), bool_and((witness.block_of(id)).block_no > $SHORT_MAX_BLOCK)
	   FROM witness.entry WHERE actor = 'long-tx'" \
	"SELECT id, xid, (witness.block_of(id)).block_no FROM witness.entry WHERE actor = 'long-tx'"
echo "short transactions sealed by block $SHORT_MAX_BLOCK, the long one in block" \
	"$(q "SELECT (witness.block_of(id)).block_no FROM witness.entry WHERE actor = 'long-tx'")"

# ---------------------------------------------------------------------------------------------
say "two sealers never run at once"

# Session A commits x1, then seals in a transaction that stays open 4 s (the worker may seal x1
# first; then A's seal() has nothing to seal but holds the sealer lock all the same).
cat >"$WORK/a.sql" <<'SQL'
SET application_name = 'it_sealer_a';
BEGIN;
SET LOCAL witness.actor = 'sealer-x1';
UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 11;
COMMIT;
BEGIN;
SELECT 'A sealed block ' || block_no || ' (' || entry_count || ' entries)' FROM witness.seal();
SELECT pg_sleep(4);
COMMIT;
SQL
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -f "$WORK/a.sql" >"$WORK/a.out" 2>&1 &
A_PID=$!
BG_PIDS+=("$A_PID")
A_HOLDS="SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                         WHERE a.application_name = 'it_sealer_a' AND l.relation = 'witness.block'::regclass
                           AND l.mode = 'ShareRowExclusiveLock' AND l.granted)"
if ! wait_for "session A holds the sealer lock" 10 "$A_HOLDS"; then
	cat "$WORK/a.out"
	check_ok "session A's witness.seal() holds the sealer lock" "no ShareRowExclusiveLock on witness.block seen"
fi
t_x2=$(now)
"$PSQL" -X -q -d "$DB" -c "SET witness.actor = 'sealer-x2'" -c "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid = 12" >/dev/null
X2_SECONDS="$(elapsed "$t_x2" "$(now)")"
check "a capturing UPDATE commits while a sealer holds its lock (took ${X2_SECONDS}s < 1 s)" t "SELECT $X2_SECONDS < 1"
(
	t_b=$(now)
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "SET application_name = 'it_sealer_b'" \
		-c "SELECT 'B sealed block ' || block_no || ' (' || entry_count || ' entries)' FROM witness.seal()"
	echo "B took $(elapsed "$t_b" "$(now)")"
) >"$WORK/b.out" 2>&1 &
B_PID=$!
BG_PIDS+=("$B_PID")
B_WAITS="SELECT EXISTS (SELECT 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                         WHERE a.application_name = 'it_sealer_b' AND l.relation = 'witness.block'::regclass AND NOT l.granted)"
if wait_for "session B waits for the sealer lock" 5 "$B_WAITS"; then
	check_ok "session B's witness.seal() waits for A's lock on witness.block (pg_locks: not granted)" ok
else
	check_ok "session B's witness.seal() waits for A's lock on witness.block" "B was never seen waiting"
fi
check "A still holds the lock while B waits" t "$A_HOLDS"
rc_a=0 rc_b=0
wait "$A_PID" || rc_a=$?
wait "$B_PID" || rc_b=$?
BG_PIDS=()
cat "$WORK/a.out" "$WORK/b.out" | sed 's/^/      /'
check "session A and B exit status" "0|0" "SELECT '$rc_a|$rc_b'"
B_SECONDS="$(sed -n 's/^B took //p' "$WORK/b.out")"
check "B's witness.seal() waited for A's transaction (took ${B_SECONDS:-?}s >= 2 s)" t "SELECT ${B_SECONDS:-0} >= 2"
A_BLOCK="$(sed -n 's/^A sealed block \([0-9]*\).*/\1/p' "$WORK/a.out")"
X1_BLOCK="$(q "SELECT (witness.block_of(id)).block_no FROM witness.entry WHERE actor = 'sealer-x1'")"
wait_for "x2 sealed" 5 "SELECT (witness.block_of(id)).block_no IS NOT NULL FROM witness.entry WHERE actor = 'sealer-x2'" || true
X2_BLOCK="$(q "SELECT (witness.block_of(id)).block_no FROM witness.entry WHERE actor = 'sealer-x2'")"
echo "A's block: ${A_BLOCK:-none (nothing to seal)}; x1 (before A) in block ${X1_BLOCK:-?}; x2 (while A held the lock) in block ${X2_BLOCK:-?}"
check "x2, committed while A held the lock, is sealed in a block after A's and x1's" t \
	"SELECT ${X2_BLOCK:-0} > greatest(${A_BLOCK:-0}, ${X1_BLOCK:-0}) AND ${X1_BLOCK:-0} > 0"
check "blocks: numbers consecutive from 1, prev_hash = previous block_hash, sealed_at ascending" 0 \
	"SELECT count(*) FROM ($CHAIN_BAD) x" "$CHAIN_BAD"

# ---------------------------------------------------------------------------------------------
say "the whole trail"

wait_for "nothing pending" 10 "$SETTLED" || true
check "witness.verify(): one row, status valid, nothing pending" "1|valid|0" \
	"SELECT count(*), string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
qt "SELECT status, blocks_checked, entries_checked, entries_pending FROM witness.verify()"
check_trail "final trail" "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB"

echo
echo "summary: tps ${TPS:-?}; $(q "SELECT count(*) FROM witness.block") blocks, $(q "SELECT count(*) FROM witness.entry") entries;" \
	"lag per entry p50 ${LAG_P50}s p99 ${LAG_P99}s max ${LAG_MAX}s"
finish seal_worker_pgbench
