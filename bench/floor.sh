#!/usr/bin/env bash
# How close capture is to the floor of its design: what a trigger that stores one row of the same size
# per change costs when it does nothing else (bench/floor/floor_capture.c: no values read, no hash,
# no index). Three modes, interleaved in each round, in one throw-away cluster:
#
#   a  untracked
#   b  pg_witness (witness.track, sealing off: bench/seal.sh measures sealing)
#   f  the floor trigger, writing rows as large as pg_witness's entries of the same workload
#
# and, when BENCH_FLOOR_MODES names them (bench/floor/trigger_shapes.c; they write nothing):
#
#   r  an AFTER ROW trigger in C that returns at once: PostgreSQL's per-row trigger machinery alone
#   s  AFTER STATEMENT triggers with transition tables that read every row of them once
#
#   bash bench/floor.sh
#   BENCH_FLOOR_MODES="a r s" BENCH_CLIENTS="" bash bench/floor.sh   # the trigger shapes, bulk only
#
# Workloads as in bench/run.sh: pgbench tpcb-like at each of BENCH_CLIENTS, and the bulk INSERT and
# UPDATE of bench/bulk.sql. The row sizes are pg_witness's own, measured first in this cluster: the
# average pg_column_size of its entries per table and operation. The summary gives b/a and f/a per
# workload (the floor's ratio is the best any capture of that entry size can reach here) and b/f.
# Environment (all optional): BENCH_FLOOR_MODES ("a b f"), BENCH_ROUNDS (3), BENCH_CLIENTS ("1 16"), BENCH_DURATION (15),
# BENCH_SCALE (10), BENCH_BULK_ROWS (200000), plus those of scripts/lib.sh. pg_witness must be
# installed (make install); the floor trigger is built and installed here.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib.sh
source "$BENCH_DIR/../scripts/lib.sh"

ROUNDS="${BENCH_ROUNDS:-3}"
read -r -a MODES <<<"${BENCH_FLOOR_MODES:-a b f}"
[[ " ${MODES[*]} " == *" a "* ]] || { echo "BENCH_FLOOR_MODES must include a (untracked): every ratio is to it" >&2; exit 2; }
read -r -a CLIENTS <<<"${BENCH_CLIENTS-1 16}"
DURATION="${BENCH_DURATION:-15}"
SCALE="${BENCH_SCALE:-10}"
BULK_ROWS="${BENCH_BULK_ROWS:-200000}"
TPCB_TABLES=(pgbench_accounts pgbench_branches pgbench_tellers pgbench_history)

log "build: the floor trigger (bench/floor)"
make -s -C "$BENCH_DIR/floor" PG_CONFIG="$PG_CONFIG" >/dev/null
as_root make -s -C "$BENCH_DIR/floor" install PG_CONFIG="$PG_CONFIG" >/dev/null

start_cluster "witness.seal_interval = 0" "shared_buffers = 1GB" "max_connections = 50" \
	"checkpoint_timeout = 30min" "max_wal_size = 8GB" "witness.record_activity = reads"
q() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d floor "$@"; }
psql -X -q -d postgres -c "CREATE DATABASE floor" >/dev/null
q -c "CREATE EXTENSION pg_witness" >/dev/null
pgbench -q -i -s "$SCALE" floor >/dev/null 2>&1
# EXTERNAL: the filler (one repeated byte) is never compressed, should a row pass the TOAST threshold.
q -c "CREATE TABLE public.floor_sink (n bigint, filler bytea)" -c "ALTER TABLE public.floor_sink ALTER filler SET STORAGE EXTERNAL" \
	-c "CREATE FUNCTION public.floor_capture() RETURNS trigger AS '\$libdir/floor_capture' LANGUAGE C" \
	-c "CREATE FUNCTION public.floor_row_noop() RETURNS trigger AS '\$libdir/trigger_shapes' LANGUAGE C" \
	-c "CREATE FUNCTION public.floor_transition_read() RETURNS trigger AS '\$libdir/trigger_shapes' LANGUAGE C" >/dev/null

new_bulk_table() {
	q -c "DROP TABLE IF EXISTS public.bench_bulk" \
		-c "CREATE TABLE public.bench_bulk (id bigint PRIMARY KEY, a int, b text, c numeric, d timestamptz)" >/dev/null
}
BULK_INSERT="INSERT INTO public.bench_bulk (id, a, b, c, d)
	SELECT g, g % 1000, 'row ' || g, g * 1.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
	FROM generate_series(1, $BULK_ROWS) AS g"
