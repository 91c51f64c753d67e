#!/usr/bin/env bash
# Integration test: archive instead of delete (docs/retention.md, "Archive instead of delete").
#
# A cluster of its own (witness.seal_interval = 1s):
#   - a rule that archives, and no witness.archive_directory: the sealer's scheduled run
#     (witness.retention_time) logs a WARNING and prunes nothing, and so does a witness_admin role's
#     witness.apply_retention() (55000);
#   - a superuser sets the directory with ALTER SYSTEM (recorded in the chain) and reloads: the
#     sealer's next pass runs retention: the expired entries of the archived classification are
#     written to a gzip file in the directory, then pruned; those of a rule that does not archive are
#     pruned and in no file; the run's record names the file and its SHA-256;
#   - witness.verify() is valid with the pruned entries counted; witness-verify accepts the export of
#     the pruned trail, and `witness-verify archive` the archive file, on its own and against the export;
#   - restored into another database (pg_dump, pg_restore in replica mode): `witness-verify archive`
#     against the restored database's export is valid, the differing database id only a note (its
#     chain records the file's SHA-256);
#   - a tampered archive fails, each with a named problem: a value changed, an entry line dropped, a
#     block header altered; an entry dropped with the header's count adjusted passes on its own (the
#     file cannot tell) but not against the export, whose retention run names another SHA-256, nor
#     against the restored database's export;
#   - a run that does not commit removes its file: ROLLBACK, an error later in the transaction, a
#     savepoint rolled back, a terminated backend; a backend killed with kill -9 leaves it, and
#     witness.erase_subject() warns naming it (and a temporary file), not other databases' files.
#
# Environment: PG_BINDIR, REPO (as scripts/test.sh passes them). Runs as root (the cluster belongs to
# PG_OS_USER, postgres) or as the owner of the cluster. Takes about 15 s.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

own_cluster_setup retention_archive

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=ra
VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"
[[ -x $VERIFY ]] || { echo "missing $VERIFY (build it with cmake first)"; exit 1; }
ARCH="$WORK/archive"

# ---------------------------------------------------------------------------------------------
say "a cluster of its own, expired entries of a rule that archives and of one that does not"

own_cluster_init "$WORK" "$PORT" "witness.seal_interval = '1s'" "witness.verify_interval = 0"
own_cluster_start "$WORK"
mkdir "$ARCH"
[[ $EUID -ne 0 ]] || chown "$PG_OS_USER:" "$ARCH"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE ra" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE ROLE ra_admin LOGIN; GRANT witness_admin TO ra_admin" >/dev/null
q "CREATE TABLE contract (id int PRIMARY KEY, party text)" >/dev/null
q "CREATE TABLE visitor (id int PRIMARY KEY, email text)" >/dev/null
q "SELECT witness.track('contract', 'restricted', encrypt => false)" >/dev/null
q "SELECT witness.track('visitor', 'pii', encrypt => false)" >/dev/null
q "INSERT INTO contract SELECT g, 'party ' || g FROM generate_series(1, 50) g" >/dev/null
q "INSERT INTO visitor SELECT g, 'v' || g || '@ra.example' FROM generate_series(1, 20) g" >/dev/null
wait_for "the first entries sealed" 30 "SELECT bool_and(entries_pending = 0) FROM witness.verify()"
q "INSERT INTO contract VALUES (51, 'Acme')" >/dev/null
q "INSERT INTO visitor VALUES (21, 'ann@ra.example')" >/dev/null
wait_for "every entry sealed" 30 "SELECT bool_and(entries_pending = 0) FROM witness.verify()"
q "SELECT witness.set_retention('restricted', '1 microsecond', archive => true)" >/dev/null 2>&1
q "SELECT witness.set_retention('pii', '1 microsecond')" >/dev/null

# ---------------------------------------------------------------------------------------------
say "no directory: the scheduled run and witness_admin's run refuse, nothing is pruned"

AT="$(q "SELECT to_char((now() AT TIME ZONE 'UTC') - interval '1 minute', 'HH24:MI')")"
q "ALTER SYSTEM SET witness.retention_time = '$AT'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
for _ in $(seq 1 50); do
	grep -q 'cannot apply retention: witness.archive_directory is not set' "$WORK/server.log" && break
	sleep 0.2
