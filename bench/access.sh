#!/usr/bin/env bash
# Benchmark of the activity records of issue "who may see what" (docs/activity.md;
# docs/performance.md, "Sensitive reads and logins"). One throw-away cluster, one invocation.
#
#   bash bench/access.sh                                    # defaults: about 6 minutes
#   BENCH_DURATION=5 BENCH_ROUNDS=1 bash bench/access.sh    # smoke run
#
# Two measurements, each as a ratio to a baseline run in the same invocation, rounds interleaved:
#   select-only  pgbench -S at BENCH_CLIENTS clients (default 16): pgbench_accounts untracked, then
#                tracked with capture_reads (every statement recorded in witness.activity by the
#                sealer, which runs every second in both modes). After each tracked run the script
#                checks that the activity rows written match pgbench's transactions.
#   connect      pgbench -S -C (a new connection per transaction) at BENCH_CONNECT_CLIENTS clients
#                (default 8): the server without pg_witness in shared_preload_libraries, then with it
#                (every login recorded in witness.activity).
# The extension must be installed already (make install); BENCH_BUILD=1 builds and installs it first.
#
# Environment (all optional): BENCH_DURATION seconds per run (default 20), BENCH_ROUNDS (default 3),
# BENCH_SCALE pgbench scale (default 10), BENCH_OUT (default bench/out), plus scripts/lib.sh's.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

DURATION="${BENCH_DURATION:-20}"
ROUNDS="${BENCH_ROUNDS:-3}"
SCALE="${BENCH_SCALE:-10}"
CLIENTS="${BENCH_CLIENTS:-16}"
CONNECT_CLIENTS="${BENCH_CONNECT_CLIENTS:-8}"
OUT_DIR="${BENCH_OUT:-$REPO/bench/out}"
DB=bench_access
for v in DURATION ROUNDS SCALE CLIENTS CONNECT_CLIENTS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v (BENCH_*) must be a positive integer, not '${!v}'"
done
mkdir -p "$OUT_DIR"
SUMMARY="$OUT_DIR/access-summary-$(date -u +%Y%m%dT%H%M%SZ).txt"

qv() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
report() { log "$*"; echo "$*" >>"$SUMMARY"; }
# tps ARGS...: pgbench's "tps = N (without initial connection time)" figure.
tps() { "$PG_BINDIR/pgbench" -n -T "$DURATION" "$@" "$DB" 2>&1 | awk '/^tps = / { print $3; exit }'; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
restart() { (cd "$WITNESS_TMP" && as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$WITNESS_SERVER_LOG" -w -t 120 restart) >/dev/null; }

if [[ ${BENCH_BUILD:-0} == 1 ]]; then
	install_deps
	build_ext
fi

WITNESS_PRELOAD=pg_witness start_cluster "shared_buffers = 1GB" "max_connections = 60" "witness.seal_interval = 1s" \
	"include_if_exists = 'preload.conf'"
# preload LIBS: shared_preload_libraries from the next restart on.
preload() { as_pg sh -c "echo \"shared_preload_libraries = '$1'\" >'$PGDATA/preload.conf'"; }
psql -X -q -d postgres -c "CREATE DATABASE $DB"
qv -c "CREATE EXTENSION pg_witness"
"$PG_BINDIR/pgbench" -i -q -s "$SCALE" "$DB" >/dev/null 2>&1
qv -c "VACUUM ANALYZE"
report "pg_witness access benchmark: $(nproc) cores, scale $SCALE, $DURATION s per run, $ROUNDS rounds"

# --- select-only with capture_reads
declare -a plain=() reads=()
for ((r = 1; r <= ROUNDS; r++)); do
	qv -c "SELECT witness.untrack('pgbench_accounts') FROM witness.tracked_table WHERE relid = 'pgbench_accounts'::regclass" >/dev/null
	t="$(tps -S -c "$CLIENTS" -j 2)"
	plain+=("$t")
	report "round $r select-only $CLIENTS clients untracked: $t tps"
	qv -c "SELECT witness.track('pgbench_accounts', capture_reads => true)" >/dev/null
	qv -c "SELECT witness.flush_activity()" >/dev/null
	before="$(qv -c "SELECT COALESCE(sum(statement_count), 0) FROM witness.activity WHERE kind = 'read'")"
	out="$("$PG_BINDIR/pgbench" -n -T "$DURATION" -S -c "$CLIENTS" -j 2 "$DB" 2>&1)"
	t="$(awk '/^tps = / { print $3; exit }' <<<"$out")"
	txns="$(awk '/^number of transactions actually processed:/ { print $6; exit }' <<<"$out")"
	qv -c "SELECT witness.flush_activity()" >/dev/null
	after="$(qv -c "SELECT COALESCE(sum(statement_count), 0) FROM witness.activity WHERE kind = 'read'")"
	reads+=("$t")
	report "round $r select-only $CLIENTS clients capture_reads: $t tps; $txns transactions, $((after - before)) reads recorded"
	[[ $((after - before)) -eq $txns ]] || report "  MISMATCH: recorded reads differ from transactions"
done
p="$(printf '%s\n' "${plain[@]}" | median)"
c="$(printf '%s\n' "${reads[@]}" | median)"
report "select-only $CLIENTS clients: median untracked $p tps, capture_reads $c tps, ratio $(awk -v a="$c" -v b="$p" 'BEGIN { printf "%.3f", a / b }') (target >= 0.80)"
qv -c "SELECT witness.untrack('pgbench_accounts')" >/dev/null

# --- a new connection per transaction, with and without pg_witness loaded
declare -a unloaded=() loaded=()
for ((r = 1; r <= ROUNDS; r++)); do
	preload ''
	restart
	t="$(tps -S -C -c "$CONNECT_CLIENTS" -j 2)"
	unloaded+=("$t")
	report "round $r connect $CONNECT_CLIENTS clients, pg_witness not loaded: $t tps"
	preload pg_witness
	restart
	before="$(qv -c "SELECT witness.flush_activity(); SELECT COALESCE(sum(statement_count), 0) FROM witness.activity WHERE kind = 'login'" | tail -1)"
	t="$(tps -S -C -c "$CONNECT_CLIENTS" -j 2)"
	loaded+=("$t")
	after="$(qv -c "SELECT witness.flush_activity(); SELECT COALESCE(sum(statement_count), 0) FROM witness.activity WHERE kind = 'login'" | tail -1)"
	report "round $r connect $CONNECT_CLIENTS clients, pg_witness loaded: $t tps; $((after - before)) logins recorded"
done
p="$(printf '%s\n' "${unloaded[@]}" | median)"
c="$(printf '%s\n' "${loaded[@]}" | median)"
report "connect $CONNECT_CLIENTS clients: median without pg_witness $p tps, with $c tps, ratio $(awk -v a="$c" -v b="$p" 'BEGIN { printf "%.3f", a / b }') (target >= 0.90)"
report "verify: $(qv -c "SELECT witness.seal()" -c "SELECT string_agg(DISTINCT status, ', ') FROM witness.verify()" | tail -1)"
log "summary: $SUMMARY"
