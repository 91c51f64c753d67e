#!/usr/bin/env bash
# Integration test: crash recovery with the background sealer running.
#
# Starts a cluster of its own (it kills the postmaster with SIGKILL, which the shared test cluster
# must not suffer): pg_witness preloaded, witness.seal_interval = 100ms. Tracks the pgbench
# tables and runs, twice in a row:
#   pgbench (8 clients, builtin tpcb-like) for ~10 s while the worker seals; then SIGKILL of the
#   postmaster and of every remaining process of that cluster (no shutdown checkpoint, transactions
#   and maybe a seal in flight); restart with pg_ctl (crash recovery); wait until the worker is back
#   and nothing is pending.
# After each restart it checks: the server really recovered from a crash; the blocks committed
# before the crash survived unchanged; witness.verify() is valid; every entry is in exactly one
# block (recomputed from the snapshots), blocks are consecutive and chained; the trail recomputed
# outside the database (lib/trail_check.py) and every leaf hash recomputed in it; the trail agrees
# with the data (history rows = history INSERT entries, sum of deltas), so no committed change lost
# its entry and no entry of a lost transaction survived; the unlogged lookup table, emptied by the
# crash, holds every sealed entry again (witness.verify_lookup()).
#
# Environment: optional WITNESS_CRASH_PGBENCH_SECONDS (seconds of load before each crash, default
# 10). Runs as root (the cluster belongs to PG_OS_USER, postgres) or as the cluster's owner.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

LOAD_SECONDS="${WITNESS_CRASH_PGBENCH_SECONDS:-10}"
ROUNDS=2
DB=witness_crash
SCALE=1
CLIENTS=8

WORK="$(mktemp -d /tmp/crash_recovery.XXXXXX)"
DATADIR="$WORK/data"
LOG="$WORK/server.log"
PORT="$(free_port)"
Q_HOST="$WORK"
Q_PORT="$PORT"
BENCH_PID=

cleanup() {
	local rc=$?
	set +e
	if [[ -n $BENCH_PID ]]; then
		kill "$BENCH_PID" 2>/dev/null
		wait "$BENCH_PID" 2>/dev/null
	fi
	if ((rc != 0)) && [[ -f $LOG ]]; then
		echo "---- last 40 lines of the server log ----"
		tail -n 40 "$LOG"
	fi
	own_cluster_stop "$WORK" "$DATADIR" immediate
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

# crash: SIGKILL the postmaster and every process of this cluster (lib/common.sh).
crash() {
	own_cluster_kill9 "$DATADIR"
}

# ---------------------------------------------------------------------------------------------
say "setup: own cluster on 127.0.0.1:$PORT (socket in $WORK), database $DB"

# The checks count entries and blocks exactly: the logins and calls of the checks themselves, which
# pg_witness would record as activity (docs/activity.md), are not recorded in this cluster.
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "witness.record_activity = reads"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
"$PGBENCH" -h "$WORK" -p "$PORT" -i -q -s "$SCALE" "$DB" >"$WORK/init.out" 2>&1 || {
	cat "$WORK/init.out" >&2
	exit 1
}
q "SELECT witness.track('pgbench_accounts', 'financial'), witness.track('pgbench_tellers', 'financial'),
          witness.track('pgbench_branches', 'financial'), witness.track('pgbench_history', 'financial')" >/dev/null 2>"$WORK/track.err" || {
	cat "$WORK/track.err" >&2
	exit 1
}
# The worker is switched on only now, by ALTER SYSTEM so that it stays on across the crashes.
q "ALTER SYSTEM SET witness.seal_interval = '100ms'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
# Each background pass is a short-lived worker: witness.seal_status shows that one finished here.
SEALER_UP="SELECT background = 'on' AND last_pass_result IN ('sealed', 'nothing to seal') FROM witness.seal_status"
wait_for "the background sealer in $DB" 30 "$SEALER_UP" || true
check "background sealer sealing in $DB, witness.seal_interval" "true|100ms" "SELECT ($SEALER_UP) || '|' || current_setting('witness.seal_interval')"

