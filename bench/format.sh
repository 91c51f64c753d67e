#!/usr/bin/env bash
# What format 2 (salt, commitment: docs/hashing.md) costs capture against format 1, in one
# invocation with one library: a throw-away cluster with two databases, one whose pg_witness is at
# version 0.1 (CREATE EXTENSION pg_witness VERSION '0.1': the library captures format 1 there until
# ALTER EXTENSION UPDATE) and one at 0.2 (format 2). Both track the pgbench tables; the workloads run
# interleaved, BENCH_ROUNDS rounds, and the summary gives format 2 / format 1 per workload.
#
#   bash bench/format.sh
#
# Workloads: pgbench tpcb-like at each of BENCH_CLIENTS for BENCH_DURATION s; a bulk INSERT of
# BENCH_BULK_ROWS rows into a tracked table and a bulk UPDATE of them. Target (issue 10): every ratio
# >= 0.97. Environment (all optional): BENCH_ROUNDS (3), BENCH_CLIENTS ("1 16"), BENCH_DURATION (15),
# BENCH_SCALE (10), BENCH_BULK_ROWS (200000), plus those of scripts/lib.sh. The extension must be
# installed (make install).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

ROUNDS="${BENCH_ROUNDS:-3}"
read -r -a CLIENTS <<<"${BENCH_CLIENTS:-1 16}"
DURATION="${BENCH_DURATION:-15}"
SCALE="${BENCH_SCALE:-10}"
BULK_ROWS="${BENCH_BULK_ROWS:-200000}"
PGBENCH_TABLES="ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']::regclass[]"

start_cluster "witness.seal_interval = 0" "shared_buffers = 1GB" "max_wal_size = 8GB" "checkpoint_timeout = 30min"
qdb() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$1" -c "$2"; }
for f in 1 2; do
	db="format$f"
	qdb postgres "CREATE DATABASE $db" >/dev/null
	if [[ $f == 1 ]]; then
		qdb "$db" "CREATE EXTENSION pg_witness VERSION '0.1'" >/dev/null
	else
		qdb "$db" "CREATE EXTENSION pg_witness" >/dev/null
	fi
	pgbench -q -i -s "$SCALE" "$db" >/dev/null 2>&1
	qdb "$db" "CREATE TABLE bulk (id bigint PRIMARY KEY, a int, b text, c numeric, d timestamptz)" >/dev/null
	qdb "$db" "SET client_min_messages = warning; SELECT witness.track(t) FROM unnest($PGBENCH_TABLES || ARRAY['bulk'::regclass]) t" >/dev/null
done
log "versions: format1 $(qdb format1 "SELECT extversion FROM pg_extension WHERE extname = 'pg_witness'"), format2 $(qdb format2 "SELECT extversion FROM pg_extension WHERE extname = 'pg_witness'")"

RESULTS="$(mktemp)"
run_tpcb() { # ROUND CLIENTS FORMAT
	local tps
	qdb "format$3" CHECKPOINT >/dev/null
	tps="$(pgbench -n -c "$2" -j "$(($2 < 2 ? $2 : 2))" -T "$DURATION" -M prepared "format$3" 2>&1 | awk '/^tps = / { print $3; exit }')"
	echo "tpcb-$2 $3 $tps" >>"$RESULTS"
	log "round $1  tpcb-like $(printf '%2d' "$2") clients  format $3  $tps tps"
}
run_bulk() { # ROUND FORMAT
	local t0 t1 t2
	qdb "format$2" "TRUNCATE bulk" >/dev/null
	qdb "format$2" CHECKPOINT >/dev/null
	t0="$(date +%s.%N)"
	qdb "format$2" "INSERT INTO bulk SELECT g, g, md5(g::text), g * 1.5, now() FROM generate_series(1, $BULK_ROWS) g" >/dev/null
	t1="$(date +%s.%N)"
	qdb "format$2" "UPDATE bulk SET a = a + 1, b = upper(b)" >/dev/null
	t2="$(date +%s.%N)"
	echo "bulk-insert $2 $(awk -v n="$BULK_ROWS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')" >>"$RESULTS"
	echo "bulk-update $2 $(awk -v n="$BULK_ROWS" -v a="$t1" -v b="$t2" 'BEGIN { printf "%.1f", n / (b - a) }')" >>"$RESULTS"
	log "round $1  bulk INSERT/UPDATE  format $2  $(tail -n 2 "$RESULTS" | awk '{ printf "%s rows/s  ", $3 }')"
}

for round in $(seq 1 "$ROUNDS"); do
	section "round $round of $ROUNDS"
	# Alternate which format goes first, so that neither always runs on a warmer machine.
	if ((round % 2)); then order="1 2"; else order="2 1"; fi
	for c in "${CLIENTS[@]}"; do
		for f in $order; do run_tpcb "$round" "$c" "$f"; done
	done
	for f in $order; do run_bulk "$round" "$f"; done
done

check_format() { # DB FORMAT
	qdb "$1" "SELECT count(*) FILTER (WHERE format <> $2) FROM witness.entry"
}
[[ "$(check_format format1 1)" == 0 && "$(check_format format2 2)" == 0 ]] || die "a database captured the other format"

section "format 2 / format 1 (median of the rounds; target >= 0.97)"
awk '{ v[$1 "," $2] = v[$1 "," $2] " " $3 } END {
	for (k in v) print k, v[k] }' "$RESULTS" | sort >"$RESULTS.by"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
for w in $(awk '{ print $1 }' "$RESULTS" | sort -u); do
	m1="$(grep "^$w 1 " "$RESULTS" | awk '{ print $3 }' | median)"
	m2="$(grep "^$w 2 " "$RESULTS" | awk '{ print $3 }' | median)"
	awk -v w="$w" -v a="$m1" -v b="$m2" 'BEGIN { r = b / a; printf "%-14s format 1 %12.1f   format 2 %12.1f   ratio %.3f  %s\n", w, a, b, r, (r >= 0.97 ? "PASS" : "FAIL") }'
done
rm -f "$RESULTS" "$RESULTS.by"
