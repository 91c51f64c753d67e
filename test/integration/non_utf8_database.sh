#!/usr/bin/env bash
# Integration test: hashes cover UTF-8 whatever the database encoding (docs/hashing.md, "Text is
# UTF-8"). In a LATIN1 database and in a WIN1252 one, a trail with non-ASCII values, table, schema
# and column names, role name, actor, reason and context verifies with witness.verify() inside the
# database and with build/witness-verify on its export taken in UTF8 client encoding. The canonical
# bytes carry the UTF-8 bytes of 'café' (63 61 66 c3 a9), not the server's (63 61 66 e9). In WIN1252,
# where the euro sign is byte 0x80 but U+20AC, jsonb keys "€" and "é" sort one way by server bytes
# and the other way by UTF-8 bytes: the hash covers the UTF-8 order. An export taken in the server's
# encoding is not UTF-8, and witness-verify refuses to read it. Changing é into è in a stored entry is
# still reported as a changed value. The audit report reads the trail converted to UTF-8 and returns
# itself in the server encoding: read in UTF8, it is the signed bytes (SQL_ASCII: U+FFFD for bytes
# that are not UTF-8).
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE, PGDATA, REPO (as scripts/test.sh passes them).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"
WORK="$(mktemp -d /tmp/non_utf8_database.XXXXXX)"
# A cluster-wide role, created from inside the database: PostgreSQL stores a role's name in the bytes
# of the database it was created from, so only there does the name read back as written.
ROLE='it_rôle_non_utf8'
DATABASES=(it_latin1 it_win1252)
export PGCLIENTENCODING=UTF8 # this file, and what psql sends and receives, is UTF-8
host="${PGHOST:-127.0.0.1}"
port="${PGPORT:-5432}"
drop_database() { # drop_database DB: the role made from it, then the database
	if [[ -n "$(q_on "$host" "$port" postgres "SELECT 1 FROM pg_database WHERE datname = '$1'")" ]]; then
		q_on "$host" "$port" "$1" "SET client_min_messages = warning; DROP OWNED BY \"$ROLE\"; DROP ROLE \"$ROLE\"" \
			>/dev/null 2>&1 || true
		q_on "$host" "$port" postgres "DROP DATABASE $1" >/dev/null
	fi
}
cleanup() {
	local d
	for d in "${DATABASES[@]}"; do
		drop_database "$d" || true
	done
	rm -rf "$WORK"
}
trap cleanup EXIT
# The key that signs audit reports, readable by the server only (as audit_report.sh makes it).
chmod 755 "$WORK"
openssl rand -hex 32 >"$WORK/hmac.key"
if [[ $(id -u) -eq 0 ]]; then chown "${PG_OS_USER:-postgres}" "$WORK/hmac.key"; fi
chmod 600 "$WORK/hmac.key"
[[ -x $VERIFY ]] || { echo "missing $VERIFY (build it with cmake first)"; exit 1; }

