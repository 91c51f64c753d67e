#!/usr/bin/env bash
# Benchmark of sealing and verification: what the background sealer costs under pgbench load, how
# long entries wait to be sealed, and how fast witness.verify() and witness-verify check a large
# trail. One throw-away cluster, one invocation. See bench/README.md, "Sealing and verification".
#
#   bash bench/seal.sh                # defaults: 5 minutes on a quiet 2-vCPU machine
#   BENCH_DURATION=5 BENCH_ROUNDS=1 BENCH_VERIFY_ENTRIES=200000 bash bench/seal.sh   # smoke run
#
# The extension must be installed already (make install) and build/witness-verify built
# (cmake); BENCH_BUILD=1 does both first.
#
# Environment (all optional):
#   BENCH_DURATION        seconds per pgbench run (default 20)
#   BENCH_ROUNDS          rounds; each round runs sealing off (b), then sealing on (e) (default 2)
#   BENCH_CLIENTS         pgbench clients (default 16)
#   BENCH_SCALE           pgbench scale factor (default 10)
#   BENCH_SEAL_INTERVAL   witness.seal_interval of the sealing-on runs, in ms (default 1000)
#   BENCH_VERIFY_ENTRIES  entries of the trail that verification is timed on (default 5000000)
#   BENCH_CHUNK_ROWS      rows per INSERT statement when building that trail (default 500000)
#   BENCH_VERIFIER        the standalone verifier (default build/witness-verify)
#   BENCH_BUILD=1         build and install the extension and build witness-verify first (default 0)
#   BENCH_OUT             directory for the CSV and the summary (default bench/out)
# plus those of scripts/lib.sh (WITNESS_JOBS, WITNESS_KEEP_CLUSTER, ...).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

DURATION="${BENCH_DURATION:-20}"
ROUNDS="${BENCH_ROUNDS:-2}"
CLIENTS="${BENCH_CLIENTS:-16}"
SCALE="${BENCH_SCALE:-10}"
SEAL_MS="${BENCH_SEAL_INTERVAL:-1000}"
VERIFY_ENTRIES="${BENCH_VERIFY_ENTRIES:-5000000}"
CHUNK_ROWS="${BENCH_CHUNK_ROWS:-500000}"
VERIFIER="${BENCH_VERIFIER:-$REPO/build/witness-verify}"
OUT_DIR="${BENCH_OUT:-$REPO/bench/out}"
PGBENCH_TABLES="ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']::regclass[]"
BENCH_DB=bench
VERIFY_DB=bench_verify
CLK_TCK="$(getconf CLK_TCK)"
NPROC="$(nproc)"

# Targets.
TARGET_RATIO=0.97                           # tps sealing on / sealing off (issue 14: at most 3% of tracked throughput)
TARGET_LAG_S="$(awk -v ms="$SEAL_MS" 'BEGIN { printf "%g", 3 * ms / 1000 }')" # p99 seal lag <= 3 x interval
TARGET_VERIFY_RATE=1000000                  # entries/s, witness.verify() and witness-verify (issue 14)
DISTURBED_PCT=25                            # others' CPU share above which a measurement is unreliable

for v in DURATION ROUNDS CLIENTS SCALE SEAL_MS VERIFY_ENTRIES CHUNK_ROWS; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v (BENCH_*) must be a positive integer, not '${!v}'"
done

mkdir -p "$OUT_DIR"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
CSV="$OUT_DIR/seal-results-$STAMP.csv"
SUMMARY="$OUT_DIR/seal-summary-$STAMP.txt"
echo "step,round,mode,metric,value,unit,elapsed_s,units,others_cpu_s,others_cpu_pct,steal_s" >"$CSV"

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }
qv() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }
qvd() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$VERIFY_DB" "$@"; }
qpg() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d postgres "$@"; }

# now: wall-clock seconds with fractions.
now() { date +%s.%N; }
# since T0: seconds since T0 (from now), 3 decimals.
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.3f", b - a }'; }
# rate N SECONDS: N / SECONDS, no decimals.
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.0f", (s > 0 ? n / s : 0) }'; }
# median VALUE...: median of the values.
median() {
	printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) exit
		if (NR % 2) printf "%.6g\n", v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
# wait_backends_left: until no session of the benchmark database is left but this one's, at most 10 s.
wait_backends_left() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ $(qv -c "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'") == 0 ]] && break
		sleep 0.1
	done
	sleep 0.2 # reaped after they left pg_stat_activity
}
# mib BYTES
mib() { awk -v b="$1" 'BEGIN { printf "%.0f MiB", b / 1048576 }'; }

# ---------------------------------------------------------------------------------------------
# CPU used by other processes (as in bench/run.sh)

# CPU accounting of a run: cpu_ticks, cpu_delta (bench/cpu.sh).
# shellcheck source=bench/cpu.sh
source "$BENCH_DIR/cpu.sh"

