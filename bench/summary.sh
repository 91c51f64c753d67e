#!/usr/bin/env bash
# Benchmark of the daily summary and the monitoring view (docs/monitoring.md): a trail of 10 million
# entries (bulk INSERTs into one tracked table, as 20 actors, sealed after each statement), then
#   - the incremental count of the sealed blocks into witness.daily_count, a million entries per call
#     (what the background sealer does after each pass), timed per call;
#   - witness.daily_summary for the current month, witness.actor_activity for one actor and day, and
#     witness.stats, each timed as the median of 5 runs;
#   - the same month query on a year of history: synthetic rows for the 365 days before (200 tables x
#     10 actors x 4 operations a day, 2.9 million rows), as a busy database accumulates them.
# The issue's targets: the queries well under 50 ms.
#
#   nice -n 19 env PGHOST=/tmp/x PGPORT=5432 PGUSER=postgres bash bench/summary.sh
#   BENCH_ENTRIES=1000000 bash bench/summary.sh     # smoke run
#
# Runs against the server the PG* variables name, which must have pg_witness installed and preloaded;
# run it with witness.seal_interval = 0 (the script seals and counts itself). It creates the database
# bench_summary and drops it at the end (BENCH_KEEP=1 keeps it). Disk: about 400 bytes per entry.
#
# Environment (all optional):
#   BENCH_ENTRIES     entries of the trail (default 10000000)
#   BENCH_CHUNK_ROWS  rows per INSERT statement, each followed by witness.seal() (default 500000)
#   BENCH_HISTORY=0   skip the year of synthetic history
set -euo pipefail

ENTRIES="${BENCH_ENTRIES:-10000000}"
CHUNK="${BENCH_CHUNK_ROWS:-500000}"
DB=bench_summary
PSQL=(psql -X -q -A -t -v ON_ERROR_STOP=1)
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

for v in ENTRIES CHUNK; do
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

# The median of 5 runs of a query, in ms, measured inside the server (no client round trip).
median_ms() {
	q -c "DO \$\$
	DECLARE t timestamptz; ms float8[] := '{}'; r record;
	BEGIN
		FOR i IN 1..5 LOOP
			t := clock_timestamp();
			FOR r IN $1 LOOP END LOOP;
			ms := ms || extract(epoch FROM clock_timestamp() - t)::float8 * 1000;
		END LOOP;
		RAISE WARNING '%', (SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY x)::numeric, 2) FROM unnest(ms) x);
	END \$\$" 2>&1 | sed -n 's/^.*WARNING:  //p'
}

"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
q -c "CREATE EXTENSION pg_witness" \
  -c "CREATE TABLE items (id bigint PRIMARY KEY, a int, b text, c numeric, d timestamptz)" \
  -c "SELECT witness.track('items', 'internal')" \
  -c "SELECT count(*) FROM witness.seal()" -c "SELECT witness.refresh_summary()" >/dev/null

echo "building: $ENTRIES entries, $CHUNK per INSERT, each sealed (load $(load))"
start=$(date +%s)
for ((from = 1; from <= ENTRIES; from += CHUNK)); do
	to=$((from + CHUNK - 1))
	((to <= ENTRIES)) || to=$ENTRIES
	q -c "BEGIN" -c "SET LOCAL witness.actor = 'user$(((from / CHUNK) % 20))@example.com'" \
	  -c "INSERT INTO items (id, a, b, c, d) SELECT g, g % 1000, 'row ' || g, g * 1.25,
	      timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' FROM generate_series($from, $to) g" \
	  -c "COMMIT" -c "SELECT count(*) FROM witness.seal()" >/dev/null
done
echo "  built in $(($(date +%s) - start)) s"
q -c "VACUUM (ANALYZE) witness.entry" >/dev/null
q -c "SELECT count(*) || ' blocks' FROM witness.block" | sed 's/^/  /'

echo "counting the sealed blocks into witness.daily_count, a million entries per call (what a sealer pass does):"
total=0
while :; do
	line=$(q -c "SELECT round(extract(epoch FROM clock_timestamp() - statement_timestamp())::numeric, 3) || ' ' || n
	             FROM witness._refresh_summary(true, 1000000) n")
	secs=${line% *}; n=${line#* }
	((n > 0)) || break
	total=$((total + n))
	echo "  $n entries in $secs s (load $(load))"
done
echo "  counted: $total entries; witness.stats says $(q -c "SELECT entries_summarized FROM witness.stats")"
echo "  check: the summary against a count of the trail: $(q -c "SELECT (SELECT sum(entries) FROM witness.daily_summary WHERE table_name = 'items')
      = (SELECT count(*) FROM witness.entry WHERE table_name = 'items')")"
echo "  daily_count rows: $(q -c "SELECT count(*) FROM witness.daily_count")"

month="SELECT day, table_name, operation, sum(entries) FROM witness.daily_summary
       WHERE day >= date_trunc('month', now() AT TIME ZONE 'UTC')::date GROUP BY 1, 2, 3"
actor="SELECT * FROM witness.actor_activity WHERE actor = 'user3@example.com' AND day = (now() AT TIME ZONE 'UTC')::date"
echo "witness.daily_summary, this month: $(median_ms "$month") ms (load $(load))"
echo "witness.actor_activity, one actor's day: $(median_ms "$actor") ms (load $(load))"
echo "witness.stats: $(median_ms "SELECT * FROM witness.stats") ms (load $(load))"

if [[ ${BENCH_HISTORY:-1} != 0 ]]; then
	q -c "INSERT INTO witness.daily_count (day, schema_name, table_name, operation, actor, db_user, outcome, entries, first_at, last_at)
	      SELECT (now() AT TIME ZONE 'UTC')::date - d, 'public', 't' || t, op, 'actor' || a || '@example.com', 'app', NULL, 100,
	             now() - d * interval '1 day', now() - d * interval '1 day'
	      FROM generate_series(1, 365) d, generate_series(1, 200) t, unnest('{INSERT,UPDATE,DELETE,TRUNCATE}'::text[]) op,
	           generate_series(1, 10) a" -c "ANALYZE witness.daily_count" >/dev/null
	echo "with a year of history ($(q -c "SELECT count(*) FROM witness.daily_count") rows in witness.daily_count):"
	last="SELECT day, table_name, operation, sum(entries) FROM witness.daily_summary
	      WHERE day >= (now() AT TIME ZONE 'UTC')::date - 30 AND day < (now() AT TIME ZONE 'UTC')::date GROUP BY 1, 2, 3"
	echo "  witness.daily_summary, the last 30 days by table and operation: $(median_ms "$last") ms (load $(load))"
	echo "  witness.actor_activity, one actor's day: $(median_ms "SELECT * FROM witness.actor_activity WHERE actor = 'actor3@example.com'
	      AND day = (now() AT TIME ZONE 'UTC')::date - 7") ms (load $(load))"
	echo "  witness.stats: $(median_ms "SELECT * FROM witness.stats") ms (load $(load))"
fi
