#!/usr/bin/env bash
# Integration test: a subject access export read the way a data subject or an auditor reads it, with
# tools outside the database (docs/personal-data.md, "Subject access").
#   - JSON lines written by psql: every line is JSON, the first describes the export and counts the
#     entries that follow, oldest first; the entries are exactly the subject's, across several blocks,
#     batched statements (multi-row writes) and pending entries; no other subject's value appears;
#     every proof checks with lib/proof_check.py (RFC 9162 audit paths, block hashes), and its leaf
#     hash is the entry's.
#   - CSV written by psql with CRLF between records: Python's csv module reads a header and 14 fields
#     per record, one record per changed field, and values with commas, quotes and line breaks come
#     back exactly.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
WORK="$(mktemp -d /tmp/subject_export.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
export_to() { # export_to FILE FORMAT [psql options...]: the export as psql -At writes it
	local file=$1 format=$2
	shift 2
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 "$@" -d "$DB" \
		-c "SELECT witness.subject_export('s1@example.com', '$format', 'integration test')" >"$file"
}

say "a trail in which s1 has entries in three blocks, from batched statements, and pending ones"
q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE account (id int PRIMARY KEY, email text, balance int, note text)" >/dev/null
q "SELECT witness.track('account', 'pii', subject_column => 'email', encrypt => false)" >/dev/null
q "CREATE TABLE payment (id int PRIMARY KEY, payer text NOT NULL, amount int)" >/dev/null
q "SELECT witness.track('payment', 'financial', subject_column => 'payer', encrypt => false)" >/dev/null
q "INSERT INTO account SELECT g, 's' || (g % 50) || '@example.com', g, 'note-' || g FROM generate_series(1, 3000) g" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "INSERT INTO payment SELECT g, 's' || (g % 50) || '@example.com', g FROM generate_series(1, 2000) g" >/dev/null
q "UPDATE account SET balance = balance + 1 WHERE id % 3 = 0" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "UPDATE account SET note = E'comma, \"quote\"\\nsecond line' WHERE id = 51" >/dev/null
q "DELETE FROM payment WHERE id = 1" >/dev/null
q "UPDATE account SET balance = 0 WHERE email = 's1@example.com' AND id < 500" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "UPDATE account SET balance = -1 WHERE id = 101" >/dev/null # pending
EXPECTED="$(q "SELECT count(*) FROM witness.entry WHERE subject = 's1@example.com'")"
CHANGED_FIELDS="$(q "SELECT sum((SELECT count(*) FROM jsonb_object_keys(COALESCE(old_values::jsonb, '{}') || COALESCE(new_values::jsonb, '{}'))))
                     FROM witness.entry WHERE subject = 's1@example.com'")"
check "s1's entries span three blocks and are partly pending" "3|1" \
	"SELECT count(DISTINCT (witness.block_of(id)).block_no) || '|' || count(*) FILTER (WHERE witness.block_of(id) IS NULL)
	 FROM witness.entry WHERE subject = 's1@example.com'"

say "JSON lines, as psql -At writes them"
export_to "$WORK/s1.jsonl" json
cat >"$WORK/check_json.py" <<'EOF'
import json, sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
lines = [l for l in lines if l]
docs = [json.loads(l) for l in lines]
head, entries = docs[0], docs[1:]
assert head["export"] == "pg_witness subject access" and head["subject"] == "s1@example.com", head
assert head["entries"] == len(entries) == int(sys.argv[2]), (head["entries"], len(entries), sys.argv[2])
ids = [e["entry_id"] for e in entries]
assert ids == sorted(ids) and len(set(ids)) == len(ids), "entries not oldest first"
keys = ["entry_id", "time", "table", "operation", "row_key", "changes", "actor", "reason", "status", "block_no",
        "verified", "problem", "erasure", "proof"]
