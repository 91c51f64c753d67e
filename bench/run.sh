#!/usr/bin/env bash
# Benchmark of pg_witness capture against an untracked baseline, a PL/pgSQL audit trigger and
# pgaudit, all in one throw-away cluster and one invocation. See bench/README.md.
#
#   bash bench/run.sh                                  # defaults: ~7 minutes
#   BENCH_DURATION=5 BENCH_ROUNDS=1 bash bench/run.sh  # smoke run
#
# Environment (all optional):
#   BENCH_DURATION   seconds per pgbench run (default 20)
#   BENCH_ROUNDS     rounds; every mode runs once per round, interleaved (default 2)
#   BENCH_CLIENTS    pgbench client counts (default "1 16")
#   BENCH_SCALE      pgbench scale factor (default 10)
#   BENCH_BULK_ROWS  rows of the bulk INSERT/UPDATE (default 200000)
#   BENCH_BUILD=0    do not build and install the extension first (default: build)
#   BENCH_SETUP_SQL  SQL run in the benchmark database after the setup, before any measurement
#                    (e.g. "DROP INDEX witness.entry_default_subject" to measure capture without that
#                    index; each partition of witness.entry has its own, docs/scaling.md)
#   BENCH_OUT        directory for the CSV and the summary (default bench/out)
#   BENCH_TPCB_MODES tpcb-like modes (default "a b c d e"), BENCH_BULK_MODES bulk modes (default "a b c e")
# plus those of scripts/lib.sh (WITNESS_JOBS, WITNESS_KEEP_CLUSTER, ...).
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

DURATION="${BENCH_DURATION:-20}"
ROUNDS="${BENCH_ROUNDS:-2}"
read -r -a CLIENTS <<<"${BENCH_CLIENTS:-1 16}"
SCALE="${BENCH_SCALE:-10}"
BULK_ROWS="${BENCH_BULK_ROWS:-200000}"
OUT_DIR="${BENCH_OUT:-$REPO/bench/out}"
read -r -a TPCB_MODES <<<"${BENCH_TPCB_MODES:-a b c d e}"
read -r -a BULK_MODES <<<"${BENCH_BULK_MODES:-a b c e}"
PGBENCH_TABLES="ARRAY['pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history']::regclass[]"
BENCH_DB=bench
CLK_TCK="$(getconf CLK_TCK)"
NPROC="$(nproc)"

[[ $DURATION =~ ^[0-9]+$ && $DURATION -gt 0 ]] || die "BENCH_DURATION must be a positive integer"
[[ $ROUNDS =~ ^[0-9]+$ && $ROUNDS -gt 0 ]] || die "BENCH_ROUNDS must be a positive integer"
[[ $BULK_ROWS =~ ^[0-9]+$ && $BULK_ROWS -gt 0 ]] || die "BENCH_BULK_ROWS must be a positive integer"

mkdir -p "$OUT_DIR"
STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
CSV="$OUT_DIR/results-$STAMP.csv"
SUMMARY="$OUT_DIR/summary-$STAMP.txt"
echo "round,workload,clients,mode,value,unit,elapsed_s,units,witness_entries,plpgsql_rows,pgaudit_lines,relation_bytes,others_cpu_s,others_cpu_pct,steal_s" >"$CSV"

declare -A MODE_NAME=([a]="untracked" [b]="pg_witness" [c]="plpgsql trigger" [d]="pgaudit write" [e]="pg_witness encr.")
# Mode e: every pgbench table encrypted, its subject the account, teller or branch id.
ENCRYPTED_TRACK="SELECT witness.track('pgbench_accounts', subject_column => 'aid', encrypt => true),
                        witness.track('pgbench_branches', subject_column => 'bid', encrypt => true),
                        witness.track('pgbench_tellers', subject_column => 'tid', encrypt => true),
                        witness.track('pgbench_history', subject_column => 'aid', encrypt => true)"

q() { psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }
qv() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$BENCH_DB" "$@"; }

# ---------------------------------------------------------------------------------------------
# Modes

mode_on() {
	case $1 in
	a) ;;
	b) qv -c "SET client_min_messages = warning" -c "SELECT witness.track(t) FROM unnest($PGBENCH_TABLES) AS t" >/dev/null ;;
	e) qv -c "SET client_min_messages = warning" -c "$ENCRYPTED_TRACK" >/dev/null ;;
	c) qv -c "SELECT bench_audit.enable(t) FROM unnest($PGBENCH_TABLES) AS t" >/dev/null ;;
	d) q -c "ALTER DATABASE $BENCH_DB SET pgaudit.log = 'write'" ;;
	esac
}

