#!/usr/bin/env bash
# Which SQL functions of pg_witness the work of sealing every second calls, how often, and for how
# long, under tpcb-like load: a throw-away cluster with track_functions = 'all', the pgbench tables
# tracked, BENCH_DURATION seconds of pgbench at BENCH_CLIENTS clients while the background sealer
# seals every BENCH_SEAL_INTERVAL ms, then pg_stat_user_functions. See docs/performance.md, "Where
# sealing every second spends its time".
#
#   bash bench/seal_functions.sh     # as root, from the repository root, after make install; about 1 minute
#
# The times are wall-clock times inside each function (pg_stat_user_functions), not CPU: on a machine
# with fewer cores than clients the workers wait for the CPU inside them too. They give the order of
# the steps, not their cost; bench/seal.sh measures the cost.
#
# Environment (all optional): BENCH_DURATION (default 20), BENCH_CLIENTS (default 16), BENCH_SCALE
# (default 10), BENCH_SEAL_INTERVAL in ms (default 1000), plus those of scripts/lib.sh.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

DURATION="${BENCH_DURATION:-20}"
CLIENTS="${BENCH_CLIENTS:-16}"
SCALE="${BENCH_SCALE:-10}"
SEAL_MS="${BENCH_SEAL_INTERVAL:-1000}"
for v in DURATION CLIENTS SCALE SEAL_MS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v (BENCH_*) must be a positive integer, not '${!v}'"
done

start_cluster "witness.seal_interval = 0" "track_functions = 'all'" "max_worker_processes = 32" "max_connections = 50"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE bench" >/dev/null
"$PG_BINDIR/pgbench" -q -i -s "$SCALE" bench >/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -d bench -c "CREATE EXTENSION pg_witness" \
	-c "SELECT witness.track(t) FROM unnest(ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']::regclass[]) t" \
	>/dev/null 2>&1
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "ALTER SYSTEM SET witness.seal_interval = '${SEAL_MS}ms'" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 2
psql -X -q -v ON_ERROR_STOP=1 -d bench -c "SELECT pg_stat_reset()" >/dev/null

section "tpcb-like, $CLIENTS clients, ${DURATION}s, sealing every ${SEAL_MS} ms"
"$PG_BINDIR/pgbench" -n -c "$CLIENTS" -j 2 -T "$DURATION" -b tpcb-like bench 2>&1 | grep -E '^(tps|number of transactions actually)'
sleep 3 # the last pass, and the statistics flushed
psql -X -d bench -c "SELECT (SELECT count(*) FROM witness.entry) AS entries, (SELECT count(*) FROM witness.block) AS blocks" \
	-c "SELECT schemaname || '.' || funcname AS function, calls, round(total_time::numeric, 1) AS total_ms,
	           round(self_time::numeric, 1) AS self_ms
	    FROM pg_stat_user_functions ORDER BY total_time DESC LIMIT 25"
