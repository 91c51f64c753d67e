#!/usr/bin/env bash
# Integration test: the background sealer applies retention once a day at witness.retention_time
# (docs/retention.md, "Retention", "Scheduled retention").
#
# A cluster of its own (witness.seal_interval = 1s):
#   - a value that is no HH:MM time is refused (22023);
#   - witness.retention_time set to a minute ago (UTC): the sealer runs witness.apply_retention() with
#     its next pass, the expired sealed entries go, the run is a row of witness.retention_run, itself
#     captured into the trail, the server log says so, and witness.verify() is valid with the pruned
#     entries counted;
#   - witness-verify accepts the export of the pruned trail (the kept leaf hashes are in it), and
#     reports a kept hash altered in the export, or a kept row left out of it;
#   - pg_dump / pg_restore (in replica mode, as dump_restore.sh) into another database keeps the kept
#     leaf hashes: the restored trail verifies with the pruned entries counted;
#   - it runs once: entries that expire after the run stay until the time comes round again;
#   - an empty witness.retention_time turns it off.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it). Runs as root (the cluster belongs to
# PG_OS_USER, postgres) or as the owner of the cluster. Takes about 15 s.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

own_cluster_setup scheduled_retention

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=rt
VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"

# ---------------------------------------------------------------------------------------------
say "a cluster of its own: witness.seal_interval = 1s, no retention time"

own_cluster_init "$WORK" "$PORT" "witness.seal_interval = '1s'" "witness.verify_interval = 0"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE rt" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE person (id int PRIMARY KEY, email text)" >/dev/null
q "SELECT witness.track('person', 'pii', encrypt => false)" >/dev/null
q "INSERT INTO person VALUES (1, 'ann@rt.example'), (2, 'bob@rt.example')" >/dev/null
q "SELECT witness.set_retention('pii', '1 microsecond')" >/dev/null
wait_for "the person entries sealed" 30 \
	"SELECT count(*) = 2 FROM witness.entry e WHERE table_name = 'person'
	 AND pg_visible_in_snapshot(e.xid, (SELECT snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1))" || true
sleep 2
check "no retention time: nothing pruned" "2|0" \
	"SELECT (SELECT count(*) FROM witness.entry WHERE table_name = 'person'), (SELECT count(*) FROM witness.retention_run)"

# ---------------------------------------------------------------------------------------------
say "a value that is not HH:MM is refused"

for bad in "25:00" "3:00" "03:60" "noon"; do
	got="$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -v VERBOSITY=verbose \
		-c "ALTER SYSTEM SET witness.retention_time = '$bad'" 2>&1 | sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1 || true)"
	check_ok "witness.retention_time = '$bad' refused with 22023" "$([[ $got == 22023 ]] && echo ok || echo "got [$got]")"
done

# ---------------------------------------------------------------------------------------------
say "witness.retention_time a minute ago: the next pass applies retention (the site's default isolation serializable)"

AT="$(q "SELECT to_char((now() AT TIME ZONE 'UTC') - interval '1 minute', 'HH24:MI')")"
note "witness.retention_time = '$AT' (UTC)"
# apply_retention() runs at READ COMMITTED only (an attack review pruned held entries from a
# REPEATABLE READ snapshot): the worker sets that level itself, whatever the site's default.
q "ALTER SYSTEM SET default_transaction_isolation = 'serializable'" >/dev/null
q "ALTER SYSTEM SET witness.retention_time = '$AT'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "a retention run" 30 "SELECT count(*) >= 1 FROM witness.retention_run" || true
check "the run pruned both expired entries" "1|2|0" \
	"SELECT count(*), sum(entries_pruned), (SELECT count(*) FROM witness.entry WHERE table_name = 'person')
	 FROM witness.retention_run"
wait_for "the run sealed into the trail" 30 \
	"SELECT count(*) = 1 FROM witness.entry e WHERE table_name = 'retention_run'
	 AND pg_visible_in_snapshot(e.xid, (SELECT snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1))" || true
check "witness.verify(): valid, the pruned entries counted" "valid|2" \
	"SELECT status, entries_pruned FROM witness.verify()"
check_ok "the server log names the run" \
	"$(grep -q 'pg_witness: retention run 1 pruned 2 entries' "$WORK/server.log" && echo ok || echo "no log line")"
q "ALTER SYSTEM RESET default_transaction_isolation" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

# ---------------------------------------------------------------------------------------------
say "witness-verify on the export of the pruned trail"