mode_off() {
	case $1 in
	a) ;;
	b | e) qv -c "SELECT witness.untrack(t) FROM unnest($PGBENCH_TABLES) AS t" >/dev/null ;;
	c) qv -c "SELECT bench_audit.disable(t) FROM unnest($PGBENCH_TABLES) AS t" >/dev/null ;;
	d) q -c "ALTER DATABASE $BENCH_DB RESET pgaudit.log" ;;
	esac
}

# Counters: "witness entries|plpgsql rows|pgaudit lines" (pgaudit: lines of the server log).
counters() {
	local log_lines
	log_lines="$(grep -c 'AUDIT: SESSION' "$WITNESS_SERVER_LOG" || true)"
	echo "$(qv -c 'SELECT public.bench_counters()')|$log_lines"
}

# CPU accounting of a run: cpu_ticks, cpu_delta (bench/cpu.sh).
# shellcheck source=bench/cpu.sh
source "$BENCH_DIR/cpu.sh"

# delta BEFORE AFTER: "dw,dp,da" for the CSV.
delta() {
	local w0 p0 a0 w1 p1 a1
	IFS='|' read -r w0 p0 a0 <<<"$1"
	IFS='|' read -r w1 p1 a1 <<<"$2"
	echo "$((w1 - w0)),$((p1 - p0)),$((a1 - a0))"
}

# check_captured MODE "dw,dp,da" UNITS WHAT: the mode under test captured something, the others nothing.
check_captured() {
	local mode=$1 dw dp da
	IFS=, read -r dw dp da <<<"$2"
	case $mode in
	a) ((dw == 0 && dp == 0 && da == 0)) || die "$4: untracked run captured something ($2)" ;;
	b | e) ((dw > 0 && dp == 0 && da == 0)) || die "$4: pg_witness run: unexpected capture counts ($2)" ;;
	c) ((dw == 0 && dp > 0 && da == 0)) || die "$4: plpgsql run: unexpected capture counts ($2)" ;;
	d) ((dw == 0 && dp == 0 && da > 0)) || die "$4: pgaudit run: unexpected capture counts ($2)" ;;
	esac
}

# ---------------------------------------------------------------------------------------------
# Workloads

# run_tpcb ROUND CLIENTS MODE
run_tpcb() {
	local round=$1 c=$2 mode=$3 jobs out before after d tps txns cpu0 cpu1 other
	jobs=$((c < 2 ? c : 2))
	mode_on "$mode"
	q -c "SELECT public.bench_settle()" >/dev/null
	q -c CHECKPOINT
	before="$(counters)"
	cpu0="$(cpu_ticks)"
	if ! out="$(pgbench -n -c "$c" -j "$jobs" -T "$DURATION" -M prepared "$BENCH_DB" 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "pgbench failed (round $round, $c clients, mode $mode)"
	fi
	cpu1="$(cpu_ticks)"
	after="$(counters)"
	mode_off "$mode"
	tps="$(awk '/^tps = / { print $3; exit }' <<<"$out")"
	txns="$(awk -F': ' '/^number of transactions actually processed/ { print $2; exit }' <<<"$out")"
	txns="${txns%%/*}"
	[[ -n $tps && -n $txns ]] || {
		printf '%s\n' "$out" >&2
		die "cannot parse pgbench output"
	}
	d="$(delta "$before" "$after")"
	check_captured "$mode" "$d" "$txns" "tpcb round $round, $c clients"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	echo "$round,tpcb,$c,$mode,$tps,tps,$DURATION,$txns,$d,,$other" >>"$CSV"
	log "round $round  tpcb-like  $(printf '%2d' "$c") clients  ($mode) $(printf '%-16s' "${MODE_NAME[$mode]}") $(printf '%10.1f' "$tps") tps   captured w,p,a = $d   CPU used by others s,%,steal s = $other"
}

# trail_bytes MODE: on-disk size (heap, TOAST, indexes; all partitions) of the trail of mode b or c.
trail_bytes() {
	local rel=witness.entry
	[[ $1 == c ]] && rel=bench_audit.log
	# pg_partition_tree() lists nothing for a table that is not partitioned.
	qv -c "SELECT COALESCE((SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('$rel')),
	                       pg_total_relation_size('$rel'))"
}