# Every measured step: "label|others_cpu_pct" for the summary's disturbance check.
DISTURBANCE=()
# note_cpu LABEL "others_s,others_pct,steal_s"
note_cpu() {
	local pct
	IFS=, read -r _ pct _ <<<"$2"
	DISTURBANCE+=("$1|$pct")
}

# csv STEP ROUND MODE METRIC VALUE UNIT ELAPSED UNITS [CPU]
csv() { echo "$1,$2,$3,$4,$5,$6,$7,$8,${9:-,,}" >>"$CSV"; }

# ---------------------------------------------------------------------------------------------
# Background sealer

# set_seal_interval MS: ALTER SYSTEM + reload, then wait until new sessions see the value.
# SWITCHED_AT: the server's time just before the switch.
SWITCHED_AT=
set_seal_interval() {
	local want=$1 i got
	SWITCHED_AT="$(qpg -c "SELECT clock_timestamp()")"
	qpg -c "ALTER SYSTEM SET witness.seal_interval = $want" -c "SELECT pg_reload_conf()" >/dev/null
	for ((i = 0; i < 100; i++)); do
		got="$(qv -c "SELECT setting FROM pg_settings WHERE name = 'witness.seal_interval'")"
		[[ $got == "$want" ]] && return 0
		sleep 0.1
	done
	die "witness.seal_interval did not become $want after reload (still $got)"
}

# sealers() counts the background workers (sealers and maintainers) connected to the benchmark
# database now (they stay between passes while sealing is on, and leave once it is off),
# passed_since_switch() whether a sealer finished a pass there since the last set_seal_interval.
sealers() { qpg -c "SELECT count(*) FROM pg_stat_activity WHERE backend_type IN ('pg_witness sealer', 'pg_witness maintainer') AND datname = '$BENCH_DB'"; }
passed_since_switch() {
	qv -c "SELECT CASE WHEN coalesce(last_pass_at > '$SWITCHED_AT'::timestamptz, false) THEN 1 ELSE 0 END FROM witness.seal_status"
}

# wait_sealer 1|0 TIMEOUT_S: wait until the background sealer has finished a pass in the benchmark
# database since the switch (1), or until none is at work there (0); prints the seconds waited.
wait_sealer() {
	local want=$1 timeout=$2 t0 n
	t0="$(now)"
	while :; do
		if [[ $want == 1 ]]; then n="$(passed_since_switch)"; else n="$(sealers)"; fi
		if { [[ $want == 1 ]] && ((n > 0)); } || { [[ $want == 0 ]] && ((n == 0)); }; then
			since "$t0"
			return 0
		fi
		if awk -v w="$(since "$t0")" -v t="$timeout" 'BEGIN { exit !(w > t) }'; then
			die "the background sealer of database $BENCH_DB did not $([[ $want == 1 ]] && echo start || echo stop) within ${timeout}s"
		fi
		sleep 0.2
	done
}

# settled: whether the lookup table, the daily summary and the alert rules have taken in every
# block (the maintainer's work after a seal), so that a sealing-on run does not pay for the blocks
# of the run before it (bench/run.sh's bench_settle() waits for the same).
settled() {
	qv -c "SELECT (SELECT COALESCE(max(l.block_no), 0) FROM witness.lookup_state l) >= b.last
	          AND (SELECT COALESCE(max(m.last_block_no), 0) FROM witness.summary_state m) >= b.last
	          AND (SELECT COALESCE(max(a.last_block), 0) FROM witness.alert_state a) >= b.last
	       FROM (SELECT COALESCE(max(block_no), 0) AS last FROM witness.block) b"
}

# wait_settled TIMEOUT_S: prints the seconds waited.
wait_settled() {
	local timeout=$1 t0
	t0="$(now)"
	while [[ "$(settled)" != t ]]; do
		if awk -v w="$(since "$t0")" -v t="$timeout" 'BEGIN { exit !(w > t) }'; then
			warn "the maintainer has not caught up after ${timeout}s; measuring anyway"
			break
		fi
		sleep 0.2
	done
	since "$t0"
}

# unsealed_since XID0: entries of transactions >= XID0 that the newest block does not cover.
unsealed_since() {
	qv -c "SELECT count(*) FROM witness.entry e
	       WHERE e.xid >= '$1'::xid8
	         AND NOT pg_visible_in_snapshot(e.xid, COALESCE((SELECT b.snapshot FROM witness.block b ORDER BY b.block_no DESC LIMIT 1), pg_snapshot '1:1:'))"
}

# ---------------------------------------------------------------------------------------------
# Step 1 and 2: pgbench with sealing off (b) and on (e), seal lag of the (e) runs

declare -A MODE_NAME=([b]="sealing off" [e]="sealing every ${SEAL_MS} ms")
declare -A TPS=() LAG=() CPU_MS=() WAL_KB=()

