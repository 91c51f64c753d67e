#!/usr/bin/env bash
# Integration test: pg_dump of a database with pg_witness restored into ANOTHER cluster (a
# migration or an upgrade by dump and restore), whose transaction ids are behind the source's.
#
# Block membership is defined by the stored snapshots and recomputed from stored data alone, on a
# replica or after pg_dump/restore too (docs/verification.md). The restored blocks carry the
# source cluster's snapshots; the new cluster's transaction ids start lower. The sealer then starts
# a transaction-id era (docs/verification.md, "Transaction-id eras"): it closes the old era with a
# block that seals the restored pending entries, records the new era in witness.era, and seals the
# new cluster's entries into blocks of the new era. This test checks:
#   - the source database (in the shared test cluster) gets pg_witness, a tracked table, changes,
#     two blocks and one change left pending; its transaction counter is first pushed ahead of the
#     new cluster's by 3000 xids, so the new cluster is behind whatever ran before;
#   - a fresh cluster of its own (initdb, another port) gets the dump with
#     PGOPTIONS='-c session_replication_role=replica' pg_restore --single-transaction (as in
#     dump_restore.sh);
#   - there: verify() valid with the source's counts, export_trail() equal except the header's
#     database field;
#   - a change made there, then witness.seal(): block 3 closes the old era (the restored pending
#     change in it), witness.era has the new era from the new change's id on; the next seal puts the
#     new change into block 4; verify() valid with every entry sealed or pending, prove() and
#     block_of() of the new entry name block 4;
#   - the background sealer seals another change into a later block;
#   - witness-verify passes the export (and finds tampering when the era line is taken out of it);
#   - attacks: deleting the era record, or moving its boundary (first entry id up or down, first
#     block), is reported by verify(); a table owner, a DML-only role and a role with CREATE on the
#     database cannot write witness.era (42501);
#   - a second restore of the dump, where the background sealer starts the era while pgbench
#     (4 clients) writes: every change sealed, verify() valid; a mass change there, in a transaction
#     whose id is the one of a mass change alerted on the source, is alerted too.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); a superuser. Runs as root
# (the new cluster belongs to PG_OS_USER, postgres) or as the owner of the clusters.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/../.." && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

SRC_DB=witness_it_dump_src
DST_DB=witness_it_dump_dst
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$SRC_DB" ]] || MAINT_DB=postgres
WORK="$(mktemp -d /tmp/dump_restore_new_cluster.XXXXXX)"
DST_PORT="$(free_port)"
SRC_CREATED=0

