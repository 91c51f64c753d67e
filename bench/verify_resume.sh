#!/usr/bin/env bash
# Benchmark of verification resumed from a checkpoint (docs/verification.md, "Resuming from a
# checkpoint"; docs/scaling.md): the time witness.verify_since_checkpoint() takes for NEW entries
# sealed after a checkpoint on a trail of OLD + NEW entries, against witness.verify() of a trail of
# NEW entries alone. The issue's target: at most 1.5 times.
#
#   PGHOST=/tmp/x PGPORT=5432 PGUSER=postgres bash bench/verify_resume.sh
#   BENCH_OLD_ENTRIES=1000000 BENCH_NEW_ENTRIES=100000 bash bench/verify_resume.sh   # smoke run
#
# Runs against the server the PG* variables name, which must have pg_witness installed (make
# install) and preloaded; run it with witness.seal_interval = 0 (the script seals itself; no scheduled
# verification runs meanwhile) on a quiet machine. It creates the databases bench_resume_alone and
# bench_resume_trail and drops them at the end (BENCH_KEEP=1 keeps them). Disk: about 400 bytes per
# entry, heap, TOAST, indexes and WAL (4.5 GB for the defaults).
#
# Environment (all optional):
#   BENCH_OLD_ENTRIES   entries sealed before the checkpoint (default 10000000)
#   BENCH_NEW_ENTRIES   entries sealed after it, and the size of the trail verified alone (default 1000000)
#   BENCH_CHUNK_ROWS    rows per INSERT statement, each followed by witness.seal() (default 500000)
#   BENCH_ROUNDS        timed rounds, alone and resumed interleaved (default 3)
#   BENCH_KEEP=1        keep the two databases
#   BENCH_TIME_ONLY=1   time the databases a BENCH_KEEP=1 run kept, without building them again
#   BENCH_FULL=1        also time witness.verify() of the whole OLD + NEW trail (once per round)
#
# Prints one line per timed run (with the load average: on a shared machine the neighbours show there)
# and the medians.
set -euo pipefail

OLD="${BENCH_OLD_ENTRIES:-10000000}"
NEW="${BENCH_NEW_ENTRIES:-1000000}"
CHUNK="${BENCH_CHUNK_ROWS:-500000}"
ROUNDS="${BENCH_ROUNDS:-3}"
ALONE=bench_resume_alone
TRAIL=bench_resume_trail
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

for v in OLD NEW CHUNK ROUNDS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || { echo "$v (BENCH_*) must be a positive integer" >&2; exit 2; }
done

q() { "${PSQL[@]}" -d "$1" -c "$2"; }

cleanup() {
	if [[ ${BENCH_KEEP:-0} != 1 ]]; then
		"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $ALONE" -c "DROP DATABASE IF EXISTS $TRAIL" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

# fill DB FIRST COUNT: COUNT rows into the tracked table, CHUNK per statement, sealing after each.
fill() {
	local db=$1 first=$2 count=$3 from to
	for ((from = first; from < first + count; from += CHUNK)); do
		to=$((from + CHUNK - 1))
		((to < first + count)) || to=$((first + count - 1))
		q "$db" "INSERT INTO items (id, a, b, c, d) SELECT g, g % 1000, 'row ' || g, g * 1.25,
		         timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series($from, $to) g" >/dev/null
		q "$db" "SELECT count(*) FROM witness.seal()" >/dev/null
	done
}

setup() {
	local db=$1
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null
	q "$db" "CREATE EXTENSION pg_witness" >/dev/null
	q "$db" "CREATE TABLE items (id bigint PRIMARY KEY, a int, b text, c numeric, d timestamptz)" >/dev/null
	q "$db" "SELECT witness.track('items')" >/dev/null
}

# settle DB: the BRIN indexes summarized, hint bits set and the visibility map written, as the
# background sealer and autovacuum leave a trail that has been standing a while.
settle() {
	q "$1" "VACUUM (ANALYZE) witness.entry" >/dev/null
	q "$1" "SELECT brin_summarize_new_values('witness.entry_xid'), brin_summarize_new_values('witness.entry_id')" >/dev/null
}

# timed DB FUNCTION: "wall_s result" for one call in a fresh session. The set-returning function has
# finished when its first row is returned, so clock_timestamp() then, less the statement's start, is
# its time.
timed() {
	q "$1" "SELECT round(extract(epoch FROM clock_timestamp() - statement_timestamp())::numeric, 3),
	               status || '/' || blocks_checked || ' blocks/' || entries_checked || ' entries'
	        FROM $2 LIMIT 1" | tr '|' ' '
}

# The load of the machine: the neighbours' share of a shared machine shows here.
load() { cut -d' ' -f1 /proc/loadavg; }

if [[ ${BENCH_TIME_ONLY:-0} != 1 ]]; then
echo "building: $NEW entries alone in $ALONE"
setup "$ALONE"
fill "$ALONE" 1 "$NEW"
settle "$ALONE"

echo "building: $OLD entries, a checkpoint, $NEW new entries in $TRAIL"
setup "$TRAIL"
fill "$TRAIL" 1 "$OLD"
q "$TRAIL" "SELECT status, blocks_checked, entries_checked FROM witness.verify_and_checkpoint(resume => false)" |
	sed 's/^/  checkpoint after a full verification: /'
q "$TRAIL" "SELECT count(*) FROM witness.seal()" >/dev/null
fill "$TRAIL" $((OLD + 1)) "$NEW"
settle "$TRAIL"
q "$TRAIL" "SELECT pg_size_pretty(pg_total_relation_size('witness.entry')) || ' for ' || count(*) || ' entries, '
           || round(pg_total_relation_size('witness.entry')::numeric / count(*), 1) || ' bytes per entry'
           FROM witness.entry" | sed 's/^/  witness.entry: /'
fi

declare -a ALONE_S=() RESUMED_S=()
for ((r = 1; r <= ROUNDS; r++)); do
	read -r w res < <(timed "$ALONE" "witness.verify()")
	echo "round $r  alone    witness.verify()                   ${w} s  $res  (load $(load))"
	ALONE_S+=("$w")
	read -r w res < <(timed "$TRAIL" "witness.verify_since_checkpoint()")
	echo "round $r  resumed  witness.verify_since_checkpoint()  ${w} s  $res  (load $(load))"
	RESUMED_S+=("$w")
	if [[ ${BENCH_FULL:-0} == 1 ]]; then
		read -r w res < <(timed "$TRAIL" "witness.verify()")
		echo "round $r  full     witness.verify() of the trail      ${w} s  $res  (load $(load))"
	fi
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
ma="$(median "${ALONE_S[@]}")"
mr="$(median "${RESUMED_S[@]}")"
echo "median wall: alone ${ma}s, resumed ${mr}s, ratio $(awk -v a="$ma" -v r="$mr" 'BEGIN { printf "%.2f", r / a }') (target <= 1.5)"