done
check_ok "the sealer's run: a WARNING in the server log" \
	"$(grep -q 'WARNING:.*cannot apply retention: witness.archive_directory is not set' "$WORK/server.log" && echo ok || echo "no log line")"
check "no retention run recorded" "0" "SELECT count(*) FROM witness.retention_run"
got="$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -U ra_admin -v VERBOSITY=sqlstate \
	-c "\\set VERBOSITY sqlstate" -c "SELECT * FROM witness.apply_retention()" 2>&1 || true)"
check_ok "apply_retention() refused with 55000" "$([[ $got == *55000* ]] && echo ok || echo "got [$got]")"
check "nothing pruned" "72" "SELECT count(*) FROM witness.entry WHERE table_name IN ('contract', 'visitor')"

# ---------------------------------------------------------------------------------------------
say "the directory set by a superuser (ALTER SYSTEM, in the chain): the sealer's next pass archives and prunes"

q "ALTER SYSTEM SET witness.archive_directory = '$ARCH'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the directory in force" 10 "SELECT current_setting('witness.archive_directory') = '$ARCH'"
check "the setting change is an entry of the chain" "t" \
	"SELECT count(*) >= 1 FROM witness.entry WHERE table_name = 'ddl_event' AND new_values::text LIKE '%archive_directory%'"
wait_for "the sealer's retention run" 30 "SELECT count(*) >= 1 FROM witness.retention_run" || true
check "one run, by the sealer (bootstrap superuser), 72 entries pruned" "1|postgres|72" \
	"SELECT count(*), min(run_by), sum(entries_pruned) FROM witness.retention_run"
check "what remains of the two tables" "0" "SELECT count(*) FROM witness.entry WHERE table_name IN ('contract', 'visitor')"
FILE="$(q "SELECT archives -> 0 ->> 'file' FROM witness.retention_run ORDER BY run_id DESC LIMIT 1")"
SHA="$(q "SELECT archives -> 0 ->> 'sha256' FROM witness.retention_run ORDER BY run_id DESC LIMIT 1")"
check "one archive file, of 51 entries, named by database, month and run" "1|51|t" \
	"SELECT jsonb_array_length(archives), archives -> 0 ->> 'entries',
	        archives -> 0 ->> 'file' LIKE '%_ra-' || to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM') || '-run' || run_id || '.jsonl.gz'
	 FROM witness.retention_run ORDER BY run_id DESC LIMIT 1"
check_ok "the file is in the directory, no temporary file left" \
	"$([[ -f $ARCH/$FILE && -z $(find "$ARCH" -name '*.tmp') ]] && echo ok || echo "$(ls -la "$ARCH")")"
check_ok "its SHA-256 is the one the run recorded" \
	"$([[ $(sha256sum "$ARCH/$FILE" | cut -d' ' -f1) == "$SHA" ]] && echo ok || echo "differs")"
zcat "$ARCH/$FILE" >"$WORK/archive.jsonl"
check_ok "no entry of the rule that does not archive is in the file" \
	"$(grep -q '"table_name":"visitor"' "$WORK/archive.jsonl" && echo "a visitor entry is in it" || echo ok)"

# ---------------------------------------------------------------------------------------------
say "the trail verifies, in the database and as an export"

wait_for "the run sealed into the trail" 30 "SELECT bool_and(entries_pending = 0) FROM witness.verify()" || true
check "witness.verify(): valid, the pruned entries counted" "valid|72" \
	"SELECT status, entries_pruned FROM witness.verify()"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" -c "\\copy (SELECT witness.export_trail()) TO '$WORK/trail.copy'"
rc=0
"$VERIFY" "$WORK/trail.copy" >"$WORK/verify.out" 2>&1 || rc=$?
check_ok "witness-verify of the export: valid" "$([[ $rc == 0 ]] && echo ok || { cat "$WORK/verify.out"; echo "exit status $rc"; })"

# ---------------------------------------------------------------------------------------------
say "witness-verify archive: the file on its own, and against the export"

rc=0
"$VERIFY" archive "$ARCH/$FILE" >"$WORK/a.out" 2>&1 || rc=$?
check_ok "witness-verify archive: valid, 51 entries" \
	"$([[ $rc == 0 ]] && grep -q 'entries checked:   51' "$WORK/a.out" && echo ok || { cat "$WORK/a.out"; echo "exit status $rc"; })"