BULK_UPDATE="UPDATE public.bench_bulk SET b = b || ' updated', c = c + 1"

track() { # TABLE...
	local t
	for t in "$@"; do q -c "SET client_min_messages = warning; SELECT witness.track('public.$t')" >/dev/null; done
}
untrack() { # TABLE...
	local t
	for t in "$@"; do q -c "SELECT witness.untrack('public.$t')" >/dev/null; done
}

# The sizes of pg_witness's entries: a short tracked run of each workload.
section "entry sizes"
track "${TPCB_TABLES[@]}"
pgbench -n -c 4 -j 2 -T 5 -M prepared floor >/dev/null 2>&1
untrack "${TPCB_TABLES[@]}"
new_bulk_table
track bench_bulk
q -c "$BULK_INSERT" -c "$BULK_UPDATE" >/dev/null
declare -A SIZE
while IFS='|' read -r table op bytes; do
	SIZE["$table,$op"]=$bytes
	log "$table $op: $bytes bytes (average pg_column_size of its entries)"
done < <(q -c "SELECT e.table_name, e.op, round(avg(pg_column_size(e.*)))::int FROM witness.entry e
	WHERE e.table_name IN ('pgbench_accounts', 'pgbench_branches', 'pgbench_tellers', 'pgbench_history', 'bench_bulk')
	GROUP BY 1, 2 ORDER BY 1, 2")
size() { echo "${SIZE[$1,$2]:-${SIZE[$1,I]:-${SIZE[$1,U]}}}"; }

floor_on() { # TABLE...
	local t
	for t in "$@"; do
		q -c "CREATE TRIGGER floor_capture AFTER INSERT OR UPDATE OR DELETE ON public.$t FOR EACH ROW
			EXECUTE FUNCTION public.floor_capture('public.floor_sink', '$(size "$t" I)', '$(size "$t" U)', '$(size "$t" D)')" >/dev/null
	done
}
floor_off() { # TABLE...
	local t
	for t in "$@"; do q -c "DROP TRIGGER floor_capture ON public.$t" >/dev/null; done
}
# Mode r: one AFTER ROW trigger that does nothing. Mode s: one AFTER STATEMENT trigger per event
# (PostgreSQL allows transition tables on single-event triggers only), each reading its tables.
shapes_on() { # MODE TABLE...
	local m=$1 t
	shift
	for t in "$@"; do
		if [[ $m == r ]]; then
			q -c "CREATE TRIGGER floor_row AFTER INSERT OR UPDATE OR DELETE ON public.$t FOR EACH ROW
				EXECUTE FUNCTION public.floor_row_noop()" >/dev/null
		else
			q -c "CREATE TRIGGER floor_stmt_i AFTER INSERT ON public.$t REFERENCING NEW TABLE AS n
					FOR EACH STATEMENT EXECUTE FUNCTION public.floor_transition_read()" \
				-c "CREATE TRIGGER floor_stmt_u AFTER UPDATE ON public.$t REFERENCING OLD TABLE AS o NEW TABLE AS n
					FOR EACH STATEMENT EXECUTE FUNCTION public.floor_transition_read()" \
				-c "CREATE TRIGGER floor_stmt_d AFTER DELETE ON public.$t REFERENCING OLD TABLE AS o
					FOR EACH STATEMENT EXECUTE FUNCTION public.floor_transition_read()" >/dev/null
		fi
	done
}
shapes_off() { # TABLE...
	local t
	for t in "$@"; do
		q -c "SET client_min_messages = warning" -c "DROP TRIGGER IF EXISTS floor_row ON public.$t" -c "DROP TRIGGER IF EXISTS floor_stmt_i ON public.$t" \
			-c "DROP TRIGGER IF EXISTS floor_stmt_u ON public.$t" -c "DROP TRIGGER IF EXISTS floor_stmt_d ON public.$t" >/dev/null
	done
}
mode_on() { # MODE TABLE...
	local m=$1
	shift
	case $m in b) track "$@" ;; f) floor_on "$@" ;; r | s) shapes_on "$m" "$@" ;; esac
}
mode_off() { # MODE TABLE...
	local m=$1
	shift
	case $m in b) untrack "$@" ;; f) floor_off "$@" ;; r | s) shapes_off "$@" ;; esac
}
# Rows each mode wrote (entries, sink rows): checked after every run.
counts() { q -c "SELECT (SELECT count(*) FROM witness.entry) || ' ' || (SELECT count(*) FROM public.floor_sink)"; }
check_wrote() { # MODE BEFORE AFTER
	local eb sb ea sa
	read -r eb sb <<<"$2"
	read -r ea sa <<<"$3"
	case $1 in
	a | r | s) ((ea == eb && sa == sb)) || die "run of mode $1 wrote entries or sink rows" ;;
	b) ((ea > eb && sa == sb)) || die "pg_witness run wrote no entries" ;;
	f) ((ea == eb && sa > sb)) || die "floor run wrote no sink rows" ;;
	esac
}

