#!/usr/bin/env bash
# Integration test: witness.track() and witness.untrack() of one partitioned table, called at the same
# time from two sessions, take turns (docs/capture.md, "Tracking a table"). Each first locks the table
# against the other; before, one inserting the configuration and the other dropping triggers
# deadlocked, about one call in twenty (found by a robustness review). After the loops the
# configuration and the capture triggers agree, and a change is captured exactly when the table is
# tracked.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
WORK="$(mktemp -d /tmp/track_untrack_concurrent.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
ROUNDS=60

say "a partitioned table, tracked and untracked $ROUNDS times from each of two sessions at once"
q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE pc (id int PRIMARY KEY, v int) PARTITION BY RANGE (id);
   CREATE TABLE pc1 PARTITION OF pc FOR VALUES FROM (0) TO (100);
   CREATE TABLE pc2 PARTITION OF pc FOR VALUES FROM (100) TO (200)" >/dev/null
# loop FILE SQL: ROUNDS calls, one session each, every error line kept.
loop() {
	local i
	for ((i = 0; i < ROUNDS; i++)); do
		"$PSQL" -X -q -A -t -d "$DB" -c "SET client_min_messages = warning" -c "$2" 2>&1 | grep -i 'error' || true
	done >"$WORK/$1"
}
loop track.out "SELECT witness.track('pc')" &
bg=$!
loop untrack.out "SELECT witness.untrack('pc')"
wait "$bg"
check "no deadlock" 0 "SELECT $(cat "$WORK/track.out" "$WORK/untrack.out" | grep -c 'deadlock' || true)"
check "untrack's only refusal is a table not tracked at that moment" 0 \
	"SELECT $(grep -v 'is not tracked' "$WORK/untrack.out" | grep -c . || true)"
check "track() never failed" 0 "SELECT $(grep -c . "$WORK/track.out" || true)"

say "the configuration and the capture triggers agree"
q "SET client_min_messages = warning; SELECT witness.track('pc')" >/dev/null
check "tracked: one configuration, capture triggers on the table and both partitions" "1|3" \
	"SELECT (SELECT count(*) FROM witness.tracked_table WHERE relid = 'pc'::regclass) || '|' ||
	        (SELECT count(DISTINCT tgrelid) FROM pg_trigger WHERE tgname LIKE 'witness%' AND tgrelid IN ('pc'::regclass, 'pc1'::regclass, 'pc2'::regclass))"
q "INSERT INTO pc VALUES (1, 1), (150, 2)" >/dev/null
check "a change of each partition is captured" 2 "SELECT count(*) FROM witness.entry WHERE table_name = 'pc' AND op = 'I'"
q "SELECT witness.untrack('pc')" >/dev/null
check "untracked: no configuration, no capture trigger left" "0|0" \
	"SELECT (SELECT count(*) FROM witness.tracked_table WHERE relid = 'pc'::regclass) || '|' ||
	        (SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'witness%' AND tgrelid IN ('pc'::regclass, 'pc1'::regclass, 'pc2'::regclass))"
q "INSERT INTO pc VALUES (2, 3)" >/dev/null
check "a change is not captured" 2 "SELECT count(*) FROM witness.entry WHERE table_name = 'pc' AND op = 'I'"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "the trail verifies" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

finish "track_untrack_concurrent"