maint() { "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "$1"; }
cleanup() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 20 lines of the new cluster's server log ----"
		tail -n 20 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$WORK/data" fast
	if ((SRC_CREATED)); then
		maint "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" >/dev/null
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

SRC_HOST="${PGHOST:-127.0.0.1}"
SRC_PORT="${PGPORT:-5432}"
qsrc() { q_on "$SRC_HOST" "$SRC_PORT" "$SRC_DB" "$1"; }
qdst() { q_on "$WORK" "$DST_PORT" "$DST_DB" "$1"; }

# ---------------------------------------------------------------------------------------------
say "the new cluster on 127.0.0.1:$DST_PORT"

own_cluster_init "$WORK" "$DST_PORT" "witness.seal_interval = 0"
own_cluster_start "$WORK"
DST_XID0="$(q_on "$WORK" "$DST_PORT" postgres "SELECT pg_current_xact_id()")"

# ---------------------------------------------------------------------------------------------
say "source database $SRC_DB in the shared cluster"

maint "DROP DATABASE IF EXISTS $SRC_DB WITH (FORCE)" >/dev/null 2>&1
SRC_CREATED=1
maint "CREATE DATABASE $SRC_DB" >/dev/null
# 3000 transactions, so that the source's ids are ahead of the new cluster's.
qsrc "DO \$\$ BEGIN FOR i IN 1..3000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END \$\$" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$SRC_HOST" -p "$SRC_PORT" -d "$SRC_DB" >"$WORK/setup.out" 2>&1 <<'SQL' || { cat "$WORK/setup.out"; exit 1; }
CREATE EXTENSION pg_witness;
CREATE TABLE accounts (id int PRIMARY KEY, owner text NOT NULL, balance numeric(12,2) NOT NULL DEFAULT 0);
SELECT witness.track('accounts', 'financial');
INSERT INTO accounts SELECT g, 'owner ' || g, g FROM generate_series(1, 50) g;
CREATE TABLE people (id int PRIMARY KEY, email text NOT NULL, plan text);
SELECT witness.track('people', subject_column => 'email', encrypt => false);
INSERT INTO people VALUES (1, 'p1@it.example', 'basic');
SELECT count(*) FROM witness.seal();
UPDATE accounts SET balance = balance + 10 WHERE id % 5 = 0;
SQL
# Captured and committed on the source, not sealed when the dump is taken: restored pending. Its
# transaction is open while block 2 is sealed, after a later transaction committed: block 2's
# snapshot lists it as in progress, below its xmax, as a busy source's would.
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$SRC_HOST" -p "$SRC_PORT" -d "$SRC_DB" >"$WORK/pending.out" 2>&1 <<'SQL' &
BEGIN;
SET witness.actor = 'pending-at-dump';
UPDATE accounts SET balance = balance + 1 WHERE id = 3;
SELECT pg_sleep(3);
COMMIT;
SQL
PENDING_WRITER=$!
for _ in $(seq 1 100); do
	[[ "$(qsrc "SELECT count(*) = 1 FROM pg_stat_activity WHERE datname = current_database() AND backend_xid IS NOT NULL
	             AND query LIKE 'SELECT pg_sleep(3)%'")" == t ]] && break
	sleep 0.1
done
qsrc "SELECT pg_current_xact_id()" >/dev/null # a later transaction, committed
qsrc "SELECT count(*) FROM witness.seal()" >/dev/null
wait "$PENDING_WRITER" || { cat "$WORK/pending.out"; exit 1; }
SRC_XID="$(qsrc "SELECT pg_current_xact_id()")"
echo "transaction ids: source cluster at $SRC_XID, new cluster at $DST_XID0"
check_ok "precondition: the new cluster's transaction ids are behind the source's ($DST_XID0 < $SRC_XID)" \
	"$( ((DST_XID0 < SRC_XID)) && echo ok || echo "new cluster at $DST_XID0, source at $SRC_XID")"
SRC_COUNTS="$(qsrc "SELECT status || '|' || blocks_checked || '|' || entries_checked || '|' || entries_pending FROM witness.verify()")"
echo "source: status|blocks|entries|pending = $SRC_COUNTS; blocks:"
qsrc "SELECT block_no || ' ' || snapshot || ' ' || entry_count FROM witness.block ORDER BY block_no" | indent

# ---------------------------------------------------------------------------------------------
say "pg_dump -Fc; pg_restore into the new cluster (replica mode)"

"$PG_BINDIR/pg_dump" -h "$SRC_HOST" -p "$SRC_PORT" -Fc -f "$WORK/src.dump" "$SRC_DB"
q_on "$WORK" "$DST_PORT" postgres "CREATE DATABASE $DST_DB" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -h "$WORK" -p "$DST_PORT" -d "$DST_DB" \
	--single-transaction "$WORK/src.dump" >"$WORK/restore.out" 2>&1 || rc=$?
if ((rc != 0)) || [[ -s $WORK/restore.out ]]; then
	echo "---- pg_restore output (exit status $rc) ----"
	cat "$WORK/restore.out"
fi
DB=$DST_DB
Q_HOST=$WORK
Q_PORT=$DST_PORT
check "pg_restore exit status" 0 "SELECT $rc"
((rc == 0)) || finish dump_restore_new_cluster

# ---------------------------------------------------------------------------------------------
say "the new cluster: the restored trail"

check "verify(): status|blocks|entries|pending = the source's" "$SRC_COUNTS" \
	"SELECT status || '|' || blocks_checked || '|' || entries_checked || '|' || entries_pending FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
qsrc "SELECT * FROM witness.export_trail()" | tail -n +2 >"$WORK/src.trail"
qdst "SELECT * FROM witness.export_trail()" | tail -n +2 >"$WORK/dst-due.trail"
# The restored trail is behind this cluster's transaction ids: its export names the era the next
# seal will start (marked due), from the id after every restored entry.
check_ok "export_trail(): one line more, the due era from the id after the restored entries" \
	"$(grep -c '"due" : true' "$WORK/dst-due.trail" | grep -qx 1 &&
	   grep -q "\"first_entry_id\" : $(qdst "SELECT max(id) + 1 FROM witness.entry")," "$WORK/dst-due.trail" && echo ok ||
	   grep '"era"' "$WORK/dst-due.trail")"
