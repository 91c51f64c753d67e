#!/usr/bin/env bash
# Integration test: the plaintext of an encrypted table never reaches the trail's files, the WAL or
# the server log.
#
# The application table is UNLOGGED, so that none of its own writes go to the WAL: any copy of its
# values found in the WAL would have been written by the capture. Rows carry a marker string in
# their subject, in a short value and in a value long enough for the sealed payload to be stored in
# TOAST; one row is inserted by a REPEATABLE READ transaction that began before its table was
# tracked with encryption. After a checkpoint and a WAL switch, the marker must appear
#   - nowhere in witness.entry's heap, its TOAST table and their indexes,
#   - nowhere in the WAL,
#   - nowhere in the server log, although capture was refused once for want of the key.
# witness.verify() opens every sealed payload, and witness-verify, without the key, finds the export
# valid and counts the payloads it could not open. That the search finds what is there is shown last:
# a second marker, written to an ordinary (logged, untracked) table, is found in its file and the WAL.
#
# Environment: PG_BINDIR, REPO (as scripts/test.sh passes them); the test runs its own cluster.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="${REPO:-$(cd "$HERE/../.." && pwd)}"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/encryption_at_rest.XXXXXX)"
PORT="$(free_port)"
DB=witness_encryption
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres
MARKER=PlainTextMarker7f3a

cleanup() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 20 lines of the server log ----"
		tail -n 20 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$WORK/data" immediate
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

# count_marker FILE...: how many of the files contain the marker (missing files count as not).
count_marker() {
	local n=0 f
	for f in "$@"; do
		[[ -f $f ]] || continue
		if grep -a -q -F "$MARKER" "$f"; then n=$((n + 1)); fi
	done
	echo "$n"
}

say "own cluster on 127.0.0.1:$PORT with a master key file"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "witness.master_key_file = '$WORK/master.key'" \
	"log_min_messages = info" "log_statement = 'none'" "log_min_error_statement = panic"
as_pg sh -c "umask 077 && openssl rand -hex 32 >'$WORK/master.key'"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE UNLOGGED TABLE secret (id int PRIMARY KEY, email text, note text, memo text)" >/dev/null
q "SET client_min_messages = warning; SELECT witness.track('secret', 'pii', subject_column => 'email')" >/dev/null
check "the table is encrypted" "t" "SELECT encrypt FROM witness.tracked_tables WHERE table_name = 'secret'::regclass"

say "changes carrying the marker in the subject, a short value and a long (TOASTed) value"
q "SELECT pg_switch_wal()" >/dev/null
FIRST_WAL="$(q "SELECT pg_walfile_name(pg_current_wal_lsn())")"
q "INSERT INTO secret SELECT g, '$MARKER-' || g || '@example.com', 'note $MARKER ' || g,
                              (SELECT string_agg(md5(g::text || i::text) || '$MARKER', '') FROM generate_series(1, 200) i)
   FROM generate_series(1, 50) g" >/dev/null
q "UPDATE secret SET note = note || ' $MARKER again' WHERE id <= 10" >/dev/null
q "DELETE FROM secret WHERE id > 45" >/dev/null
check "a sealed payload went to TOAST" "t" \
	"SELECT max(pg_column_size(sealed_payload)) > 2000 FROM witness.entry WHERE table_name = 'secret'"
check "no payload in clear" "0" \
	"SELECT count(*) FROM witness.entry WHERE table_name = 'secret' AND (row_key IS NOT NULL OR subject IS NOT NULL
	 OR old_values IS NOT NULL OR new_values IS NOT NULL OR salt IS NOT NULL OR sealed_payload IS NULL)"

say "a session without the key: the change is refused, and nothing of it is logged"
RC=0
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d "$DB" -v ON_ERROR_STOP=1 \
	-c "SET witness.master_key_file = ''" \
	-c "INSERT INTO secret VALUES (99, '$MARKER-99@example.com', '$MARKER', '$MARKER')" >"$WORK/refused.log" 2>&1 || RC=$?
check_ok "refused" "$( ((RC != 0)) && grep -q 'no master key is configured' "$WORK/refused.log" && echo ok || cat "$WORK/refused.log")"
check "the refused row is not there" "0" "SELECT count(*) FROM secret WHERE id = 99"

