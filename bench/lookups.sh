#!/usr/bin/env bash
# The readers' lookups on a large trail (docs/views.md, "Speed"): the newest 50 entries (the activity
# feed), one row's history, one actor's last day, each through witness.search() or
# witness.entity_history(), timed with EXPLAIN ANALYZE in the server session.
#
#   PGHOST=/tmp/x PGPORT=5432 PGUSER=postgres nice -n 19 bash bench/lookups.sh
#   BENCH_ROWS=200000 bash bench/lookups.sh          # smoke run: 1,000,000 entries
#
# Runs against the running cluster named by PGHOST, PGPORT and PGUSER (a superuser; pg_witness
# installed and preloaded there). Makes database bench_lookups (dropped first unless BENCH_REUSE=1 and
# it exists), tracks table bench.t and writes the trail:
#   - INSERT of BENCH_ROWS rows (actor loader), sealed into a block;
#   - four UPDATEs of every row (actors batch-1 to batch-4), each sealed into a block:
#     5 x BENCH_ROWS entries (default 2,000,000 rows: 10,000,000 entries);
#   - 20 single-row UPDATEs of row 4242 by alice@example.com, the first 15 sealed, 5 left pending.
# then ANALYZE (as autovacuum would) and times each lookup three times in one session (the first run
# of a session compiles PL/pgSQL and may read from disk), as the superuser and as a member of
# witness_reader.
set -euo pipefail

ROWS="${BENCH_ROWS:-2000000}"
DB=bench_lookups
PSQL=(psql -X -q -v ON_ERROR_STOP=1)

if [[ "${BENCH_REUSE:-0}" != 1 ]] || ! "${PSQL[@]}" -d postgres -Atc "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
	"${PSQL[@]}" -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
	start=$(date +%s)
	"${PSQL[@]}" -d "$DB" <<SQL
CREATE EXTENSION pg_witness;
-- The month's partition before the first entry (a fresh install's month stays in the default one).
SELECT count(*) FROM witness.create_entry_partitions(1);
CREATE SCHEMA bench;
CREATE TABLE bench.t (id int PRIMARY KEY, v int NOT NULL, note text);
SELECT witness.track('bench.t');
DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'bench_reader') THEN CREATE ROLE bench_reader; END IF; END \$\$;
GRANT witness_reader TO bench_reader;
GRANT USAGE ON SCHEMA bench TO bench_reader;
SET witness.actor = 'loader';
INSERT INTO bench.t SELECT g, 0, 'row ' || g FROM generate_series(1, $ROWS) g;
SELECT count(*) FROM witness.seal();
SET witness.actor = 'batch-1';
UPDATE bench.t SET v = v + 1;
SELECT count(*) FROM witness.seal();
SET witness.actor = 'batch-2';
UPDATE bench.t SET v = v + 1;
SELECT count(*) FROM witness.seal();
SET witness.actor = 'batch-3';
UPDATE bench.t SET v = v + 1;
SELECT count(*) FROM witness.seal();
SET witness.actor = 'batch-4';
UPDATE bench.t SET v = v + 1;
SELECT count(*) FROM witness.seal();
SET witness.actor = 'alice@example.com';
UPDATE bench.t SET note = 'edit 1' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 2' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 3' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 4' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 5' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 6' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 7' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 8' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 9' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 10' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 11' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 12' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 13' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 14' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 15' WHERE id = 4242;
SELECT count(*) FROM witness.seal();
UPDATE bench.t SET note = 'edit 16' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 17' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 18' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 19' WHERE id = 4242;
UPDATE bench.t SET note = 'edit 20' WHERE id = 4242;
ANALYZE witness.entry_lookup;
ANALYZE witness.entry;
SQL
	echo "trail built in $(( $(date +%s) - start )) s"
fi

"${PSQL[@]}" -d "$DB" -At <<'SQL'
SELECT 'entries: ' || count(*) FROM witness.entry;
SELECT 'in witness.entry_lookup: ' || count(*) FROM witness.entry_lookup;
SELECT 'pending: ' || count(*) FROM witness.entry e WHERE NOT EXISTS (SELECT FROM witness.entry_lookup k WHERE k.id = e.id) AND e.id > (SELECT max(id) - 1000 FROM witness.entry);
SELECT 'sizes: trail ' || pg_size_pretty(sum(pg_total_relation_size(i.inhrelid))) FROM pg_inherits i WHERE i.inhparent = 'witness.entry'::regclass;
SELECT 'sizes: entry_lookup with its indexes ' || pg_size_pretty(pg_total_relation_size('witness.entry_lookup'));
SQL

# The Execution Time of EXPLAIN ANALYZE of a statement, run three times in one session as a role (the
# first run of a session also compiles pg_witness's PL/pgSQL and fills the catalog caches).
measure() {
	local label=$1 role=$2 statement=$3
	local times
	times=$("${PSQL[@]}" -d "$DB" -At -c "SET ROLE $role" \
		-c "EXPLAIN (ANALYZE, TIMING OFF) $statement" -c "EXPLAIN (ANALYZE, TIMING OFF) $statement" \
		-c "EXPLAIN (ANALYZE, TIMING OFF) $statement" | sed -n 's/^Execution Time: \(.*\) ms$/\1/p' | tr '\n' ' ')
	# shellcheck disable=SC2086
	printf '%-34s %-14s %10s %10s %10s ms   rows: %s\n' "$label" "$role" $times \
		"$("${PSQL[@]}" -d "$DB" -At -c "SET ROLE $role" -c "SELECT count(*) FROM ($statement) x")"
}

echo
printf '%-34s %-14s %10s %10s %10s\n' lookup role 'run 1' 'run 2' 'run 3'
for role in postgres bench_reader; do
	measure 'newest 50 (feed)' $role "SELECT * FROM witness.search()"
	measure 'one row history' $role "SELECT * FROM witness.entity_history('bench.t', '{\"id\": 4242}')"
	measure 'one actor, last day (alice)' $role "SELECT * FROM witness.search(actor => 'alice@example.com', since => now() - interval '1 day')"
	measure 'one actor, last day (batch-4)' $role "SELECT * FROM witness.search(actor => 'batch-4', since => now() - interval '1 day')"
	measure 'one db user, last day' $role "SELECT * FROM witness.search(db_user => 'postgres', since => now() - interval '1 day')"
done
