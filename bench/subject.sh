#!/usr/bin/env bash
# Benchmark of subject access and erasure in a large trail (docs/personal-data.md, "Subject access";
# docs/performance.md, "Subject access and erasure"). One throw-away cluster, one invocation.
#
#   bash bench/subject.sh                                              # 10,000,000 entries: ~15 minutes
#   BENCH_TRAIL_ENTRIES=1000000 BENCH_BIG_ENTRIES=20000 bash bench/subject.sh   # smoke run
#
# The extension must be installed already (make install); BENCH_BUILD=1 builds and installs it first.
#
# The trail: a tracked table with a subject column, filled by INSERT ... SELECT statements of
# BENCH_BLOCK_ROWS rows, each sealed into its own block (as a background sealer cuts a busy trail into
# blocks). Most rows belong to about a million background subjects. Per round r:
#   spread-r@bench   100 entries, one in each of 100 blocks spread over the trail;
#   cluster-r@bench  100 entries in one block;
# and big@bench has BENCH_BIG_ENTRIES entries in the last blocks. Then, per round:
#   - witness.subject_export() of spread-r as CSV and JSON, of cluster-r as JSON, twice each (the first
#     run may read from disk), timed in the server session (\timing: no connection set-up);
#   - witness.erase_subject() of spread-r and of cluster-r, then their JSON export (erased entries);
#   - the JSON and CSV export of big@bench written by psql -At to a file, with the backend's peak
#     memory sampled from /proc (VmHWM; RssAnon, its private memory) every 50 ms;
#   - a bulk INSERT of BENCH_BULK_ROWS rows into a tracked table with a subject column, then the
#     witness.seal() that seals its entries and adds them to the lookup table (witness.entry_lookup,
#     whose index entry_lookup_subject finds a subject's entries), each timed.
#
# Environment (all optional):
#   BENCH_TRAIL_ENTRIES   rows of the trail table (default 10000000)
#   BENCH_BLOCK_ROWS      rows per INSERT statement and block (default 10000)
#   BENCH_BIG_ENTRIES     entries of big@bench, part of the trail (default 100000)
#   BENCH_BULK_ROWS       rows of the bulk INSERT (default 200000)
#   BENCH_ROUNDS          rounds (default 2)
#   BENCH_SHARED_BUFFERS  shared_buffers of the cluster (default 1GB)
#   BENCH_ENCRYPT=1       the trail's table encrypted at rest (entries found by pseudonym), not in clear
#   BENCH_BUILD=1         install packages and build and install the extension first
#   BENCH_OUT             directory for the summary (default bench/out)
# plus those of scripts/lib.sh (WITNESS_KEEP_CLUSTER, ...).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

ENTRIES="${BENCH_TRAIL_ENTRIES:-10000000}"
BLOCK_ROWS="${BENCH_BLOCK_ROWS:-10000}"
BIG="${BENCH_BIG_ENTRIES:-100000}"
BULK_ROWS="${BENCH_BULK_ROWS:-200000}"
ROUNDS="${BENCH_ROUNDS:-2}"
SHARED_BUFFERS="${BENCH_SHARED_BUFFERS:-1GB}"
OUT_DIR="${BENCH_OUT:-$REPO/bench/out}"
DB=bench_subject
ENCRYPT=false
if [[ ${BENCH_ENCRYPT:-0} != 0 ]]; then
	ENCRYPT=true
fi

for v in ENTRIES BLOCK_ROWS BIG BULK_ROWS ROUNDS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v (BENCH_*) must be a positive integer, not '${!v}'"
done
BLOCKS=$(((ENTRIES + BLOCK_ROWS - 1) / BLOCK_ROWS))
BIG_BLOCKS=$(((BIG + BLOCK_ROWS - 1) / BLOCK_ROWS))
STRIDE=$(((BLOCKS - BIG_BLOCKS) / 100))
((STRIDE >= ROUNDS)) || die "too few blocks: $BLOCKS blocks leave no room for 100 blocks per round"
((BLOCK_ROWS >= 101)) || die "BENCH_BLOCK_ROWS must be at least 101"

mkdir -p "$OUT_DIR"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
SUMMARY="$OUT_DIR/subject-summary-$STAMP.txt"

qv() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }
report() { log "$*"; echo "$*" >>"$SUMMARY"; }

# timed SQL...: run the statements in one session with \timing; prints the milliseconds of each.
timed() {
	local args=() s
	for s in "$@"; do args+=(-c "$s"); done
	psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c '\timing on' "${args[@]}" | awk '/^Time: / { print $2 }'
}

