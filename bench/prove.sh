#!/usr/bin/env bash
# Benchmark of witness.prove() in a block of a million entries (issue 14; docs/performance.md,
# "Proofs in large blocks"). One throw-away cluster, one invocation.
#
#   bash bench/prove.sh                                  # defaults: about 5 minutes, 2 GB of disk
#   BENCH_ENTRIES=100000 BENCH_ROUNDS=1 bash bench/prove.sh   # smoke run
#
# Each round inserts BENCH_ENTRIES rows into a tracked table in one statement and seals them as one
# block, twice: with witness.proof_chunk_size = 0 (no chunk rows: prove() rebuilds the whole block's
# tree, as before version 0.2's chunk index) and with the default 1024. It times the seal, then
# witness.prove() of the block's first, middle and last entry, BENCH_RUNS times each in one session
# (psql \timing, the time the client waits), and checks that both ways give the same proof. It runs
# ANALYZE witness.entry after each insert, as autovacuum soon would.
# The extension must be installed already (make install); BENCH_BUILD=1 builds and installs it first.
#
# Environment (all optional): BENCH_ENTRIES (default 1000000), BENCH_ROUNDS (default 2),
# BENCH_RUNS (default 5), BENCH_OUT (default bench/out), plus scripts/lib.sh's.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

ENTRIES="${BENCH_ENTRIES:-1000000}"
ROUNDS="${BENCH_ROUNDS:-2}"
RUNS="${BENCH_RUNS:-5}"
OUT_DIR="${BENCH_OUT:-$REPO/bench/out}"
DB=bench_prove
for v in ENTRIES ROUNDS RUNS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v (BENCH_*) must be a positive integer, not '${!v}'"
done
mkdir -p "$OUT_DIR"
SUMMARY="$OUT_DIR/prove-summary-$(date -u +%Y%m%dT%H%M%SZ).txt"

qv() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
report() { log "$*"; echo "$*" >>"$SUMMARY"; }
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# timed SQL...: the milliseconds psql's \timing reports for each statement, one per line.
timed() { printf '%s\n' '\timing on' "$@" | psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" | awk '/^Time: / { print $2 }'; }

if [[ ${BENCH_BUILD:-0} == 1 ]]; then
	install_deps
	build_ext
fi

WITNESS_PRELOAD=pg_witness start_cluster "shared_buffers = 1GB" "witness.seal_interval = 0" "max_wal_size = 4GB"
psql -X -q -d postgres -c "CREATE DATABASE $DB"
qv -c "CREATE EXTENSION pg_witness"
qv -c "CREATE TABLE bench_prove (id bigint PRIMARY KEY, v text)" -c "SELECT witness.track('bench_prove')" >/dev/null
report "pg_witness prove benchmark: $(nproc) cores, blocks of $ENTRIES entries, $ROUNDS rounds, $RUNS proofs per entry"

declare -A seal_ms=() prove_ms=()
next=1
for ((r = 1; r <= ROUNDS; r++)); do
	# Alternate which goes first: the second block of a round is sealed on a larger trail.
	order="0 1024"
	((r % 2 == 0)) && order="1024 0"
	for chunk in $order; do
		qv -c "INSERT INTO bench_prove SELECT g, 'row ' || g FROM generate_series($next, $((next + ENTRIES - 1))) g"
		next=$((next + ENTRIES))
		# Statistics as autovacuum would have them a minute later: without them the planner reads the
		# new partition whole for every lookup by id, with and without chunks.
		qv -c "ANALYZE witness.entry" -c "CHECKPOINT"
		t="$(timed "SET witness.proof_chunk_size = $chunk;" "SELECT block_no FROM witness.seal();" | tail -1)"
		read -r block first last chunks < <(qv -F ' ' -c "SELECT b.block_no, b.first_entry_id, b.last_entry_id,
			(SELECT count(*) FROM witness.block_chunk c WHERE c.block_no = b.block_no)
			FROM witness.block b ORDER BY b.block_no DESC LIMIT 1")
		seal_ms[$chunk]+="$t "
		report "round $r chunk size $chunk: block $block sealed in $t ms ($((last - first + 1)) ids, $chunks chunk rows)"
		middle="$(qv -c "SELECT min(id) FROM witness.entry WHERE id >= ($first + $last) / 2")"
		for pos in first middle last; do
			id="${!pos}"
			stmts=()
			for ((k = 1; k <= RUNS; k++)); do stmts+=("SELECT length(witness.prove($id)::text);"); done
			times="$(timed "${stmts[@]}" | tr '\n' ' ')"
			prove_ms[$chunk]+="$times"
			report "  prove($id) ($pos): $times ms"
		done
		# Both ways give the same proof (the chunked one is checked against the root before it is returned).
		same="$(qv -c "SELECT bool_and(witness.prove(e.id) = witness._entry_proof(e.id, e.leaf_hash, b, t.tree))
			FROM witness.block b CROSS JOIN LATERAL (SELECT witness._block_tree(b) AS tree) t
			JOIN witness.entry e ON e.id IN ($first, $middle, $last) WHERE b.block_no = $block")"
		report "  same proof as the whole-block rebuild: $same"
		[[ $same == t ]] || die "the proofs differ"
	done
done
for chunk in 0 1024; do
	report "chunk size $chunk: seal median $(tr ' ' '\n' <<<"${seal_ms[$chunk]}" | grep . | median) ms," \
		"prove median $(tr ' ' '\n' <<<"${prove_ms[$chunk]}" | grep . | median) ms," \
		"slowest $(tr ' ' '\n' <<<"${prove_ms[$chunk]}" | grep . | sort -g | tail -1) ms"
done
report "verify: $(qv -c "SELECT string_agg(DISTINCT status, ', ') FROM witness.verify()")"
log "summary: $SUMMARY"