# run_bulk ROUND MODE
run_bulk() {
	local round=$1 mode=$2 cpu0 cpu1 other out before ins_s upd_s c_ins c_upd d_ins d_upd size0=0 size1 entries bpe
	qv -c "SELECT public.bench_new_bulk_table()" >/dev/null
	case $mode in
	b) qv -c "SET client_min_messages = warning" -c "SELECT witness.track('public.bench_bulk')" >/dev/null ;;
	# Encrypted: every row its own subject (200,000 distinct subjects, so 200,000 derived keys).
	e) qv -c "SET client_min_messages = warning" \
		-c "SELECT witness.track('public.bench_bulk', subject_column => 'id', encrypt => true)" >/dev/null ;;
	c) qv -c "SELECT bench_audit.enable('public.bench_bulk')" >/dev/null ;;
	esac
	# The trails are append-only and keep what earlier runs wrote: bytes per entry is the growth
	# of the trail's size over the number of entries the bulk statements added.
	[[ $mode == a ]] || size0="$(trail_bytes "$mode")"
	before="$(counters)"
	cpu0="$(cpu_ticks)"
	if ! out="$(psql -X -A -t -v ON_ERROR_STOP=1 -v rows="$BULK_ROWS" -d "$BENCH_DB" -f "$BENCH_DIR/bulk.sql" 2>&1)"; then
		printf '%s\n' "$out" >&2
		die "bulk run failed (round $round, mode $mode)"
	fi
	cpu1="$(cpu_ticks)"
	other="$(cpu_delta "$cpu0" "$cpu1")"
	read -r _ ins_s upd_s c_ins c_upd <<<"$(grep '^RESULT ' <<<"$out")"
	[[ -n $upd_s ]] || {
		printf '%s\n' "$out" >&2
		die "cannot parse bulk output"
	}
	# Counters after each statement come from bench_counters() (no pgaudit field): pgaudit is not
	# a bulk mode, its column stays 0.
	d_ins="$(delta "$before" "$c_ins|0")"
	d_upd="$(delta "$c_ins|0" "$c_upd|0")"
	d_ins="${d_ins%,*},0"
	d_upd="${d_upd%,*},0"
	check_captured "$mode" "$d_ins" "$BULK_ROWS" "bulk INSERT round $round"
	check_captured "$mode" "$d_upd" "$BULK_ROWS" "bulk UPDATE round $round"
	local ins_rate upd_rate
	ins_rate="$(awk -v n="$BULK_ROWS" -v s="$ins_s" 'BEGIN { printf "%.1f", n / s }')"
	upd_rate="$(awk -v n="$BULK_ROWS" -v s="$upd_s" 'BEGIN { printf "%.1f", n / s }')"
	# The CPU used by others is measured over both statements (and their checkpoints) together.
	echo "$round,bulk_insert,1,$mode,$ins_rate,rows/s,$ins_s,$BULK_ROWS,$d_ins,,$other" >>"$CSV"
	echo "$round,bulk_update,1,$mode,$upd_rate,rows/s,$upd_s,$BULK_ROWS,$d_upd,,$other" >>"$CSV"
	local msg="" dw1 dp1 dw2 dp2
	if [[ $mode != a ]]; then
		size1="$(trail_bytes "$mode")"
		IFS=, read -r dw1 dp1 _ <<<"$d_ins"
		IFS=, read -r dw2 dp2 _ <<<"$d_upd"
		if [[ $mode == c ]]; then entries=$((dp1 + dp2)); else entries=$((dw1 + dw2)); fi
		bpe="$(awk -v b="$((size1 - size0))" -v n="$entries" 'BEGIN { printf "%.1f", b / n }')"
		echo "$round,bytes_per_entry,1,$mode,$bpe,bytes,,$entries,,,,$((size1 - size0)),,," >>"$CSV"
		msg="   $bpe bytes/entry ($entries entries, $((size1 - size0)) bytes)"
	fi
	# Leave nothing behind that would fire during the next runs.
	case $mode in
	b | e) qv -c "SELECT witness.untrack('public.bench_bulk')" >/dev/null ;;
	c) qv -c "SELECT bench_audit.disable('public.bench_bulk')" >/dev/null ;;
	esac
	log "round $round  bulk  ($mode) $(printf '%-16s' "${MODE_NAME[$mode]}") INSERT $(printf '%9.0f' "$ins_rate") rows/s  UPDATE $(printf '%9.0f' "$upd_rate") rows/s$msg   CPU used by others s,%,steal s = $other"
}

# ---------------------------------------------------------------------------------------------
# Main

section "pg_witness benchmark: ${ROUNDS} round(s), ${DURATION}s per pgbench run, clients ${CLIENTS[*]}, scale $SCALE, bulk $BULK_ROWS rows"
install_deps
if [[ ${BENCH_BUILD:-1} != 0 ]]; then
	build_ext
fi

# Connections: the most clients of a run, plus the sealer, autovacuum and the harness's own.
MAX_CLIENTS=0
for c in "${CLIENTS[@]}"; do
	[[ $c =~ ^[0-9]+$ && $c -gt 0 ]] || die "BENCH_CLIENTS must hold positive integers"
	((c > MAX_CLIENTS)) && MAX_CLIENTS=$c
