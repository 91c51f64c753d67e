#!/usr/bin/env bash
# Benchmark of retention on a partitioned trail (docs/retention.md, "Dropping whole partitions";
# docs/scaling.md): witness.apply_retention() on a trail of OLD + NEW entries where the OLD ones,
# exactly one partition of them, expire. The issue's target: 10 million entries, one
# partition-aligned million expiring, under 30 s.
#
#   PGHOST=/tmp/x PGPORT=5432 PGUSER=postgres bash bench/retention.sh
#   BENCH_OLD_ENTRIES=100000 BENCH_NEW_ENTRIES=900000 bash bench/retention.sh   # smoke run
#
# Months cannot be faked: stmt_time is the statement's start time, and entries of last month cannot
# be made this month without tampering. So the script makes a partition of its own for the expiring
# entries, the way the sealer makes a month but with a range that ends when they are in: it is made
# [start, MAXVALUE), filled with OLD entries and sealed, then detached and attached again as
# [start, cut) (a change of its bound only: no entry is touched), and a partition [cut, MAXVALUE)
# takes the NEW entries. Every entry is of one table tagged internal; just before the runs, internal
# gets a period of the time since the cut (plus half a second): every OLD entry has expired, no NEW
# one. This is the situation of a monthly trail a year old whose oldest month expires, one month of
# OLD entries and NEW entries in younger partitions.
#
# Runs against the server the PG* variables name, which must have pg_witness installed and preloaded;
# run it with witness.seal_interval = 0 (the script seals itself, and the sealer would make monthly
# partitions). It creates the database bench_retention and drops it at the end (BENCH_KEEP=1 keeps
# it). Disk: about 400 bytes per entry, heap, TOAST, indexes and WAL (4 GB for the defaults).
#
# Environment (all optional):
#   BENCH_OLD_ENTRIES   entries of the partition that expires (default 1000000)
#   BENCH_NEW_ENTRIES   entries of the partition that stays (default 9000000)
#   BENCH_CHUNK_ROWS    rows per INSERT statement, each followed by witness.seal() (default 250000)
#   BENCH_ROW_BY_ROW=0  skip timing the same run deleting row by row (rolled back), which is slow
#
# Prints each timing with the load average (on a shared machine the neighbours show there).
set -euo pipefail

OLD="${BENCH_OLD_ENTRIES:-1000000}"
NEW="${BENCH_NEW_ENTRIES:-9000000}"
CHUNK="${BENCH_CHUNK_ROWS:-250000}"
DB=bench_retention
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

for v in OLD NEW CHUNK; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || { echo "$v (BENCH_*) must be a positive integer" >&2; exit 2; }
done

q() { "${PSQL[@]}" -d "$DB" "$@"; }
load() { cut -d' ' -f1 /proc/loadavg; }

cleanup() {
	if [[ ${BENCH_KEEP:-0} != 1 ]]; then
		"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" >/dev/null 2>&1 || true
	fi
}
trap cleanup EXIT

# fill FIRST COUNT: COUNT rows into the tracked table, CHUNK per statement, sealing after each.
fill() {
	local first=$1 count=$2 from to
	for ((from = first; from < first + count; from += CHUNK)); do
		to=$((from + CHUNK - 1))
		((to < first + count)) || to=$((first + count - 1))
		q -c "INSERT INTO items (id, a, b, c, d) SELECT g, g % 1000, 'row ' || g, g * 1.25,
		      timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series($from, $to) g" >/dev/null
		q -c "SELECT count(*) FROM witness.seal()" >/dev/null
	done
}

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
q -c "CREATE EXTENSION pg_witness" \
  -c "CREATE TABLE items (id bigint PRIMARY KEY, a int, b text, c numeric, d timestamptz)" \
  -c "SELECT witness.track('items', 'internal')" \
  -c "SELECT count(*) FROM witness.seal()" >/dev/null

start="$(q -c "SELECT clock_timestamp()")"
q -c "CREATE TABLE witness.entry_bench_old (LIKE witness.entry)" \
  -c "SELECT witness._guard_entry_partition('witness.entry_bench_old')" \
  -c "ALTER TABLE witness.entry ATTACH PARTITION witness.entry_bench_old FOR VALUES FROM ('$start') TO (MAXVALUE)" >/dev/null
echo "building: $OLD entries that will expire"
fill 1 "$OLD"
cut="$(q -c "SELECT clock_timestamp()")"
q -c "ALTER TABLE witness.entry DETACH PARTITION witness.entry_bench_old" \
  -c "ALTER TABLE witness.entry ATTACH PARTITION witness.entry_bench_old FOR VALUES FROM ('$start') TO ('$cut')" \
  -c "CREATE TABLE witness.entry_bench_new (LIKE witness.entry)" \
  -c "SELECT witness._guard_entry_partition('witness.entry_bench_new')" \
  -c "ALTER TABLE witness.entry ATTACH PARTITION witness.entry_bench_new FOR VALUES FROM ('$cut') TO (MAXVALUE)" >/dev/null
