#!/usr/bin/env bash
# Integration test: entry ids while a superuser keeps setting witness.entry_id_seq back.
#
# Entry ids come from one counter per database in shared memory, which reserves runs of 1,024 ids
# from witness.entry_id_seq (docs/capture.md, "Entry ids"). A superuser who sets the sequence back
# (setval) would have new entries take the ids of old ones and sort before them. This test runs
# pgbench (8 clients, tpcb-like, on the four tracked pgbench tables) while another session sets the
# sequence back to 1 every 50 ms, then checks that no id was handed out twice, that the changes of
# every teller and branch chain in id order (each UPDATE entry's old balance is the previous one's
# new balance, ending at the final balance), that the counter logged moving the sequence on, that
# changes made after the last setval take ids above all earlier ones, and that the sealed trail
# verifies.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); optional
#   WITNESS_IDS_DB        database to create and drop (default witness_it_entry_ids)
#   WITNESS_IDS_SECONDS   pgbench duration (default 10)
# Prints one line per check and ends with "entry_ids_setval: N checks passed".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${WITNESS_IDS_DB:-witness_it_entry_ids}"
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$DB" ]] || MAINT_DB=postgres
SECONDS_RUN="${WITNESS_IDS_SECONDS:-10}"
WORK="$(mktemp -d /tmp/entry_ids_setval.XXXXXX)"
DB_CREATED=0
SETTER_PID=
cleanup() {
	local rc=$?
	set +e
	[[ -z $SETTER_PID ]] || kill "$SETTER_PID" 2>/dev/null
	if ((DB_CREATED)); then
		"$PSQL" -X -q -d "$MAINT_DB" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null ||
			echo "warning: could not drop database $DB" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "setup: database $DB, pg_witness, pgbench -i -s 1, the four tables tracked"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
DB_CREATED=1
pgbench_tracked "$WORK"
MAX0="$(q "SELECT coalesce(max(id), 0) FROM witness.entry")"
check "the sequence reserves runs of 1,024" 1024 \
	"SELECT seqincrement FROM pg_sequence WHERE seqrelid = 'witness.entry_id_seq'::regclass"

say "pgbench: 8 clients for ${SECONDS_RUN}s; another session sets the sequence back to 1 every 50 ms"
# One session, so that the loop does not pay a connection per setval.
(
	for ((i = 0; i < SECONDS_RUN * 20; i++)); do
		echo "SELECT setval('witness.entry_id_seq', 1);"
		echo "SELECT pg_sleep(0.05);"
	done
) | "$PSQL" -X -q -A -t -d "$DB" >"$WORK/setter.out" 2>&1 &
SETTER_PID=$!
LOG_FROM=0
if [[ -n ${WITNESS_SERVER_LOG:-} && -r ${WITNESS_SERVER_LOG:-} ]]; then LOG_FROM="$(wc -l <"$WITNESS_SERVER_LOG")"; fi
"$PGBENCH" -n -c 8 -j 2 -T "$SECONDS_RUN" -b tpcb-like "$DB" >"$WORK/pgbench.out" 2>&1
wait "$SETTER_PID" || true
SETTER_PID=
grep -E '^(number of transactions actually|number of failed|tps)' "$WORK/pgbench.out" || true
SETS="$(grep -c '^1$' "$WORK/setter.out" || true)"
echo "setval calls: $SETS"

check_pgbench_run "$WORK/pgbench.out" "$MAX0"
check "the sequence was set back at least 50 times during the run" t "SELECT $SETS >= 50"
check "no id handed out twice" t "SELECT count(*) = count(DISTINCT id) FROM witness.entry"
check_balance_chains
if [[ -n ${WITNESS_SERVER_LOG:-} && -r ${WITNESS_SERVER_LOG:-} ]]; then
	check "the server log says the sequence was moved on (lines written during the run)" t \
		"SELECT $(tail -n +"$((LOG_FROM + 1))" "$WITNESS_SERVER_LOG" | grep -c 'witness.entry_id_seq was set back' || true) > 0"
fi
# The last setval left the sequence at 1: the next run the counter reserves must still lie above
# every id it handed out. 2,000 changes use up at least one run.
MAXB="$(q "SELECT max(id) FROM witness.entry")"
q "UPDATE pgbench_accounts SET abalance = abalance + 1 WHERE aid <= 2000" >/dev/null
check "2,000 changes after the last setval: ids above every earlier one" "2000|t" \
	"SELECT count(*), bool_and(id > $MAXB) FROM witness.entry
	  WHERE table_name = 'pgbench_accounts' AND xid = (SELECT max(xid) FROM witness.entry WHERE table_name = 'pgbench_accounts')"
check "still no id handed out twice" t "SELECT count(*) = count(DISTINCT id) FROM witness.entry"

say "seal and verify"
q "SELECT witness.seal()" >/dev/null
check "witness.verify(): valid, nothing pending" "valid|0" \
	"SELECT string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()"

finish entry_ids_setval