say "a REPEATABLE READ transaction begun before its table was encrypted captures sealed, not in clear"
q "CREATE UNLOGGED TABLE late (id int PRIMARY KEY, s text, v text)" >/dev/null
q "SET client_min_messages = warning; SELECT witness.track('late', subject_column => 's', encrypt => false)" >/dev/null
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d "$DB" -v ON_ERROR_STOP=1 -c "BEGIN ISOLATION LEVEL REPEATABLE READ" \
	-c "SELECT count(*) FROM late" -c "SELECT pg_sleep(2)" \
	-c "INSERT INTO late VALUES (1, 'rr-$MARKER@example.com', 'value $MARKER')" -c "COMMIT" >"$WORK/rr.log" 2>&1 &
RR=$!
sleep 0.7
q "SET client_min_messages = warning; SELECT witness.track('late', subject_column => 's', encrypt => true)" >/dev/null
wait "$RR" || { cat "$WORK/rr.log" >&2; exit 1; }
check "its entry is sealed" "t" \
	"SELECT sealed_payload IS NOT NULL AND new_values IS NULL AND subject IS NULL FROM witness.entry WHERE table_name = 'late' AND op = 'I'"

say "the files"
q "CHECKPOINT" >/dev/null
q "SELECT pg_switch_wal()" >/dev/null
q "CHECKPOINT" >/dev/null
DATA="$WORK/data"
# witness.entry is partitioned (docs/scaling.md): its partitions hold the entries.
TRAIL="SELECT 'witness.entry'::regclass UNION ALL SELECT inhrelid FROM pg_inherits WHERE inhparent = 'witness.entry'::regclass"
mapfile -t TRAIL_RELS < <(q "SELECT pg_relation_filepath(c.oid) FROM pg_class c
	WHERE (c.oid IN ($TRAIL) OR c.oid IN (SELECT reltoastrelid FROM pg_class WHERE oid IN ($TRAIL))
	   OR c.oid IN (SELECT indexrelid FROM pg_index WHERE indrelid IN ($TRAIL)
	                OR indrelid IN (SELECT reltoastrelid FROM pg_class WHERE oid IN ($TRAIL))))
	  AND pg_relation_filepath(c.oid) IS NOT NULL")
TRAIL_FILES=()
for rel in "${TRAIL_RELS[@]}"; do
	for f in "$DATA/$rel" "$DATA/$rel".[0-9]*; do
		[[ -f $f ]] && TRAIL_FILES+=("$f")
	done
done
note "${#TRAIL_FILES[@]} files of witness.entry's partitions, their TOAST tables and their indexes"
check_ok "the trail's files were found" "$( ((${#TRAIL_FILES[@]} >= 4)) && echo ok || echo "${TRAIL_FILES[*]}")"
check_ok "no trail file holds the marker" "$([[ $(count_marker "${TRAIL_FILES[@]}") == 0 ]] && echo ok || echo "found")"
WAL_FILES=()
for f in "$DATA"/pg_wal/0*; do
	[[ $(basename "$f") < $FIRST_WAL ]] || WAL_FILES+=("$f")
done
note "${#WAL_FILES[@]} WAL segments written since the changes began"
check_ok "no WAL segment holds the marker" "$([[ $(count_marker "${WAL_FILES[@]}") == 0 ]] && echo ok || echo "found")"
check_ok "the server log does not hold the marker" "$([[ $(count_marker "$WORK/server.log") == 0 ]] && echo ok || grep -F "$MARKER" "$WORK/server.log" | head -3)"

say "the search finds a marker where it is: an ordinary table's file and the WAL"
q "SELECT pg_switch_wal()" >/dev/null
CONTROL_WAL="$(q "SELECT pg_walfile_name(pg_current_wal_lsn())")"
MARKER=ControlMarker91c4
q "CREATE TABLE control (id int PRIMARY KEY, note text); INSERT INTO control VALUES (1, 'note $MARKER')" >/dev/null
q "CHECKPOINT" >/dev/null
q "SELECT pg_switch_wal()" >/dev/null
CONTROL_FILE="$DATA/$(q "SELECT pg_relation_filepath('control')")"
check_ok "found in the table's file" "$([[ $(count_marker "$CONTROL_FILE") == 1 ]] && echo ok || echo "not found in $CONTROL_FILE")"
WAL_FILES=()
for f in "$DATA"/pg_wal/0*; do
	[[ $(basename "$f") < $CONTROL_WAL ]] || WAL_FILES+=("$f")
done
check_ok "found in the WAL" "$([[ $(count_marker "${WAL_FILES[@]}") -ge 1 ]] && echo ok || echo "not found")"

say "verification with and without the key"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "witness.verify() opens every sealed payload" "valid|0" "SELECT status || '|' || entries_unchecked FROM witness.verify()"
if [[ -x $REPO/build/witness-verify ]]; then
	"$REPO/build/witness-verify" --connect "host=$WORK port=$PORT dbname=$DB user=postgres" >"$WORK/wv.out" 2>&1 || true
	check_ok "witness-verify, without the key, finds the chain valid" "$(grep -q 'result: *VALID' "$WORK/wv.out" && echo ok || cat "$WORK/wv.out")"
	check_ok "... and says how many payloads it could not open" \
		"$(grep -qE 'entries encrypted: +[0-9]+' "$WORK/wv.out" && echo ok || cat "$WORK/wv.out")"
fi

# with_plans_printed ROLE FILE: runs stdin's SQL as ROLE, every plan and parse tree printed (settings
# any role may change), custom plans forced; all output to FILE.
with_plans_printed() {
	{
		printf '%s\n' "SET client_min_messages = log;" "SET debug_print_plan = on;" "SET debug_print_parse = on;" \
			"SET debug_print_rewritten = on;" "SET plan_cache_mode = force_custom_plan;"
		cat
	} | "$PSQL" -X -q -h "$WORK" -p "$PORT" -U "$1" -d "$DB" >"$2" 2>&1
}

say "the export pseudonym key stays out of a reader's sight"

# A review: a witness_reader set debug_print_plan (any role may) and read the key derived from the
# master key as a constant of its own anonymised export's plan; with it, every pseudonym of an
# auditor's anonymised export could be matched with guessed values.
q "CREATE ROLE ex_reader LOGIN IN ROLE witness_reader; CREATE ROLE ex_auditor LOGIN IN ROLE witness_auditor;
   CREATE TABLE staff (id int PRIMARY KEY, name text, salary int);
   SET client_min_messages = warning;
   SELECT witness.track('staff', column_tags => '{\"name\": [\"pii\"], \"salary\": [\"financial\"]}', encrypt => false);
   INSERT INTO staff VALUES (1, 'Alice Smith', 123456)" >/dev/null
pseudonym="$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -U ex_auditor -d "$DB" \
	-c "SELECT line::json -> 'new_values' ->> 'name' FROM witness.export('jsonl', anonymise => true, table_name => 'staff') AS e(line)")"
check_ok "an auditor's anonymised export pseudonymises the name" "$([[ $pseudonym == anon:* ]] && echo ok || echo "[$pseudonym]")"
with_plans_printed ex_reader "$WORK/plans.txt" <<'SQL'
SELECT * FROM witness.export('jsonl', anonymise => true) LIMIT 3;
SELECT * FROM witness.export('csv', anonymise => true, table_name => 'staff');
SQL
# Every bytea constant of the printed plans, tried as the key of that pseudonym.
found="$(python3 - "$WORK/plans.txt" "$pseudonym" <<'PY'
import hashlib, hmac, re, sys
text, want = open(sys.argv[1], errors="replace").read(), sys.argv[2]
hits = 0
for m in re.finditer(r":constvalue \d+ \[([-\d\s]+)\]", text):
    raw = bytes(int(x) & 255 for x in m.group(1).split())
    for key in (raw, raw[4:], raw[1:]):
        if key and "anon:" + hmac.new(key, b"Alice Smith", hashlib.sha256).hexdigest()[:32] == want:
            hits += 1
print(hits)
PY
)"
check_ok "the reader's printed plans hold no constant that is the key" "$([[ $found == 0 ]] && echo ok || echo "$found constants are the key")"
check_ok "... the plans were printed" "$(grep -q ':constvalue' "$WORK/plans.txt" && echo ok || echo 'no plans printed')"
marker="$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -U ex_reader -d "$DB" -c "SELECT witness._export_pseudonym('\\x00', 'Alice Smith')" 2>&1 || true)"

