#!/usr/bin/env bash
# Integration test: the background sealer keeps witness.entry_lookup (docs/views.md, "Speed").
#
# A cluster of its own (witness.seal_interval = 200ms):
#   - entries captured are sealed by the worker and added to witness.entry_lookup after the pass:
#     every sealed entry is there once, with its block and statement time, and witness.lookup_state
#     names the newest block;
#   - witness.search() and witness.entity_history() find them, as soon as committed (pending ones
#     from the trail);
#   - passes with nothing to add write nothing (witness.lookup_state keeps its row version);
#   - a pass that cannot fill the table (a CHECK constraint a superuser added) logs a WARNING and
#     still seals; once the constraint is gone, the next pass adds what was missed;
#   - one sealer process makes many seals in a row, and one maintainer process serves their rounds
#     (they stay instead of a process per seal); both still let a plain DROP DATABASE through at
#     once, and leave when background sealing is switched off;
#   - with no background worker slot for a maintainer (max_worker_processes = 3), the sealer fills
#     the table itself after its seal.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it). Runs as root (the cluster belongs to
# PG_OS_USER, postgres) or as the owner of the cluster. Takes about 15 s.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

own_cluster_setup lookup_worker

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=lw

# Every entry the newest block's snapshot sees is in witness.entry_lookup, and the state names that block.
ALL_ADDED="SELECT (SELECT block_no FROM witness.lookup_state) = (SELECT max(block_no) FROM witness.block)
                  AND NOT EXISTS (SELECT FROM witness.entry e
                                  WHERE pg_visible_in_snapshot(e.xid, (SELECT snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1))
                                    AND NOT EXISTS (SELECT FROM witness.entry_lookup k WHERE k.id = e.id AND k.stmt_time = e.stmt_time))"

# ---------------------------------------------------------------------------------------------
say "a cluster of its own: witness.seal_interval = 200ms"

own_cluster_init "$WORK" "$PORT" "witness.seal_interval = '200ms'" "witness.verify_interval = 0" "witness.record_activity = reads"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE lw" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE item (id int PRIMARY KEY, name text)" >/dev/null
q "SELECT witness.track('item')" >/dev/null
q "INSERT INTO item SELECT g, 'item ' || g FROM generate_series(1, 1000) g" >/dev/null
q "UPDATE item SET name = 'renamed' WHERE id = 7" >/dev/null

# ---------------------------------------------------------------------------------------------
say "the worker seals and fills witness.entry_lookup"

wait_for "every sealed entry added" 30 "SELECT count(*) = 1001 FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.table_name = 'item'" || true
check "every entry of item in the lookup table, once, with its block" "1001|1001|t" \
	"SELECT count(*), count(DISTINCT k.id), bool_and(k.block_no BETWEEN 1 AND (SELECT max(block_no) FROM witness.block))
	   FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id AND e.stmt_time = k.stmt_time WHERE e.table_name = 'item'"
wait_for "the newest block added" 30 "$ALL_ADDED" || true
check "the state names the newest block, nothing sealed is missing" "t" "$ALL_ADDED"
check "a row's history" "INSERT,UPDATE" \
	"SELECT string_agg(operation, ',' ORDER BY entry_id) FROM witness.entity_history('item', '{\"id\": 7}')"
check "the newest entry first" "UPDATE|postgres updated item {\"id\": 7}: name" \
	"SELECT operation || '|' || display_text FROM witness.search(target => 'item', max_rows => 1)"

# ---------------------------------------------------------------------------------------------
say "passes with nothing to add write nothing"

version="$(q "SELECT xmin FROM witness.lookup_state")"
sleep 2
check "witness.lookup_state keeps its row version over idle passes" "$version" "SELECT xmin FROM witness.lookup_state"

# ---------------------------------------------------------------------------------------------
say "a pass that cannot fill the table still seals"

# (A constraint on pg_witness's tables only under its internal mark, docs/activity.md; one transaction.)
q "SELECT witness._begin_internal_ddl(); ALTER TABLE witness.entry_lookup ADD CONSTRAINT it_broken CHECK (id < 0) NOT VALID" >/dev/null
blocks="$(q "SELECT max(block_no) FROM witness.block")"
q "UPDATE item SET name = 'again' WHERE id = 8" >/dev/null
check "a committed entry is found at once" "UPDATE" \
	"SELECT string_agg(operation, ',' ORDER BY entry_id) FROM witness.entity_history('item', '{\"id\": 8}') WHERE operation = 'UPDATE'"
wait_for "sealed" 30 "SELECT max(block_no) > $blocks FROM witness.block" || true
sleep 1
check "sealed, not added" "t|f" \
	"SELECT (SELECT max(block_no) FROM witness.block) > $blocks, EXISTS (SELECT FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.table_name = 'item' AND e.new_values::jsonb ->> 'name' = 'again')"
check_ok "the server log has the WARNING" "$(grep -q 'witness.entry_lookup not filled' "$WORK/server.log" && echo ok || echo 'no WARNING in the log')"
check "found all the same (from the trail)" "INSERT,UPDATE" \
	"SELECT string_agg(operation, ',' ORDER BY entry_id) FROM witness.entity_history('item', '{\"id\": 8}')"
q "ALTER TABLE witness.entry_lookup DROP CONSTRAINT it_broken" >/dev/null
wait_for "the next pass adds what was missed" 30 "$ALL_ADDED" || true
check "added by a later pass" "t" "$ALL_ADDED"

# ---------------------------------------------------------------------------------------------
say "one sealer and one maintainer stay for many seals"