for e in entries:
    assert list(e.keys()) == keys, e.keys()
    assert e["verified"] is True and e["problem"] is None, e
    assert (e["status"] == "sealed") == (e["proof"] is not None) == (e["block_no"] is not None), e
    for c in e["changes"]:
        assert set(c) <= {"field", "old", "new"}, c
with open(sys.argv[3], "w") as proofs:
    for e in entries:
        if e["proof"] is not None:
            assert e["proof"]["entry_id"] == e["entry_id"] and e["proof"]["block_no"] == e["block_no"]
            proofs.write(json.dumps(e["proof"]) + "\n")
with open(sys.argv[4], "w") as leaves:
    for e in entries:
        if e["proof"] is not None:
            leaves.write("%d %s\n" % (e["entry_id"], e["proof"]["leaf_hash"]))
print("%d entries, %d sealed, %d pending" % (len(entries), sum(e["status"] == "sealed" for e in entries),
                                              sum(e["status"] == "pending" for e in entries)))
EOF
rc=0
python3 "$WORK/check_json.py" "$WORK/s1.jsonl" "$EXPECTED" "$WORK/proofs.jsonl" "$WORK/leaves.txt" >"$WORK/json.out" 2>&1 || rc=$?
indent <"$WORK/json.out"
check "every line JSON, header counts the entries, all of s1's entries oldest first, each verified" 0 "SELECT $rc"
rc=0
python3 "$IT_LIB/proof_check.py" <"$WORK/proofs.jsonl" >"$WORK/proofs.out" 2>&1 || rc=$?
tail -n 2 "$WORK/proofs.out" | indent
check "every proof checks outside the database (lib/proof_check.py)" 0 "SELECT $rc"
check "each proof's leaf hash is its entry's" "0" \
	"SELECT count(*) FROM (VALUES $(sed -E "s/^([0-9]+) ([0-9a-f]+)$/(\1, '\2'),/" "$WORK/leaves.txt" | tr -d '\n' | sed 's/,$//')) AS p(id, leaf)
	 JOIN witness.entry e ON e.id = p.id WHERE encode(witness.entry_leaf_hash(e), 'hex') <> p.leaf"
check_ok "no other subject's address or note appears" \
	"$(grep -Eo 's[0-9]+@example\.com|note-[0-9]+' "$WORK/s1.jsonl" |
	   awk -F'[s@-]' '/@/ { if ($2 != 1) bad[$0] = 1; next } { if ($2 % 50 != 1) bad[$0] = 1 } END { n = 0; for (k in bad) { print k; n++ } if (n == 0) print "ok" }' | head -3)"

say "CSV, as psql -At -R CRLF writes it, read by Python's csv module"
export_to "$WORK/s1.csv" csv -R $'\r\n'
cat >"$WORK/check_csv.py" <<'EOF'
import csv, sys
with open(sys.argv[1], newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
header, records = rows[0], rows[1:]
assert header == ["entry_id", "time", "table", "operation", "row_key", "field", "old_value", "new_value", "actor",
                  "reason", "status", "block_no", "verified", "note"], header
assert all(len(r) == 14 for r in records), [r for r in records if len(r) != 14][:3]
assert len(records) == int(sys.argv[2]), (len(records), sys.argv[2])
assert len({r[0] for r in records}) == int(sys.argv[3])
notes = [r for r in records if r[3] == "UPDATE" and r[5] == "note"]
assert [(r[6], r[7]) for r in notes] == [("note-51", 'comma, "quote"\nsecond line')], notes
print("%d records of %d entries" % (len(records), len({r[0] for r in records})))
EOF
rc=0
python3 "$WORK/check_csv.py" "$WORK/s1.csv" "$CHANGED_FIELDS" "$EXPECTED" >"$WORK/csv.out" 2>&1 || rc=$?
indent <"$WORK/csv.out"
check "a header and 14 fields per record, a record per changed field, a multi-line value read back exactly" 0 "SELECT $rc"

check "both exports recorded" "2" "SELECT count(*) FROM witness.subject_access WHERE reason = 'integration test'"

finish subject_export
