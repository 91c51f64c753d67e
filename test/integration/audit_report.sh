#!/usr/bin/env bash
# Integration test: the signed audit report (docs/report.md). witness.audit_report() in the
# database and witness-verify report from an export of the same trail agree on the key figures;
# both reports check with witness-verify report-check and with the OpenSSL recipe they print; a
# modified report fails both checks; a tampered export gives a report that says so. Headless Chromium
# renders the HTML to PDF and pdftotext finds the key figures in it; a hostile actor name comes out
# as text, not markup.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"
WORK="$(mktemp -d /tmp/witness_audit_report.XXXXXX)"
chmod 755 "$WORK"
CLERK=it_report_clerk # a cluster-wide role: dropped again at exit
cleanup() {
	local rc=$?
	set +e
	q "DROP OWNED BY $CLERK; DROP ROLE $CLERK" >/dev/null 2>&1
	[[ -n ${KEEP_WORK:-} ]] || rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT
[[ -x $VERIFY ]] || { echo "missing $VERIFY (build it with cmake first)"; exit 1; }
for tool in chromium pdftotext pdfinfo openssl xxd; do
	command -v "$tool" >/dev/null || { echo "missing $tool (scripts/lib.sh WITNESS_DEPS)"; exit 1; }
done

say "keys (the digest keys), a trail with changes, a hostile actor name and a refused attempt"
openssl genpkey -algorithm ed25519 -out "$WORK/ed25519.pem" 2>/dev/null
openssl pkey -in "$WORK/ed25519.pem" -pubout -out "$WORK/ed25519.pub.pem" 2>/dev/null
openssl rand -hex 32 >"$WORK/hmac.key"
if [[ $(id -u) -eq 0 ]]; then chown "${PG_OS_USER:-postgres}" "$WORK/ed25519.pem" "$WORK/hmac.key"; fi
chmod 600 "$WORK/ed25519.pem" "$WORK/hmac.key"
KEYS=(-c "SET witness.hmac_key_file = '$WORK/hmac.key'" -c "SET witness.ed25519_key_file = '$WORK/ed25519.pem'")

q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE orders (id int PRIMARY KEY, amount numeric, note text)" >/dev/null
q "SELECT witness.track('orders', 'financial')" >/dev/null
q "DROP ROLE IF EXISTS $CLERK; CREATE ROLE $CLERK; GRANT SELECT, INSERT ON orders TO $CLERK" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" \
	-c "SET witness.actor = 'alice@example.com'" \
	-c "INSERT INTO orders SELECT g, g * 10, 'n' || g FROM generate_series(1, 7) g" \
	-c "UPDATE orders SET amount = 0 WHERE id <= 2" \
	-c "SET witness.actor = '<script>alert(\"pwned\")</script>'" \
	-c "DELETE FROM orders WHERE id = 7"
# The clerk may insert, not read the trail: refused (42501), recorded as denied activity.
"$PSQL" -X -q -d "$DB" -c "SET ROLE $CLERK" -c "SELECT witness.audit_report(NULL, NULL)" >/dev/null 2>&1 || true
q "SELECT witness.flush_activity()" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "nothing pending, the trail verifies" "valid" "SELECT status FROM witness.verify()"

say "witness.audit_report() in the database"
# The figures the PDF is checked against come from the report's own snapshot: activity (the logins
# of this script's connections) may reach the trail at any time after it.
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" -f - <<SQL
BEGIN ISOLATION LEVEL REPEATABLE READ;
\\o $WORK/figures.txt
SELECT count(*) FROM witness.entry;
SELECT count(*) || ' (' || min(block_no) || ' to ' || max(block_no) || ')' FROM witness.block;
SELECT encode(block_hash, 'hex') FROM witness.block ORDER BY block_no DESC LIMIT 1;
\\o $WORK/db.html
SELECT witness.audit_report('2000-01-01', NULL);
\\o
COMMIT;
SQL
rc=0
"$VERIFY" report-check "$WORK/db.html" --hmac-key "$WORK/hmac.key" --ed25519-key "$WORK/ed25519.pub.pem" \
	>"$WORK/check.out" 2>&1 || rc=$?
indent <"$WORK/check.out"
check_ok "report-check: both signatures valid, exit 0" \
	"$([[ $rc == 0 ]] && grep -q 'hmac_sha256:     valid' "$WORK/check.out" && grep -q 'ed25519:         valid' "$WORK/check.out" && echo ok || echo "exit $rc")"

say "the OpenSSL recipe printed in the report"
(
	cd "$WORK"
	sed '/^<!-- witness-signature -->$/,$d' db.html >db.signed
	grep '^ed25519 ' db.html | cut -d' ' -f2 | xxd -r -p >db.sig
	openssl pkeyutl -verify -pubin -inkey ed25519.pub.pem -rawin -in db.signed -sigfile db.sig >ossl.out 2>&1 || true
	openssl dgst -sha256 -mac HMAC -macopt key:"$(cat hmac.key)" db.signed | sed 's/.*= //' >hmac.out
)
check_ok "openssl pkeyutl: Ed25519 signature verified" \
	"$(grep -q 'Signature Verified Successfully' "$WORK/ossl.out" && echo ok || cat "$WORK/ossl.out")"
check_ok "openssl dgst: HMAC-SHA256 equals the hmac_sha256 line" \
	"$([[ "$(cat "$WORK/hmac.out")" == "$(grep '^hmac_sha256 ' "$WORK/db.html" | cut -d' ' -f2)" ]] && echo ok || echo differs)"

say "a modified report fails both checks"
sed 's/<td class="n" id="entries">\([0-9]*\)</<td class="n" id="entries">9\1</' "$WORK/db.html" >"$WORK/forged.html"
check_ok "the forgery changed the entry count" "$(cmp -s "$WORK/db.html" "$WORK/forged.html" && echo same || echo ok)"
rc=0
"$VERIFY" report-check "$WORK/forged.html" --hmac-key "$WORK/hmac.key" --ed25519-key "$WORK/ed25519.pub.pem" \
	>"$WORK/forged.out" 2>&1 || rc=$?
indent <"$WORK/forged.out"
check_ok "report-check of the modified report: INVALID, exit 1" \
	"$([[ $rc == 1 ]] && grep -q 'INVALID' "$WORK/forged.out" && echo ok || echo "exit $rc")"
sed '/^<!-- witness-signature -->$/,$d' "$WORK/forged.html" >"$WORK/forged.signed"
check_ok "openssl pkeyutl on the modified report: fails" \
	"$(openssl pkeyutl -verify -pubin -inkey "$WORK/ed25519.pub.pem" -rawin -in "$WORK/forged.signed" -sigfile "$WORK/db.sig" >/dev/null 2>&1 && echo verified || echo ok)"

say "witness-verify report from an export of the same trail"
PGCLIENTENCODING=UTF8 "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "\\copy (SELECT witness.export_trail()) TO '$WORK/trail.copy'"
rc=0
"$VERIFY" report --from 2000-01-01 --hmac-key "$WORK/hmac.key" --ed25519-key "$WORK/ed25519.pem" "$WORK/trail.copy" \
	>"$WORK/export.html" 2>"$WORK/export.err" || rc=$?
check_ok "witness-verify report: exit 0 (the export verifies)" "$([[ $rc == 0 ]] && echo ok || echo "exit $rc: $(cat "$WORK/export.err")")"
rc=0
"$VERIFY" report-check "$WORK/export.html" --ed25519-key "$WORK/ed25519.pub.pem" >/dev/null 2>&1 || rc=$?
check_ok "its report checks with the public key" "$([[ $rc == 0 ]] && echo ok || echo "exit $rc")"
# The same figures: everything but the time it was made, how it was verified and the signatures.
figures() { sed -n '/<h2>Summary/,/^<!-- witness-signature -->$/p' "$1" | grep -v -e '<th>how</th>' -e 'unsealed-left-out'; }
check_ok "both reports state the same figures" \
	"$(diff <(figures "$WORK/db.html") <(figures "$WORK/export.html") >"$WORK/diff.out" && echo ok || head -20 "$WORK/diff.out")"

say "a tampered export: the report says so"
sed 's/alice@example.com/mallory@example.com/' "$WORK/trail.copy" >"$WORK/tampered.copy"
rc=0
"$VERIFY" report --hmac-key "$WORK/hmac.key" "$WORK/tampered.copy" >"$WORK/tampered.html" 2>/dev/null || rc=$?
check_ok "witness-verify report of a tampered export: exit 1, result tampered, problems listed" \
	"$([[ $rc == 1 ]] && grep -q 'id="verification" class="tampered">tampered<' "$WORK/tampered.html" && grep -q 'value changed' "$WORK/tampered.html" && echo ok || echo "exit $rc")"

say "an entry line added to an export, pending: left out of the report (a review's forged lines were listed)"
# One of alice's entries again, under a new id and a transaction id no block sees, by another actor.
{ cat "$WORK/trail.copy"; grep -m1 '"actor":"alice@example.com"' "$WORK/trail.copy" |
	sed -e 's/"id":[0-9]*/"id":987654321/' -e 's/"xid":[0-9]*/"xid":987654321/' -e 's/alice@example.com/forged@example.com/'; } >"$WORK/pending.copy"
rc=0
"$VERIFY" report --hmac-key "$WORK/hmac.key" "$WORK/pending.copy" >"$WORK/pending.html" 2>/dev/null || rc=$?
check_ok "witness-verify report with a pending line: exit 0, the line counted apart, its actor nowhere" \
	"$([[ $rc == 0 ]] && grep -q 'id="unsealed-left-out" class="n">1<' "$WORK/pending.html" && ! grep -q 'forged@example.com' "$WORK/pending.html" && echo ok || echo "exit $rc, $(grep -c forged@example.com "$WORK/pending.html") mentions")"

# A pending copy of a sealed entry's id takes nothing out: lines are left out by id and xid. The id met
# twice is an inserted entry (the review of a copy sealed into a later block): the result is tampered.
ENTRIES="$(grep -o 'id="entries">[0-9]*<' "$WORK/export.html")"
{ cat "$WORK/trail.copy"; grep -m1 '"actor":"alice@example.com"' "$WORK/trail.copy" | sed -e 's/"xid":[0-9]*/"xid":987654321/'; } >"$WORK/dup.copy"
rc=0
"$VERIFY" report --hmac-key "$WORK/hmac.key" "$WORK/dup.copy" >"$WORK/dup.html" 2>/dev/null || rc=$?
check_ok "a pending copy of a sealed entry's id: the sealed one still counts ($ENTRIES), the copy is inserted" \
	"$([[ $rc == 1 ]] && grep -q "$ENTRIES" "$WORK/dup.html" && grep -q 'id="unsealed-left-out" class="n">1<' "$WORK/dup.html" && grep -q 'entry inserted' "$WORK/dup.html" && echo ok || echo "exit $rc, $(grep -o 'id="entries">[0-9]*<' "$WORK/dup.html")")"
# An era line that no block begins, and an entry line placed in it: reported, not passed over.
{ head -1 "$WORK/trail.copy"; echo '{"type" : "era", "first_entry_id" : 1, "first_block_no" : 1}'; tail -n +2 "$WORK/trail.copy";
	grep -m1 '"actor":"alice@example.com"' "$WORK/trail.copy" | sed -e 's/"id":[0-9]*/"id":0/' -e 's/alice@example.com/forged-era@example.com/'; } >"$WORK/era.copy"
rc=0
"$VERIFY" report --hmac-key "$WORK/hmac.key" "$WORK/era.copy" >"$WORK/era.html" 2>/dev/null || rc=$?
check_ok "a forged era line and an entry in it: exit 1, tampered (entry inserted), the entry's actor nowhere" \
	"$([[ $rc == 1 ]] && grep -q 'class="tampered">tampered<' "$WORK/era.html" && grep -q 'no block of the chain holds' "$WORK/era.html" && ! grep -q 'forged-era@example.com' "$WORK/era.html" && echo ok || echo "exit $rc")"

# A pipe that gives the verification the true export and the figures a forged one (a review's FIFO):
# every read of the file must have seen the same bytes.
mkfifo "$WORK/swap.fifo"
{ cat "$WORK/trail.copy" >"$WORK/swap.fifo"; sleep 1; cat "$WORK/pending.copy" >"$WORK/swap.fifo"; } &
SWAPPER=$!
rc=0
timeout 60 "$VERIFY" report --hmac-key "$WORK/hmac.key" "$WORK/swap.fifo" >"$WORK/swap.html" 2>"$WORK/swap.err" || rc=$?
kill "$SWAPPER" 2>/dev/null || true
wait "$SWAPPER" 2>/dev/null || true
check_ok "an export that changes between the verification and the figures: exit 2, no report" \
	"$([[ $rc == 2 ]] && grep -q 'changed while the report read it' "$WORK/swap.err" && ! grep -q 'forged@example.com' "$WORK/swap.html" && echo ok || echo "exit $rc: $(cat "$WORK/swap.err")")"

say "a report checked against a signed digest; an export cut before the digest's block is tampered"
N="$(q "SELECT max(block_no) FROM witness.block")"
"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" -c "SELECT witness.digest()" >"$WORK/digest.json"
rc=0
"$VERIFY" report --hmac-key "$WORK/hmac.key" --digest "$WORK/digest.json" --digest-hmac-key "$WORK/hmac.key" \
	"$WORK/trail.copy" >"$WORK/anchored.html" 2>"$WORK/anchored.err" || rc=$?
check_ok "report --digest of the whole export: exit 0, checked against block $N, signature valid" \
	"$([[ $rc == 0 ]] && grep -q "checked against the signed digest of block $N (signature valid)" "$WORK/anchored.html" && echo ok || echo "exit $rc: $(cat "$WORK/anchored.err")")"
# The digest's block taken out, and the header made to agree: an attack review's cut export.
grep -v "\"type\": \"block\", \"block_no\": $N," "$WORK/trail.copy" |
	sed "s/\"highest_block_no\" : $N,/\"highest_block_no\" : $((N - 1)),/" >"$WORK/cut.copy"
rc=0
"$VERIFY" report --hmac-key "$WORK/hmac.key" "$WORK/cut.copy" >"$WORK/cut_plain.html" 2>/dev/null || rc=$?
check_ok "without the digest the cut export reads valid, and the report says nothing anchors it" \
	"$([[ $rc == 0 ]] && grep -q 'no signed digest given' "$WORK/cut_plain.html" && echo ok || echo "exit $rc")"
rc=0
"$VERIFY" report --hmac-key "$WORK/hmac.key" --digest "$WORK/digest.json" --digest-hmac-key "$WORK/hmac.key" \
	"$WORK/cut.copy" >"$WORK/cut.html" 2>/dev/null || rc=$?
check_ok "with it: exit 1, tampered, the digest's block named" \
	"$([[ $rc == 1 ]] && grep -q 'id="verification" class="tampered">tampered<' "$WORK/cut.html" && grep -q "digest: block $N of the digest is newer" "$WORK/cut.html" && echo ok || echo "exit $rc")"

say "headless Chromium prints the report to PDF"
mkdir -p "$WORK/home"
HOME="$WORK/home" timeout 120 chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage \
	--no-pdf-header-footer --print-to-pdf="$WORK/report.pdf" "file://$WORK/db.html" >"$WORK/chromium.out" 2>&1 || true
[[ -s $WORK/report.pdf ]] || { tail -20 "$WORK/chromium.out"; }
pdftotext -layout "$WORK/report.pdf" "$WORK/report.txt" 2>/dev/null || true
PAGES="$(pdfinfo "$WORK/report.pdf" 2>/dev/null | sed -n 's/^Pages: *//p')"
ENTRIES="$(sed -n 1p "$WORK/figures.txt")"
RANGE="$(sed -n 2p "$WORK/figures.txt")"
HASH="$(sed -n 3p "$WORK/figures.txt")"
txt() { grep -c -- "$1" "$WORK/report.txt" || true; }
check_ok "a PDF of several pages (page breaks before the personal-data and security sections): $PAGES" \
	"$([[ ${PAGES:-0} -ge 3 ]] && echo ok || echo "${PAGES:-no} pages")"
check_ok "PDF: entries in the period $ENTRIES" "$([[ $(txt "entries in the period *$ENTRIES\b") -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: blocks sealed $RANGE" "$([[ $(txt "blocks sealed in the *$RANGE") -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: verification result valid" "$([[ $(txt "^ *result *valid") -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: the newest block's hash" "$([[ $(tr -d ' \n' <"$WORK/report.txt" | grep -c "$HASH") -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: table public.orders with its counts (7 inserted, 2 updated, 1 deleted, 10)" \
	"$([[ $(txt "public.orders *financial *7 *2 *1 *0 *10") -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: actor alice@example.com, 9 entries" "$([[ $(txt "alice@example.com *postgres *9") -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: the hostile actor name printed as text" \
	"$([[ $(txt '<script>alert("pwned")</script>') -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: the clerk's refused attempt (42501)" "$([[ $(txt "$CLERK *42501") -ge 1 ]] && echo ok || echo missing)"
check_ok "PDF: the signatures and the recipe" \
	"$([[ $(txt '^ *ed25519 [0-9a-f]') -ge 1 && $(txt 'openssl pkeyutl -verify') -ge 1 ]] && echo ok || echo missing)"

say "a period over by the clock while a transaction that wrote in it is still open"
# The review of the refusal of unfinished periods: a clerk's transaction inserted, then slept; a report
# of a period already over said "no entries". The report now waits for such a transaction to end.
T0="$(q "SELECT clock_timestamp()")"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "SET ROLE $CLERK" \
	-c "BEGIN" -c "INSERT INTO orders VALUES (100, 1, 'late')" -c "SELECT pg_sleep(3)" -c "COMMIT" >/dev/null &
LATE_WRITER=$!
sleep 1
T1="$(q "SELECT clock_timestamp()")"
start=$SECONDS
LATE="$("$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" \
	-c "SELECT substring(witness.audit_report('$T0', '$T1') FROM '<td class=\"n\" id=\"entries\">([0-9]+)</td>')")"
waited=$((SECONDS - start))
wait "$LATE_WRITER"
check_ok "the report of [$T0, $T1) waited for the open transaction ($waited s) and counts its entry" \
	"$([[ $LATE == 1 && $waited -ge 1 ]] && echo ok || echo "entries [$LATE], waited $waited s")"

say "a report whose own transaction holds a lock an open writer waits for (a deadlock, not a hang)"
# The report used to poll for open writers: one that waited for a lock the report's transaction
# held was never seen to be stuck, and the report hung until cancelled. It now waits on the writer's
# transaction lock, where the deadlock detector finds the cycle, and refuses a statement it polls for
# that waits for its lock.
q "CREATE TABLE report_lock (n int)"
T0="$(q "SELECT clock_timestamp()")"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "BEGIN" -c "INSERT INTO orders VALUES (101, 1, 'locked')" \
	-c "SELECT pg_sleep(2)" -c "SELECT count(*) FROM report_lock" -c "COMMIT" >/dev/null &
LOCKED_WRITER=$!
sleep 1
T1="$(q "SELECT clock_timestamp()")"
start=$SECONDS
rc=0
timeout 60 "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" -c "BEGIN" \
	-c "LOCK TABLE report_lock IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(3)" \
	-c "SELECT length(witness.audit_report('$T0', '$T1'))" -c "COMMIT" >"$WORK/deadlock.out" 2>&1 || rc=$?
took=$((SECONDS - start))
wait "$LOCKED_WRITER"
check_ok "the report waiting for a writer that waits for it fails with a deadlock ($took s, exit $rc)" \
	"$([[ $rc == 1 && $took -lt 30 ]] && grep -q 'deadlock detected' "$WORK/deadlock.out" && echo ok || { cat "$WORK/deadlock.out"; echo "exit $rc after $took s"; })"
check_ok "the writer then committed its entry" "$([[ $(q "SELECT count(*) FROM orders WHERE id = 101") == 1 ]] && echo ok || echo missing)"

T0="$(q "SELECT clock_timestamp()")"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "SELECT pg_sleep(1)" -c "SELECT count(*) AS report_lock_probe FROM report_lock" >/dev/null &
LOCKED_READER=$!
start=$SECONDS
rc=0
timeout 60 "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" -c "BEGIN" \
	-c "LOCK TABLE report_lock IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(2)" \
	-c "SELECT length(witness.audit_report('$T0', (SELECT a.query_start + interval '1 ms' FROM pg_catalog.pg_stat_activity a
	     WHERE a.query LIKE '%AS report_lock_probe%' AND a.pid <> pg_catalog.pg_backend_pid())))" \
	-c "COMMIT" >"$WORK/deadlock2.out" 2>&1 || rc=$?
