#!/usr/bin/env bash
# Integration test: capture under concurrent pgbench load.
#
# Creates its own database, loads pgbench (-i -s 2), tracks the four pgbench tables, and runs
# pgbench with 8 clients and a mix of three scripts (test/integration/pgbench_capture/):
#   tpcb_attributed.sql  the builtin tpcb-like transaction, attributed with witness.actor
#   rollback.sql         the same kind of changes with the marker delta 1000000007, then ROLLBACK
#   savepoint.sql        marker changes (delta 1000000009) in a savepoint that is rolled back,
#                        then a committed tpcb-like change, partly inside a released savepoint
# Every script puts its name and txid_current() into witness.context, the client into witness.actor,
# its name into the history row's filler, and counts its transactions with nextval() on a sequence
# (not transactional, so rolled-back transactions count too): pgbench's own per-script counts are
# updated by its threads without a lock and can miss a transaction with -j 2.
# pgbench connects over TCP (127.0.0.1) with DateStyle 'SQL, DMY', so captured values must not
# depend on the writer's session settings.
#
# Then it checks with SQL that the trail holds exactly the committed changes: nothing of rolled-back
# work, balances recomputed from UPDATE entries equal the final balances (sum and per-row chain),
# history entries equal the history rows as a multiset, the shape of every entry, leaf hashes,
# attribution, and transaction ids (one top-level xid per committed transaction, as many as
# pgbench reports per script).
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); optional
#   WITNESS_PGBENCH_DB       database to create and drop (default witness_it_pgbench)
#   WITNESS_PGBENCH_TX       transactions per client (default 1500; 8 clients)
#   WITNESS_PGBENCH_HOST     host pgbench connects to (default 127.0.0.1)
# Prints one line per check and ends with "pgbench_capture: N checks passed"; exits non-zero if any
# check fails.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"
SCRIPTS="$HERE/pgbench_capture"

DB="${WITNESS_PGBENCH_DB:-witness_it_pgbench}"
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$DB" ]] || MAINT_DB=postgres
SCALE=2
CLIENTS=8
THREADS=2
TX_PER_CLIENT="${WITNESS_PGBENCH_TX:-1500}"
BENCH_HOST="${WITNESS_PGBENCH_HOST:-127.0.0.1}"
MARKER_ROLLBACK=1000000007
MARKER_SAVEPOINT=1000000009