rc=0
"$VERIFY" archive --export "$WORK/trail.copy" "$ARCH/$FILE" >"$WORK/ae.out" 2>&1 || rc=$?
check_ok "witness-verify archive --export: valid" \
	"$([[ $rc == 0 ]] && grep -q 'result:            VALID' "$WORK/ae.out" && echo ok || { cat "$WORK/ae.out"; echo "exit status $rc"; })"
# Through a named pipe, the archive is read once: its SHA-256 and its check are of the same bytes (a
# review gave the hash the genuine file and the check a forged one, and it read VALID). A second
# writer finds no reader.
mkfifo "$WORK/archive.fifo"
{ cat "$ARCH/$FILE" >"$WORK/archive.fifo"; } &
FIRST=$!
rc=0
timeout 60 "$VERIFY" archive --export "$WORK/trail.copy" "$WORK/archive.fifo" >"$WORK/af.out" 2>&1 || rc=$?
wait "$FIRST" || true
second=0
timeout 3 sh -c "cat '$ARCH/$FILE' >'$WORK/archive.fifo'" || second=$?
check_ok "witness-verify archive through a pipe: valid, and the pipe opened once (a second writer waited: $second)" \
	"$([[ $rc == 0 && $second == 124 ]] && grep -q 'result:            VALID' "$WORK/af.out" && echo ok || { cat "$WORK/af.out"; echo "exit status $rc, second writer $second"; })"

# ---------------------------------------------------------------------------------------------
say "restored into another database: the archive is the restored chain's, the database id a note"

# A review: the archive's database id ("<system id>/ra") differs from the restored export's, and the
# check read TAMPERED although the restored chain's retention run names the file's SHA-256.
"$PG_BINDIR/pg_dump" -h "$WORK" -p "$PORT" -Fc -f "$WORK/ra.dump" "$DB"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE ra_restored" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -h "$WORK" -p "$PORT" -d ra_restored \
	--single-transaction "$WORK/ra.dump" >"$WORK/restore.out" 2>&1 || rc=$?
check_ok "pg_restore into ra_restored" "$([[ $rc == 0 ]] && echo ok || { cat "$WORK/restore.out"; echo "exit status $rc"; })"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d ra_restored \
	-c "\\copy (SELECT witness.export_trail()) TO '$WORK/restored.copy'"
rc=0
"$VERIFY" archive --export "$WORK/restored.copy" "$ARCH/$FILE" >"$WORK/ar.out" 2>&1 || rc=$?
check_ok "witness-verify archive --export of ra_restored: valid, both database ids in a note" \
	"$([[ $rc == 0 ]] && grep -q 'result:            VALID' "$WORK/ar.out" &&
		grep -Eq '^note: +the archive is of database "[0-9]+/ra", the export of "[0-9]+/ra_restored", whose chain records this file' "$WORK/ar.out" &&
		! grep -q 'problems' "$WORK/ar.out" && echo ok || { cat "$WORK/ar.out"; echo "exit status $rc"; })"

# ---------------------------------------------------------------------------------------------
say "tampered archives fail, each with a named problem"

