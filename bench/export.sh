#!/usr/bin/env bash
# Benchmark of the byte-exact export paths (docs/verification.md, "Exporting"): how fast a large
# trail is exported and verified outside the database, and how much memory the client and the
# backend need for it. One throw-away cluster, one invocation. See bench/README.md, "Export".
#
#   bash bench/export.sh                                        # defaults: 5,000,000 entries, 2 rounds
#   BENCH_EXPORT_ENTRIES=200000 BENCH_ROUNDS=1 bash bench/export.sh   # smoke run, under a minute
#
# The extension must be installed already (make install) and build/witness-verify built (cmake);
# BENCH_BUILD=1 does both first.
#
# Each round measures, on the same trail:
#   connect  witness-verify --connect: COPY (SELECT witness.export_trail()) TO STDOUT over libpq,
#            verified as it arrives (export and verification together);
#   copy     psql -c "\copy (SELECT witness.export_trail()) TO 'FILE'" (the export alone);
#   file     witness-verify FILE (the verification alone); copy + file is the two-step path.
# For each: wall time and entries/s, the client's peak RSS (/usr/bin/time), and for the backend
# that runs the export its VmHWM, its largest RssAnon and its CPU time, sampled from /proc every
# 50 ms (VmHWM counts the shared buffers it touched; RssAnon is its private memory).
#
# Environment (all optional):
#   BENCH_EXPORT_ENTRIES  rows inserted into the tracked table (default 5000000); the trail has one
#                         more entry (witness.track() records itself)
#   BENCH_CHUNK_ROWS      rows per INSERT statement, each sealed into its own block (default 500000)
#   BENCH_ROUNDS          rounds of the three measurements (default 2)
#   BENCH_SHARED_BUFFERS  shared_buffers of the cluster (default 1GB)
#   BENCH_JOBS            witness-verify --jobs (default: its own default, one per processor, at most 8)
#   BENCH_VERIFIER        the standalone verifier (default build/witness-verify)
#   BENCH_BUILD=1         install packages, build and install the extension and build witness-verify first
#   BENCH_OUT             directory for the CSV and the summary (default bench/out)
# plus those of scripts/lib.sh (WITNESS_KEEP_CLUSTER, ...).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

ENTRIES="${BENCH_EXPORT_ENTRIES:-5000000}"
CHUNK_ROWS="${BENCH_CHUNK_ROWS:-500000}"
ROUNDS="${BENCH_ROUNDS:-2}"
SHARED_BUFFERS="${BENCH_SHARED_BUFFERS:-1GB}"
JOBS="${BENCH_JOBS:-}"
VERIFIER="${BENCH_VERIFIER:-$REPO/build/witness-verify}"
OUT_DIR="${BENCH_OUT:-$REPO/bench/out}"
DB=bench_export
CLK_TCK="$(getconf CLK_TCK)"
NPROC="$(nproc)"

TARGET_RATE=500000   # entries/s, export and verification together
TARGET_MEM_KIB=204800 # 200 MiB, client and backend
DISTURBED_PCT=25     # others' CPU share above which a measurement is unreliable

for v in ENTRIES CHUNK_ROWS ROUNDS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v (BENCH_*) must be a positive integer, not '${!v}'"
done
[[ -z $JOBS || $JOBS =~ ^[0-9]+$ ]] || die "BENCH_JOBS must be a number"
JOBS_ARGS=()
[[ -n $JOBS ]] && JOBS_ARGS=(--jobs "$JOBS")

mkdir -p "$OUT_DIR"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
CSV="$OUT_DIR/export-results-$STAMP.csv"
SUMMARY="$OUT_DIR/export-summary-$STAMP.txt"
echo "round,step,seconds,entries_per_s,client_peak_rss_kib,backend_vmhwm_kib,backend_peak_rss_anon_kib,backend_peak_rss_shmem_kib,backend_cpu_s,client_cpu_s,others_cpu_s,others_cpu_pct,steal_s" >"$CSV"

qv() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
mib() { awk -v k="$1" 'BEGIN { printf "%.1f MiB", k / 1024 }'; }