WORK="$(mktemp -d /tmp/pgbench_capture.XXXXXX)"
DB_CREATED=0
cleanup() {
	local rc=$?
	set +e
	if ((DB_CREATED)); then
		"$PSQL" -X -q -d "$MAINT_DB" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null ||
			echo "warning: could not drop database $DB" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
say "setup: database $DB, pg_witness, pgbench -i -s $SCALE, tracking"

"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "CREATE DATABASE \"$DB\""
DB_CREATED=1
q "CREATE EXTENSION pg_witness" >/dev/null
"$PGBENCH" -i -q -s "$SCALE" "$DB" >"$WORK/init.out" 2>&1 || {
	cat "$WORK/init.out" >&2
	exit 1
}
tail -n 1 "$WORK/init.out"

"$PSQL" -X -A -t -v ON_ERROR_STOP=1 -d "$DB" >"$WORK/track.out" 2>&1 <<'SQL'
SELECT witness.track('pgbench_accounts', 'financial');
SELECT witness.track('pgbench_tellers', 'financial');
SELECT witness.track('pgbench_branches', 'financial');
SELECT witness.track('pgbench_history', 'financial');
SQL
grep NOTICE "$WORK/track.out" || true

check "track() noticed that pgbench_history has no key" 1 \
	"SELECT $(grep -c 'pgbench_history has no primary key' "$WORK/track.out" || true)"
check "tracked tables and their row keys" \
	"pgbench_accounts:{aid}|pgbench_branches:{bid}|pgbench_history:|pgbench_tellers:{tid}" \
	"SELECT string_agg(table_name::text || ':' || coalesce(key_columns::text, ''), '|' ORDER BY table_name::text)
	   FROM witness.tracked_tables WHERE table_name::text LIKE 'pgbench%'"
check "initial state: non-zero balances, history rows" "0|0|0|0" \
	"SELECT (SELECT count(*) FROM pgbench_accounts WHERE abalance <> 0), (SELECT count(*) FROM pgbench_tellers WHERE tbalance <> 0),
	        (SELECT count(*) FROM pgbench_branches WHERE bbalance <> 0), (SELECT count(*) FROM pgbench_history)"
check "initial state: row counts accounts|tellers|branches" "$((100000 * SCALE))|$((10 * SCALE))|$SCALE" \
	"SELECT (SELECT count(*) FROM pgbench_accounts), (SELECT count(*) FROM pgbench_tellers), (SELECT count(*) FROM pgbench_branches)"
check "initial state: no entries on pgbench tables" 0 \
	"SELECT count(*) FROM witness.entry WHERE table_name LIKE 'pgbench%'"

q "CREATE SEQUENCE it_tx_tpcb; CREATE SEQUENCE it_tx_rollback; CREATE SEQUENCE it_tx_savepoint" >/dev/null
MAX0="$(q "SELECT coalesce(max(id), 0) FROM witness.entry")"
echo "max entry id before the run: $MAX0"
# The entries of the run, raw and as the log view.
# witness.entry stores values as canonical JSON text (json); the checks use jsonb functions.
q "CREATE VIEW it_run AS SELECT e.id, e.xid, e.stmt_time, e.backend_pid, e.client_port, e.tags, e.format, e.op,
     e.schema_name, e.table_name, e.row_key::jsonb AS row_key, e.subject, e.old_values::jsonb AS old_values,
     e.new_values::jsonb AS new_values, e.session_user_name, e.current_user_name, e.application_name, e.client_addr,
     e.actor, e.reason, e.context::jsonb AS context, e.leaf_hash
   FROM witness.entry e WHERE e.id > $MAX0;
   CREATE VIEW it_run_log AS SELECT l.* FROM witness.log l WHERE l.id > $MAX0;" >/dev/null

# ---------------------------------------------------------------------------------------------
say "pgbench: $CLIENTS clients, $THREADS threads, $TX_PER_CLIENT transactions each (tpcb 6 : rollback 2 : savepoint 2)"

T0="$(q "SELECT clock_timestamp()")"
rc=0
env PGTZ=UTC PGDATESTYLE='SQL, DMY' "$PGBENCH" -n -h "$BENCH_HOST" -c "$CLIENTS" -j "$THREADS" -t "$TX_PER_CLIENT" \
	-s "$SCALE" \
	-f "$SCRIPTS/tpcb_attributed.sql@6" -f "$SCRIPTS/rollback.sql@2" -f "$SCRIPTS/savepoint.sql@2" \
	"$DB" >"$WORK/pgbench.out" 2>&1 || rc=$?
T1="$(q "SELECT clock_timestamp()")"
grep -E '^(number of|tps|latency average|SQL script| - [0-9]+ transactions| - number of failed)' "$WORK/pgbench.out" || true
if grep -qiE 'aborted|error' "$WORK/pgbench.out"; then
	echo "---- pgbench output (errors) ----"
	grep -iE 'aborted|error' "$WORK/pgbench.out" | head -20
fi

# script_tx NAME: the transaction count pgbench reports for script NAME (informational only).
script_tx() {
	awk -v want="$1" '
		/^SQL script [0-9]+: / { cur = $NF; sub(/.*\//, "", cur) }
		cur == want && /^ - [0-9]+ transactions/ { print $2; exit }' "$WORK/pgbench.out"
}
PROCESSED="$(sed -n 's|^number of transactions actually processed: \([0-9]*\).*|\1|p' "$WORK/pgbench.out")"
FAILED_TX="$(sed -n 's|^number of failed transactions: \([0-9]*\).*|\1|p' "$WORK/pgbench.out")"
TPS="$(sed -n 's|^tps = \([0-9.]*\).*|\1|p' "$WORK/pgbench.out")"
N_TPCB="$(script_tx tpcb_attributed.sql)"
N_ROLLBACK="$(script_tx rollback.sql)"
N_SAVEPOINT="$(script_tx savepoint.sql)"

check "pgbench exit status" 0 "SELECT $rc"
check "pgbench failed transactions" 0 "SELECT ${FAILED_TX:-NULL}::int"
check "pgbench processed all transactions" "$((CLIENTS * TX_PER_CLIENT))" "SELECT ${PROCESSED:-NULL}::int"
# Exact per-script counts: the sequences each script advances once per transaction.
seqcount() { q "SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM $1"; }
C_TPCB="$(seqcount it_tx_tpcb)"
C_ROLLBACK="$(seqcount it_tx_rollback)"
C_SAVEPOINT="$(seqcount it_tx_savepoint)"
check "script transactions counted by sequences add up to pgbench's total, each script ran" t \
	"SELECT $C_TPCB + $C_ROLLBACK + $C_SAVEPOINT = ${PROCESSED:-0} AND $C_TPCB > 0 AND $C_ROLLBACK > 0 AND $C_SAVEPOINT > 0"
COMMITTED=$((C_TPCB + C_SAVEPOINT))
echo "tps $TPS; transactions: tpcb $C_TPCB, savepoint $C_SAVEPOINT (committed: $COMMITTED), rollback $C_ROLLBACK"
echo "(pgbench's per-script report, not exact with several threads: tpcb ${N_TPCB:-?}, savepoint ${N_SAVEPOINT:-?}, rollback ${N_ROLLBACK:-?})"

# ---------------------------------------------------------------------------------------------
say "trail: scope and summary"

q "SELECT table_name || ' ' || operation || ': ' || count(*) FROM it_run_log GROUP BY table_name, operation ORDER BY 1"
HISTORY_ROWS="$(q "SELECT count(*) FROM pgbench_history")"
NONZERO_ROWS="$(q "SELECT count(*) FROM pgbench_history WHERE delta <> 0")"

check "run entries only on the four pgbench tables" 0 \
	"SELECT count(*) FROM it_run WHERE schema_name <> 'public'
	    OR table_name NOT IN ('pgbench_accounts', 'pgbench_tellers', 'pgbench_branches', 'pgbench_history')"
check "operations: UPDATE on accounts/tellers/branches, INSERT on history only" 0 \
	"SELECT count(*) FROM it_run WHERE op <> CASE table_name WHEN 'pgbench_history' THEN 'I' ELSE 'U' END" \
	"SELECT id, table_name, op FROM it_run WHERE op <> CASE table_name WHEN 'pgbench_history' THEN 'I' ELSE 'U' END"
check "history rows = committed transactions (tpcb + savepoint)" "$COMMITTED" "SELECT $HISTORY_ROWS"
check "history rows per script (filler) tpcb|savepoint" "$C_TPCB|$C_SAVEPOINT" \
	"SELECT count(*) FILTER (WHERE filler = 'tpcb'), count(*) FILTER (WHERE filler = 'savepoint') FROM pgbench_history"
check "run entries = history rows + 3 x rows with non-zero delta (a no-op UPDATE is not captured)" \
	"$((HISTORY_ROWS + 3 * NONZERO_ROWS))" "SELECT count(*) FROM it_run"

# ---------------------------------------------------------------------------------------------
say "rolled-back work is absent"

check "no entry contains the markers $MARKER_ROLLBACK / $MARKER_SAVEPOINT" 0 \
	"SELECT count(*) FROM witness.entry
	  WHERE concat(old_values::text, ' ', new_values::text, ' ', row_key::text) ~ '($MARKER_ROLLBACK|$MARKER_SAVEPOINT)'" \
	"SELECT id, table_name, old_values, new_values FROM witness.entry
	  WHERE concat(old_values::text, ' ', new_values::text, ' ', row_key::text) ~ '($MARKER_ROLLBACK|$MARKER_SAVEPOINT)'"
check "no captured balance or delta near a marker (|v| >= 500000000)" 0 \
	"SELECT count(*) FROM it_run, LATERAL (SELECT value FROM jsonb_each(coalesce(old_values, '{}')) UNION ALL
	                                         SELECT value FROM jsonb_each(coalesce(new_values, '{}'))) v
	  WHERE jsonb_typeof(v.value) = 'number' AND abs(v.value::text::numeric) >= 500000000"
check "no entry from the rollback script (context.script)" 0 \
	"SELECT count(*) FROM it_run WHERE context->>'script' = 'rollback'"
check "tables hold no marker either (rollbacks really rolled back)" 0 \
	"SELECT (SELECT count(*) FROM pgbench_accounts WHERE abs(abalance) >= 500000000)
	      + (SELECT count(*) FROM pgbench_tellers WHERE abs(tbalance) >= 500000000)
	      + (SELECT count(*) FROM pgbench_branches WHERE abs(bbalance) >= 500000000)
	      + (SELECT count(*) FROM pgbench_history WHERE abs(delta) >= 500000000)"

# ---------------------------------------------------------------------------------------------
say "balances: UPDATE entries reproduce every final balance"

for spec in accounts:aid:abalance tellers:tid:tbalance branches:bid:bbalance; do
	IFS=: read -r t k col <<<"$spec"
	sums="SELECT (row_key->>'$k')::int AS $k, sum((new_values->>'$col')::bigint - (old_values->>'$col')::bigint) AS delta_sum, count(*) AS n
	        FROM it_run WHERE table_name = 'pgbench_$t' AND op = 'U' GROUP BY 1"
	mismatch="SELECT $k, r.$col AS final, s.delta_sum, s.n FROM pgbench_$t r FULL JOIN ($sums) s USING ($k)
	           WHERE r.$k IS NULL OR coalesce(s.delta_sum, 0) <> r.$col"
	check "$t: rows whose final $col <> sum of captured deltas" 0 "SELECT count(*) FROM ($mismatch) m" "$mismatch"
	chain="WITH u AS (
	         SELECT (row_key->>'$k')::int AS $k, id, (old_values->>'$col')::bigint AS old, (new_values->>'$col')::bigint AS new,
	                lag((new_values->>'$col')::bigint, 1, 0::bigint) OVER (PARTITION BY (row_key->>'$k')::int ORDER BY id) AS prev_new,
	                row_number() OVER (PARTITION BY (row_key->>'$k')::int ORDER BY id DESC) AS from_last
	           FROM it_run WHERE table_name = 'pgbench_$t' AND op = 'U')
	       SELECT u.*, r.$col AS final FROM u JOIN pgbench_$t r USING ($k)
	        WHERE u.old <> u.prev_new OR (u.from_last = 1 AND u.new <> r.$col)"
	check "$t: entries in id order chain old = previous new, from 0 to the final $col" 0 \
		"SELECT count(*) FROM ($chain) c" "$chain"
	check "$t: UPDATE entries have row_key {\"$k\": n} and only $col, changed" 0 \
		"SELECT count(*) FROM it_run WHERE table_name = 'pgbench_$t' AND NOT (
		        (SELECT array_agg(x) FROM jsonb_object_keys(row_key) x) = '{$k}' AND jsonb_typeof(row_key->'$k') = 'number'
		    AND (SELECT array_agg(x) FROM jsonb_object_keys(old_values) x) = '{$col}'
		    AND (SELECT array_agg(x) FROM jsonb_object_keys(new_values) x) = '{$col}'
		    AND jsonb_typeof(old_values->'$col') = 'number' AND jsonb_typeof(new_values->'$col') = 'number'
		    AND old_values <> new_values) IS NOT FALSE" \
		"SELECT id, row_key, old_values, new_values FROM it_run WHERE table_name = 'pgbench_$t' AND NOT (
		        (SELECT array_agg(x) FROM jsonb_object_keys(row_key) x) = '{$k}' AND jsonb_typeof(row_key->'$k') = 'number'
		    AND (SELECT array_agg(x) FROM jsonb_object_keys(old_values) x) = '{$col}'
		    AND (SELECT array_agg(x) FROM jsonb_object_keys(new_values) x) = '{$col}'
		    AND old_values <> new_values) IS NOT FALSE"