"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" -c "\\copy (SELECT witness.export_trail()) TO '$WORK/trail.copy'"
check_ok "the export has the kept leaf hashes" \
	"$(grep -q '"type" : "pruned"\|"type":"pruned"' "$WORK/trail.copy" && echo ok || echo 'no pruned line')"
rc=0
"$VERIFY" "$WORK/trail.copy" >"$WORK/verify.out" 2>&1 || rc=$?
indent <"$WORK/verify.out"
check_ok "witness-verify: valid (exit status 0), the pruned entries counted" \
	"$([[ $rc == 0 ]] && grep -q 'entries pruned: *2 ' "$WORK/verify.out" && echo ok || echo "exit status $rc")"
# A kept hash altered: its first hex digit changed.
python3 - "$WORK/trail.copy" "$WORK/altered.copy" "$WORK/dropped.copy" <<'PY'
import re, sys
src, altered, dropped = sys.argv[1:4]
lines = open(src, encoding="utf-8").read().split("\n")
def alter(line):
	m = re.search(r'"leaf_hashes" ?: ?"([0-9a-f])', line)
	if not m:
		return line
	c = "1" if m.group(1) != "1" else "2"
	return line[:m.start(1)] + c + line[m.end(1):]
pruned = [i for i, l in enumerate(lines) if re.search(r'"type" ?: ?"pruned"', l) and re.search(r'"leaf_hashes" ?: ?"[0-9a-f]', l)]
assert pruned, "no partly pruned block in the export"
open(altered, "w", encoding="utf-8").write("\n".join(alter(l) if i == pruned[0] else l for i, l in enumerate(lines)))
open(dropped, "w", encoding="utf-8").write("\n".join(l for i, l in enumerate(lines) if i != pruned[0]))
PY
rc=0
"$VERIFY" "$WORK/altered.copy" >"$WORK/altered.out" 2>&1 || rc=$?
indent <"$WORK/altered.out"
check_ok "a kept hash altered in the export: tampered (exit status 1), not recorded by any run" \
	"$([[ $rc == 1 ]] && grep -q 'no retention run in the chain recorded' "$WORK/altered.out" && echo ok || echo "exit status $rc")"
rc=0
"$VERIFY" "$WORK/dropped.copy" >"$WORK/dropped.out" 2>&1 || rc=$?
indent <"$WORK/dropped.out"
check_ok "a kept row left out of the export: tampered (exit status 1), entries missing" \
	"$([[ $rc == 1 ]] && grep -q 'entry missing' "$WORK/dropped.out" && echo ok || echo "exit status $rc")"

# ---------------------------------------------------------------------------------------------
say "pg_dump and pg_restore into another database: still valid, the pruned entries counted"

# The sealer goes on sealing every second: restored in one transaction (--single-transaction, as
# the README says), the trail appears to it whole. Restored without, it sealed the restored entries
# in a new first block before the dump's blocks were loaded (a review: the dumped blocks then failed
# to load, or the history was sealed again in one block, and verified).
"$PG_BINDIR/pg_dump" -h "$WORK" -p "$PORT" -Fc -f "$WORK/rt.dump" "$DB"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE rt_restored" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -h "$WORK" -p "$PORT" -d rt_restored \
	--single-transaction "$WORK/rt.dump" >"$WORK/restore.out" 2>&1 || rc=$?
indent <"$WORK/restore.out"
check_ok "pg_restore: exit status 0" "$([[ $rc == 0 ]] && echo ok || echo "exit status $rc")"
KEPT="$(q "SELECT count(*) FROM witness.pruned_leaf")"
DB=rt_restored
check "the restored trail: valid, the pruned entries counted, the $KEPT kept rows there" "valid|2|$KEPT" \
	"SELECT v.status, v.entries_pruned, (SELECT count(*) FROM witness.pruned_leaf) FROM witness.verify() v"
DB=rt

# ---------------------------------------------------------------------------------------------
say "once a day: entries that expire after the run stay"

q "INSERT INTO person VALUES (3, 'cy@rt.example')" >/dev/null
sleep 4
check "no second run, the new entry kept" "1|1" \
	"SELECT (SELECT count(*) FROM witness.retention_run), (SELECT count(*) FROM witness.entry WHERE table_name = 'person')"

# ---------------------------------------------------------------------------------------------
say "an empty witness.retention_time turns it off"

q "ALTER SYSTEM SET witness.retention_time = ''" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
check "off" "" "SELECT current_setting('witness.retention_time')"

finish "scheduled_retention"