grep -v '"due" : true' "$WORK/dst-due.trail" >"$WORK/dst.trail"
if cmp -s "$WORK/src.trail" "$WORK/dst.trail"; then
	check_ok "export_trail(): every block and entry line equal to the source's" ok
else
	check_ok "export_trail(): every block and entry line equal to the source's" "$(diff "$WORK/src.trail" "$WORK/dst.trail" | head -6)"
fi

# ---------------------------------------------------------------------------------------------
say "the new cluster: a new transaction-id era"

check "the restored change is pending" "1|false" \
	"SELECT count(*) || '|' || bool_or(b.block_no IS NOT NULL) FROM witness.entry e LEFT JOIN LATERAL witness.block_of(e.id) b ON true WHERE e.actor = 'pending-at-dump'"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$DST_PORT" -d "$DST_DB" \
	-c "SET witness.actor = 'after-restore'" -c "UPDATE accounts SET balance = balance - 1 WHERE id = 7" >/dev/null
check "the new change is captured: one entry" 1 "SELECT count(*) FROM witness.entry WHERE actor = 'after-restore'"
NEW_ID="$(qdst "SELECT id FROM witness.entry WHERE actor = 'after-restore'")"
PENDING_ID="$(qdst "SELECT id FROM witness.entry WHERE actor = 'pending-at-dump'")"
# Before the pass that starts the era, the new change is not yet in any era's block: verify() and
# block_of() take it as pending, as the sealer will, not as an entry inserted into an old block.
check "before the era is started: verify() valid, every entry sealed or pending, the new change among the pending" "valid|2|true|2" \
	"SELECT status || '|' || blocks_checked || '|' || (entries_checked + entries_pending = (SELECT count(*) FROM witness.entry)) || '|' || entries_pending FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
check "before the era is started: block_of() of the new change is NULL" "" "SELECT block_no FROM witness.block_of($NEW_ID)"
check "before the era is started: seal_status counts the restored and the new change as pending" 2 "SELECT entries_pending FROM witness.seal_status"
# The exports take an entry's block from the entry before it when that block's snapshot sees it:
# not for an entry of the due era, beyond the block's sealed ids (a helper's review).
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$DST_PORT" -d "$DST_DB" -c "UPDATE people SET plan = 'pro' WHERE id = 1" >/dev/null
check "before the era is started: subject_export() lists the sealed entry and the new one as pending" "sealed|1|true,pending||true" \
	"SELECT string_agg((l::jsonb ->> 'status') || '|' || COALESCE(l::jsonb ->> 'block_no', '') || '|' || COALESCE(l::jsonb ->> 'verified', ''), ',' ORDER BY (l::jsonb ->> 'entry_id')::bigint)
	   FROM witness.subject_export('p1@it.example', 'json', 'due era test') l WHERE l::jsonb ->> 'type' IS DISTINCT FROM 'header' AND l::jsonb ? 'entry_id'"
check "before the era is started: witness.export() gives the sealed entry its block and none to the new one" "1|" \
	"SELECT string_agg(COALESCE(x::jsonb ->> 'block_no', ''), '|' ORDER BY (x::jsonb ->> 'entry_id')::bigint) FROM witness.export('jsonl', table_name => 'public.people') x"
out="$(qdst "SELECT witness.prove($NEW_ID)" 2>&1 || true)"
check_ok "before the era is started: prove() of the new change: not sealed yet" "$(grep -q "entry $NEW_ID is not sealed yet" <<<"$out" && echo ok || echo "$out")"
qdst "SELECT * FROM witness.export_trail()" >"$WORK/due.trail"
if [[ -x $REPO/build/witness-verify ]]; then
	"$REPO/build/witness-verify" "$WORK/due.trail" >"$WORK/wv-due.out" 2>&1 || true
	check_ok "before the era is started: witness-verify passes the export, the restored change and the three made here pending" \
		"$(grep -q 'result: *VALID' "$WORK/wv-due.out" && grep -q 'entries pending: *4 ' "$WORK/wv-due.out" && echo ok || cat "$WORK/wv-due.out")"