done
# shellcheck disable=SC2034 # read by start_cluster
WITNESS_PRELOAD='pg_witness,pgaudit'
# Activity (logins, calls, reads of the trail: docs/activity.md) is measured by bench/access.sh; here
# only row capture and sealing are, and the checks count entries exactly.
start_cluster \
	"shared_buffers = 1GB" \
	"max_connections = $((MAX_CLIENTS > 30 ? MAX_CLIENTS + 20 : 50))" \
	"checkpoint_timeout = 30min" \
	"max_wal_size = 8GB" \
	"witness.record_activity = reads"

section "setup"
# The master key of mode e, in the data directory, readable by the server's user only.
as_pg sh -c "umask 077 && openssl rand -hex 32 >'$PGDATA/bench_master.key'"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "ALTER SYSTEM SET witness.master_key_file = '$PGDATA/bench_master.key'" \
	-c "SELECT pg_reload_conf()" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "CREATE DATABASE $BENCH_DB"
# Alerts (docs/alerts.md) are pg_witness's own records, like activity: the rules the benchmark's own
# switching would fire (capture_off when a mode untracks the tables, mass_change on the bulk UPDATE)
# are switched off, so that the checks count row capture exactly. The worker still evaluates them
# after every seal pass, so their cost stays in the measurement. The two rules that cannot be
# disabled (alert_rule_changed, evaluation_failed) raise nothing the benchmark does.
psql -X -q -v ON_ERROR_STOP=1 -d "$BENCH_DB" -c "CREATE EXTENSION IF NOT EXISTS pg_witness" \
	-c "SELECT count(witness.set_alert_rule(r.rule, enabled => false)) FROM witness.alert_rules r WHERE r.rule NOT IN ('alert_rule_changed', 'evaluation_failed')" >/dev/null
sleep 3 # the worker raises the alerts of those changes at its next passes, before any measurement
log "pgbench -i -s $SCALE"
pgbench -i -s "$SCALE" -q "$BENCH_DB" 2>&1 | tail -n 1
q -f "$BENCH_DIR/setup.sql"
if [[ -n ${BENCH_SETUP_SQL:-} ]]; then
	log "BENCH_SETUP_SQL: $BENCH_SETUP_SQL"
	q -c "$BENCH_SETUP_SQL"
fi
q -c CHECKPOINT

MACHINE="nproc $(nproc), RAM $(free -g | awk '/^Mem:/ { print $2 }') GiB, $(qv -c 'SELECT version()' | cut -d, -f1), pgaudit $(qv -c "SELECT extversion FROM pg_extension WHERE extname = 'pgaudit'"), pg_witness $(git -C "$REPO" rev-parse --short HEAD 2>/dev/null || echo '?')$(git -C "$REPO" diff --quiet HEAD 2>/dev/null || echo '+local changes')"
log "machine: $MACHINE"

# Warm-up, not recorded: otherwise the first measured run (untracked, 1 client) alone would pay
# for a cold cache and a cold pgbench_* layout.
WARMUP=$((DURATION < 10 ? DURATION : 10))
log "warm-up: pgbench -c 2 -T $WARMUP (not recorded)"
pgbench -n -c 2 -j 2 -T "$WARMUP" -M prepared "$BENCH_DB" >/dev/null 2>&1 || die "warm-up pgbench failed"

for ((round = 1; round <= ROUNDS; round++)); do
	section "round $round of $ROUNDS"
	for c in "${CLIENTS[@]}"; do
		for mode in "${TPCB_MODES[@]}"; do
			run_tpcb "$round" "$c" "$mode"
		done
	done
	for mode in "${BULK_MODES[@]}"; do
		run_bulk "$round" "$mode"
	done
done

section "results"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "SET client_min_messages = warning" -c "DROP TABLE IF EXISTS bench_result" -c "CREATE TABLE bench_result (
	round int, workload text, clients int, mode text, value float8, unit text, elapsed_s float8,
	units bigint, witness_entries bigint, plpgsql_rows bigint, pgaudit_lines bigint, relation_bytes bigint,
	others_cpu_s float8, others_cpu_pct float8, steal_s float8)"
psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "COPY bench_result FROM STDIN (FORMAT csv, HEADER)" <"$CSV"
{
	echo "pg_witness benchmark, $(date -u '+%Y-%m-%d %H:%M UTC'), ${SECONDS}s"
	echo "machine: $MACHINE"
	echo "settings: rounds $ROUNDS, pgbench -T $DURATION -M prepared, clients ${CLIENTS[*]}, scale $SCALE, bulk $BULK_ROWS rows"
	[[ -z ${BENCH_SETUP_SQL:-} ]] || echo "setup SQL: $BENCH_SETUP_SQL"
	psql -X -v ON_ERROR_STOP=1 -d postgres -f "$BENCH_DIR/report.sql"
} | tee "$SUMMARY"
log "raw results: $CSV"
log "summary:     $SUMMARY"