took=$((SECONDS - start))
wait "$LOCKED_READER"
check_ok "the report polling for a statement that waits for its lock fails with a deadlock ($took s, exit $rc)" \
	"$([[ $rc == 1 && $took -lt 30 ]] && grep -q 'deadlock detected' "$WORK/deadlock2.out" && echo ok || { cat "$WORK/deadlock2.out"; echo "exit $rc after $took s"; })"

say "a walsender's command, a deadlock through a third session, and two reports at once"
# The review of the lock-based wait: a logical walsender (a collector's) runs one command for as long
# as it is connected, and every report polled it for good; a cycle through a third session was not
# seen; two reports polled each other for good.
# An SQL statement in a walsender (a replication=database connection) is a writer like any other
# (the review of the first fix wrote through one), and so is a function called through the fastpath
# protocol (PQfn), whose start only its state's timestamp tells.
T0="$(q "SELECT clock_timestamp()")"
"$PSQL" -X -q "dbname=$DB replication=database" -c "INSERT INTO orders SELECT 102, 1, 'walsender' FROM pg_sleep(3)" >/dev/null 2>&1 &
WALSENDER=$!
sleep 1
T1="$(q "SELECT clock_timestamp()")"
start=$SECONDS
WS="$("$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" \
	-c "SELECT substring(witness.audit_report('$T0', '$T1') FROM '<td class=\"n\" id=\"entries\">([0-9]+)</td>')")"
