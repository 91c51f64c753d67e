#!/usr/bin/env bash
# Integration test: the documented ways to export the trail are byte-exact (docs/verification.md,
# "Exporting"). Values with the Unicode noncharacters U+FFFF, U+1FFFE and U+10FFFF, tabs, newlines,
# carriage returns, backslashes, quotes and other control characters, in captured columns, JSON
# values, witness.actor (without control characters, which it refuses), witness.reason and
# witness.context, go through
#   - witness-verify --connect (COPY (SELECT witness.export_trail()) TO STDOUT over libpq),
#   - psql's \copy (SELECT witness.export_trail()) TO 'file', then witness-verify on the file,
#   - COPY ... TO STDOUT redirected to a file (byte-identical to the \copy file),
# and verify; a decoder of COPY text written here in Python finds every character again, exactly.
# psql's aligned or unaligned printer (psql -At -c "SELECT ...") is not such a way: the psql of
# PostgreSQL 15 drops U+1FFFE and U+10FFFF from what it prints, so its export of this trail does not
# verify; the test shows that too. Finally a value losing one character in the database is found by
# witness-verify --connect, which reads the trail a second time, in the same snapshot, to name it.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"
WORK="$(mktemp -d /tmp/export_byte_exact.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
[[ -x $VERIFY ]] || { echo "missing $VERIFY (build it with cmake first)"; exit 1; }
CONNINFO="host=${PGHOST:-127.0.0.1} port=${PGPORT:-5432} dbname=$DB"

# The awkward text, built by the server from code points (the same list as in check_export.py below):
# a tab, a newline, a carriage return, a backslash, a quote, \x01, \x1f, \x7f, U+FFFE, U+FFFF, U+FDD0,
# U+1FFFE, U+1FFFF, U+10FFFE, U+10FFFF, and an ordinary accented letter and CJK character.
AWKWARD="(SELECT string_agg(chr(c), '' ORDER BY o) FROM unnest(ARRAY[97, 9, 98, 10, 99, 13, 100, 92, 101, 34, 102,
	1, 31, 127, 65534, 65535, 64976, 131070, 131071, 1114110, 1114111, 233, 26085, 122]) WITH ORDINALITY AS u(c, o))"
# witness.actor refuses control characters (it is shown on one line, docs/views.md): the same without them.
AWKWARD_ACTOR="(SELECT string_agg(chr(c), '' ORDER BY o) FROM unnest(ARRAY[97, 98, 99, 100, 92, 101, 34, 102,
	65534, 65535, 64976, 131070, 131071, 1114110, 1114111, 233, 26085, 122]) WITH ORDINALITY AS u(c, o))"

say "a trail with noncharacters, tabs, newlines and backslashes"
q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE notes (id int PRIMARY KEY, body text, doc jsonb)" >/dev/null
q "SELECT witness.track('notes', subject_column => 'body', encrypt => false)" >/dev/null
q "SET witness.actor = 'plain actor'; INSERT INTO notes SELECT 1, $AWKWARD, jsonb_build_object($AWKWARD, $AWKWARD, 'n', 1.50)" >/dev/null
# In the session itself: a value passed through psql's printer would lose its noncharacters already.
q "SELECT set_config('witness.actor', $AWKWARD_ACTOR, false), set_config('witness.reason', $AWKWARD, false),
          set_config('witness.context', pg_catalog.jsonb_build_object('why', $AWKWARD)::text, false);
   UPDATE notes SET body = body || '!' WHERE id = 1" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "INSERT INTO notes VALUES (2, E'pending\\t\\\\', NULL)" >/dev/null # one entry left pending
check "the trail holds U+10FFFF in body, subject, actor, reason, context and JSON keys and values" "2|1|1|1" \
	"SELECT count(*) FILTER (WHERE new_values::text LIKE '%' || chr(1114111) || '%') || '|' ||
	        count(*) FILTER (WHERE actor LIKE '%' || chr(1114111) || '%' AND reason LIKE '%' || chr(131070) || '%') || '|' ||
	        count(*) FILTER (WHERE context::text LIKE '%' || chr(1114111) || '%') || '|' ||
	        count(*) FILTER (WHERE subject LIKE '%' || chr(1114111) || '%' AND old_values IS NOT NULL)
	 FROM witness.entry WHERE table_name = 'notes'"
check "witness.verify(): valid" "valid|1" "SELECT status || '|' || entries_pending FROM witness.verify()"

say "witness-verify --connect: COPY TO STDOUT over libpq, verified as it arrives"
rc=0
"$VERIFY" --stats --connect "$CONNINFO" >"$WORK/connect.out" 2>&1 || rc=$?
indent <"$WORK/connect.out"
check "witness-verify --connect: exit status 0" 0 "SELECT $rc"
check_ok "witness-verify --connect: VALID, one pass over COPY text, every sealed entry checked" \
	"$(grep -q 'result:            VALID' "$WORK/connect.out" && grep -q 'COPY text, 1 pass' "$WORK/connect.out" &&
		grep -q "entries checked:   $(q "SELECT sum(entry_count) FROM witness.block")" "$WORK/connect.out" &&
		grep -q 'entries pending:   1 ' "$WORK/connect.out" && echo ok || echo 'see the output above')"

say "psql's \\copy to a file, and COPY TO STDOUT redirected to a file"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "\\copy (SELECT witness.export_trail()) TO '$WORK/trail.copy'"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "COPY (SELECT witness.export_trail()) TO STDOUT" >"$WORK/stdout.copy"
check_ok "the two files are byte-identical" "$(cmp -s "$WORK/trail.copy" "$WORK/stdout.copy" && echo ok || echo differ)"
rc=0
"$VERIFY" --stats "$WORK/trail.copy" >"$WORK/file.out" 2>&1 || rc=$?
indent <"$WORK/file.out"
check "witness-verify on the \\copy file: exit status 0" 0 "SELECT $rc"
check_ok "witness-verify on the file: VALID, read as COPY text" \
	"$(grep -q 'result:            VALID' "$WORK/file.out" && grep -q 'COPY text' "$WORK/file.out" && echo ok || echo 'see above')"