# sample_backend APPNAME OUTFILE: until killed, sample the backend of application_name APPNAME every
# 50 ms and write "vmhwm_kib max_rss_anon_kib" to OUTFILE.
sample_backend() {
	local app=$1 outf=$2 pid='' hwm=0 anon=0 h a
	echo "0 0" >"$outf"
	for (( ; ; )); do
		if [[ -z $pid ]]; then
			pid="$(psql -X -q -A -t -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app' LIMIT 1" 2>/dev/null || true)"
		fi
		if [[ -n $pid && -r /proc/$pid/status ]]; then
			read -r h a < <(awk '/^VmHWM:/ { h = $2 } /^RssAnon:/ { a = $2 } END { print h + 0, a + 0 }' "/proc/$pid/status" 2>/dev/null || echo "0 0")
			((h > hwm)) && hwm=$h
			((a > anon)) && anon=$a
			echo "$hwm $anon" >"$outf"
		fi
		sleep 0.05
	done
}

# export_big ROUND FORMAT: the export of big@bench written to a file by psql -At, with the backend sampled.
export_big() {
	local round=$1 format=$2 app="subject-big-$1-$2" outf="$WITNESS_TMP/big.$2" sampler t0 secs hwm anon lines
	sample_backend "$app" "$outf.mem" &
	sampler=$!
	t0="$(now)"
	PGAPPNAME="$app" psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" \
		-c "SELECT witness.subject_export('big@bench', '$format', 'bench round $round')" >"$outf"
	secs="$(since "$t0")"
	kill "$sampler" 2>/dev/null || true
	wait "$sampler" 2>/dev/null || true
	read -r hwm anon <"$outf.mem"
	lines="$(wc -l <"$outf")"
	report "  big@bench ($BIG entries) $format: ${secs}s, $lines lines, $(mib $(($(stat -c %s "$outf") / 1024))); backend VmHWM $(mib "$hwm"), peak RssAnon $(mib "$anon")"
	rm -f "$outf"
}

section "pg_witness subject access benchmark: $ENTRIES entries in blocks of $BLOCK_ROWS, $ROUNDS round(s)"
if [[ ${BENCH_BUILD:-0} != 0 ]]; then
	install_deps
	build_ext
fi

# shellcheck disable=SC2034 # read by start_cluster
WITNESS_PRELOAD='pg_witness'
start_cluster \
	"shared_buffers = $SHARED_BUFFERS" \
	"checkpoint_timeout = 30min" \
	"max_wal_size = 8GB" \
	"witness.seal_interval = 0"
if [[ $ENCRYPT == true ]]; then
	as_pg sh -c "umask 077 && openssl rand -hex 32 >'$PGDATA/bench_master.key'"
	psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "ALTER SYSTEM SET witness.master_key_file = '$PGDATA/bench_master.key'" \
		-c "SELECT pg_reload_conf()" >/dev/null
fi

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB"
qv -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_witness" \
	-c "CREATE TABLE public.person (id bigint PRIMARY KEY, subject text, name text, balance int)" \
	-c "SELECT witness.track('public.person', 'pii', subject_column => 'subject', encrypt => $ENCRYPT)" >/dev/null
MACHINE="nproc $(nproc), RAM $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(qv -c 'SELECT version()' | cut -d, -f1), pg_witness $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+local changes')"
{
	echo "pg_witness subject access benchmark, $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $MACHINE"
	echo "settings: $ENTRIES trail rows in $BLOCKS blocks of $BLOCK_ROWS, big@bench $BIG entries, bulk $BULK_ROWS rows, $ROUNDS round(s), shared_buffers $SHARED_BUFFERS, encrypted $ENCRYPT"
} >"$SUMMARY"
log "machine: $MACHINE"

log "building the trail: $BLOCKS INSERT ... SELECT statements of $BLOCK_ROWS rows, witness.seal() after each"
t0="$(now)"
# Block k (from 0) holds rows k*B+1 .. (k+1)*B. Its first row is spread-r's when k % STRIDE = r - 1
# (100 blocks per round, up to the big blocks); block STRIDE*50 + r - 1 holds 100 rows of cluster-r;
# the last BIG_BLOCKS blocks are big@bench's (BIG rows).
for ((k = 0; k < BLOCKS; k++)); do
	lo=$((k * BLOCK_ROWS + 1))
	hi=$(((k + 1) * BLOCK_ROWS))
	((hi > ENTRIES)) && hi=$ENTRIES
	cat <<EOF
INSERT INTO public.person (id, subject, name, balance)
SELECT g, CASE WHEN g > $ENTRIES - $BIG THEN 'big@bench'
               WHEN g = $lo AND $k % $STRIDE < $ROUNDS AND $k < $STRIDE * 100 THEN 'spread-' || ($k % $STRIDE + 1) || '@bench'
               WHEN $k >= $STRIDE * 50 AND $k < $STRIDE * 50 + $ROUNDS AND g - $lo BETWEEN 1 AND 100 THEN 'cluster-' || ($k - $STRIDE * 50 + 1) || '@bench'
               ELSE 'p' || (g % 1000003) || '@bench' END,
       'name of ' || g, g % 1000