took=$((SECONDS - start))
wait "$WALSENDER" || true
check_ok "a walsender's SQL statement is waited for ($took s) and its entry counted" \
	"$([[ $WS == 1 && $took -ge 1 ]] && echo ok || echo "entries [$WS], waited $took s")"
q "CREATE FUNCTION public.report_slow_insert() RETURNS int LANGUAGE plpgsql AS
   \$\$ BEGIN PERFORM pg_sleep(3); INSERT INTO orders VALUES (103, 1, 'fastpath'); RETURN 1; END \$\$" >/dev/null
FN_OID="$(q "SELECT 'public.report_slow_insert()'::regprocedure::oid")"
T0="$(q "SELECT clock_timestamp()")"
python3 - "$FN_OID" <<'PY' >/dev/null 2>&1 &
import ctypes, ctypes.util, sys
lib = ctypes.CDLL(ctypes.util.find_library("pq") or "libpq.so.5")
lib.PQconnectdb.restype = ctypes.c_void_p
lib.PQconnectdb.argtypes = [ctypes.c_char_p]
lib.PQfn.restype = ctypes.c_void_p
lib.PQfn.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int),
                     ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
conn = lib.PQconnectdb(b"")  # PGHOST, PGPORT, PGUSER, PGDATABASE from the environment
buf, length = ctypes.c_int(), ctypes.c_int()
lib.PQfn(conn, int(sys.argv[1]), ctypes.byref(buf), ctypes.byref(length), 1, None, 0)
PY
FASTPATH=$!
sleep 1
T1="$(q "SELECT clock_timestamp()")"
start=$SECONDS
FP="$("$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" \
	-c "SELECT substring(witness.audit_report('$T0', '$T1') FROM '<td class=\"n\" id=\"entries\">([0-9]+)</td>')")"
