#!/usr/bin/env bash
# Integration test: entry ids when more databases capture than the id counters have places for.
#
# Shared memory holds the id counters of 64 databases (docs/capture.md, "Entry ids"); a 65th takes
# the place of the one that reserved a run longest ago. This test runs pgbench (8 clients,
# tpcb-like, throttled to 40 transactions a second, the four pgbench tables tracked) in one database
# while another session writes one tracked row in each of 70 other databases, round after round, so
# that the pgbench database keeps losing its counter's place in the middle of its writes (its ids
# then have gaps, which the test checks). Then, in the pgbench database: no id was handed out twice,
# every teller's and branch's UPDATE entries chain in id order (old = previous new, ending at the
# final balance), witness._last_entry_id() is not below any id handed out, and the sealed trail
# verifies; and in a database that lost its place, new entries take ids above its old ones.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); optional
#   WITNESS_IDS_SECONDS   pgbench duration (default 15)
# Prints one line per check and ends with "entry_ids_databases: N checks passed".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB=witness_it_ids_main
TEMPLATE=witness_it_ids_tpl
OTHERS=70
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$DB" ]] || MAINT_DB=postgres
SECONDS_RUN="${WITNESS_IDS_SECONDS:-15}"
WORK="$(mktemp -d /tmp/entry_ids_databases.XXXXXX)"
CHURN_PID=
drop_all() {
	{
		echo "SET client_min_messages = warning;"
		echo "DROP DATABASE IF EXISTS $DB WITH (FORCE);"
		echo "DROP DATABASE IF EXISTS $TEMPLATE WITH (FORCE);"
		for ((i = 1; i <= OTHERS; i++)); do echo "DROP DATABASE IF EXISTS witness_it_ids_$i WITH (FORCE);"; done
	} | "$PSQL" -X -q -d "$MAINT_DB" >/dev/null
}
cleanup() {
	local rc=$?
	set +e
	[[ -z $CHURN_PID ]] || kill "$CHURN_PID" 2>/dev/null
	wait 2>/dev/null
	drop_all || echo "warning: could not drop the test databases" >&2
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "setup: database $DB (pgbench -i -s 1, four tables tracked) and $OTHERS others with one tracked table"
drop_all
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "CREATE DATABASE $DB" -c "CREATE DATABASE $TEMPLATE"
pgbench_tracked "$WORK"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$TEMPLATE" -c "SET client_min_messages = warning" \
	-c "CREATE EXTENSION pg_witness" -c "CREATE TABLE public.t (id int PRIMARY KEY, v int)" \
	-c "SELECT witness.track('public.t')" >/dev/null
{
	for ((i = 1; i <= OTHERS; i++)); do echo "CREATE DATABASE witness_it_ids_$i TEMPLATE $TEMPLATE;"; done
} | "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" >/dev/null
MAX0="$(q "SELECT coalesce(max(id), 0) FROM witness.entry")"

# The first of the others writes ten entries now and ten more after the churn, which takes its place.
D1=witness_it_ids_1
q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$D1" "INSERT INTO public.t SELECT g, g FROM generate_series(1, 10) g" >/dev/null
D1_MAX="$(q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$D1" "SELECT max(id) FROM witness.entry")"

say "pgbench in $DB for ${SECONDS_RUN}s while another session writes in each of the $OTHERS other databases, round after round"
(
	round=0
	while :; do
		round=$((round + 1))
		for ((i = 1; i <= OTHERS; i++)); do
			"$PSQL" -X -q -d "witness_it_ids_$i" -c "INSERT INTO public.t VALUES ($((1000 + round)), $round)" >/dev/null 2>&1 || true
		done
		echo "$round" >"$WORK/rounds"
	done
) &
CHURN_PID=$!
# Throttled, so that this database reserves a run only every few seconds and its counter's place is
# the oldest, and taken, several times while its clients write.
"$PGBENCH" -n -c 8 -j 2 -R 40 -T "$SECONDS_RUN" -b tpcb-like "$DB" >"$WORK/pgbench.out" 2>&1
kill "$CHURN_PID" 2>/dev/null || true
wait "$CHURN_PID" 2>/dev/null || true
CHURN_PID=
grep -E '^(number of transactions actually|number of failed|tps)' "$WORK/pgbench.out" || true
ROUNDS="$(cat "$WORK/rounds" 2>/dev/null || echo 0)"
echo "rounds through the other databases: $ROUNDS"

check "at least one full round through the $OTHERS other databases (each takes a counter's place)" t "SELECT $ROUNDS >= 1"
check_pgbench_run "$WORK/pgbench.out" "$MAX0"
check "no id handed out twice" t "SELECT count(*) = count(DISTINCT id) FROM witness.entry"
# One counter without interruption hands out ids without a gap: gaps show it lost its place mid-run.
check "the run's ids have gaps: the counter lost its place while the clients wrote" t \
	"SELECT max(id) - min(id) + 1 > count(*) FROM witness.entry WHERE id > $MAX0"
check_balance_chains
check "witness._last_entry_id() is not below any id handed out" t \
	"SELECT witness._last_entry_id() >= (SELECT max(id) FROM witness.entry)"

say "a database whose counter lost its place: new ids above its old ones"
q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$D1" "INSERT INTO public.t SELECT g, g FROM generate_series(11, 20) g" >/dev/null
MAIN_DB=$DB
DB=$D1
check "$D1: the ten new entries have ids above its entries before the churn" "10|t" \
	"SELECT count(*), bool_and(id > $D1_MAX) FROM witness.entry WHERE table_name = 't' AND (row_key->>'id')::int BETWEEN 11 AND 20"
DB=$MAIN_DB

say "seal and verify"
q "SELECT witness.seal()" >/dev/null
check "witness.verify(): valid, nothing pending" "valid|0" \
	"SELECT string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()"

finish entry_ids_databases