# run_tpcb ROUND MODE
run_tpcb() {
	local round=$1 mode=$2 waited xid0 block0 cpu0 cpu1 other out tps txns entries t0 drain_s res
	if [[ $mode == b ]]; then
		set_seal_interval 0
		waited="$(wait_sealer 0 30)"
	else
		set_seal_interval "$SEAL_MS"
		# The launcher starts a pass in every database with pg_witness as soon as it sees the new
		# setting (it reads pg_database and its records again every second).
		waited="$(wait_sealer 1 120)"
		# The block witness.seal() made of the sealing-off run's entries is the maintainer's to take
		# in first: not this run's work.
		waited="$waited + $(wait_settled 120)"
	fi
	q -c CHECKPOINT
	IFS='|' read -r xid0 block0 <<<"$(qv -c "SELECT pg_current_xact_id(), COALESCE(max(block_no), 0) FROM witness.block")"
	lsn0="$(qv -c "SELECT pg_current_wal_lsn()")"
	cpu0="$(cpu_ticks)"
	ticks0="$(cluster_ticks)"
	if ! out="$(pgbench -n -c "$CLIENTS" -j "$((CLIENTS < 2 ? CLIENTS : 2))" -T "$DURATION" -M prepared "$BENCH_DB" 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "pgbench failed (round $round, mode $mode)"
	fi
	cpu1="$(cpu_ticks)"
	# pgbench's backends are still leaving: their CPU counts once they are reaped (the postmaster's
	# children's time), not while some are gone from /proc and not yet reaped.
	wait_backends_left
	ticks1="$(cluster_ticks)"
	wal="$(qv -c "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '$lsn0')")"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	tps="$(awk '/^tps = / { print $3; exit }' <<<"$out")"
	txns="$(awk -F': ' '/^number of transactions actually processed/ { print $2; exit }' <<<"$out")"
	txns="${txns%%/*}"
	[[ -n $tps && -n $txns ]] || {
		printf '%s\n' "$out" >&2
		die "cannot parse pgbench output"
	}
	entries="$(qv -c "SELECT count(*) FROM witness.entry WHERE xid >= '$xid0'::xid8")"
	((entries > 0)) || die "round $round mode $mode: pgbench captured nothing"
	# 4 entries per transaction (3 UPDATEs, 1 INSERT), except when pgbench drew delta = 0: its three
	# UPDATEs then change nothing, and pg_witness records no entry for an UPDATE that changes nothing.
	local nochange=$((4 * txns - entries))
	if ((nochange < 0 || nochange % 3 != 0)); then
		warn "round $round mode $mode: $entries entries for $txns transactions (expected 4 each, 1 for a transaction with delta 0)"
	fi
	TPS[$mode]+="$(printf '%.1f' "$tps") "
	# The cluster's CPU and WAL per transaction: what sealing adds per transaction, steadier than tps.
	CPU_MS[$mode]+="$(awk -v t="$((ticks1 - ticks0))" -v hz="$CLK_TCK" -v n="$txns" 'BEGIN { printf "%.3f", 1000 * t / hz / n }') "
	WAL_KB[$mode]+="$(awk -v w="$wal" -v n="$txns" 'BEGIN { printf "%.2f", w / 1024 / n }') "
	csv tpcb "$round" "$mode" tps "$tps" tps "$DURATION" "$txns" "$other"
	note_cpu "round $round pgbench ($mode) ${MODE_NAME[$mode]}" "$other"
	log "round $round  ($mode) $(printf '%-24s' "${MODE_NAME[$mode]}") $(printf '%8.1f' "$tps") tps  $entries entries  cluster CPU $(awk -v t="$((ticks1 - ticks0))" -v hz="$CLK_TCK" -v n="$txns" 'BEGIN { printf "%.3f", 1000 * t / hz / n }') ms and WAL $(awk -v w="$wal" -v n="$txns" 'BEGIN { printf "%.2f", w / 1024 / n }') kB per transaction  (sealer $([[ $mode == b ]] && echo stopped || echo started) after ${waited}s)   CPU used by others s,%,steal s = $other"

	if [[ $mode == b ]]; then
		# Seal what this run left pending, so that the next sealing-on run starts without a backlog.
		t0="$(now)"
		res="$(qv -c "SELECT COALESCE(sum(entry_count), 0) FROM witness.seal()")"
		log "         witness.seal() after the run: $res entries in $(since "$t0")s (not measured)"
		return 0
	fi

	# Sealing on: wait until the sealer has sealed every entry of the run, then measure their lag.
	t0="$(now)"
	while (($(unsealed_since "$xid0") > 0)); do
		if awk -v w="$(since "$t0")" 'BEGIN { exit !(w > 120) }'; then
			die "round $round: entries of the run still unsealed after 120 s"
		fi
		sleep 0.2
	done
	drain_s="$(since "$t0")"
	local lag blocks n unsealed p50 p95 p99 max min nb nbe gap
	out="$(psql -X -q -v ON_ERROR_STOP=1 -v xid0="$xid0" -v block0="$block0" -d "$BENCH_DB" -f "$BENCH_DIR/seal_lag.sql")"
	lag="$(grep '^LAG ' <<<"$out")"
	blocks="$(grep '^BLOCKS ' <<<"$out")"
	read -r _ n unsealed p50 p95 p99 max min <<<"$lag"
	read -r _ nb nbe gap <<<"$blocks"
	[[ -n $min && -n $gap ]] || {
		printf '%s\n' "$out" >&2
		die "cannot parse the seal lag"
	}
	((unsealed == 0)) || die "round $round: $unsealed of $n entries have no block"
	LAG[p50]+="$p50 " LAG[p95]+="$p95 " LAG[p99]+="$p99 " LAG[max]+="$max "
	csv seal_lag "$round" e p50 "$p50" s "" "$n"
	csv seal_lag "$round" e p95 "$p95" s "" "$n"
	csv seal_lag "$round" e p99 "$p99" s "" "$n"
	csv seal_lag "$round" e max "$max" s "" "$n"
	csv seal_lag "$round" e blocks "$nb" blocks "" "$nbe"
	log "         seal lag of its $n entries (sealed_at - stmt_time): p50 ${p50}s  p95 ${p95}s  p99 ${p99}s  max ${max}s  (min ${min}s; $nb blocks, one per ${gap}s; last entry sealed ${drain_s}s after pgbench ended)"
}