done
check "sum(abalance) = sum(tbalance) = sum(bbalance) = sum(history.delta) = sum of captured history deltas" t \
	"SELECT a = t AND t = b AND b = h AND h = e FROM
	   (SELECT (SELECT sum(abalance) FROM pgbench_accounts) a, (SELECT sum(tbalance) FROM pgbench_tellers) t,
	           (SELECT sum(bbalance) FROM pgbench_branches) b, (SELECT sum(delta) FROM pgbench_history) h,
	           (SELECT sum((new_values->>'delta')::bigint) FROM it_run WHERE table_name = 'pgbench_history') e) s"

# ---------------------------------------------------------------------------------------------
say "history: INSERT entries = rows, as a multiset"

hist_entries="SELECT (new_values->>'tid')::int AS tid, (new_values->>'bid')::int AS bid, (new_values->>'aid')::int AS aid,
                     (new_values->>'delta')::int AS delta, (new_values->>'mtime')::timestamp AS mtime,
                     (new_values->>'filler')::char(22) AS filler
                FROM it_run WHERE table_name = 'pgbench_history'"
hist_rows="SELECT tid, bid, aid, delta, mtime, filler FROM pgbench_history"
check "history entries EXCEPT ALL history rows" 0 \
	"SELECT count(*) FROM ($hist_entries EXCEPT ALL $hist_rows) x" "$hist_entries EXCEPT ALL $hist_rows"