for ((round = 1; round <= ROUNDS; round++)); do
	# -----------------------------------------------------------------------------------------
	say "round $round: pgbench ($CLIENTS clients, tpcb-like) for ${LOAD_SECONDS}s, then SIGKILL"

	"$PGBENCH" -n -h 127.0.0.1 -p "$PORT" -c "$CLIENTS" -j 2 -T 600 -b tpcb-like "$DB" >"$WORK/pgbench.$round.out" 2>&1 &
	BENCH_PID=$!
	sleep "$LOAD_SECONDS"
	# A block committed before the crash: it must survive unchanged.
	BEFORE="$(q "SELECT block_no || '|' || encode(block_hash, 'hex') FROM witness.block ORDER BY block_no DESC LIMIT 1")"
	ENTRIES_BEFORE="$(q "SELECT count(*) FROM witness.entry")"
	HISTORY_BEFORE="$(q "SELECT count(*) FROM pgbench_history")"
	echo "just before the crash: block ${BEFORE%%|*} committed, $ENTRIES_BEFORE entries, $HISTORY_BEFORE history rows"
	crash
	# pgbench loses its connections and stops.
	for ((i = 0; i < 100; i++)); do
		kill -0 "$BENCH_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill "$BENCH_PID" 2>/dev/null || true
	wait "$BENCH_PID" 2>/dev/null || true
	BENCH_PID=
	echo "pgbench: $(grep -cE 'server closed the connection|terminat|connection' "$WORK/pgbench.$round.out" || true) lines about lost connections"

	log_from=$(wc -l <"$LOG")
	t_restart=$SECONDS
	own_cluster_start "$WORK"
	echo "restarted in $((SECONDS - t_restart)) s"
	if tail -n +"$((log_from + 1))" "$LOG" | grep -q 'database system was not properly shut down; automatic recovery in progress'; then
		check_ok "round $round: the server ran crash recovery (server log)" ok
	else
		check_ok "round $round: the server ran crash recovery (server log)" "no 'automatic recovery in progress' in the log"
	fi
	tail -n +"$((log_from + 1))" "$LOG" | grep -E 'redo (starts|done)|recovery|pg_witness' | head -8 | sed 's/^/      log: /' || true

	# -----------------------------------------------------------------------------------------
	say "round $round: after recovery"

	wait_for "the background sealer is back" 30 "$SEALER_UP" || true
	check "round $round: background sealer running again in $DB" t "$SEALER_UP"
	t_drain=$SECONDS
	if wait_for "nothing pending" 60 "SELECT entries_pending = 0 FROM witness.verify()"; then
		check_ok "round $round: nothing pending $((SECONDS - t_drain)) s after the restart (the worker sealed what the crash left)" ok
	else
		check_ok "round $round: nothing pending within 60 s after the restart" \
			"still pending: $(q "SELECT entries_pending FROM witness.verify()")"
	fi
	check "round $round: witness.verify(): one row, status valid, nothing pending" "1|valid|0" \
		"SELECT count(*), string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()" \
		"SELECT * FROM witness.verify()"
	qt "SELECT status, blocks_checked, entries_checked, entries_pending FROM witness.verify()"
	check "round $round: block ${BEFORE%%|*}, committed before the crash, survived unchanged" "$BEFORE" \
		"SELECT block_no || '|' || encode(block_hash, 'hex') FROM witness.block WHERE block_no = ${BEFORE%%|*}"
	check "round $round: entries committed before the crash survived (>= $ENTRIES_BEFORE)" t \
		"SELECT count(*) >= $ENTRIES_BEFORE FROM witness.entry"
	# Entry ids (docs/capture.md, "Entry ids"): the shared counter died with the server; the first
	# entries after the restart reserve a new run above every id taken before the crash.
	MAXID="$(q "SELECT max(id) FROM witness.entry")"
	q "UPDATE pgbench_branches SET bbalance = bbalance + 1 WHERE bid = 1" >/dev/null
	q "UPDATE pgbench_branches SET bbalance = bbalance - 1 WHERE bid = 1" >/dev/null
	check "round $round: ids after the restart are above every id before it, none taken twice" "2|t" \
		"SELECT count(*) FILTER (WHERE id > $MAXID AND table_name = 'pgbench_branches'), count(*) = count(DISTINCT id) FROM witness.entry"
	check_blocks "round $round"
	# The lookup table is unlogged (docs/views.md, "Speed"): the crash emptied it and its state row
	# together, and the sealer's passes fill it again from the first block.
	check "round $round: witness.entry_lookup and witness.lookup_state are unlogged" "u|u" \
		"SELECT string_agg(relpersistence::text, '|' ORDER BY relname) FROM pg_class WHERE oid IN ('witness.entry_lookup'::regclass, 'witness.lookup_state'::regclass)"
	if wait_for "the lookup table holds the newest block" 60 \
		"SELECT coalesce((SELECT s.block_no FROM witness.lookup_state s), 0) = (SELECT max(block_no) FROM witness.block)"; then
		check_ok "round $round: the sealer refilled the lookup table up to the newest block" ok
	else
		check_ok "round $round: the sealer refilled the lookup table up to the newest block within 60 s" \
			"lookup_state: $(q "SELECT block_no FROM witness.lookup_state"), newest block: $(q "SELECT max(block_no) FROM witness.block")"
	fi
	# Every block the state row covers, whole: its entries = the block's entry_count, a row for each.
	check "round $round: witness.verify_lookup(): a lookup row for every sealed entry, none altered or extra" "0|0|0|true|true" \
		"SELECT sum(v.missing) || '|' || sum(v.altered) || '|' || sum(v.extra)
		        || '|' || (sum(v.entries) = (SELECT sum(b.entry_count) FROM witness.block b WHERE b.block_no <= (SELECT s.block_no FROM witness.lookup_state s)))
		        || '|' || (sum(v.entries) = (SELECT count(*) FROM witness.entry_lookup))
		   FROM witness.verify_lookup() v"
	check "round $round: history rows = history INSERT entries (the trail agrees with the data)" t \
		"SELECT (SELECT count(*) FROM pgbench_history) = (SELECT count(*) FROM witness.entry WHERE table_name = 'pgbench_history')"
	check "round $round: sum(history.delta) = sum of captured deltas = sum(abalance)" t \
		"SELECT (SELECT coalesce(sum(delta), 0) FROM pgbench_history)
		      = (SELECT coalesce(sum((new_values->>'delta')::bigint), 0) FROM witness.entry WHERE table_name = 'pgbench_history')
		    AND (SELECT coalesce(sum(delta), 0) FROM pgbench_history) = (SELECT sum(abalance) FROM pgbench_accounts)"
	check "round $round: accounts: final abalance = sum of captured UPDATE deltas, per row" 0 \
		"SELECT count(*) FROM pgbench_accounts a FULL JOIN (
		   SELECT (row_key->>'aid')::int AS aid, sum((new_values->>'abalance')::bigint - (old_values->>'abalance')::bigint) AS d
		     FROM witness.entry WHERE table_name = 'pgbench_accounts' AND op = 'U' GROUP BY 1) s USING (aid)
		  WHERE a.aid IS NULL OR coalesce(s.d, 0) <> a.abalance"
	check_trail "round $round" "$WORK" "$PORT" "$DB"
	echo "round $round: $(q "SELECT count(*) FROM witness.block") blocks, $(q "SELECT count(*) FROM witness.entry") entries," \
		"$(q "SELECT count(*) FROM pgbench_history") history rows"
done

finish crash_recovery