fi
RESTORED_MAX_XID="$(qdst "SELECT max(xid) FROM witness.entry WHERE id < $NEW_ID")"
# In a transaction that has a transaction id of this younger cluster, the very id of the restored
# pending change (reviews: a seal after an UPDATE had the closing block's snapshot leave out what the
# previous one saw, "block altered" for good; with the pending change's id, that change went into no
# block). This cluster's ids are used up to just below it first.
PENDING_XID="$(qdst "SELECT xid FROM witness.entry WHERE id = $PENDING_ID")"
PGOPTIONS="-c synchronous_commit=off" qdst "DO \$\$ BEGIN WHILE pg_current_xact_id()::text::bigint < $PENDING_XID - 1 LOOP COMMIT; END LOOP; END \$\$" >/dev/null
check "witness.seal() closes the old era: block 3, its snapshot sees every restored transaction, with the restored pending change" \
	"3|1|$PENDING_ID|true|true" \
	"CREATE TEMP TABLE own_xid (i int); SELECT block_no || '|' || entry_count || '|' || first_entry_id || '|' || (pg_snapshot_xmin(snapshot) > '$RESTORED_MAX_XID'::xid8) || '|' || (pg_current_xact_id()::text = '$PENDING_XID') FROM witness.seal()"
check "witness.era: era 2 from the new change's id, first block 4, this cluster's system identifier" \
	"2|$NEW_ID|4|true" \
	"SELECT era_no || '|' || first_entry_id || '|' || first_block_no || '|' || (system_identifier = (SELECT system_identifier::text FROM pg_control_system())) FROM witness.era" \
	"SELECT * FROM witness.era"
check "the restored change is sealed in block 3" 3 "SELECT block_no FROM witness.block_of($PENDING_ID)"
check "lookups find the new change, pending while the lookup table holds block 3 of the old era" "3|1|1" \
	"SELECT (SELECT block_no FROM witness.lookup_state) || '|' || (SELECT count(*) FROM witness.search(actor => 'after-restore')) || '|' ||
	        (SELECT count(*) FROM witness.entity_history('accounts'::regclass, '{\"id\": 7}') h WHERE h.actor = 'after-restore')"
check "the new change is pending (not in an old block)" "" "SELECT block_no FROM witness.block_of($NEW_ID)"
check "verify(): valid, 3 blocks, every entry sealed or pending" "valid|3|true" \
	"SELECT status || '|' || blocks_checked || '|' || (entries_checked + entries_pending = (SELECT count(*) FROM witness.entry)) FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
check "the era record is an entry of the trail" 1 "SELECT count(*) FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'era' AND op = 'I'"
check "witness.seal(): block 4, the new era's first, from the new change on" "4|$NEW_ID" \
	"SELECT block_no || '|' || first_entry_id FROM witness.seal()"
check "block_of() of the new change: block 4" 4 "SELECT block_no FROM witness.block_of($NEW_ID)"
# The lookup table now holds block 4, of the new era: lookups read as pending exactly the entries it
# does not hold, not the old era's, whose transaction ids the new snapshot cannot place.
PENDING_CLAUSE="$(qdst "SELECT witness._lookup_pending_clause('e')")"
check "the lookup table holds block 4; lookups take as pending just the entries it does not hold" \
	"4|$(qdst "SELECT count(*) FROM witness.entry e WHERE NOT EXISTS (SELECT FROM witness.entry_lookup k WHERE k.id = e.id)")" \
	"SELECT (SELECT block_no FROM witness.lookup_state) || '|' || (SELECT count(*) FROM witness.entry e WHERE $PENDING_CLAUSE)"
check "prove() of the new change: block 4, its root and block hash" "4|true|true" \
	"SELECT (p->>'block_no') || '|' || (p->>'merkle_root' = encode(b.merkle_root, 'hex')) || '|' || (p->>'block_hash' = encode(b.block_hash, 'hex'))
	   FROM witness.prove($NEW_ID) p, witness.block b WHERE b.block_no = 4"
check "verify(): valid, 4 blocks, every entry sealed or pending" "valid|4|true" \
	"SELECT status || '|' || blocks_checked || '|' || (entries_checked + entries_pending = (SELECT count(*) FROM witness.entry)) FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
check "verify(4): the new era alone" "valid|1" "SELECT status || '|' || blocks_checked FROM witness.verify(4)" "SELECT * FROM witness.verify(4)"
check "verify(2, 3): the end of the old era" "valid|2" "SELECT status || '|' || blocks_checked FROM witness.verify(2, 3)" "SELECT * FROM witness.verify(2, 3)"
check "seal_status: nothing of the old era counts as pending" t \
	"SELECT entries_pending <= (SELECT count(*) FROM witness.entry WHERE id >= $NEW_ID) FROM witness.seal_status"

# ---------------------------------------------------------------------------------------------
say "the new cluster: the background sealer"