# shellcheck source=bench/cpu.sh
source "$BENCH_DIR/cpu.sh"

# ---------------------------------------------------------------------------------------------
# Measuring one step

# sample_backend APPNAME OUTFILE: until killed, find the backend of application_name APPNAME and
# write "vmhwm_kib max_rss_anon_kib max_rss_shmem_kib cpu_ticks" to OUTFILE after each sample (every
# 50 ms).
sample_backend() {
	local app=$1 outf=$2 pid='' hwm=0 anon=0 shmem=0 ticks=0 h a m t
	echo "0 0 0 0" >"$outf"
	for (( ; ; )); do
		if [[ -z $pid ]]; then
			pid="$(psql -X -q -A -t -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = '$app' AND query LIKE 'COPY%' LIMIT 1" 2>/dev/null || true)"
		fi
		if [[ -n $pid && -r /proc/$pid/status ]]; then
			read -r h a m < <(awk '/^VmHWM:/ { h = $2 } /^RssAnon:/ { a = $2 } /^RssShmem:/ { m = $2 }
				END { print h + 0, a + 0, m + 0 }' "/proc/$pid/status" 2>/dev/null || echo "0 0 0")
			t="$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)"
			((h > hwm)) && hwm=$h
			((a > anon)) && anon=$a
			((m > shmem)) && shmem=$m
			((t > ticks)) && ticks=$t
			echo "$hwm $anon $shmem $ticks" >"$outf"
		fi
		sleep 0.05
	done
}

# measure ROUND STEP APPNAME CMD...: run CMD (stdout to $WITNESS_TMP/STEP.out, stderr to .err) with
# /usr/bin/time, sampling the backend named APPNAME (none for "-"); logs and records one CSV line.
# Sets M_S, M_RATE, M_RSS, M_HWM, M_ANON, M_SHMEM, M_BCPU, M_RC.
measure() {
	local round=$1 step=$2 app=$3 outf="$WITNESS_TMP/$2.out" sampler='' cpu0 cpu1 other t0 client_cpu
	shift 3
	if [[ $app != - ]]; then
		sample_backend "$app" "$outf.backend" &
		sampler=$!
	fi
	cpu0="$(cpu_ticks)"
	t0="$(now)"
	M_RC=0
	PGAPPNAME="$app" /usr/bin/time -o "$outf.time" -f '%M %U %S' "$@" >"$outf" 2>"$outf.err" || M_RC=$?
	M_S="$(since "$t0")"
	cpu1="$(cpu_ticks)"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	M_HWM=0 M_ANON=0 M_SHMEM=0 M_BCPU=0
	if [[ -n $sampler ]]; then
		kill "$sampler" 2>/dev/null || true
		wait "$sampler" 2>/dev/null || true
		read -r M_HWM M_ANON M_SHMEM ticks <"$outf.backend"
		M_BCPU="$(awk -v t="$ticks" -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')"
	fi
	read -r M_RSS u s < <(tail -n 1 "$outf.time")
	client_cpu="$(awk -v u="$u" -v s="$s" 'BEGIN { printf "%.2f", u + s }')"
	M_RATE="$(rate "$TRAIL_ENTRIES" "$M_S")"
	echo "$round,$step,$M_S,$M_RATE,$M_RSS,$M_HWM,$M_ANON,$M_SHMEM,$M_BCPU,$client_cpu,$other" >>"$CSV"
	DISTURBANCE+=("round $round $step|$(cut -d, -f2 <<<"$other")")
	log "  $step: ${M_S}s, $M_RATE entries/s, exit $M_RC; client peak RSS $(mib "$M_RSS"), CPU ${client_cpu}s; backend VmHWM $(mib "$M_HWM"), peak RssAnon $(mib "$M_ANON"), RssShmem $(mib "$M_SHMEM"), CPU ${M_BCPU}s   CPU used by others s,%,steal s = $other"
}

