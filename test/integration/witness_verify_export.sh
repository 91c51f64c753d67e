#!/usr/bin/env bash
# Integration test: an export of a real trail (witness.export_trail()) verifies with the standalone
# build/witness-verify, for changes made over the Unix socket (no client address) and over TCP
# (with one), JSON values of every shape, and a signed digest; and a tampered copy of the export
# fails. This is the path a SIEM or an auditor takes, independent of the server's own functions.
# A role with nothing but INSERT on a tracked table cannot make the trail unverifiable outside the
# database with a jsonb value nested 10,000 levels deep (nor a superuser with 40,000 levels, after
# raising max_stack_depth): capture, witness.verify() and witness-verify all handle it.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"
WORK="$(mktemp -d /tmp/witness_verify_export.XXXXXX)"
DEEP_WRITER=it_verify_deep_writer # a cluster-wide role: dropped again at exit
cleanup() {
	q "DROP OWNED BY $DEEP_WRITER; DROP ROLE $DEEP_WRITER" >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
[[ -x $VERIFY ]] || { echo "missing $VERIFY (build it with cmake first)"; exit 1; }

say "a trail written over the Unix socket and over TCP"
q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE people (id int PRIMARY KEY, name text, born date, tags text[], extra jsonb, score float8, pin text)" >/dev/null
q "SELECT witness.track('people', 'pii', exclude_columns => '{pin}', subject_column => 'name', encrypt => false)" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" \
	-c "SET witness.actor = 'socket-user'" -c "SET witness.context = '{\"via\": \"socket\", \"n\": 1.50}'" \
	-c "INSERT INTO people VALUES (1, E'Zoë \"Q\" \\\\ tab\\t', '1990-02-28', '{a,b}', '{\"k\": [1, 2.5, null, true]}', 0.1, 'x')" \
	-c "UPDATE people SET score = 'NaN' WHERE id = 1"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -d "$DB" \
	-c "SET witness.actor = 'tcp-user'" \
	-c "INSERT INTO people VALUES (2, 'Bob', NULL, NULL, '{}', -0.0, 'y')" \
	-c "DELETE FROM people WHERE id = 1"
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "TRUNCATE people" >/dev/null   # one entry left pending
check "entries with and without a client address" "true|true" \
	"SELECT bool_or(client_addr IS NULL) || '|' || bool_or(client_addr IS NOT NULL) FROM witness.entry WHERE table_name = 'people'"

say "export and witness-verify (the commands of docs/verification.md)"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "\\copy (SELECT witness.export_trail()) TO '$WORK/trail.copy'"
rc=0
"$VERIFY" "$WORK/trail.copy" >"$WORK/verify.out" 2>&1 || rc=$?
cat "$WORK/verify.out" | indent
check "witness-verify on the export: exit status 0 (valid)" 0 "SELECT $rc"
rc=0
"$VERIFY" --connect "host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} dbname=$DB" >"$WORK/connect.out" 2>&1 || rc=$?
check "witness-verify --connect: exit status 0 (valid), the same report" "0|same" \
	"SELECT '$rc|' || CASE WHEN '$(tail -n +2 "$WORK/connect.out" | md5sum)' = '$(tail -n +2 "$WORK/verify.out" | md5sum)' THEN 'same' ELSE 'differs' END"

say "a tampered export fails"
# COPY text: decoded, changed as JSON, encoded again (COPY escapes \\, \\t, \\n and the like).
python3 - "$WORK/trail.copy" "$WORK/tampered.copy" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
ESC = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
UNESC = {v: "\\" + k for k, v in ESC.items()}
UNESC["\\"] = "\\\\"
def decode(line):
	out, i = [], 0
	while i < len(line):
		if line[i] == "\\":
			out.append(ESC.get(line[i + 1], line[i + 1]))
			i += 2
		else:
			out.append(line[i])
			i += 1
	return "".join(out)
done = False
with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
	for line in f:
		obj = json.loads(decode(line.rstrip("\n")))
		if not done and obj.get("type") == "entry" and obj.get("actor") == "tcp-user":
			obj["actor"] = "someone-else"
			done = True
			line = "".join(UNESC.get(c, c) for c in json.dumps(obj, ensure_ascii=False)) + "\n"
		out.write(line)
PY
rc=0
"$VERIFY" "$WORK/tampered.copy" >"$WORK/tampered.out" 2>&1 || rc=$?
cat "$WORK/tampered.out" | indent
check "witness-verify on the tampered export: exit status 1 (tampered)" 1 "SELECT $rc"
check_ok "witness-verify names a changed value" "$(grep -q 'value changed' "$WORK/tampered.out" && echo ok || echo 'no value changed reported')"

say "an entry made to name erasure 0: reported (0 was read as no erasure, and erasures passed the entry over)"
python3 - "$WORK/trail.copy" "$WORK/erasure0.copy" <<'PY'
import sys
src, dst = sys.argv[1], sys.argv[2]
done = False
with open(src, encoding="utf-8") as f, open(dst, "w", encoding="utf-8") as out:
	for line in f:
		if not done and line.startswith('{"type":"entry"') and '"format":2' in line and '"erasure_id":null' in line:
			line = line.replace('"erasure_id":null', '"erasure_id":0', 1)
			done = True
		out.write(line)
if not done:
	sys.exit("no entry of format 2 without an erasure")
PY
rc=0
"$VERIFY" "$WORK/erasure0.copy" >"$WORK/erasure0.out" 2>&1 || rc=$?
indent <"$WORK/erasure0.out"
check "witness-verify on the export naming erasure 0: exit status 1 (tampered)" 1 "SELECT $rc"
check_ok "witness-verify says the entry names erasure 0" \
	"$(grep -q 'names erasure 0 although its payload' "$WORK/erasure0.out" && echo ok || echo 'not reported')"

say "two entries of one block trade ids in the export: named as reordered"
# Each stores 8 bytes of its leaf hash; the content of each, hashed under the other's id, gives them.
# The first two entries are sealed in block 1 (only the last one is pending). Only the id at the
# start of each line changes: the rest is left as COPY text wrote it.
python3 - "$WORK/trail.copy" "$WORK/swapped.copy" <<'PY' >"$WORK/swapped.ids"
import re, sys
src, dst = sys.argv[1], sys.argv[2]
lines = open(src, encoding="utf-8").read().split("\n")
head = re.compile(r'^\{"type":"entry","id":(\d+),')
picked = [i for i, l in enumerate(lines) if head.match(l) and re.search(r'"leaf_hash":"[0-9a-f]{16}"', l)][:2]
a, b = picked
ida, idb = (head.match(lines[i]).group(1) for i in picked)
lines[a] = head.sub('{"type":"entry","id":%s,' % idb, lines[a], count=1)
lines[b] = head.sub('{"type":"entry","id":%s,' % ida, lines[b], count=1)
print(ida, idb)
open(dst, "w", encoding="utf-8").write("\n".join(lines))
PY
read -r swap_a swap_b <"$WORK/swapped.ids" || true
check_ok "the export has two sealed entries to swap" "$([[ -n ${swap_b:-} ]] && echo ok || echo 'none found')"
rc=0
"$VERIFY" "$WORK/swapped.copy" >"$WORK/swapped.out" 2>&1 || rc=$?
indent <"$WORK/swapped.out"
check "witness-verify on the export with two ids traded: exit status 1 (tampered)" 1 "SELECT $rc"
check_ok "witness-verify names the two entries as reordered" \
	"$(grep -q "entries reordered: entries ${swap_a:-?} and ${swap_b:-?} traded ids" "$WORK/swapped.out" && echo ok || echo 'not named as reordered')"

say "a superuser makes an entry's time and a block's sealed_at infinite: both verifiers name them"
# export_trail() failed on such an entry (no finite stmt_time) and on such a block, so the trail could
# be checked only inside the server. Both are now exported as witness.verify() hashes them. In one
# transaction, rolled back: the trail is whole again for the sections after this one.
inf_entry=$(q "SELECT min(id) FROM witness.entry WHERE erasure_id IS NULL")
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" >"$WORK/infinite_verify.out" <<SQL
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET stmt_time = 'infinity' WHERE id = $inf_entry;
UPDATE witness.block SET sealed_at = '-infinity' WHERE block_no = 1;
\\copy (SELECT witness.export_trail()) TO '$WORK/infinite.copy'
\\pset format unaligned
\\pset tuples_only on
SELECT problem, block_no, entry_id FROM witness.verify() ORDER BY problem;
ROLLBACK;
SQL
indent <"$WORK/infinite_verify.out"
check_ok "witness.verify() names the entry and the block" \
	"$(grep -q "value changed|1|$inf_entry" "$WORK/infinite_verify.out" && grep -q '^block altered|1|' "$WORK/infinite_verify.out" && echo ok || echo 'not both named')"
check "the export holds the entry and the block's header" "1|1" \
	"SELECT '$(grep -c "^{\"type\":\"entry\",\"id\":$inf_entry," "$WORK/infinite.copy")|$(grep -c '^{"type": "block", "block_no": 1,' "$WORK/infinite.copy")'"
rc=0
"$VERIFY" "$WORK/infinite.copy" >"$WORK/infinite.out" 2>&1 || rc=$?
indent <"$WORK/infinite.out"
check "witness-verify on that export: exit status 1 (tampered)" 1 "SELECT $rc"
check_ok "witness-verify names the entry and the block" \
	"$(grep -q "entry $inf_entry" "$WORK/infinite.out" && grep -qi 'block 1' "$WORK/infinite.out" && echo ok || echo 'not both named')"
check "the trail is whole again" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

say "jsonb nested 10,000 levels deep, inserted by a role with only INSERT on the table"
# nested_sql N OPEN INNER CLOSE: SQL text of N times OPEN, INNER, N times CLOSE (built by the server).
nested_sql() { printf "repeat('%s', %d) || '%s' || repeat('%s', %d)" "$1" "$2" "$3" "$4" "$2"; }
# jsonb keeps keys shortest first ("b" before "aa"); canonical JSON sorts them bytewise ("aa" first).
q "CREATE TABLE deep_docs (id int PRIMARY KEY, doc jsonb)" >/dev/null
q "SELECT witness.track('deep_docs')" >/dev/null
q "DROP OWNED BY $DEEP_WRITER" >/dev/null 2>&1 || true
q "SET client_min_messages = warning; DROP ROLE IF EXISTS $DEEP_WRITER" >/dev/null
q "CREATE ROLE $DEEP_WRITER LOGIN; GRANT INSERT ON deep_docs TO $DEEP_WRITER" >/dev/null
check "$DEEP_WRITER: not a superuser, only INSERT on deep_docs" "false|true|false|false|false" \
	"SELECT r.rolsuper || '|' || has_table_privilege('$DEEP_WRITER', 'deep_docs', 'INSERT') || '|' ||
	        has_table_privilege('$DEEP_WRITER', 'deep_docs', 'SELECT') || '|' ||
	        has_table_privilege('$DEEP_WRITER', 'deep_docs', 'UPDATE') || '|' ||
	        has_table_privilege('$DEEP_WRITER', 'witness.entry', 'SELECT')
	   FROM pg_roles r WHERE r.rolname = '$DEEP_WRITER'"
rc=0
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -U "$DEEP_WRITER" \
	-c "INSERT INTO deep_docs VALUES (1, ($(nested_sql '[' 10000 '"deep"' ']'))::jsonb)" \
	-c "INSERT INTO deep_docs VALUES (2, ($(nested_sql '{"b": 1, "aa": ' 10000 '"deep"' '}'))::jsonb)" \
	>"$WORK/deep_insert.out" 2>&1 || rc=$?
indent <"$WORK/deep_insert.out"
check "the INSERTs of 10,000-level arrays and objects by $DEEP_WRITER succeed" 0 "SELECT $rc"
# Deeper, where the server allows it: only a superuser may raise max_stack_depth, which the OS stack limit caps.
deeper=no
if "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "SET max_stack_depth = '7MB'" \
	-c "INSERT INTO deep_docs VALUES (3, ($(nested_sql '[' 40000 '1' ']'))::jsonb)" >"$WORK/deeper.out" 2>&1; then
	deeper=yes
else
	note "not checked 40,000 levels: the server refused max_stack_depth = 7MB or the value ($(head -n 1 "$WORK/deeper.out"))"
fi
expected_rows=$([[ $deeper == yes ]] && echo 3 || echo 2)
check "one entry per deep row" "$expected_rows" "SELECT count(*) FROM witness.entry WHERE table_name = 'deep_docs'"
check "the captured new_values are the canonical text of the deep values" "$expected_rows" \
	"SELECT count(*) FROM witness.entry e WHERE table_name = 'deep_docs' AND new_values::text = CASE
	   WHEN new_values::text LIKE '{\"doc\":[[%' AND new_values::text LIKE '%,\"id\":1}'
	     THEN '{\"doc\":' || $(nested_sql '[' 10000 '"deep"' ']') || ',\"id\":1}'
	   WHEN new_values::text LIKE '%,\"id\":2}'
	     THEN '{\"doc\":' || $(nested_sql '{"aa":' 10000 '"deep"' ',"b":1}') || ',\"id\":2}'
	   ELSE '{\"doc\":' || $(nested_sql '[' 40000 '1' ']') || ',\"id\":3}' END"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "witness.verify() with the deep values sealed" valid "SELECT string_agg(status, ',') FROM witness.verify()"
check "every leaf_hash = witness.entry_leaf_hash(e)" 0 \
	"SELECT count(*) FROM witness.entry e WHERE $LEAF_MISMATCH"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "COPY (SELECT witness.export_trail()) TO STDOUT" >"$WORK/deep.copy"
rc=0
start_ns=$(date +%s%N)
"$VERIFY" "$WORK/deep.copy" >"$WORK/deep_verify.out" 2>&1 || rc=$?
elapsed_ms=$((($(date +%s%N) - start_ns) / 1000000))
indent <"$WORK/deep_verify.out"
note "witness-verify took ${elapsed_ms} ms for $(wc -c <"$WORK/deep.copy") bytes of export"
check "witness-verify on the export with the deep values: exit status 0 (valid)" 0 "SELECT $rc"
# The innermost value of row 1 altered in the export: witness-verify must see it, so it hashed it.
sed '0,/"deep"/s//"DEEP"/' "$WORK/deep.copy" >"$WORK/deep_tampered.copy"
check_ok "the tampered deep export differs in one line" \
	"$([[ $(diff "$WORK/deep.copy" "$WORK/deep_tampered.copy" | grep -c '^>') == 1 ]] && echo ok || echo 'sed did not alter exactly one line')"
rc=0
"$VERIFY" "$WORK/deep_tampered.copy" >"$WORK/deep_tampered.out" 2>&1 || rc=$?
indent <"$WORK/deep_tampered.out"
check "witness-verify on the export with a deep value altered: exit status 1 (tampered)" 1 "SELECT $rc"

finish witness_verify_export