took=$((SECONDS - start))
wait "$FASTPATH" || true
check_ok "a fastpath function call is waited for ($took s) and its entry counted" \
	"$([[ $FP == 1 && $took -ge 1 ]] && echo ok || echo "entries [$FP], waited $took s")"

q "CREATE TABLE report_lock2 (n int)"
T0="$(q "SELECT clock_timestamp()")"
# C holds report_lock2, then waits for report_lock, which the report holds; B waits for C.
"$PSQL" -X -q -d "$DB" -c "BEGIN" -c "LOCK TABLE report_lock2 IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(2)" \
	-c "LOCK TABLE report_lock IN ACCESS EXCLUSIVE MODE" -c "COMMIT" >/dev/null 2>&1 &
THIRD=$!
"$PSQL" -X -q -d "$DB" -c "SELECT pg_sleep(0.5)" -c "SELECT count(*) AS chained_probe FROM report_lock2" >/dev/null 2>&1 &
CHAINED=$!
start=$SECONDS
rc=0
timeout 60 "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" -c "BEGIN" \
	-c "LOCK TABLE report_lock IN ACCESS EXCLUSIVE MODE" -c "SELECT pg_sleep(3)" \
	-c "SELECT length(witness.audit_report('$T0', (SELECT a.query_start + interval '1 ms' FROM pg_catalog.pg_stat_activity a
	     WHERE a.query LIKE '%AS chained_probe%' AND a.pid <> pg_catalog.pg_backend_pid())))" \
	-c "COMMIT" >"$WORK/deadlock3.out" 2>&1 || rc=$?