check "history rows EXCEPT ALL history entries" 0 \
	"SELECT count(*) FROM ($hist_rows EXCEPT ALL $hist_entries) x" "$hist_rows EXCEPT ALL $hist_entries"
check "history INSERT entries = history rows" "$HISTORY_ROWS" \
	"SELECT count(*) FROM it_run WHERE table_name = 'pgbench_history' AND op = 'I'"
history_shape="SELECT id, row_key, old_values, new_values FROM it_run WHERE table_name = 'pgbench_history' AND NOT (
                  row_key IS NULL AND old_values IS NULL
              AND (SELECT array_agg(x ORDER BY x) FROM jsonb_object_keys(new_values) x) = '{aid,bid,delta,filler,mtime,tid}'
              AND new_values->>'filler' = rpad(context->>'script', 22)) IS NOT FALSE"
check "history entries: no row_key, no old_values, all six columns, filler (char(22), padded) = context.script" 0 \
	"SELECT count(*) FROM ($history_shape) x" "$history_shape"
mtime_format="SELECT id, new_values->>'mtime' AS mtime FROM it_run WHERE table_name = 'pgbench_history'
               AND (new_values->>'mtime') !~ '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?$'"
check "mtime captured in ISO format although the writers used DateStyle 'SQL, DMY'" 0 \
	"SELECT count(*) FROM ($mtime_format) x" "$mtime_format"

