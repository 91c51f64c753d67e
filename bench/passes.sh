#!/usr/bin/env bash
# What one background sealing pass costs, and how many passes witness.max_sealers workers make per
# second: a throw-away cluster with BENCH_PASS_DBS databases that have pg_witness and nothing to
# seal, witness.seal_interval set to each of BENCH_PASS_INTERVALS in turn, BENCH_PASS_SECONDS each.
# See docs/verification.md, "The background sealer", and docs/performance.md.
#
#   bash bench/passes.sh
#
# Passes are counted from the server log (log_min_messages = debug1: "sealer pass in database"; the
# logging itself is part of the cost measured). Their CPU is the postmaster's cutime + cstime in
# /proc (the CPU of children that have exited: every sealer worker exits after its pass); the
# launcher's own CPU is read from its /proc entry.
#
# Environment (all optional): BENCH_PASS_DBS (default 6), BENCH_PASS_SECONDS (default 20),
# BENCH_PASS_INTERVALS (default "10ms 100ms 1s"), BENCH_PASS_MAX_SEALERS (default 2), plus those of
# scripts/lib.sh (PG_BINDIR, PG_CONFIG, ...). The extension must be installed (make install).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

NDB="${BENCH_PASS_DBS:-6}"
SECONDS_EACH="${BENCH_PASS_SECONDS:-20}"
INTERVALS="${BENCH_PASS_INTERVALS:-10ms 100ms 1s}"
MAX_SEALERS="${BENCH_PASS_MAX_SEALERS:-2}"
TCK="$(getconf CLK_TCK)"

start_cluster "witness.seal_interval = 0" "witness.max_sealers = $MAX_SEALERS" "log_min_messages = debug1"
qpg() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres "$@"; }
for i in $(seq 1 "$NDB"); do
	qpg -c "CREATE DATABASE passes$i" >/dev/null
	psql -X -q -v ON_ERROR_STOP=1 -d "passes$i" -c "CREATE EXTENSION pg_witness" >/dev/null
done
PM="$(head -n 1 "$PGDATA/postmaster.pid")"
LAUNCHER="$(pgrep -P "$PM" -f 'pg_witness launcher')"
DBS="$(qpg -c "SELECT count(*) FROM pg_database WHERE datallowconn AND NOT datistemplate")"
children_ticks() { awk '{ print $16 + $17 }' "/proc/$PM/stat"; }
launcher_ticks() { awk '{ print $14 + $15 }' "/proc/$LAUNCHER/stat"; }
passes() { grep -c 'sealer pass in database' "$WITNESS_SERVER_LOG" || true; }

section "background passes: $NDB databases with pg_witness ($DBS connectable in all), witness.max_sealers = $MAX_SEALERS, ${SECONDS_EACH}s per interval"
for interval in $INTERVALS; do
	qpg -c "ALTER SYSTEM SET witness.seal_interval = '$interval'" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 2
	c0="$(children_ticks)" l0="$(launcher_ticks)" n0="$(passes)"
	sleep "$SECONDS_EACH"
	c1="$(children_ticks)" l1="$(launcher_ticks)" n1="$(passes)"
	awk -v iv="$interval" -v p="$((n1 - n0))" -v c="$((c1 - c0))" -v l="$((l1 - l0))" -v t="$TCK" -v s="$SECONDS_EACH" \
		'BEGIN { printf "interval %-6s %6d passes in %ss (%6.1f/s), workers %.2f ms CPU per pass, launcher %.2f s CPU\n",
		                iv, p, s, p / s, (p > 0 ? c / t * 1000 / p : 0), l / t }'
done
qpg -c "ALTER SYSTEM SET witness.seal_interval = 0" -c "SELECT pg_reload_conf()" >/dev/null