say "no printed plan holds a value its reader may not see"
# A review: the same settings printed the plans of pg_witness's own functions, with their variables as
# constants: the values witness.log masks for a reader (witness._masked_values()), and, through
# witness.my_trail, another subject's decrypted old values (witness._subject_export_lines()); they went
# to the server log too. Every such function now sets the debug_print_* settings off while it runs.
q "SET client_min_messages = warning;
   CREATE TABLE moves (id int PRIMARY KEY, email text, owner text);
   SELECT witness.track('moves', column_tags => '{\"email\": [\"pii\"]}', subject_column => 'owner');
   INSERT INTO moves VALUES (1, 'OldOneMarker@x.org', 'customer:1'), (2, 'OldTwoMarker@x.org', 'customer:2');
   UPDATE moves SET owner = 'customer:1', email = 'moved@x.org' WHERE id = 2;
   CREATE ROLE ex_cust1 LOGIN; GRANT USAGE ON SCHEMA witness TO ex_cust1; GRANT SELECT ON witness.my_trail TO ex_cust1;
   SELECT witness.bind_subject('ex_cust1', 'customer:1')" >/dev/null
# Every text constant of the printed plans and trees, read as text (a varlena's bytes after its header).
constants() {
	python3 - "$1" <<'PY'
import re, sys
text = open(sys.argv[1], errors="replace").read()
for m in re.finditer(r":constvalue \d+ \[([-\d\s]+)\]", text):
    print(bytes(int(x) & 255 for x in re.findall(r"-?\d+", m.group(1))).decode("latin-1"))
PY
}
with_plans_printed ex_reader "$WORK/plans_log.txt" <<'SQL'
SELECT count(*) FROM witness.log WHERE table_name = 'staff';
SELECT count(*) FROM witness.search(table_name => 'staff');
SELECT count(*) FROM witness.entity_history('staff', '{"id": 1}');
SELECT 'Alice Smith (the reader''s own constant)'::text;
SQL
check_ok "a reader's printed plans of witness.log, search() and entity_history() hold no masked value" \
	"$(n="$(constants "$WORK/plans_log.txt" | grep 'Alice Smith' | grep -vc 'own constant' || true)"; [[ $n == 0 ]] && echo ok || echo "$n constants hold the name")"