took=$((SECONDS - start))
wait "$THIRD" "$CHAINED" || true
check_ok "a report whose polled statement waits for it through a third session fails with a deadlock ($took s, exit $rc)" \
	"$([[ $rc == 1 && $took -lt 30 ]] && grep -q 'deadlock detected' "$WORK/deadlock3.out" && echo ok || { cat "$WORK/deadlock3.out"; echo "exit $rc after $took s"; })"

start=$SECONDS
for i in 1 2; do
	timeout 60 "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "${KEYS[@]}" \
		-c "SELECT pg_sleep(1)::text || length(witness.audit_report(NULL, clock_timestamp()))" >"$WORK/twin$i.out" 2>&1 &
	eval "TWIN$i=\$!"
done
rc1=0 rc2=0
wait "$TWIN1" || rc1=$?
wait "$TWIN2" || rc2=$?
took=$((SECONDS - start))
made=$(( (rc1 == 0) + (rc2 == 0) ))
deadlocks=$(cat "$WORK/twin1.out" "$WORK/twin2.out" | grep -c 'deadlock detected' || true)
check_ok "two reports each waiting for the other: neither hangs, one is made ($took s, exits $rc1 $rc2)" \
	"$([[ $took -lt 30 && $made -ge 1 && $((made + deadlocks)) == 2 ]] && echo ok || { cat "$WORK/twin1.out" "$WORK/twin2.out"; echo "exits $rc1 $rc2 after $took s"; })"

finish audit_report
