#!/usr/bin/env bash
# The memory one large value's capture takes: the peak RssAnon of the backend that runs each
# statement (sampled from /proc every 50 ms) and its time, for one row holding a bytea of
# BENCH_VALUE_MB megabytes, in a tracked table and in an untracked twin (docs/performance.md,
# "Large values").
#
# Runs against a running server with pg_witness installable, on this machine (it reads the backend's
# /proc entry): set PGHOST, PGPORT, PGUSER as for psql. Creates and drops database BENCH_DB.
#   BENCH_VALUE_MB   size of the bytea (default 100; printed as hex it is twice that)
#   BENCH_DB         database to create (default bench_value_memory)
set -euo pipefail

MB="${BENCH_VALUE_MB:-100}"
DB="${BENCH_DB:-bench_value_memory}"
PSQL="${PSQL:-psql}"

# measure LABEL SQL: runs SQL in a new session and prints its backend's peak RssAnon and the time.
measure() {
	local label=$1 sql=$2 fifo out pid peak=0 v
	fifo="$(mktemp -u)"
	out="$(mktemp)"
	mkfifo "$fifo"
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" <"$fifo" >"$out" 2>&1 &
	local client=$!
	exec 3>"$fifo"
	echo "SELECT pg_backend_pid();" >&3
	while [[ ! -s $out ]]; do sleep 0.05; done
	pid="$(head -n 1 "$out")"
	printf '%s\n' '\timing on' "$sql" '\q' >&3
	exec 3>&-
	while kill -0 "$pid" 2>/dev/null; do
		v="$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)"
		[[ -n $v ]] && ((v > peak)) && peak=$v
		sleep 0.05
	done
	wait "$client" || { cat "$out" >&2; exit 1; }
	printf '%-44s peak RssAnon %6d MB   %s\n' "$label" $((peak / 1024)) "$(grep -o 'Time: [0-9.]* ms' "$out" | tail -n 1)"
	rm -f "$fifo" "$out"
}

"$PSQL" -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" >/dev/null <<'SQL'
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
CREATE TABLE docs (id int PRIMARY KEY, body bytea, note text);
CREATE TABLE docs_untracked (id int PRIMARY KEY, body bytea, note text);
SELECT witness.track('docs');
SQL
VALUE="convert_to(repeat('abcdefghij', $((MB * 100000))), 'UTF8')"
echo "one row with a ${MB} MB bytea"
measure "untracked INSERT" "INSERT INTO docs_untracked VALUES (1, $VALUE, 'x');"
measure "tracked INSERT" "INSERT INTO docs VALUES (1, $VALUE, 'x');"
measure "tracked UPDATE of the bytea (a byte appended)" "UPDATE docs SET body = body || '\\x00'::bytea;"
measure "tracked DELETE" "DELETE FROM docs;"
"$PSQL" -X -q -d postgres -c "DROP DATABASE $DB"