# ---------------------------------------------------------------------------------------------
# Step 3 and 4: verification of a large trail

VERIFY_SQL=() VERIFY_TOOL=() INVALID=()

build_verify_trail() {
	local lo hi cpu0 cpu1 other t0 build_s seal_s res nblocks nentries
	qpg -c "CREATE DATABASE $VERIFY_DB"
	qvd -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_witness" \
		-c "CREATE TABLE public.bench_verify (id bigint PRIMARY KEY, a int, b text, c numeric, d timestamptz)" \
		-c "SELECT witness.track('public.bench_verify')" >/dev/null
	qvd -c CHECKPOINT
	# witness.track() itself is recorded in the trail (witness.tracked_table is tracked).
	local before
	before="$(qvd -c "SELECT count(*) FROM witness.entry")"
	TRAIL_ENTRIES=$((VERIFY_ENTRIES + before))
	log "building a trail of $VERIFY_ENTRIES entries: INSERT ... SELECT generate_series, $CHUNK_ROWS rows per statement (plus $before entry/entries of the set-up)"
	cpu0="$(cpu_ticks)"
	t0="$(now)"
	for ((lo = 1; lo <= VERIFY_ENTRIES; lo += CHUNK_ROWS)); do
		hi=$((lo + CHUNK_ROWS - 1))
		((hi <= VERIFY_ENTRIES)) || hi=$VERIFY_ENTRIES
		qvd -c "INSERT INTO public.bench_verify (id, a, b, c, d)
		        SELECT g, g % 1000, 'row ' || g, g * 1.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
		        FROM generate_series($lo, $hi) AS g"
	done
	build_s="$(since "$t0")"
	cpu1="$(cpu_ticks)"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	csv verify_build 0 - rows_per_s "$(rate "$VERIFY_ENTRIES" "$build_s")" rows/s "$build_s" "$VERIFY_ENTRIES" "$other"
	log "  INSERTs: ${build_s}s, $(rate "$VERIFY_ENTRIES" "$build_s") rows/s (information only)   CPU used by others s,%,steal s = $other"

	qvd -c CHECKPOINT
	cpu0="$(cpu_ticks)"
	t0="$(now)"
	res="$(qvd -c "SELECT count(*) || ' ' || COALESCE(sum(entry_count), 0) FROM witness.seal()")"
	seal_s="$(since "$t0")"
	cpu1="$(cpu_ticks)"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	read -r nblocks nentries <<<"$res"
	((nentries == TRAIL_ENTRIES)) || die "witness.seal() sealed $nentries entries, expected $TRAIL_ENTRIES"
	csv seal_once 0 - entries_per_s "$(rate "$nentries" "$seal_s")" entries/s "$seal_s" "$nentries" "$other"
	log "  witness.seal(): $nblocks block of $nentries entries in ${seal_s}s, $(rate "$nentries" "$seal_s") entries/s (information only)   CPU used by others s,%,steal s = $other"

	# Hint bits and visibility map set once, as on any trail that has been vacuumed; otherwise the
	# first verification would also pay for writing them, and autovacuum could start during a timing.
	t0="$(now)"
	qvd -c "VACUUM (ANALYZE) witness.entry" -c "VACUUM (ANALYZE) witness.block" -c "VACUUM (ANALYZE) public.bench_verify" -c CHECKPOINT
	log "  VACUUM (ANALYZE) and CHECKPOINT: $(since "$t0")s (not measured)"

	local sizes
	# witness.entry is partitioned (docs/scaling.md): the sizes of all its partitions.
	sizes="$(qvd -c "SELECT (SELECT sum(pg_total_relation_size(t.relid)) FROM pg_partition_tree('witness.entry') t), (SELECT sum(pg_relation_size(t.relid)) FROM pg_partition_tree('witness.entry') t), pg_total_relation_size('public.bench_verify')" -F ' ')"
	read -r ENTRY_TOTAL_BYTES ENTRY_HEAP_BYTES TABLE_TOTAL_BYTES <<<"$sizes"
	csv size 0 - witness_entry_total "$ENTRY_TOTAL_BYTES" bytes "" "$TRAIL_ENTRIES"
	csv size 0 - witness_entry_heap "$ENTRY_HEAP_BYTES" bytes "" "$TRAIL_ENTRIES"
	csv size 0 - tracked_table_total "$TABLE_TOTAL_BYTES" bytes "" "$TRAIL_ENTRIES"
	log "  witness.entry: $(mib "$ENTRY_TOTAL_BYTES") with indexes and TOAST ($(mib "$ENTRY_HEAP_BYTES") heap, $(awk -v b="$ENTRY_TOTAL_BYTES" -v n="$TRAIL_ENTRIES" 'BEGIN { printf "%.0f", b / n }') bytes/entry); tracked table public.bench_verify: $(mib "$TABLE_TOTAL_BYTES")"
}