qdst "ALTER SYSTEM SET witness.seal_interval = '200ms'" >/dev/null
qdst "SELECT pg_reload_conf()" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$DST_PORT" -d "$DST_DB" \
	-c "SET witness.actor = 'by-worker'" -c "UPDATE accounts SET balance = balance - 1 WHERE id = 8" >/dev/null
WORKER_ID="$(qdst "SELECT id FROM witness.entry WHERE actor = 'by-worker'")"
if wait_for "the worker seals the change" 60 "SELECT (witness.block_of($WORKER_ID)).block_no IS NOT NULL"; then
	check_ok "the background sealer sealed the change into a block of the new era" \
		"$(qdst "SELECT CASE WHEN block_no > 4 THEN 'ok' ELSE 'block ' || block_no END FROM witness.block_of($WORKER_ID)")"
else
	check_ok "the background sealer sealed the change" "not sealed; seal_status: $(qdst "SELECT * FROM witness.seal_status" | head -3)"
fi
qdst "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
qdst "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
check "verify(): valid after the worker's blocks" "valid|true" \
	"SELECT status || '|' || (entries_checked + entries_pending = (SELECT count(*) FROM witness.entry)) FROM witness.verify()" \
	"SELECT * FROM witness.verify()"

# ---------------------------------------------------------------------------------------------
say "witness-verify: the export of the new cluster"

qdst "SELECT * FROM witness.export_trail()" >"$WORK/era.trail"
check_ok "the export has one era line" "$( [[ $(grep -c '"type" : "era"\|"type":"era"' "$WORK/era.trail") == 1 ]] && echo ok || grep '"era"' "$WORK/era.trail" | head -3)"
out="$(python3 "$IT_LIB/trail_check.py" --allow-pending <"$WORK/era.trail" 2>&1)" &&
	check_ok "lib/trail_check.py, an independent implementation of the era rule: ($out)" ok ||
	check_ok "lib/trail_check.py, an independent implementation of the era rule" "$out"
grep -v '"era"' "$WORK/era.trail" | python3 "$IT_LIB/trail_check.py" --allow-pending >"$WORK/tc.out" 2>&1 &&
	check_ok "lib/trail_check.py: the export without its era line fails" "$(cat "$WORK/tc.out")" ||
	check_ok "lib/trail_check.py: the export without its era line fails ($(head -1 "$WORK/tc.out"))" ok
if [[ -x $REPO/build/witness-verify ]]; then
	"$REPO/build/witness-verify" "$WORK/era.trail" >"$WORK/wv.out" 2>&1 || true
	check_ok "witness-verify: the export is valid" "$(grep -q 'result: *VALID' "$WORK/wv.out" && echo ok || cat "$WORK/wv.out")"
	"$REPO/build/witness-verify" --connect "host=$WORK port=$DST_PORT dbname=$DST_DB user=postgres" >"$WORK/wv2.out" 2>&1 || true
	check_ok "witness-verify --connect: valid" "$(grep -q 'result: *VALID' "$WORK/wv2.out" && echo ok || cat "$WORK/wv2.out")"
	grep -v '"era"' "$WORK/era.trail" >"$WORK/noera.trail"
	"$REPO/build/witness-verify" "$WORK/noera.trail" >"$WORK/wv3.out" 2>&1 || true
	check_ok "witness-verify: the export without its era line is tampered" \
		"$(grep -q 'result: *TAMPERED' "$WORK/wv3.out" && echo ok || head -20 "$WORK/wv3.out")"
else
	note "no build/witness-verify: skipped (scripts/test.sh builds it)"
fi

# ---------------------------------------------------------------------------------------------
say "verification in parts across the era boundary"

# maintenance_work_mem = 1MB makes parts of about 16,000 entries: the old era is one part (a part
# never spans two eras), the new era's block of 20,000 entries one of its own (streamed), the others
# grouped. Each part reads its own era's entries; the verdict is the one of a single part (1GB).
qdst "CREATE TABLE ledger (id int PRIMARY KEY, note text); SELECT witness.track('ledger')" >/dev/null
qdst "INSERT INTO ledger SELECT g, 'n' || g FROM generate_series(1, 20000) g" >/dev/null
qdst "SELECT count(*) FROM witness.seal()" >/dev/null
for w in "id <= 6000" "id > 14000" "id BETWEEN 7000 AND 7100"; do
	qdst "UPDATE ledger SET note = note || 'u' WHERE $w" >/dev/null
	qdst "SELECT count(*) FROM witness.seal()" >/dev/null