# check_valid STEP: the verifier's output says VALID with every entry checked, or the run counts as failed.
check_valid() {
	local outf="$WITNESS_TMP/$1.out" checked
	checked="$(awk '/^entries checked:/ { print $3 }' "$outf")"
	if ((M_RC != 0)) || ! grep -q '^result: *VALID' "$outf" || [[ $checked != "$TRAIL_ENTRIES" ]]; then
		head -n 12 "$outf" >&2
		cat "$outf.err" >&2
		INVALID+=("$1: exit status $M_RC, ${checked:-?} of $TRAIL_ENTRIES entries checked")
		warn "${INVALID[-1]}"
	fi
	log "    $(grep -h 'witness-verify:' "$outf.err" || true)"
}

# ---------------------------------------------------------------------------------------------
# Main

section "pg_witness export benchmark: $ENTRIES entries in blocks of $CHUNK_ROWS, $ROUNDS round(s)"
if [[ ${BENCH_BUILD:-0} != 0 ]]; then
	install_deps
	build_all
fi
[[ -x $VERIFIER ]] || die "$VERIFIER not found: build it (cmake -S . -B build && cmake --build build) or set BENCH_VERIFIER"
[[ -x /usr/bin/time ]] || die "/usr/bin/time not found (Debian package time)"

# shellcheck disable=SC2034 # read by start_cluster
WITNESS_PRELOAD='pg_witness'
start_cluster \
	"shared_buffers = $SHARED_BUFFERS" \
	"checkpoint_timeout = 30min" \
	"max_wal_size = 8GB" \
	"witness.seal_interval = 0"

psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $DB"
qv -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_witness" \
	-c "CREATE TABLE public.bench_export (id bigint PRIMARY KEY, a int, b text, c numeric, d timestamptz)" \
	-c "SELECT witness.track('public.bench_export')" >/dev/null
MACHINE="nproc $NPROC, RAM $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(qv -c 'SELECT version()' | cut -d, -f1), pg_witness $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+local changes')"
log "machine: $MACHINE"

log "building the trail: INSERT ... SELECT generate_series, $CHUNK_ROWS rows per statement, witness.seal() after each"
t0="$(now)"
for ((lo = 1; lo <= ENTRIES; lo += CHUNK_ROWS)); do
	hi=$((lo + CHUNK_ROWS - 1))
	((hi > ENTRIES)) && hi=$ENTRIES
	qv -c "INSERT INTO public.bench_export (id, a, b, c, d)
	       SELECT g, g % 1000, 'row ' || g, g * 1.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
	       FROM generate_series($lo, $hi) AS g" -c "SELECT count(*) FROM witness.seal()" >/dev/null
done
qv -c "VACUUM (ANALYZE) witness.entry" -c CHECKPOINT
read -r TRAIL_ENTRIES BLOCKS < <(qv -F ' ' -c "SELECT (SELECT count(*) FROM witness.entry), (SELECT count(*) FROM witness.block)")
ENTRY_BYTES="$(qv -c "SELECT (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree('witness.entry') t)")"  # every partition (docs/scaling.md)
log "  $TRAIL_ENTRIES entries in $BLOCKS blocks in $(since "$t0")s; witness.entry $(mib $((ENTRY_BYTES / 1024)))"
CONNINFO="host=$PGHOST port=$PGPORT dbname=$DB"
EXPORT_FILE="$WITNESS_TMP/trail.copy"
DISTURBANCE=()
INVALID=()
declare -a CONNECT_RATE=() TWO_STEP_RATE=() PEAK_CLIENT=() PEAK_BACKEND=()
log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