# tampered NAME PROBLEM [--export]: the archive made from $WORK/tampered.jsonl fails naming PROBLEM.
tampered() {
	local name=$1 problem=$2 rc=0
	shift 2
	gzip -c "$WORK/tampered.jsonl" >"$WORK/tampered.jsonl.gz"
	"$VERIFY" archive "$@" "$WORK/tampered.jsonl.gz" >"$WORK/t.out" 2>&1 || rc=$?
	check_ok "$name: tampered (exit status 1), $problem" \
		"$([[ $rc == 1 ]] && grep -q ": $problem:" "$WORK/t.out" && echo ok || { cat "$WORK/t.out"; echo "exit status $rc"; })"
}
sed 's/"party":"Acme"/"party":"Acne"/' "$WORK/archive.jsonl" >"$WORK/tampered.jsonl"
tampered "a value changed (its payload no longer matches the sealed commitment)" "payload changed"
grep -v '"party":"party 7"' "$WORK/archive.jsonl" >"$WORK/tampered.jsonl"
tampered "an entry line dropped" "entry missing"
sed '0,/"session_user":"postgres"/s//"session_user":"mallory"/' "$WORK/archive.jsonl" >"$WORK/tampered.jsonl"
tampered "an entry's header changed (who made the change)" "value changed"
# alter_first TYPE MEMBER: the archive with the first hex digit of MEMBER of its first TYPE line changed.
alter_first() {
	python3 - "$WORK/archive.jsonl" "$1" "$2" >"$WORK/tampered.jsonl" <<'PY'
import json, sys
done = False
for line in open(sys.argv[1]):
    d = json.loads(line)
    if not done and d["type"] == sys.argv[2]:
        h = d[sys.argv[3]]
        d[sys.argv[3]] = ("0" if h[0] != "0" else "1") + h[1:]
        line, done = json.dumps(d) + "\n", True
    sys.stdout.write(line)
PY
}
alter_first block merkle_root
tampered "a block's Merkle root altered" "block altered"
alter_first entry leaf_hash
tampered "an entry's stored leaf hash altered, its content intact" "hash changed"
grep -v '"party":"party 7"' "$WORK/archive.jsonl" | sed -E '1s/"entries" ?: ?51/"entries" : 50/' >"$WORK/tampered.jsonl"
rc=0
gzip -c "$WORK/tampered.jsonl" >"$WORK/tampered.jsonl.gz"
"$VERIFY" archive "$WORK/tampered.jsonl.gz" >"$WORK/t.out" 2>&1 || rc=$?
check_ok "an entry dropped with the count adjusted: the file alone cannot tell (exit status 0)" \
	"$([[ $rc == 0 ]] && echo ok || { cat "$WORK/t.out"; echo "exit status $rc"; })"
tampered "the same against the export" "archive not recorded" --export "$WORK/trail.copy"
tampered "the same against the restored database's export" "archive not recorded" --export "$WORK/restored.copy"

# ---------------------------------------------------------------------------------------------
say "a run that does not commit leaves no file: ROLLBACK, an error, a savepoint rolled back, a terminated backend"