done
qdst "UPDATE ledger SET note = 'pending' WHERE id = 1" >/dev/null
# verify_with SETTING [FIRST LAST]: every row verify() returns, one line each.
verify_with() {
	local call="witness.verify()"
	(($# == 3)) && call="witness.verify($2, $3)"
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK" -p "$DST_PORT" -d "$DST_DB" \
		-c "SET maintenance_work_mem = '$1'" -c "SET client_min_messages = debug1" -c "SELECT status, blocks_checked, entries_checked, entries_pending, problem, block_no, entry_id, detail,
		           entries_erased, entries_unchecked, entries_pruned FROM $call" 2>"$WORK/verify_debug.out"
}
one="$(verify_with 1GB)"
check_ok "verify() at 1GB: one part" "$(grep -q 'in [0-9]* parts' "$WORK/verify_debug.out" && cat "$WORK/verify_debug.out" || echo ok)"
parts="$(verify_with 1MB)"
check_ok "verify() in one part: valid ($one)" "$([[ $one == valid\|* ]] && echo ok || echo "$one")"
check_ok "verify() in parts: the same row" "$([[ $parts == "$one" ]] && echo ok || echo "one part: $one; parts: $parts")"
nparts="$(sed -n 's/.*verification of blocks 1 to [0-9]* in \([0-9]*\) parts.*/\1/p' "$WORK/verify_debug.out" | head -1)"
check_ok "verify() at 1MB went in parts, split at the era boundary (${nparts:-no} parts)" \
	"$( ((${nparts:-0} >= 4)) && echo ok || { echo "parts: ${nparts:-none}"; cat "$WORK/verify_debug.out"; })"
check "entries checked: all but the pending one" "$(qdst "SELECT count(*) - 1 FROM witness.entry")" \
	"SELECT entries_checked FROM witness.verify()"
check_ok "verify(2, 5) across the boundary, in parts and in one: the same" \
	"$(a="$(verify_with 1GB 2 5)"; b="$(verify_with 1MB 2 5)"; [[ $a == "$b" && $a == valid* ]] && echo ok || echo "one: $a; parts: $b")"

# ---------------------------------------------------------------------------------------------
say "attacks on the era boundary (superuser, guard trigger disabled, rolled back)"

# attack SQL: runs SQL with the append-only trigger of witness.era disabled, prints what verify()
# says (status and problem kinds), and rolls back.
# attack SQL: the status and problem kinds; attack SQL all: two lines, every problem and count of
# verify() in one part (64MB) and in parts (1MB), in one snapshot (entries written meanwhile, such
# as the recorded calls, would differ otherwise).
attack() {
	local select="min(status) || '|' || string_agg(DISTINCT problem, ',' ORDER BY problem) FROM witness.verify()"
	local all="min(status) || '|' || min(entries_checked) || '|' || min(entries_pending) || '|' ||
		COALESCE(string_agg(problem || '@' || COALESCE(block_no::text, '') || '/' || COALESCE(entry_id::text, ''), ','
		                    ORDER BY problem, block_no, entry_id), '') FROM witness.verify()"
	local tail=1
	[[ -n ${2:-} ]] && select="$all; SET LOCAL maintenance_work_mem = '1MB'; SELECT $all" && tail=2
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK" -p "$DST_PORT" -d "$DST_DB" <<SQL 2>&1 | tail -n $tail
BEGIN ISOLATION LEVEL REPEATABLE READ;
ALTER TABLE witness.era DISABLE TRIGGER witness_append_only;
$1;
SET LOCAL maintenance_work_mem = '64MB';
SELECT $select;
ROLLBACK;
SQL
}
# The last two forge an entry of the old era: one with a negative id, one whose transaction id no
# block of the old era sees (pending in one part; a review found parts dropping both).
for a in "DELETE FROM witness.era" \
	"UPDATE witness.era SET first_entry_id = first_entry_id + 1" \
	"UPDATE witness.era SET first_entry_id = $PENDING_ID" \
	"UPDATE witness.era SET first_block_no = first_block_no + 1" \
	"UPDATE witness.era SET first_block_no = first_block_no - 1" \
	"SET LOCAL session_replication_role = replica; INSERT INTO witness.entry SELECT (jsonb_populate_record(e, '{\"id\": -5}')).* FROM witness.entry e WHERE e.id = 3" \
	"SET LOCAL session_replication_role = replica; INSERT INTO witness.entry SELECT (jsonb_populate_record(e, '{\"xid\": \"999999\", \"new_values\": {\"id\": 3, \"owner\": \"mallory\"}}')).* FROM witness.entry e WHERE e.id = 3"; do
	got="$(attack "$a")"
	check_ok "$a: verify() reports it ($got)" "$([[ $got == tampered\|* ]] && echo ok || echo "$got")"
	both="$(attack "$a" all)"
	whole="$(head -n 1 <<<"$both")"
	in_parts="$(tail -n +2 <<<"$both")"
	check_ok "$a: verify() in parts reports the same problems and counts" \
		"$([[ $in_parts == "$whole" && -n $whole ]] && echo ok || echo "one part: ${whole:0:300}; parts: ${in_parts:0:300}")"
done
check "after the attacks (rolled back): valid" valid "SELECT DISTINCT status FROM witness.verify()"

say "roles that may not write witness.era"

qdst "CREATE ROLE era_owner LOGIN; CREATE ROLE era_dml LOGIN; CREATE ROLE era_creator LOGIN;
      ALTER TABLE accounts OWNER TO era_owner; GRANT SELECT, INSERT, UPDATE, DELETE ON accounts TO era_dml;
      GRANT CREATE ON DATABASE $DST_DB TO era_creator" >/dev/null
for r in era_owner era_dml era_creator; do
	for stmt in "INSERT INTO witness.era (first_entry_id, first_block_no, system_identifier, trail_xmax, cluster_next_xid) VALUES (1, 2, 'x', '1', '1')" \
		"DELETE FROM witness.era" "UPDATE witness.era SET first_entry_id = 1"; do
		out="$("$PSQL" -X -q -A -t -v VERBOSITY=verbose -h "$WORK" -p "$DST_PORT" -d "$DST_DB" -U "$r" -c "$stmt" 2>&1 || true)"
		check_ok "$r: ${stmt%% (*}... refused with 42501" "$(grep -q '42501' <<<"$out" && echo ok || echo "$out")"
	done
done
out="$("$PSQL" -X -q -A -t -v VERBOSITY=verbose -h "$WORK" -p "$DST_PORT" -d "$DST_DB" -c "INSERT INTO witness.era (first_entry_id, first_block_no, system_identifier, trail_xmax, cluster_next_xid) VALUES (1, 2, 'x', '1', '1')" 2>&1 || true)"
check_ok "superuser: INSERT INTO witness.era refused by the guard (42501)" "$(grep -q '42501' <<<"$out" && echo ok || echo "$out")"
out="$("$PSQL" -X -q -A -t -v VERBOSITY=verbose -h "$WORK" -p "$DST_PORT" -d "$DST_DB" -c "DELETE FROM witness.era" 2>&1 || true)"
check_ok "superuser: DELETE FROM witness.era refused by the append-only guard (42501)" "$(grep -q '42501' <<<"$out" && echo ok || echo "$out")"
check "witness.era unchanged" 1 "SELECT count(*) FROM witness.era"

# ---------------------------------------------------------------------------------------------
say "a second restore: the background sealer starts the era while 4 clients write"

# The new cluster used its ids up to the first dump's pending change above: the source goes ahead
# again (ids used, a change sealed) and is dumped once more, so that this restore is behind too.
PGOPTIONS="-c synchronous_commit=off" qsrc "DO \$\$ BEGIN FOR i IN 1..3000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END \$\$" >/dev/null
qsrc "UPDATE accounts SET balance = balance + 1 WHERE id = 4" >/dev/null
# A mass change alerted on the source, in transaction PURGE_XID (mass_change, threshold 10 here),
# after ids enough for the new cluster's clients below to stay behind it (they are held to 1,000
# transactions a second: on a quiet machine 4 clients ran past the 30,000 ids in 6 s).
PGOPTIONS="-c synchronous_commit=off" qsrc "DO \$\$ BEGIN FOR i IN 1..30000 LOOP PERFORM pg_current_xact_id(); COMMIT; END LOOP; END \$\$" >/dev/null
qsrc "SELECT witness.set_alert_rule('mass_change', threshold => 10)" >/dev/null
qsrc "CREATE TABLE purge (id int PRIMARY KEY); SELECT witness.track('purge'); INSERT INTO purge SELECT generate_series(1, 40)" >/dev/null
PURGE_XID="$(qsrc "DELETE FROM purge WHERE id <= 20; SELECT pg_current_xact_id()" | tail -n 1)"
qsrc "SELECT count(*) FROM witness.seal()" >/dev/null
qsrc "SELECT count(*) FROM witness.check_alerts()" >/dev/null
check_ok "the source alerts its mass change (cause $PURGE_XID:public.purge)" \
	"$(qsrc "SELECT count(*) FROM witness.alert WHERE rule = 'mass_change' AND cause = '$PURGE_XID:public.purge'" | grep -qx 1 && echo ok ||
	   qsrc "SELECT rule, cause FROM witness.alert")"
SRC_BLOCKS2="$(qsrc "SELECT max(block_no) FROM witness.block")"
"$PG_BINDIR/pg_dump" -h "$SRC_HOST" -p "$SRC_PORT" -Fc -f "$WORK/src2.dump" "$SRC_DB"
DB=${DST_DB}_2
q_on "$WORK" "$DST_PORT" postgres "CREATE DATABASE $DB" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -h "$WORK" -p "$DST_PORT" -d "$DB" \
	--single-transaction "$WORK/src2.dump" >"$WORK/restore2.out" 2>&1 || rc=$?
check "pg_restore exit status" 0 "SELECT $rc"
echo "UPDATE accounts SET balance = balance + 1 WHERE id = (random() * 49)::int + 1;" >"$WORK/update.sql"
q "ALTER SYSTEM SET witness.seal_interval = '200ms'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
"$PGBENCH" -n -h "$WORK" -p "$DST_PORT" -c 4 -j 2 -T 6 -R 1000 -f "$WORK/update.sql" "$DB" >"$WORK/pgbench.out" 2>&1 || {
	cat "$WORK/pgbench.out"
	check_ok "pgbench" "failed"
}
LAST_ID="$(q "SELECT max(id) FROM witness.entry WHERE table_name = 'accounts'")"
if wait_for "the worker seals the last change" 60 "SELECT (witness.block_of($LAST_ID)).block_no IS NOT NULL"; then
	check_ok "the background sealer started an era and sealed every change of the clients" ok
else
	check_ok "the background sealer sealed the clients' changes" "not sealed; seal_status: $(q "SELECT * FROM witness.seal_status" | head -3)"
fi
q "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 0.5
check "one era, started after the restored blocks and the one that closes their era" "1|$((SRC_BLOCKS2 + 2))" \
	"SELECT count(*) || '|' || min(first_block_no) FROM witness.era" "SELECT * FROM witness.era"
check "every change of the clients is in a block of the new era" 0 \
	"SELECT count(*) FROM witness.entry e WHERE e.table_name = 'accounts' AND e.id >= (SELECT first_entry_id FROM witness.era)
	   AND NOT EXISTS (SELECT FROM witness.block_of(e.id) b WHERE b.block_no >= $((SRC_BLOCKS2 + 2)))"
check "verify(): valid, every entry sealed or pending" "valid|true" \
	"SELECT status || '|' || (entries_checked + entries_pending = (SELECT count(*) FROM witness.entry)) FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
# The new cluster reaches the source's transaction id of the mass change alerted there, and a role
# with DML grants deletes the other 20 rows in a transaction of that id: it is a transaction of its
# own, alerted (an attack review: the alert of the source's transaction silenced this one).
PGOPTIONS="-c synchronous_commit=off" q "DO \$\$ BEGIN WHILE pg_current_xact_id()::text::bigint < $PURGE_XID - 1 LOOP COMMIT; END LOOP;
                                         COMMIT; DELETE FROM purge WHERE id > 20; END \$\$" >/dev/null
check "a transaction of the source's id deletes the other 20 rows" "$PURGE_XID|20" \
	"SELECT min(xid::text) || '|' || count(*) FROM witness.entry WHERE table_name = 'purge' AND op = 'D' AND id >= (SELECT first_entry_id FROM witness.era)"
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "SELECT count(*) FROM witness.check_alerts()" >/dev/null
check "its mass change is alerted, the cause naming the era" 1 \
	"SELECT count(*) FROM witness.alert WHERE rule = 'mass_change' AND cause = 'era ' || (SELECT first_entry_id FROM witness.era) || ':$PURGE_XID:public.purge'" \
	"SELECT rule, cause FROM witness.alert"
note "$(q "SELECT 'blocks: ' || count(*) || ', entries: ' || (SELECT count(*) FROM witness.entry) FROM witness.block")"

finish dump_restore_new_cluster