sleep 1
echo "building: $NEW entries that stay"
fill $((OLD + 1)) "$NEW"
# As the background sealer and autovacuum leave a trail that has been standing a while.
q -c "VACUUM (ANALYZE) witness.entry" >/dev/null
q -c "SELECT count(brin_summarize_new_values(i.indexrelid)) FROM pg_index i JOIN witness.partitions p ON i.indrelid = p.partition
      JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam WHERE a.amname = 'brin'" >/dev/null
q -c "SELECT partition || ': ' || count(e.id) || ' entries, ' || pg_size_pretty(max(p.total_bytes))
      FROM witness.partitions p LEFT JOIN witness.entry e ON e.tableoid = p.partition GROUP BY partition ORDER BY 1" | sed 's/^/  /'
q -c "SELECT count(*) || ' blocks' FROM witness.block" | sed 's/^/  /'

# The period: the time since the cut, plus half a second. The run follows within milliseconds.
setrule="SELECT witness.set_retention('internal', now() - '$cut'::timestamptz - interval '0.5 s')"
run="SELECT round(extract(epoch FROM clock_timestamp() - statement_timestamp())::numeric, 3) || ' s, '
            || entries_pruned || ' pruned, ' || blocks_wholly_pruned || ' blocks wholly, ' || blocks_partly_pruned || ' partly'
     FROM witness.apply_retention()"

timed() { q -c "SELECT round(extract(epoch FROM clock_timestamp() - statement_timestamp())::numeric, 3) || ' s, ' || x FROM ($1) t(x)"; }

# First, on a trail nothing has read since it was settled: the run, rolled back (DDL is
# transactional: the partition comes back).
q -c "$setrule" >/dev/null
echo "apply_retention() dropping the partition (rolled back): $(q -c "BEGIN" -c "$run" -c "ROLLBACK") (load $(load))"

# Where its time goes: finding the candidate ids (a scan of each partition that starts before the
# horizon), reading the members of the blocks they overlap, counting the partition before the drop.
q -c "$setrule" >/dev/null
echo "  finding the ids of entries older than the horizon: $(timed "SELECT min(e.id) || '..' || max(e.id) FROM witness.entry_bench_old e
      WHERE e.stmt_time < (SELECT witness._retention_horizon(witness._retention_periods()))") (load $(load))"
echo "  reading the members of the blocks that overlap them: $(timed "SELECT count(*) || ' blocks, ' || sum(n) || ' members' FROM (SELECT (SELECT count(*)
      FROM witness._retention_members(b, witness._retention_periods(), NULL)) AS n FROM witness.block b
      WHERE b.last_entry_id >= (SELECT min(id) FROM witness.entry_bench_old) AND b.first_entry_id <= (SELECT max(id) FROM witness.entry_bench_old)) x") (load $(load))"
echo "  counting the partition: $(timed "SELECT count(*) || ' entries' FROM witness.entry_bench_old") (load $(load))"
# What every run did before it visited only candidate blocks: read every block's members.
echo "reading the members of every block (what a run cost before it visited only candidate blocks): $(timed "SELECT sum(n) || ' members'
      FROM (SELECT (SELECT count(*) FROM witness._retention_members(b, witness._retention_periods(), NULL)) AS n FROM witness.block b) x") (load $(load))"

if [[ ${BENCH_ROW_BY_ROW:-1} != 0 ]]; then
	# A transaction that captured first cannot detach: the run deletes row by row. Rolled back.
	q -c "$setrule" >/dev/null
	echo "apply_retention() deleting row by row (rolled back): $(q -c "BEGIN" -c "INSERT INTO items VALUES (0)" -c "$run" -c "ROLLBACK") (load $(load))"
fi

q -c "$setrule" >/dev/null
echo "apply_retention() dropping the partition: $(q -c "$run") (load $(load))"
q -c "SELECT string_agg(partition::text, ', ' ORDER BY partition::text) FROM witness.partitions" | sed 's/^/  partitions left: /'
if [[ ${BENCH_VERIFY:-0} == 1 ]]; then
	q -c "SELECT round(extract(epoch FROM clock_timestamp() - statement_timestamp())::numeric, 3) || ' s: ' || status || ', '
	             || entries_checked || ' checked, ' || entries_pruned || ' pruned' FROM witness.verify() LIMIT 1" | sed 's/^/  witness.verify(): /'
fi
