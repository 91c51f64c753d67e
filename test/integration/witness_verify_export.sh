#!/usr/bin/env bash
# Integration test: an export of a real trail (witness.export_trail()) verifies with the standalone
# build/witness-verify, for changes made over the Unix socket (no client address) and over TCP
# (with one), JSON values of every shape, and a signed digest; and a tampered copy of the export
# fails. This is the path a SIEM or an auditor takes, independent of the server's own functions.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"
WORK="$(mktemp -d /tmp/witness_verify_export.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
[[ -x $VERIFY ]] || { echo "missing $VERIFY (build it with cmake first)"; exit 1; }

say "a trail written over the Unix socket and over TCP"
q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE people (id int PRIMARY KEY, name text, born date, tags text[], extra jsonb, score float8, pin text)" >/dev/null
q "SELECT witness.track('people', 'pii', exclude_columns => '{pin}', subject_column => 'name')" >/dev/null
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

say "export and witness-verify"
"$PSQL" -X -A -t -q -d "$DB" -c "SELECT * FROM witness.export_trail()" >"$WORK/trail.jsonl"
rc=0
"$VERIFY" "$WORK/trail.jsonl" >"$WORK/verify.out" 2>&1 || rc=$?
cat "$WORK/verify.out" | indent
check "witness-verify on the export: exit status 0 (valid)" 0 "SELECT $rc"

say "a tampered export fails"
python3 - "$WORK/trail.jsonl" "$WORK/tampered.jsonl" <<'PY'
import json, sys
src, dst = sys.argv[1], sys.argv[2]
done = False
with open(src) as f, open(dst, "w") as out:
	for line in f:
		obj = json.loads(line)
		if not done and obj.get("type") == "entry" and obj.get("actor") == "tcp-user":
			obj["actor"] = "someone-else"
			done = True
			line = json.dumps(obj) + "\n"
		out.write(line)
PY
rc=0
"$VERIFY" "$WORK/tampered.jsonl" >"$WORK/tampered.out" 2>&1 || rc=$?
cat "$WORK/tampered.out" | indent
check "witness-verify on the tampered export: exit status 1 (tampered)" 1 "SELECT $rc"
check_ok "witness-verify names a changed value" "$(grep -q 'value changed' "$WORK/tampered.out" && echo ok || echo 'no value changed reported')"

finish witness_verify_export