q "INSERT INTO contract SELECT g, 'party ' || g FROM generate_series(52, 55) g" >/dev/null
wait_for "the new entries sealed" 30 "SELECT bool_and(entries_pending = 0) FROM witness.verify()"
# arch_files: the names in the archive directory, on one line.
arch_files() { (cd "$ARCH" && ls -1 | sort | tr '\n' ' '); }
COMMITTED="$(arch_files)"
# as_admin SQL...: a psql script run by the witness_admin role; \! lines list the directory mid-transaction.
as_admin() { "$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -U ra_admin 2>&1; }
as_admin >"$WORK/rollback.out" <<SQL
BEGIN;
SELECT run_id FROM witness.apply_retention();
\! ls "$ARCH" | wc -l >"$WORK/during.count"
ROLLBACK;
SQL
check_ok "ROLLBACK: the file was written, and is gone" \
	"$([[ $(cat "$WORK/during.count") == 2 && $(arch_files) == "$COMMITTED" ]] && echo ok || { cat "$WORK/rollback.out"; echo "during: $(cat "$WORK/during.count") files, after: $(arch_files)"; })"
as_admin >"$WORK/error.out" <<SQL
BEGIN;
SELECT run_id FROM witness.apply_retention();
\! ls "$ARCH" | wc -l >"$WORK/during.count"
SELECT 1 / 0;
COMMIT;
SQL
check_ok "an error later in the transaction: the file was written, and is gone" \
	"$([[ $(cat "$WORK/during.count") == 2 && $(arch_files) == "$COMMITTED" ]] && grep -q 'division by zero' "$WORK/error.out" && echo ok || { cat "$WORK/error.out"; echo "during: $(cat "$WORK/during.count") files, after: $(arch_files)"; })"
# The run in a savepoint released into one that rolls back: the outer transaction commits without it.
as_admin >"$WORK/savepoint.out" <<SQL
BEGIN;
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
SELECT run_id FROM witness.apply_retention();
RELEASE inner_sp;
\! ls "$ARCH" | wc -l >"$WORK/during.count"
ROLLBACK TO outer_sp;
\! ls "$ARCH" | wc -l >"$WORK/after_sp.count"
COMMIT;
SQL
check_ok "a savepoint rolled back (the run released into it): the file gone before the outer commit" \
	"$([[ $(cat "$WORK/during.count") == 2 && $(cat "$WORK/after_sp.count") == 1 && $(arch_files) == "$COMMITTED" ]] && echo ok || { cat "$WORK/savepoint.out"; echo "after: $(arch_files)"; })"
check "no run of those committed" "1" "SELECT count(*) FROM witness.retention_run"
# run_held NAME: the witness_admin role runs retention in a transaction it keeps open (application_name NAME).
run_held() {
	"$PSQL" -X -q -h "$WORK" -p "$PORT" -d "$DB" -U ra_admin >"$WORK/$1.out" 2>&1 <<SQL &
SET application_name = '$1';
BEGIN;
SELECT run_id FROM witness.apply_retention();
SELECT pg_sleep(120);
SQL
	HELD=$!
	wait_for "the run of $1 written and waiting" 30 \
		"SELECT EXISTS (SELECT FROM pg_stat_activity WHERE application_name = '$1' AND query LIKE '%pg_sleep%')"
}
run_held ra_terminated
[[ $(ls "$ARCH" | wc -l) == 2 ]] || note "the held run's file is not there: $(arch_files)"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ra_terminated'" >/dev/null
wait "$HELD" || true
check_ok "a backend terminated with the run open: the file is gone" \
	"$([[ $(arch_files) == "$COMMITTED" ]] && echo ok || echo "left: $(arch_files)")"

# ---------------------------------------------------------------------------------------------
say "a backend killed (kill -9) with the run open leaves its file: erase_subject() names it"

run_held ra_killed
ORPHAN="$(cd "$ARCH" && ls -1 | grep -vxF "$FILE" || true)"
PID="$(q "SELECT pid FROM pg_stat_activity WHERE application_name = 'ra_killed'")"
kill -9 "$PID"
wait "$HELD" || true
wait_for "the server back after the crash" 60 "SELECT true" || true
check_ok "the killed run's file stays (no callback ran): $ORPHAN" \
	"$([[ -n $ORPHAN && -f $ARCH/$ORPHAN ]] && echo ok || echo "files: $(arch_files)")"
# A temporary file a crash left mid-write counts too; a file of another database's pattern does not.
PREFIX="$(q "SELECT witness._archive_file_prefix()")"
echo partial >"$ARCH/${PREFIX}2025-01-run99.jsonl.gz.tmp"
echo other >"$ARCH/${PREFIX%-}2-2025-01-run98.jsonl.gz"
echo other >"$ARCH/${PREFIX}2025-01-run97-copy.jsonl.gz"
got="$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -U ra_admin \
	-c "\\set VERBOSITY verbose" -c "SELECT witness.erase_subject('ann@ra.example', 'erasure with files a crash left')" 2>&1 || true)"
orphans="$(grep -A3 'WARNING:  01000: witness.archive_directory holds 2 archive files of no committed retention run' <<<"$got" || true)"
check_ok "a WARNING (01000) names the killed run's file and the temporary one, with a hint" \
	"$([[ $orphans == *"left ${PREFIX}2025-01-run99.jsonl.gz.tmp, ${ORPHAN}; it keeps"* && $orphans == *'HINT:  Remove these files'* ]] && echo ok || echo "got [$got]")"
check_ok "it names neither the committed run's file nor other databases' names" \
	"$([[ $orphans != *"$FILE"* && $orphans != *run98* && $orphans != *run97* ]] && echo ok || echo "got [$orphans]")"
check_ok "the warning of the committed run's archives is still given" \
	"$([[ $got == *'entries pruned by retention are not erased where copies of them are kept'* ]] && echo ok || echo "got [$got]")"
rm -f "$ARCH/$ORPHAN" "$ARCH/${PREFIX}2025-01-run99.jsonl.gz.tmp"
got="$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -U ra_admin \
	-c "SELECT witness.erase_subject('ann@ra.example', 'erasure once they are removed')" 2>&1 || true)"
check_ok "once they are removed: no such warning" \
	"$([[ $got != *'no committed retention run'* && $got == *'entries pruned by retention'* ]] && echo ok || echo "got [$got]")"

finish "retention_archive"