# verify_sql RUN
verify_sql() {
	local run=$1 cpu0 cpu1 other out s rows status blocks checked pending problems r
	qvd -c CHECKPOINT
	cpu0="$(cpu_ticks)"
	out="$(psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$VERIFY_DB" -f "$BENCH_DIR/seal_verify.sql")" || die "witness.verify() failed"
	cpu1="$(cpu_ticks)"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	read -r _ s rows status blocks checked pending <<<"$(grep '^RESULT ' <<<"$out")"
	problems="$(sed -n 's/^PROBLEMS //p' <<<"$out")"
	[[ -n $pending ]] || {
		printf '%s\n' "$out" >&2
		die "cannot parse the witness.verify() result"
	}
	local verdict=valid
	if ! [[ $rows == 1 && $status == valid && $checked == "$TRAIL_ENTRIES" && $pending == 0 ]]; then
		# Not a valid, complete verification: timed anyway, but the target fails.
		verdict="NOT VALID"
		INVALID+=("witness.verify() run $run: $rows row(s), status $status, $checked entries checked, $pending pending (expected 1 row, valid, $TRAIL_ENTRIES, 0): ${problems:0:300}")
		warn "${INVALID[-1]}"
	fi
	r="$(rate "$TRAIL_ENTRIES" "$s")"
	VERIFY_SQL+=("$r|$s")
	csv verify_sql "$run" - entries_per_s "$r" entries/s "$s" "$TRAIL_ENTRIES" "$other"
	note_cpu "witness.verify() run $run" "$other"
	log "  witness.verify() run $run: $verdict, $blocks block(s), $checked entries checked in ${s}s, $r entries/s   CPU used by others s,%,steal s = $other"
}

# timed STDOUT_FILE CMD...: run CMD with its standard output into STDOUT_FILE and its standard error
# into STDOUT_FILE.err; sets T_S (wall seconds), T_RSS (peak resident KiB of CMD, or ?) and T_RC.
timed() {
	local outf=$1 t0
	shift
	t0="$(now)"
	T_RC=0
	if [[ -x /usr/bin/time ]]; then
		/usr/bin/time -o "$outf.time" -f '%M' "$@" >"$outf" 2>"$outf.err" || T_RC=$?
		T_RSS="$(tail -n 1 "$outf.time")"
	else
		"$@" >"$outf" 2>"$outf.err" || T_RC=$?
		T_RSS='?'
	fi
	T_S="$(since "$t0")"
}

export_trail() {
	local cpu0 cpu1 other lines
	EXPORT_FILE="$WITNESS_TMP/trail.copy"
	qvd -c CHECKPOINT
	cpu0="$(cpu_ticks)"
	# The byte-exact export of docs/verification.md (bench/export.sh measures it on its own).
	timed "$EXPORT_FILE" psql -XAtq -d "$VERIFY_DB" -c "COPY (SELECT witness.export_trail()) TO STDOUT"
	cpu1="$(cpu_ticks)"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	((T_RC == 0)) || {
		cat "$EXPORT_FILE.err" >&2
		die "export failed"
	}
	EXPORT_S=$T_S
	EXPORT_BYTES="$(stat -c %s "$EXPORT_FILE")"
	lines="$(wc -l <"$EXPORT_FILE")"
	((lines == TRAIL_ENTRIES + 2)) || die "the export has $lines lines, expected $((TRAIL_ENTRIES + 2)) (header, 1 block, entries)"
	EXPORT_RATE="$(rate "$TRAIL_ENTRIES" "$EXPORT_S")"
	csv export 1 - entries_per_s "$EXPORT_RATE" entries/s "$EXPORT_S" "$TRAIL_ENTRIES" "$other"
	csv size 0 - export_file "$EXPORT_BYTES" bytes "" "$TRAIL_ENTRIES"
	note_cpu "export_trail() to a file" "$other"
	log "  psql -XAtq -c 'COPY (SELECT witness.export_trail()) TO STDOUT' > file: ${EXPORT_S}s, $EXPORT_RATE entries/s, $(mib "$EXPORT_BYTES") ($lines lines), psql peak RSS ${T_RSS} KiB   CPU used by others s,%,steal s = $other"
}