# run_in ENCODING: the whole test in a new database of that encoding.
run_in() {
	local enc=$1 db
	db="it_$(tr '[:upper:]' '[:lower:]' <<<"$enc")"
	DB=$db
	say "$enc: a database whose encoding is not UTF8"
	drop_database "$db"
	q_on "$host" "$port" postgres "CREATE DATABASE $db ENCODING '$enc' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
	check "$enc: server encoding" "$enc" "SHOW server_encoding"
	q "CREATE EXTENSION pg_witness; CREATE ROLE \"$ROLE\"" >/dev/null
	q "CREATE SCHEMA \"école\"; CREATE TABLE \"école\".\"café\" (id int PRIMARY KEY, \"prénom\" text, doc jsonb, note char(6))" >/dev/null
	q "GRANT USAGE ON SCHEMA \"école\" TO \"$ROLE\"; GRANT INSERT, UPDATE, DELETE, SELECT ON \"école\".\"café\" TO \"$ROLE\"" >/dev/null
	q "SELECT witness.track('\"école\".\"café\"', subject_column => 'prénom', encrypt => false)" >/dev/null
	local doc='{"é": 1, "z": "ü"}'
	if [[ $enc == WIN1252 ]]; then
		doc='{"é": 1, "€": "½", "z": 2}'
	fi
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$db" \
		-c "SET witness.actor = 'José'" -c "SET witness.reason = 'reçu n° 7'" -c "SET witness.context = '{\"où\": \"là\", \"n\": 1.50}'" \
		-c "SET ROLE \"$ROLE\"" \
		-c "INSERT INTO \"école\".\"café\" VALUES (1, 'café', '$doc', 'crème'), (2, 'plain', '{}', 'ascii')" \
		-c "UPDATE \"école\".\"café\" SET \"prénom\" = 'Zoë' WHERE id = 2" \
		-c "DELETE FROM \"école\".\"café\" WHERE id = 1"
	check "$enc: entries captured, with the non-ASCII names" "4|école|café|$ROLE|José" \
		"SELECT count(*) || '|' || min(schema_name) || '|' || min(table_name) || '|' || min(current_user_name) || '|' || min(actor)
		   FROM witness.entry WHERE table_name = 'café'"
	check "$enc: the hash covers UTF-8: canonical and payload bytes hold c3 a9 for é, not e9" "4|0" \
		"SELECT count(*) FILTER (WHERE position('\\x636166c3a9'::bytea IN witness.entry_canonical_bytes(e) || witness.entry_payload_bytes(e)) > 0) || '|' ||
		        count(*) FILTER (WHERE position('\\x636166e9'::bytea IN witness.entry_canonical_bytes(e) || witness.entry_payload_bytes(e)) > 0)
		   FROM witness.entry e WHERE table_name = 'café'"
	if [[ $enc == WIN1252 ]]; then
		check "$enc: stored JSON keeps the server's byte order (€ 0x80 before é 0xe9)" t \
			"SELECT position('\"€\"' IN new_values::text) < position('\"é\"' IN new_values::text)
			   FROM witness.entry WHERE table_name = 'café' AND op = 'I' AND new_values::text LIKE '%\"id\":1%'"
		check "$enc: hashed JSON is in UTF-8 order (é c3a9 before € e282ac)" t \
			"SELECT position('\\x22c3a922'::bytea IN b) < position('\\x22e282ac22'::bytea IN b)
			   FROM (SELECT witness.entry_payload_bytes(e) AS b FROM witness.entry e
			         WHERE table_name = 'café' AND op = 'I' AND new_values::text LIKE '%\"id\":1%') s"
	fi
	q "SELECT count(*) FROM witness.seal()" >/dev/null
	check "$enc: every leaf_hash = witness.entry_leaf_hash(e)" 0 \
		"SELECT count(*) FROM witness.entry e WHERE $LEAF_MISMATCH"
	check "$enc: witness.verify() inside the database" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"
	# The audit report reads the export's lines as UTF-8 (every report failed with XX001 once the
	# trail held one non-ASCII name; found by a robustness review).
	check "$enc: witness.audit_report() lists the table by its name" t \
		"SET witness.hmac_key_file = '$WORK/hmac.key';
		 SELECT witness.audit_report(NULL, NULL) LIKE '%<td>école.café</td>%'"
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$db" -c "SET witness.hmac_key_file = '$WORK/hmac.key'" \
		-c "SELECT witness.audit_report(NULL, NULL)" -o "$WORK/$db.html"
	local checked=0
	"$VERIFY" report-check "$WORK/$db.html" --hmac-key "$WORK/hmac.key" >"$WORK/$db.check" 2>&1 || checked=$?
	check "$enc: read in UTF8, the report is the signed bytes: report-check exits 0" 0 "SELECT $checked"

	say "$enc: the export, taken in UTF8 client encoding, verifies outside"
	"$PSQL" -X -A -t -q -d "$db" -c "SELECT * FROM witness.export_trail()" >"$WORK/$db.jsonl"
	local rc=0
	"$VERIFY" "$WORK/$db.jsonl" >"$WORK/$db.out" 2>&1 || rc=$?
	indent <"$WORK/$db.out"
	check "$enc: witness-verify on the UTF8 export: exit status 0 (valid)" 0 "SELECT $rc"
	check_trail "$enc" "$host" "$port" "$db"

	say "$enc: a changed non-ASCII character is still a changed value"
	q "ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
	   UPDATE witness.entry SET actor = 'Josè' WHERE table_name = 'café' AND op = 'D';
	   ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only" >/dev/null
	check "$enc: witness.verify() reports it" "value changed" \
		"SELECT string_agg(problem, ',') FROM witness.verify() v JOIN witness.entry e ON e.id = v.entry_id WHERE e.op = 'D'"

	say "$enc: an export taken in the server's encoding is not UTF-8, and is refused"
	PGCLIENTENCODING=$enc "$PSQL" -X -A -t -q -d "$db" -c "SELECT * FROM witness.export_trail()" >"$WORK/$db.server.jsonl"
	rc=0
	"$VERIFY" "$WORK/$db.server.jsonl" >"$WORK/$db.server.out" 2>&1 || rc=$?
	indent <"$WORK/$db.server.out"
	check "$enc: witness-verify on the $enc export: exit status 2 (cannot be read)" 2 "SELECT $rc"

	say "$enc: encrypted at rest, a non-ASCII subject is found by its pseudonym, exported and erased"
	q "ALTER DATABASE $db SET witness.master_key_file = '$PGDATA/regress_witness_a.key'" >/dev/null
	q "CREATE TABLE \"école\".secret (id int PRIMARY KEY, \"prénom\" text, note text)" >/dev/null
	q "SELECT witness.track('\"école\".secret', subject_column => 'prénom')" >/dev/null
	q "INSERT INTO \"école\".secret VALUES (1, 'Jürgen', 'crème brûlée'), (2, 'Jürgen', 'naïve'), (3, 'Zoë', 'à')" >/dev/null
	check "$enc: the entries are sealed, the subject only a pseudonym" "3|0" \
		"SELECT count(*) FILTER (WHERE sealed_payload IS NOT NULL) || '|' || count(*) FILTER (WHERE subject IS NOT NULL)
		   FROM witness.entry WHERE table_name = 'secret'"
	check "$enc: the export finds Jürgen's two entries, decrypted" "3|true" \
		"SELECT count(*) || '|' || bool_or(l LIKE '%crème brûlée%') FROM witness.subject_export('Jürgen', 'json', 'test') l"
	check "$enc: the erasure erases them" 2 "SELECT witness.erase_subject('Jürgen', 'test')"
	q "SELECT count(*) FROM witness.seal()" >/dev/null
	check "$enc: no problem with the encrypted entries, one erased" "0|2" \
		"SELECT (SELECT count(*) FROM witness.verify() v JOIN witness.entry e ON e.id = v.entry_id WHERE e.table_name = 'secret')
		        || '|' || (SELECT count(*) FROM witness.entry WHERE table_name = 'secret' AND erasure_id IS NOT NULL)"
	drop_database "$db"
}