RESULTS="$(mktemp)"
run_tpcb() { # ROUND CLIENTS MODE
	local tps before
	mode_on "$3" "${TPCB_TABLES[@]}"
	q -c CHECKPOINT >/dev/null
	before="$(counts)"
	tps="$(pgbench -n -c "$2" -j "$(($2 < 2 ? $2 : 2))" -T "$DURATION" -M prepared floor 2>&1 | awk '/^tps = / { print $3; exit }')"
	check_wrote "$3" "$before" "$(counts)"
	mode_off "$3" "${TPCB_TABLES[@]}"
	echo "tpcb-$2 $3 $tps" >>"$RESULTS"
	log "round $1  tpcb-like $(printf '%2d' "$2") clients  mode $3  $tps tps"
}
run_bulk() { # ROUND MODE
	local t0 t1 t1b t2 before
	new_bulk_table
	mode_on "$2" bench_bulk
	q -c CHECKPOINT >/dev/null
	before="$(counts)"
	t0="$(date +%s.%N)"
	q -c "$BULK_INSERT" >/dev/null
	t1="$(date +%s.%N)"
	q -c CHECKPOINT >/dev/null
	t1b="$(date +%s.%N)"
	q -c "$BULK_UPDATE" >/dev/null
	t2="$(date +%s.%N)"
	check_wrote "$2" "$before" "$(counts)"
	mode_off "$2" bench_bulk
	echo "bulk-insert $2 $(awk -v n="$BULK_ROWS" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }')" >>"$RESULTS"
	echo "bulk-update $2 $(awk -v n="$BULK_ROWS" -v a="$t1b" -v b="$t2" 'BEGIN { printf "%.1f", n / (b - a) }')" >>"$RESULTS"
	log "round $1  bulk INSERT/UPDATE  mode $2  $(tail -n 2 "$RESULTS" | awk '{ printf "%s rows/s  ", $3 }')"
}

for round in $(seq 1 "$ROUNDS"); do
	section "round $round of $ROUNDS"
	# The order of the modes rotates, so that none always runs first on a fresh checkpoint.
	shift_by=$(((round - 1) % ${#MODES[@]}))
	order="${MODES[*]:shift_by} ${MODES[*]:0:shift_by}"
	for c in "${CLIENTS[@]}"; do
		for m in $order; do run_tpcb "$round" "$c" "$m"; done
	done
	for m in $order; do run_bulk "$round" "$m"; done
done

section "medians of the rounds against untracked (a); b/f: pg_witness against the floor"
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
declare -A MED
for w in $(awk '{ print $1 }' "$RESULTS" | sort -u); do
	line="$(printf '%-12s' "$w")"
	for m in "${MODES[@]}"; do
		MED[$m]="$(grep "^$w $m " "$RESULTS" | awk '{ print $3 }' | median)"
		line+="$(printf '  %s %10.1f' "$m" "${MED[$m]}")"
	done
	for m in "${MODES[@]}"; do
		[[ $m == a ]] || line+="$(awk -v m="$m" -v x="${MED[$m]}" -v a="${MED[a]}" 'BEGIN { printf "  %s/a %.3f", m, x / a }')"
	done
	[[ -n ${MED[b]:-} && -n ${MED[f]:-} ]] && line+="$(awk -v b="${MED[b]}" -v f="${MED[f]}" 'BEGIN { printf "  b/f %.3f", b / f }')"
	echo "$line"
	MED=()
done
log "per round: $(tr '\n' ';' <"$RESULTS")"
rm -f "$RESULTS"