# verify_tool RUN
verify_tool() {
	local run=$1 cpu0 cpu1 other checked r out="$WITNESS_TMP/witness-verify.out"
	cpu0="$(cpu_ticks)"
	timed "$out" "$VERIFIER" --stats "$EXPORT_FILE"
	cpu1="$(cpu_ticks)"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	checked="$(awk '/^entries checked:/ { print $3 }' "$out")"
	local verdict="exit 0, VALID"
	if ((T_RC != 0)) || ! grep -q '^result: *VALID' "$out" || [[ $checked != "$TRAIL_ENTRIES" ]]; then
		# Timed anyway, but the target fails (and a tampered verdict costs extra time for explanations).
		verdict="exit $T_RC, NOT VALID"
		head -n 12 "$out" >&2
		cat "$out.err" >&2
		INVALID+=("witness-verify run $run: exit status $T_RC, $(grep -m 1 '^status:' "$out" | tr -s ' ' || echo 'no status'), ${checked:-?} of $TRAIL_ENTRIES entries checked (its problems are in the log above)")
		warn "${INVALID[-1]}"
	fi
	r="$(rate "$TRAIL_ENTRIES" "$T_S")"
	VERIFY_TOOL+=("$r|$T_S")
	csv verify_tool "$run" - entries_per_s "$r" entries/s "$T_S" "$TRAIL_ENTRIES" "$other"
	note_cpu "witness-verify run $run" "$other"
	log "  witness-verify run $run: $verdict, ${checked:-?} entries checked in ${T_S}s, $r entries/s, peak RSS ${T_RSS} KiB   CPU used by others s,%,steal s = $other"
	log "    $(grep -h 'witness-verify:' "$out.err" || true)"
}

# best "rate|seconds"...: the highest rate, and "s1 s2 ..." of all runs.
best_rate() { printf '%s\n' "$@" | cut -d'|' -f1 | sort -g | tail -n 1; }
all_times() { printf '%s\n' "$@" | cut -d'|' -f2 | paste -sd' ' | sed 's/ /s, /g; s/$/s/'; }
all_rates() { printf '%s\n' "$@" | cut -d'|' -f1 | paste -sd' ' | sed 's/ /, /g'; }

# ---------------------------------------------------------------------------------------------
# Main

section "pg_witness sealing and verification benchmark: $ROUNDS round(s) of ${DURATION}s pgbench runs, $CLIENTS clients, scale $SCALE, seal_interval ${SEAL_MS} ms; verification of $VERIFY_ENTRIES entries"
if [[ ${BENCH_BUILD:-0} != 0 ]]; then
	install_deps
	build_all
fi
[[ -x $VERIFIER ]] || die "$VERIFIER not found: build it (cmake -S . -B build && cmake --build build) or set BENCH_VERIFIER"

# shellcheck disable=SC2034 # read by start_cluster
WITNESS_PRELOAD='pg_witness'
# Activity (logins, calls, reads of the trail: docs/activity.md) is measured by bench/access.sh; here
# only row capture and sealing are, and the checks count entries exactly.
start_cluster \
	"shared_buffers = 1GB" \
	"max_connections = 50" \
	"checkpoint_timeout = 30min" \
	"max_wal_size = 8GB" \
	"witness.record_activity = reads"

section "setup"
# Sealing off until a sealing-on run switches it on.
qpg -c "ALTER SYSTEM SET witness.seal_interval = 0" -c "SELECT pg_reload_conf()" >/dev/null
qpg -c "CREATE DATABASE $BENCH_DB"
log "pgbench -i -s $SCALE"
pgbench -i -s "$SCALE" -q "$BENCH_DB" 2>&1 | tail -n 1
qv -c "SET client_min_messages = warning" -c "CREATE EXTENSION pg_witness" \
	-c "SELECT witness.track(t) FROM unnest($PGBENCH_TABLES) AS t" >/dev/null
q -c CHECKPOINT

MACHINE="nproc $NPROC, RAM $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(qv -c 'SELECT version()' | cut -d, -f1), pg_witness $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+local changes')"
log "machine: $MACHINE"
BUILDS="pg_witness.so installed $(date -u -r "$("$PG_CONFIG" --pkglibdir)/pg_witness.so" '+%F %T UTC'), $VERIFIER built $(date -u -r "$VERIFIER" '+%F %T UTC')"
log "builds: $BUILDS"
log "load average before the runs: $(cut -d' ' -f1-3 /proc/loadavg)"