for enc in LATIN1 WIN1252; do
	run_in "$enc"
done

# SQL_ASCII stores any bytes and converts nothing: capture hashes, pseudonymises and seals a
# subject's bytes as stored. Every lookup by subject took PostgreSQL's conversion to UTF8 instead,
# which refuses bytes that are not UTF-8 (22021), so that such a subject's entries could be
# captured but never exported, erased or held (found by a robustness review).
DATABASES+=(it_sql_ascii)
DB=it_sql_ascii
say "SQL_ASCII: a subject that is not UTF-8 is exported, held and erased"
drop_database it_sql_ascii
q_on "$host" "$port" postgres "CREATE DATABASE it_sql_ascii ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null
q "CREATE EXTENSION pg_witness; ALTER DATABASE it_sql_ascii SET witness.master_key_file = '$PGDATA/regress_witness_a.key'" >/dev/null
q "CREATE TABLE secret (id int PRIMARY KEY, who text, note text)" >/dev/null
q "SELECT witness.track('secret', subject_column => 'who')" >/dev/null
q "INSERT INTO secret VALUES (1, E'subj\\xe9', 'one'), (2, E'subj\\xe9', 'two'), (3, 'other', 'three')" >/dev/null
check "SQL_ASCII: the entries are sealed, the subject only a pseudonym" "3|0" \
	"SELECT count(*) FILTER (WHERE sealed_payload IS NOT NULL) || '|' || count(*) FILTER (WHERE subject IS NOT NULL)
	   FROM witness.entry WHERE table_name = 'secret'"
check "SQL_ASCII: the export finds the subject's two entries, decrypted" "3|true" \
	"SELECT count(*) || '|' || bool_or(l LIKE '%\"two\"%') FROM witness.subject_export(E'subj\\xe9', 'json', 'test') l"
q "SELECT witness.hold('h', 'test', subject => E'subj\\xe9')" >/dev/null
held="$(q "SELECT witness.erase_subject(E'subj\\xe9', 'test')" 2>&1 || true)"
check_ok "SQL_ASCII: a hold on the subject refuses its erasure" \
	"$(grep -q 'legal hold "h" is in force' <<<"$held" && echo ok || echo "$held")"
q "SELECT witness.release_hold('h', 'test')" >/dev/null
# A reason that is not UTF-8 would go into the erasure's record, which verify() reads as JSON: it
# missed the record and reported the erased entries as payloads removed (a robustness review).
refused="$(q "SELECT witness.erase_subject(E'subj\\xe9', E'reason \\xff')" 2>&1 || true)"
check_ok "SQL_ASCII: an erasure whose reason is not UTF-8 is refused" \
	"$(grep -q 'reason is not valid UTF-8' <<<"$refused" && echo ok || echo "$refused")"
check "SQL_ASCII: the erasure erases them" 2 "SELECT witness.erase_subject(E'subj\\xe9', 'test')"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "SQL_ASCII: witness.verify() is valid" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"
q "SELECT witness.hold(E'h\\xe9', E'r\\xe9')" >/dev/null
check "SQL_ASCII: witness.audit_report() shows bytes that are not UTF-8 as U+FFFD" t \
	"SET witness.hmac_key_file = '$WORK/hmac.key';
	 SELECT witness.audit_report(NULL, NULL) LIKE E'%<td>h\\xef\\xbf\\xbd</td>%'"

finish "non_utf8_database"