FROM generate_series($lo, $hi) AS g;
SELECT count(*) FROM witness.seal();
EOF
done | psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" >/dev/null
GEN_S="$(since "$t0")"
t0="$(now)"
qv -c "VACUUM (ANALYZE) witness.entry" -c "CHECKPOINT"
read -r TRAIL_ENTRIES TRAIL_BLOCKS < <(qv -F ' ' -c "SELECT (SELECT count(*) FROM witness.entry), (SELECT count(*) FROM witness.block)")
read -r ENTRY_BYTES LOOKUP_BYTES SUBJECT_INDEX_BYTES < <(qv -F ' ' -c "SELECT (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree('witness.entry') t),
	pg_total_relation_size('witness.entry_lookup'), pg_relation_size('witness.entry_lookup_subject')")
report "trail: $TRAIL_ENTRIES entries in $TRAIL_BLOCKS blocks, built in ${GEN_S}s (VACUUM ANALYZE $(since "$t0")s); witness.entry with indexes $(mib $((ENTRY_BYTES / 1024))); witness.entry_lookup with indexes $(mib $((LOOKUP_BYTES / 1024))), of which witness.entry_lookup_subject $(mib $((SUBJECT_INDEX_BYTES / 1024)))"
# of_subject S: the entries of S as witness.subject_export() and witness.erase_subject() find them.
of_subject() {
	echo "witness._subject_entries('$1', CASE WHEN witness.master_key_id() IS NOT NULL THEN witness._lookup_pseudonyms('$1') END) s"
}
for ((r = 1; r <= ROUNDS; r++)); do
	for s in "spread-$r@bench" "cluster-$r@bench"; do
		report "  $s: $(qv -c "SELECT count(*) || ' entries in ' || count(DISTINCT (witness.block_of((s.entry).id)).block_no) || ' blocks' FROM $(of_subject "$s")")"
	done
done
report "  big@bench: $(qv -c "SELECT count(*) FROM $(of_subject big@bench)") entries"
report "  block size: $(qv -c "SELECT min(entry_count) || ' to ' || max(entry_count) || ' entries' FROM witness.block WHERE block_no > 1")"

for ((round = 1; round <= ROUNDS; round++)); do
	section "round $round of $ROUNDS"
	report "round $round (milliseconds in the server session; first run, then second run)"
	S="spread-$round@bench"
	C="cluster-$round@bench"
	mapfile -t T < <(timed \
		"SELECT count(*) FROM witness.subject_export('$S', 'csv', 'bench')" \
		"SELECT count(*) FROM witness.subject_export('$S', 'csv', 'bench')" \
		"SELECT count(*) FROM witness.subject_export('$S', 'json', 'bench')" \
		"SELECT count(*) FROM witness.subject_export('$S', 'json', 'bench')" \
		"SELECT count(*) FROM witness.subject_export('$C', 'json', 'bench')" \
		"SELECT count(*) FROM witness.subject_export('$C', 'json', 'bench')")
	report "  subject_export $S csv:   ${T[0]} / ${T[1]} ms"
	report "  subject_export $S json:  ${T[2]} / ${T[3]} ms   (100 proofs from 100 blocks)"
	report "  subject_export $C json: ${T[4]} / ${T[5]} ms   (100 proofs from 1 block)"
	mapfile -t T < <(timed \
		"SELECT witness.erase_subject('$S', 'bench')" \
		"SELECT witness.erase_subject('$C', 'bench')" \
		"SELECT count(*) FROM witness.subject_export('$S', 'json', 'bench')" \
		"SELECT count(*) FROM witness.subject_export('$C', 'csv', 'bench')")
	report "  erase_subject $S: ${T[0]} ms, $C: ${T[1]} ms"
	report "  after erasure: subject_export $S json ${T[2]} ms, $C csv ${T[3]} ms"
	qv -c "SELECT count(*) FROM witness.seal()" >/dev/null
	export_big "$round" json
	export_big "$round" csv

	# Bulk INSERT into a tracked table with a subject column, then its seal (and lookup rows).
	qv -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS public.bulk" \
		-c "CREATE TABLE public.bulk (id bigint PRIMARY KEY, subject text, a int, b text)" \
		-c "SELECT witness.track('public.bulk', 'pii', subject_column => 'subject', encrypt => $ENCRYPT)" -c CHECKPOINT >/dev/null
	mapfile -t T < <(timed "INSERT INTO public.bulk SELECT g, 'b' || (g % 50000) || '@bench', g % 1000, 'row ' || g FROM generate_series(1, $BULK_ROWS) g" \
		"SELECT count(*) FROM witness.seal()")
	report "  bulk INSERT of $BULK_ROWS rows with a subject: ${T[0]} ms ($(awk -v n="$BULK_ROWS" -v ms="${T[0]}" 'BEGIN { printf "%.0f", n / ms * 1000 }') rows/s); its seal with the lookup rows ${T[1]} ms"
	qv -c "SELECT witness.untrack('public.bulk')" -c "SELECT count(*) FROM witness.seal()" >/dev/null
done

report "witness.verify() afterwards: $(qv -c "SELECT status || ', ' || entries_checked || ' entries, ' || entries_erased || ' erased' FROM witness.verify()")"
log "summary: $SUMMARY"
cat "$SUMMARY"