WARMUP=$((DURATION < 10 ? DURATION : 10))
log "warm-up: pgbench -c 2 -T $WARMUP, all four tables tracked, sealing off (not recorded)"
pgbench -n -c 2 -j 2 -T "$WARMUP" -M prepared "$BENCH_DB" >/dev/null 2>&1 || die "warm-up pgbench failed"
qv -c "SELECT count(*) FROM witness.seal()" >/dev/null

for ((round = 1; round <= ROUNDS; round++)); do
	section "round $round of $ROUNDS: pgbench tpcb-like, $CLIENTS clients, ${DURATION}s, all four tables tracked"
	run_tpcb "$round" b
	run_tpcb "$round" e
done
set_seal_interval 0
wait_sealer 0 30 >/dev/null

section "verification of a trail of $VERIFY_ENTRIES entries"
build_verify_trail
verify_sql 1
verify_sql 2
export_trail
verify_tool 1
verify_tool 2

# ---------------------------------------------------------------------------------------------
# Summary

read -r -a tb <<<"${TPS[b]}"
read -r -a te <<<"${TPS[e]}"
MED_B="$(median "${tb[@]}")"
MED_E="$(median "${te[@]}")"
RATIO="$(awk -v e="$MED_E" -v b="$MED_B" 'BEGIN { printf "%.3f", e / b }')"
ROUND_RATIOS=""
for ((i = 0; i < ${#tb[@]}; i++)); do
	ROUND_RATIOS+="$(awk -v e="${te[i]}" -v b="${tb[i]}" 'BEGIN { printf "%.3f", e / b }') "
done
read -r -a l50 <<<"${LAG[p50]}"
read -r -a l95 <<<"${LAG[p95]}"
read -r -a l99 <<<"${LAG[p99]}"
read -r -a lmax <<<"${LAG[max]}"
LAG99="$(median "${l99[@]}")"
LAG99_WORST="$(printf '%s\n' "${l99[@]}" | sort -g | tail -n 1)"
SQL_BEST="$(best_rate "${VERIFY_SQL[@]}")"
TOOL_BEST="$(best_rate "${VERIFY_TOOL[@]}")"
csv summary - - tps_ratio_e_b "$RATIO" ratio "" ""
# Medians of the per-transaction CPU and WAL of each mode.
declare -A MED_CPU=() MED_WAL=()
for m in b e; do
	read -r -a per_round <<<"${CPU_MS[$m]}"
	MED_CPU[$m]="$(median "${per_round[@]}")"
	read -r -a per_round <<<"${WAL_KB[$m]}"
	MED_WAL[$m]="$(median "${per_round[@]}")"
	csv summary - "$m" cluster_cpu_per_txn "${MED_CPU[$m]}" ms "" ""
	csv summary - "$m" wal_per_txn "${MED_WAL[$m]}" kB "" ""
done
csv summary - - seal_lag_p99_median "$LAG99" s "" ""
csv summary - - verify_sql_best "$SQL_BEST" entries/s "" "$TRAIL_ENTRIES"
csv summary - - verify_tool_best "$TOOL_BEST" entries/s "" "$TRAIL_ENTRIES"

# valid_or_fail TOOL RESULT: RESULT, or "FAIL (not valid)" when a run of TOOL did not report the trail valid.
valid_or_fail() {
	if printf '%s\n' "${INVALID[@]}" | grep -qF -- "$1 run"; then echo "FAIL (not valid)"; else echo "$2"; fi
}
pass() { awk -v m="$1" -v l="$2" -v ge="$3" 'BEGIN { ok = ge ? (m >= l) : (m <= l); print ok ? "PASS" : "FAIL" }'; }

{
	echo "pg_witness sealing and verification benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS}s"
	echo "machine: $MACHINE"
	echo "builds: $BUILDS"
	echo "settings: pgbench tpcb-like -s $SCALE -c $CLIENTS -T $DURATION -M prepared, $ROUNDS round(s) of (b) sealing off, (e) seal_interval = ${SEAL_MS} ms; verification trail of $VERIFY_ENTRIES INSERTed rows in $CHUNK_ROWS-row statements, sealed as one block, witness-verify $VERIFIER"
	echo
	echo "Sealing overhead (median over rounds)"
	printf '  (b) sealing off:             %10.1f tps   per round: %s\n' "$MED_B" "${TPS[b]}"
	printf '  (e) sealing every %5d ms:  %10.1f tps   per round: %s\n' "$SEAL_MS" "$MED_E" "${TPS[e]}"
	printf '  e/b:                         %10s       per round: %s\n' "$RATIO" "$ROUND_RATIOS"
	echo "Per transaction, the cluster's CPU (postmaster and every child, workers that left included) and WAL"
	echo "(median over rounds; the sealing-off runs' entries are sealed after them, not counted):"
	printf '  (b) sealing off:             %8s ms CPU  %8s kB WAL   per round: %s / %s\n' "${MED_CPU[b]}" "${MED_WAL[b]}" "${CPU_MS[b]}" "${WAL_KB[b]}"
	printf '  (e) sealing every %5d ms:  %8s ms CPU  %8s kB WAL   per round: %s / %s\n' "$SEAL_MS" "${MED_CPU[e]}" "${MED_WAL[e]}" "${CPU_MS[e]}" "${WAL_KB[e]}"
	echo
	echo "Seal lag of the entries written during the (e) runs: sealed_at of their block - stmt_time, in seconds"
	echo "(an upper bound on commit-to-sealed_at: stmt_time precedes the commit; the block itself commits"
	echo " just after its sealed_at). Per round:"
	for ((i = 0; i < ${#l99[@]}; i++)); do
		printf '  round %d:  p50 %6s   p95 %6s   p99 %6s   max %6s\n' "$((i + 1))" "${l50[i]}" "${l95[i]}" "${l99[i]}" "${lmax[i]}"
	done
	echo
	echo "Verification of a trail of $TRAIL_ENTRIES entries in one block ($VERIFY_ENTRIES INSERTed rows, the rest from witness.track())"
	echo "  witness.entry $(mib "$ENTRY_TOTAL_BYTES") (heap $(mib "$ENTRY_HEAP_BYTES"), indexes and TOAST included in the first), tracked table $(mib "$TABLE_TOTAL_BYTES")"
	echo "  witness.verify():                      best $SQL_BEST entries/s   runs: $(all_rates "${VERIFY_SQL[@]}") entries/s ($(all_times "${VERIFY_SQL[@]}"))"
	echo "  export (COPY ... TO STDOUT > file):    $EXPORT_RATE entries/s ($EXPORT_S s, $(mib "$EXPORT_BYTES"))"
	echo "  witness-verify on the file:            best $TOOL_BEST entries/s   runs: $(all_rates "${VERIFY_TOOL[@]}") entries/s ($(all_times "${VERIFY_TOOL[@]}"))"
	echo
	disturbed=0
	for d in "${DISTURBANCE[@]}"; do
		if ((${d##*|} > DISTURBED_PCT)); then
			disturbed=$((disturbed + 1))
		fi
	done
	if ((disturbed > 0)); then
		echo "WARNING: $disturbed of ${#DISTURBANCE[@]} measured steps shared the machine with other processes that used more"
		echo "than ${DISTURBED_PCT}% of its CPU time (below): their figures are unreliable; rerun on a quiet machine."
		echo
	fi
	echo "Targets"
	printf '  %-58s | %12s | %12s | %s\n' target measured required result
	printf '  %-58s | %12s | %12s | %s\n' "tpcb-like ${CLIENTS} clients: sealing every ${SEAL_MS} ms / sealing off" "$RATIO" ">= $TARGET_RATIO" "$(pass "$RATIO" "$TARGET_RATIO" 1)"
	printf '  %-58s | %12s | %12s | %s\n' "seal lag p99 (median over rounds; worst round ${LAG99_WORST} s)" "$LAG99 s" "<= $TARGET_LAG_S s" "$(pass "$LAG99" "$TARGET_LAG_S" 0)"
	printf '  %-58s | %12s | %12s | %s\n' "witness.verify() throughput (best of 2)" "$SQL_BEST/s" ">= $TARGET_VERIFY_RATE/s" "$(valid_or_fail "witness.verify()" "$(pass "$SQL_BEST" "$TARGET_VERIFY_RATE" 1)")"
	printf '  %-58s | %12s | %12s | %s\n' "witness-verify throughput on the export (best of 2)" "$TOOL_BEST/s" ">= $TARGET_VERIFY_RATE/s" "$(valid_or_fail witness-verify "$(pass "$TOOL_BEST" "$TARGET_VERIFY_RATE" 1)")"
	if ((${#INVALID[@]} > 0)); then
		echo
		echo "VERIFICATION DID NOT REPORT THE TRAIL VALID (its throughput target fails regardless of speed):"
		printf '  %s\n' "${INVALID[@]}"
	fi
	echo
	echo "CPU used by other processes during each measured step (share of nproc x wall time)"
	for d in "${DISTURBANCE[@]}"; do
		mark=
		if ((${d##*|} > DISTURBED_PCT)); then
			mark='   (disturbed)'
		fi
		printf '  %-48s %4s%%%s\n' "${d%|*}" "${d##*|}" "$mark"
	done
} | tee "$SUMMARY"
log "raw results: $CSV"
log "summary:     $SUMMARY"
((${#INVALID[@]} == 0)) || die "verification did not report the trail valid (see the summary)"