# ---------------------------------------------------------------------------------------------
say "leaf hashes"

echo "entries in the trail: $(q "SELECT count(*) FROM witness.entry")"
bad_hash="SELECT id, table_name, leaf_hash, witness.entry_leaf_hash(e) AS recomputed FROM witness.entry e
           WHERE $LEAF_MISMATCH"
check "every entry: leaf_hash = witness.entry_leaf_hash(e)" 0 "SELECT count(*) FROM ($bad_hash) x" "$bad_hash"

# ---------------------------------------------------------------------------------------------
say "attribution"

ME="$(q "SELECT current_user")"
bad_attr="SELECT id, actor, application_name, session_user_name, current_user_name, reason, tags FROM it_run_log
           WHERE (actor ~ '^client-[0-7]\$' AND application_name = 'pgbench'
                  AND session_user_name = '$ME' AND current_user_name = '$ME' AND reason IS NULL
                  AND tags = '{financial}') IS NOT TRUE"
check "actor client-N (N in 0..7), application_name pgbench, users $ME, no reason, tags {financial}" 0 \
	"SELECT count(*) FROM ($bad_attr) x" "$bad_attr"
check "all $CLIENTS clients appear as actors, on $CLIENTS backends" "$CLIENTS|$CLIENTS" \
	"SELECT count(DISTINCT actor), count(DISTINCT backend_pid) FROM it_run"
check "actor <-> backend_pid is one-to-one" 0 \
	"SELECT (SELECT count(*) FROM (SELECT actor FROM it_run GROUP BY actor HAVING count(DISTINCT backend_pid) > 1) a)
	      + (SELECT count(*) FROM (SELECT backend_pid FROM it_run GROUP BY backend_pid HAVING count(DISTINCT actor) > 1) p)"
if [[ $BENCH_HOST == 127.0.0.1 ]]; then
	check "client_addr 127.0.0.1 and one client_port per backend" 0 \
		"SELECT (SELECT count(*) FROM it_run WHERE client_addr IS DISTINCT FROM '127.0.0.1'::inet OR client_port IS NULL)
		      + (SELECT count(*) FROM (SELECT backend_pid FROM it_run GROUP BY 1 HAVING count(DISTINCT client_port) > 1) p)"