check_ok "... where the reader's own constant is found" \
	"$(constants "$WORK/plans_log.txt" | grep -q "Alice Smith (the reader's own constant)" && echo ok || echo 'not found: the search finds nothing')"
with_plans_printed ex_cust1 "$WORK/plans_trail.txt" <<'SQL'
SELECT count(*) FROM witness.my_trail;
SELECT 'OldTwoMarker (the subject''s own constant)'::text;
SQL
check_ok "a subject's printed plans of my_trail hold nothing of the other subject" \
	"$(n="$(constants "$WORK/plans_trail.txt" | grep 'OldTwoMarker\|customer:2' | grep -vc 'own constant' || true)"; [[ $n == 0 ]] && echo ok || echo "$n constants hold it")"
check_ok "... where the subject's own constant is found" \
	"$(constants "$WORK/plans_trail.txt" | grep -q "OldTwoMarker (the subject's own constant)" && echo ok || echo 'not found: the search finds nothing')"
check_ok "... nor do the plans in the server log" \
	"$(n="$(constants "$WORK/server.log" | grep 'OldTwoMarker\|customer:2' | grep -vc 'own constant' || true)"; [[ $n == 0 ]] && echo ok || echo "$n constants hold it")"

say "a key file the server may not read"

# A review: an unreadable key file raised "errstart was not called" (XX000), naming nothing.
as_pg sh -c "umask 077 && openssl rand -hex 32 >'$WORK/unreadable.key' && chmod 000 '$WORK/unreadable.key'"
unreadable="$(q "SET witness.master_key_file = '$WORK/unreadable.key'; SELECT witness.master_key_id()" 2>&1 || true)"
check_ok "an unreadable master key file: 42501, naming the file" \
	"$(grep -q 'could not open witness.master_key_file .*unreadable.key.*: Permission denied' <<<"$unreadable" && echo ok || echo "$unreadable")"

finish encryption_at_rest
