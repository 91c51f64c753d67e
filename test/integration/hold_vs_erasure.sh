#!/usr/bin/env bash
# Integration test: a legal hold and an erasure of the same subject in concurrent transactions
# (docs/retention.md, "Legal holds"). Holds and the erasure check take one lock, and the check reads
# the holds after it, so neither can miss the other:
#   - a hold placed in a transaction still open when the erasure starts: the erasure waits for it
#     and, once it commits, refuses (55006) naming the hold; nothing is erased;
#   - the same hold rolled back: the erasure waits, then erases;
#   - an erasure still open when a hold is placed: the hold waits, then is placed after the erasure
#     committed; the subject's entries are erased, and the hold covers what is captured later;
#   - a seal still open, its lookup rows written with the subject's keys, when an erasure of that
#     subject runs: clearing the keys waits for the seal to commit, so no erased entry keeps a
#     subject key or key hash in witness.entry_lookup (docs/personal-data.md).
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
WORK="$(mktemp -d /tmp/hold_vs_erasure.XXXXXX)"
BG=
cleanup() {
	local rc=$?
	[[ -z $BG ]] || kill "$BG" 2>/dev/null || true
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

# bg SQL: runs SQL in the background in one session, output and errors in $WORK/bg.out.
bg() {
	"$PSQL" -X -q -A -t -d "$DB" -c "$1" >"$WORK/bg.out" 2>&1 &
	BG=$!
}
# waiting_on_lock: true once a session waits for a lock (pg_witness's are rows of witness.mutex: a
# session waits on the transaction that holds one).
waiting_on_lock="SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock')"
# in_sleep: true once the background session sleeps inside its transaction.
in_sleep="SELECT EXISTS (SELECT FROM pg_stat_activity WHERE datname = current_database() AND query LIKE '%pg_sleep(3)%' AND wait_event = 'PgSleep')"

say "a tracked table with three subjects"
q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE cust (id int PRIMARY KEY, email text, plan text)" >/dev/null
q "SET client_min_messages = warning; SELECT witness.track('cust', 'pii', subject_column => 'email', encrypt => false)" >/dev/null
q "INSERT INTO cust VALUES (1, 'ann@hv.example', 'a'), (2, 'bob@hv.example', 'b'), (3, 'cy@hv.example', 'c')" >/dev/null

say "a hold open while the erasure starts: the erasure waits, then refuses"
bg "BEGIN; SELECT witness.hold('case-ann', 'concurrent', subject => 'ann@hv.example'); SELECT pg_sleep(3); COMMIT;"
wait_for "hold session sleeping" 20 "$in_sleep"
rc=0
out="$(q "SELECT witness.erase_subject('ann@hv.example', 'race')" 2>&1)" || rc=$?
wait "$BG"
BG=
check_ok "the erasure failed" "$( ((rc != 0)) && echo ok || echo "it succeeded: $out")"
check_ok "its error names the hold" "$([[ $out == *'legal hold "case-ann" is in force'* ]] && echo ok || echo "$out")"
check "ann's entry is not erased" "0" "SELECT count(*) FROM witness.entry WHERE table_name = 'cust' AND subject = 'ann@hv.example' AND erasure_id IS NOT NULL"
check "the hold is in force" "t" "SELECT in_force FROM witness.holds WHERE name = 'case-ann'"

say "a hold that rolls back: the erasure waits, then erases"
bg "BEGIN; SELECT witness.hold('case-cy', 'rolled back', subject => 'cy@hv.example'); SELECT pg_sleep(3); ROLLBACK;"
wait_for "hold session sleeping" 20 "$in_sleep"
check "cy's erasure goes through" "1" "SELECT witness.erase_subject('cy@hv.example', 'race')"
wait "$BG"
BG=
check "no hold case-cy" "0" "SELECT count(*) FROM witness.holds WHERE name = 'case-cy'"

say "an erasure open while a hold is placed: the hold waits, and comes after it"
bg "BEGIN; SELECT witness.erase_subject('bob@hv.example', 'race'); SELECT pg_sleep(3); COMMIT;"
wait_for "erasure session sleeping" 20 "$in_sleep"
bg_pid=$BG
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" -c "SELECT witness.hold('case-bob', 'after the erasure', subject => 'bob@hv.example')" >"$WORK/hold.out" 2>&1 &
hold_pid=$!
if wait_for "the hold waits for the lock" 20 "$waiting_on_lock"; then check_ok "the hold waited" ok; else check_ok "the hold waited" "it did not"; fi
wait "$bg_pid"
BG=
wait "$hold_pid"
check "bob's entry is erased (with cy's)" "2" "SELECT count(*) FROM witness.entry WHERE table_name = 'cust' AND erasure_id IS NOT NULL"
check "the hold is in force" "t" "SELECT in_force FROM witness.holds WHERE name = 'case-bob'"
check "the hold was recorded after the erasure" "t" \
	"SELECT (SELECT max(e.id) FROM witness.entry e WHERE e.table_name = 'legal_hold') > (SELECT max(e.id) FROM witness.entry e WHERE e.table_name = 'erasure')"
q "INSERT INTO cust VALUES (4, 'bob@hv.example', 'again')" >/dev/null
check "bob's new entry is held" "case-bob" "SELECT witness._entry_held(max(id)) FROM witness.entry WHERE table_name = 'cust'"

say "a seal open while an erasure runs: the erased entry's lookup row loses its keys"
q "INSERT INTO cust VALUES (5, 'dee@hv.example', 'd')" >/dev/null
bg "BEGIN; SELECT count(*) FROM witness.seal(); SELECT pg_sleep(3); COMMIT;"
wait_for "seal session sleeping" 20 "$in_sleep"
check "dee's erasure (it waits for the seal)" "1" "SELECT witness.erase_subject('dee@hv.example', 'race')"
wait "$BG"
BG=
check "dee's lookup row: there, without subject key or key hash" "1|0|0" \
	"SELECT count(*) || '|' || count(k.subject_key) || '|' || count(k.key_hash) FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id
	 WHERE e.erasure_id = (SELECT max(erasure_id) FROM witness.erasure)"
check "the lookup table matches the blocks" "0" "SELECT sum(missing + altered + extra) FROM witness.verify_lookup()"

say "the chain"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "verify" "valid" "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

finish hold_vs_erasure