fi
bad_time="SELECT id, stmt_time FROM it_run WHERE stmt_time NOT BETWEEN '$T0'::timestamptz AND '$T1'::timestamptz"
check "stmt_time within the pgbench run" 0 "SELECT count(*) FROM ($bad_time) x" "$bad_time"

# ---------------------------------------------------------------------------------------------
say "transactions"

bad_xid="SELECT id, xid, context FROM it_run WHERE (context->>'txid' = xid::text) IS NOT TRUE"
check "xid = txid_current() of the writing transaction (top level, also under savepoints)" 0 \
	"SELECT count(*) FROM ($bad_xid) x" "$bad_xid"
per_xid="WITH h AS (
           SELECT xid, (new_values->>'aid')::int AS aid, (new_values->>'tid')::int AS tid, (new_values->>'bid')::int AS bid,
                  (new_values->>'delta')::int AS delta, (new_values->>'mtime')::timestamp AT TIME ZONE 'UTC' AS mtime
             FROM it_run WHERE table_name = 'pgbench_history'),
         g AS (
           SELECT xid, count(*) AS n,
                  count(*) FILTER (WHERE table_name = 'pgbench_history') AS nh,
                  count(*) FILTER (WHERE table_name = 'pgbench_accounts') AS na,
                  count(*) FILTER (WHERE table_name = 'pgbench_tellers') AS nt,
                  count(*) FILTER (WHERE table_name = 'pgbench_branches') AS nb,
                  max((row_key->>'aid')::int) AS aid, max((row_key->>'tid')::int) AS tid, max((row_key->>'bid')::int) AS bid,
                  sum((new_values->>'abalance')::int - (old_values->>'abalance')::int) AS da,
                  sum((new_values->>'tbalance')::int - (old_values->>'tbalance')::int) AS dt,
                  sum((new_values->>'bbalance')::int - (old_values->>'bbalance')::int) AS db,
                  count(DISTINCT backend_pid) AS pids, count(DISTINCT actor) AS actors, count(DISTINCT context) AS contexts,
                  min(stmt_time) AS first_stmt,
                  array_agg(table_name ORDER BY id) AS tables_in_id_order,
                  array_agg(stmt_time ORDER BY id) AS times_in_id_order
             FROM it_run GROUP BY xid)
         SELECT g.*, h.delta AS history_delta, h.aid AS history_aid, h.tid AS history_tid, h.bid AS history_bid, h.mtime
           FROM g LEFT JOIN h USING (xid)
          WHERE (nh = 1 AND pids = 1 AND actors = 1 AND contexts = 1 AND h.mtime <= first_stmt
                 AND times_in_id_order = (SELECT array_agg(t ORDER BY t) FROM unnest(times_in_id_order) t)
                 AND CASE WHEN h.delta = 0 THEN n = 1
                          ELSE n = 4 AND na = 1 AND nt = 1 AND nb = 1
                           AND g.aid = h.aid AND g.tid = h.tid AND g.bid = h.bid
                           AND da = h.delta AND dt = h.delta AND db = h.delta
                           AND tables_in_id_order = '{pgbench_accounts,pgbench_tellers,pgbench_branches,pgbench_history}'
                     END) IS NOT TRUE"
check "per xid: one history INSERT, matching account/teller/branch UPDATEs in statement order, one backend/actor/context" 0 \
	"SELECT count(*) FROM ($per_xid) x" "$per_xid"
check "distinct xids of history entries = history rows" "$HISTORY_ROWS" \
	"SELECT count(DISTINCT xid) FROM it_run WHERE table_name = 'pgbench_history'"
check "distinct xids of accounts UPDATE entries = history rows with delta <> 0" "$NONZERO_ROWS" \
	"SELECT count(DISTINCT xid) FROM it_run WHERE table_name = 'pgbench_accounts' AND op = 'U'"
check "committed transactions per script (context.script) = script counts (tpcb|savepoint)" "$C_TPCB|$C_SAVEPOINT" \
	"SELECT count(DISTINCT xid) FILTER (WHERE context->>'script' = 'tpcb'),
	        count(DISTINCT xid) FILTER (WHERE context->>'script' = 'savepoint') FROM it_run"

# ---------------------------------------------------------------------------------------------
finish pgbench_capture