MAINTAINERS="SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_witness maintainer' AND datname = current_database()"
SEALERS="SELECT pid FROM pg_stat_activity WHERE backend_type = 'pg_witness sealer' AND datname = current_database()"
blocks="$(q "SELECT max(block_no) FROM witness.block")"
pids=""
sealer_pids=""
for i in $(seq 1 15); do
	q "UPDATE item SET name = 'round $i' WHERE id = 9" >/dev/null
	sleep 0.3
	pids+=" $(q "$MAINTAINERS")"
	sealer_pids+=" $(q "$SEALERS")"
done
wait_for "the last change added" 30 "$ALL_ADDED AND EXISTS (SELECT FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.new_values::jsonb ->> 'name' = 'round 15')" || true
distinct="$(tr ' ' '\n' <<<"$pids" | grep . | sort -u | wc -l)"
note "maintainer pids sampled: $(tr ' ' '\n' <<<"$pids" | grep . | sort | uniq -c | tr -s ' \n' ' ')"
check "at least 8 seals in those 4.5 s" "t" "SELECT max(block_no) - $blocks >= 8 FROM witness.block"
# Two at most: a maintainer stays at most 60 s, so one may hand over to the next in the window.
check_ok "one or two maintainer processes served them all" "$( ((distinct >= 1 && distinct <= 2)) && echo ok || echo "$distinct processes")"
sealers="$(tr ' ' '\n' <<<"$sealer_pids" | grep . | sort -u | wc -l)"
note "sealer pids sampled: $(tr ' ' '\n' <<<"$sealer_pids" | grep . | sort | uniq -c | tr -s ' \n' ' ')"
check_ok "one or two sealer processes made those seals" "$( ((sealers >= 1 && sealers <= 2)) && echo ok || echo "$sealers processes")"
check "every change added to the lookup table" "15" \
	"SELECT count(*) FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id AND e.stmt_time = k.stmt_time WHERE e.new_values::jsonb ->> 'name' LIKE 'round %'"

# A database whose sealer and maintainer stay is dropped with a plain DROP DATABASE: both see the
# drop's lock and leave, long before PostgreSQL's 5 s wait for other sessions ends.
q_on "$WORK" "$PORT" postgres "CREATE DATABASE lw_drop" >/dev/null
q_on "$WORK" "$PORT" lw_drop "CREATE EXTENSION pg_witness; CREATE TABLE t (id int PRIMARY KEY); SELECT witness.track('t'); INSERT INTO t VALUES (1)" >/dev/null
DB=lw_drop wait_for "a sealer and a maintainer connected to lw_drop" 30 "SELECT EXISTS ($MAINTAINERS) AND EXISTS ($SEALERS)" || true
connected="$(DB=lw_drop q "SELECT EXISTS ($MAINTAINERS) AND EXISTS ($SEALERS)")"
check_ok "a sealer and a maintainer are connected to lw_drop before the drop" "$([[ $connected == t ]] && echo ok || echo 'not both connected')"
start_ns=$(date +%s%N)
drop_rc=0
q_on "$WORK" "$PORT" postgres "DROP DATABASE lw_drop" >/dev/null 2>"$WORK/drop.err" || drop_rc=$?
drop_ms=$((($(date +%s%N) - start_ns) / 1000000))
note "DROP DATABASE took $drop_ms ms"
drop_result=ok
((drop_rc == 0)) || drop_result="$(cat "$WORK/drop.err")"
check_ok "a plain DROP DATABASE succeeds while a sealer and a maintainer stay there" "$drop_result"
check_ok "and does not wait out PostgreSQL's 5 s for other sessions" "$( ((drop_ms < 4000)) && echo ok || echo "$drop_ms ms")"

# Background sealing switched off: the sealer and the maintainer leave (no process stays connected).
q "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the workers left" 10 "SELECT NOT EXISTS ($MAINTAINERS) AND NOT EXISTS ($SEALERS)" || true
# The launcher's last round (docs/alerts.md) runs one more pass there, which may start a maintainer;
# they leave after it too.
sleep 3
wait_for "the workers of the last round left" 10 "SELECT NOT EXISTS ($MAINTAINERS) AND NOT EXISTS ($SEALERS)" || true
check "no sealer, no maintainer once witness.seal_interval = 0" "f|f" "SELECT EXISTS ($SEALERS), EXISTS ($MAINTAINERS)"
q "ALTER SYSTEM RESET witness.seal_interval" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

# ---------------------------------------------------------------------------------------------
say "no worker slot for a maintainer: the sealer does its work itself"

# The launcher and the logical replication launcher take two slots, the sealer the third: a
# maintainer cannot be registered, and the sealer fills the lookup table after its seal, as before
# maintainers existed (docs/verification.md, "The background sealer").
own_cluster_stop "$WORK"
echo "max_worker_processes = 3" >>"$WORK/data/postgresql.conf"
echo "witness.max_sealers = 1" >>"$WORK/data/postgresql.conf"
own_cluster_start "$WORK"
q "UPDATE item SET name = 'third' WHERE id BETWEEN 1 AND 50" >/dev/null
wait_for "sealed and added without a maintainer" 30 "$ALL_ADDED AND EXISTS (SELECT FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.new_values::jsonb ->> 'name' = 'third')" || true
check "added by the sealer itself" "50" \
	"SELECT count(*) FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id AND e.stmt_time = k.stmt_time WHERE e.new_values::jsonb ->> 'name' = 'third'"
check "and every sealed entry is there" "t" "$ALL_ADDED"
check_ok "no 'no background worker slot' warning from the launcher" \
	"$(grep -q 'no background worker slot' "$WORK/server.log" && echo 'the launcher found no slot' || echo ok)"

finish "lookup_worker"