rc=0
"$VERIFY" - <"$WORK/trail.copy" >"$WORK/stdin.out" 2>&1 || rc=$?
check "witness-verify on standard input: exit status 0" 0 "SELECT $rc"

say "nothing is lost: every character comes back from the COPY file"
# The count of entry lines and of the awkward values, and each value compared with the expected text.
cat >"$WORK/check_export.py" <<'PY'
import json, sys

AWKWARD = "".join(map(chr, [97, 9, 98, 10, 99, 13, 100, 92, 101, 34, 102, 1, 31, 127, 65534, 65535, 64976,
                            131070, 131071, 1114110, 1114111, 233, 26085, 122]))
AWKWARD_ACTOR = "".join(c for c in AWKWARD if ord(c) >= 32 and ord(c) != 127)
ESC = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def copy_decode(line):
    """COPY text (one column, as COPY TO writes it) back to the value: the escapes are \\ and \\b..\\v."""
    out, i = [], 0
    while i < len(line):
        c = line[i]
        if c == "\\":
            n = line[i + 1]
            out.append(ESC.get(n, n))
            i += 2
        else:
            assert c != "\t", "an unescaped tab"
            out.append(c)
            i += 1
    return "".join(out)


with open(sys.argv[1], "rb") as f:
    raw = f.read()
lines = [copy_decode(l) for l in raw.decode("utf-8").split("\n") if l]
objs = [json.loads(l) for l in lines]
notes = [o for o in objs if o.get("type") == "entry" and o.get("table_name") == "notes"]
ins = next(o for o in notes if o["op"] == "I" and o["row_key"] == {"id": 1})
upd = next(o for o in notes if o["op"] == "U")
problems = []
def expect(what, got, want):
    if got != want:
        problems.append("%s: %r != %r" % (what, got, want))
expect("insert body", ins["new_values"]["body"], AWKWARD)
expect("insert subject", ins["subject"], AWKWARD)
expect("insert doc key and value", ins["new_values"]["doc"].get(AWKWARD), AWKWARD)
expect("update old body", upd["old_values"]["body"], AWKWARD)
expect("update new body", upd["new_values"]["body"], AWKWARD + "!")
expect("update actor", upd["actor"], AWKWARD_ACTOR)
expect("update reason", upd["reason"], AWKWARD)
expect("update context", upd["context"], {"why": AWKWARD})
expect("insert actor", ins["actor"], "plain actor")
# Every U+10FFFF of the decoded export: 10 (body, subject, doc key and value; old and new body, subject;
# actor, reason, context of the update).
expect("U+10FFFF in the export", sum(l.count(chr(1114111)) for l in lines), int(sys.argv[2]))
expect("entry lines", len([o for o in objs if o.get("type") == "entry"]), int(sys.argv[3]))
print("\n".join(problems) if problems else "ok")
PY
want_max="$(q "SELECT sum((length(e::text) - length(replace(e::text, chr(1114111), ''))))
	FROM (SELECT concat_ws('|', subject, row_key::text, old_values::text, new_values::text, actor, reason, context::text) AS e
	      FROM witness.entry) s")"
entries="$(q "SELECT count(*) FROM witness.entry")"
note "U+10FFFF in the stored trail: $want_max; entries: $entries"
check_ok "the \\copy file decodes to the exact values, every U+10FFFF and entry present" \
	"$(python3 "$WORK/check_export.py" "$WORK/trail.copy" "$want_max" "$entries" 2>&1)"

say "psql's printer is not byte-exact: its export of the same trail does not verify"
"$PSQL" -X -A -t -q -d "$DB" -c "SELECT * FROM witness.export_trail()" >"$WORK/printed.jsonl"
printed_max="$(python3 -c 'import sys; print(open(sys.argv[1], encoding="utf-8").read().count(chr(1114111)))' "$WORK/printed.jsonl")"
note "psql -At printed $printed_max of the $want_max U+10FFFF characters"
rc=0
"$VERIFY" "$WORK/printed.jsonl" >"$WORK/printed.out" 2>&1 || rc=$?
indent <"$WORK/printed.out"
if ((printed_max == want_max)); then
	# A psql that prints every character would make this export valid; the COPY paths stay the way.
	check "witness-verify on psql -At output (this psql prints every character): exit status 0" 0 "SELECT $rc"
else
	check "witness-verify on psql -At output that lost characters: exit status 1 (tampered)" 1 "SELECT $rc"
fi

say "a character removed in the database is found, and named from a second pass in the same snapshot"
q "BEGIN; ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
   UPDATE witness.entry SET actor = replace(actor, chr(1114111), '') WHERE table_name = 'notes' AND op = 'U';
   ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only; COMMIT" >/dev/null
upd_id="$(q "SELECT id FROM witness.entry WHERE table_name = 'notes' AND op = 'U'")"
rc=0
"$VERIFY" --stats --connect "$CONNINFO" >"$WORK/tampered.out" 2>&1 || rc=$?
indent <"$WORK/tampered.out"
check "witness-verify --connect on the altered trail: exit status 1 (tampered)" 1 "SELECT $rc"
check_ok "it names the entry whose actor lost U+10FFFF, after a second pass" \
	"$(grep -q "entry $upd_id: value changed" "$WORK/tampered.out" && grep -q 'COPY text, 2 passes' "$WORK/tampered.out" &&
		echo ok || echo 'see above')"

finish export_byte_exact