for ((round = 1; round <= ROUNDS; round++)); do
	section "round $round of $ROUNDS"
	measure "$round" connect witness-verify "$VERIFIER" --stats "${JOBS_ARGS[@]}" --connect "$CONNINFO"
	check_valid connect
	CONNECT_RATE+=("$M_RATE")
	PEAK_CLIENT+=("$M_RSS")
	PEAK_BACKEND+=("$M_ANON")
	rm -f "$EXPORT_FILE"
	measure "$round" copy bench-export psql -X -q -v ON_ERROR_STOP=1 -d "$DB" \
		-c "\\copy (SELECT witness.export_trail()) TO '$EXPORT_FILE'"
	((M_RC == 0)) || die "the export failed: $(cat "$WITNESS_TMP/copy.out.err")"
	copy_s=$M_S
	PEAK_CLIENT+=("$M_RSS")
	PEAK_BACKEND+=("$M_ANON")
	log "    $(stat -c %s "$EXPORT_FILE") bytes, $(wc -l <"$EXPORT_FILE") lines"
	measure "$round" file - "$VERIFIER" --stats "${JOBS_ARGS[@]}" "$EXPORT_FILE"
	check_valid file
	PEAK_CLIENT+=("$M_RSS")
	two="$(rate "$TRAIL_ENTRIES" "$(awk -v a="$copy_s" -v b="$M_S" 'BEGIN { print a + b }')")"
	TWO_STEP_RATE+=("$two")
	log "  copy + file: $two entries/s"
	rm -f "$EXPORT_FILE"
done

# ---------------------------------------------------------------------------------------------
# Summary

maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }
pass() { awk -v m="$1" -v l="$2" -v ge="$3" 'BEGIN { ok = ge ? (m >= l) : (m <= l); print ok ? "PASS" : "FAIL" }'; }
BEST_CONNECT="$(maxof "${CONNECT_RATE[@]}")"
BEST_TWO="$(maxof "${TWO_STEP_RATE[@]}")"
MAX_CLIENT="$(maxof "${PEAK_CLIENT[@]}")"
MAX_BACKEND="$(maxof "${PEAK_BACKEND[@]}")"
{
	echo "pg_witness export benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS}s"
	echo "machine: $MACHINE"
	echo "trail: $TRAIL_ENTRIES entries in $BLOCKS blocks, witness.entry $(mib $((ENTRY_BYTES / 1024))); shared_buffers = $SHARED_BUFFERS, work_mem default"
	echo "witness-verify: $VERIFIER ${JOBS_ARGS[*]:-(default jobs)}"
	echo
	echo "Per run (CSV: $CSV)"
	awk -F, '{ printf "  %-6s %-8s %8s %9s %9s %9s %9s %9s %8s %8s %8s %6s %6s\n", $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$CSV"
	echo
	echo "Targets"
	printf '  %-62s | %12s | %12s | %s\n' target measured required result
	printf '  %-62s | %12s | %12s | %s\n' "witness-verify --connect, export and verification (best)" "$BEST_CONNECT/s" ">= $TARGET_RATE/s" "$(pass "$BEST_CONNECT" "$TARGET_RATE" 1)"
	printf '  %-62s | %12s | %12s | %s\n' "\\copy to a file, then witness-verify on it (best)" "$BEST_TWO/s" ">= $TARGET_RATE/s" "$(pass "$BEST_TWO" "$TARGET_RATE" 1)"
	printf '  %-62s | %12s | %12s | %s\n' "client peak RSS (witness-verify, psql), largest" "$(mib "$MAX_CLIENT")" "<= 200 MiB" "$(pass "$MAX_CLIENT" "$TARGET_MEM_KIB" 0)"
	printf '  %-62s | %12s | %12s | %s\n' "backend peak private memory (RssAnon), largest" "$(mib "$MAX_BACKEND")" "<= 200 MiB" "$(pass "$MAX_BACKEND" "$TARGET_MEM_KIB" 0)"
	echo "  (the backend's VmHWM also counts the pages of shared_buffers it read: up to $SHARED_BUFFERS; see the CSV)"
	if ((${#INVALID[@]} > 0)); then
		echo
		echo "NOT VALID (the trail must verify):"
		printf '  %s\n' "${INVALID[@]}"
	fi
	echo
	echo "CPU used by other processes during each step (share of nproc x wall time)"
	for d in "${DISTURBANCE[@]}"; do
		printf '  %-40s %4s%%%s\n' "${d%%|*}" "${d##*|}" "$( ((${d##*|} > DISTURBED_PCT)) && echo '   <- disturbed: rerun on a quieter machine' || true)"
	done
} | tee "$SUMMARY"
((${#INVALID[@]} == 0)) || exit 1
