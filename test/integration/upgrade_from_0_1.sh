#!/usr/bin/env bash
# Integration test: a trail made by pg_witness 0.1 upgrades in place with ALTER EXTENSION UPDATE.
#
# Builds 0.1 from the tagged commit (tag v0.1, commit 2520522d5c87; WITNESS_BASE_REF overrides) into a private copy of the
# PostgreSQL installation, so that the shared installation the other tests use is never touched:
#   - 0.1 fills a trail, seals part of it and leaves entries pending;
#   - the current build is installed over it and the server restarted: capture goes on in format 1
#     until ALTER EXTENSION pg_witness UPDATE brings the schema to 0.2;
#   - the 0.1 entries keep format 1 and verify, pending ones seal, new entries are format 2;
#   - witness.verify() and witness-verify (over libpq) agree that the whole trail is valid;
#   - an erasure of a subject with entries of both formats erases the format-2 ones, warns about the
#     format-1 ones, and the trail stays valid;
#   - the subject index built by the update finds 0.1 entries, and the subject access export lists
#     both formats (format 1 verified by its leaf hash, the erased format-2 entry header only).
#   - witness.entry is partitioned: the 0.1 table is its first partition (docs/scaling.md), and a
#     pg_dump of the updated trail restores with it and verifies.
#
# Environment: PG_BINDIR (the PostgreSQL 15 to copy), REPO (as scripts/test.sh sets it).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="${REPO:-$(cd "$HERE/../.." && pwd)}"
# The commit tagged v0.1, by hash: a clone without tags still has it.
BASE_REF="${WITNESS_BASE_REF:-2520522d5c87d7bf7aa5066395107e33c14743ab}"
SOURCE_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"

WORK="$(mktemp -d /tmp/upgrade_from_0_1.XXXXXX)"
chmod 755 "$WORK"

# A private copy of the installation: lib/postgresql/15 and share/postgresql/15 side by side, as
# pg_config finds them relative to its own path.
SOURCE_LIB="$(cd "$SOURCE_BINDIR/.." && pwd)"
SOURCE_ROOT="$(cd "$SOURCE_LIB/../../.." && pwd)"
PRIVATE="$WORK/pg/usr"
mkdir -p "$PRIVATE/lib/postgresql" "$PRIVATE/share/postgresql"
cp -a "$SOURCE_LIB" "$PRIVATE/lib/postgresql/"
cp -a "$SOURCE_ROOT/share/postgresql/15" "$PRIVATE/share/postgresql/"
ln -s "$SOURCE_ROOT/include" "$PRIVATE/include"
export PG_BINDIR="$PRIVATE/lib/postgresql/15/bin"
PG_CONFIG="$PG_BINDIR/pg_config"

# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

PORT="$(free_port)"
DB=witness_upgrade
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres

cleanup() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 20 lines of the server log ----"
		tail -n 20 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$WORK/data" fast
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "build pg_witness $BASE_REF from the repository's history"
if ! git -C "$REPO" rev-parse -q --verify "$BASE_REF^{commit}" >/dev/null; then
	# A shallow clone lacks the history: fetch it, or say what is missing.
	git -C "$REPO" fetch -q --unshallow --tags 2>/dev/null || true
	if ! git -C "$REPO" rev-parse -q --verify "$BASE_REF^{commit}" >/dev/null; then
		echo "error: commit $BASE_REF (tag v0.1) is not in this clone; clone with its history" >&2
		exit 1
	fi
fi
mkdir "$WORK/old"
git -C "$REPO" archive "$BASE_REF" | tar -x -C "$WORK/old"
make -C "$WORK/old" -s -j2 PG_CONFIG="$PG_CONFIG" install >"$WORK/old-build.log" 2>&1 ||
	{ tail -n 30 "$WORK/old-build.log" >&2; exit 1; }

say "0.1: a trail with sealed blocks and pending entries"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
check "installed version" "0.1" "SELECT extversion FROM pg_extension WHERE extname = 'pg_witness'"
q "CREATE TABLE customer (id int PRIMARY KEY, email text NOT NULL, plan text)" >/dev/null
q "SET client_min_messages = warning; SELECT witness.track('customer', 'pii', subject_column => 'email')" >/dev/null
q "INSERT INTO customer SELECT g, 'c' || g || '@example.com', 'basic' FROM generate_series(1, 200) g" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "UPDATE customer SET plan = 'pro' WHERE id <= 20" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "UPDATE customer SET plan = 'family' WHERE id = 1" >/dev/null
check "0.1 trail verifies" "valid|2|1" "SELECT status || '|' || blocks_checked || '|' || entries_pending FROM witness.verify()"
OLD_ENTRIES="$(q "SELECT count(*) FROM witness.entry")"
OLD_LEAVES="$(q "SELECT md5(string_agg(encode(leaf_hash, 'hex'), ',' ORDER BY id)) FROM witness.entry")"

say "the current build installed over it; ALTER EXTENSION pg_witness UPDATE"
own_cluster_stop "$WORK" "$WORK/data" fast
make -C "$REPO" -s -j2 PG_CONFIG="$PG_CONFIG" install >"$WORK/new-build.log" 2>&1 ||
	{ tail -n 30 "$WORK/new-build.log" >&2; exit 1; }
own_cluster_start "$WORK"
# Between the new binaries and the update, capture goes on in format 1 and verification works.
q "UPDATE customer SET plan = 'business' WHERE id = 30" >/dev/null
check "capture before the update: format 1" "1|business" \
	"SELECT format || '|' || (new_values ->> 'plan') FROM witness.entry WHERE id = (SELECT max(id) FROM witness.entry)"
check "verifies before the update" "valid|2|2" "SELECT status || '|' || blocks_checked || '|' || entries_pending FROM witness.verify()"
OLD_ENTRIES="$(q "SELECT count(*) FROM witness.entry")"
OLD_LEAVES="$(q "SELECT md5(string_agg(encode(leaf_hash, 'hex'), ',' ORDER BY id)) FROM witness.entry")"
q "ALTER EXTENSION pg_witness UPDATE" >/dev/null
check "updated version" "0.2" "SELECT extversion FROM pg_extension WHERE extname = 'pg_witness'"
check "0.1 entries kept, format 1, hashes unchanged" "$OLD_ENTRIES|$OLD_LEAVES" \
	"SELECT count(*) || '|' || md5(string_agg(encode(leaf_hash, 'hex'), ',' ORDER BY id)) FROM witness.entry WHERE format = 1"
# witness.entry is partitioned now (docs/scaling.md): the 0.1 table is its partition up to the next UTC
# month boundary, no longer a member of the extension (pg_dump saves it as a partition), with its
# guards; the default partition takes what no partition does.
check "the 0.1 table became a partition of witness.entry" "p|$OLD_ENTRIES|false|2" \
	"SELECT (SELECT relkind::text FROM pg_class WHERE oid = 'witness.entry'::regclass) || '|' ||
	        (SELECT count(*) FROM witness.entry_0_1 WHERE format = 1) || '|' ||
	        EXISTS (SELECT 1 FROM pg_depend d WHERE d.objid = 'witness.entry_0_1'::regclass AND d.deptype = 'e')::text || '|' ||
	        (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = 'witness.entry_0_1'::regclass AND NOT t.tgisinternal)"
check "its range ends at a UTC month boundary after now; a default partition" "true|true" \
	"SELECT bool_or(NOT p.is_default AND p.range_start = '-infinity' AND p.range_end > now()
	                AND p.range_end = date_trunc('month', p.range_end AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') || '|' ||
	        bool_or(p.is_default AND p.partition = 'witness.entry_default'::regclass)
	 FROM witness.partitions p"
# The update itself writes no entry (witness.erasure joins the tracked tables uncaptured).
check "verifies after the update" "valid|2|2" "SELECT status || '|' || blocks_checked || '|' || entries_pending FROM witness.verify()"
check "the update made the roles (docs/access.md)" "witness_admin,witness_auditor,witness_reader" \
	"SELECT string_agg(rolname, ',' ORDER BY rolname) FROM pg_roles WHERE rolname IN ('witness_admin', 'witness_auditor', 'witness_reader') AND NOT rolcanlogin"
check "a reader reads the log, not the table; PUBLIC executes no track()" "true|false|false" \
	"SELECT has_table_privilege('witness_reader', 'witness.log', 'SELECT') || '|' || has_table_privilege('witness_reader', 'witness.entry', 'SELECT') || '|' || has_function_privilege('public', 'witness.track(regclass,text,jsonb,text[],text,text[],boolean,boolean)', 'EXECUTE')"
# A format-1 leaf hash is an unsalted hash of the entry's values: a reader, who sees classified values
# masked, could confirm a guess with it (an attack review). Masked readers see none.
q "CREATE ROLE up_reader IN ROLE witness_reader" >/dev/null
check "a reader sees no leaf hash of a format-1 entry" "0|true" \
	"SET ROLE up_reader; SELECT count(leaf_hash) || '|' || (count(*) > 0) FROM witness.log WHERE format = 1"
check "a superuser sees each" "t" "SELECT count(leaf_hash) = count(*) FROM witness.log WHERE format = 1"
C7="$(q "SELECT count(*) FROM witness.entry WHERE subject = 'c7@example.com'")"
check "subject lookups find the 0.1 entries" "$C7" "SELECT count(*) FROM witness._subject_entries('c7@example.com', NULL)"

say "0.2: new entries are format 2; the mixed trail seals and verifies"
q "UPDATE customer SET plan = 'pro' WHERE id IN (1, 21, 22)" >/dev/null
check "new entries are format 2 with salt and commitment (in clear, its first 8 bytes)" "3" \
	"SELECT count(*) FROM witness.entry WHERE id > $OLD_ENTRIES AND table_name = 'customer' AND format = 2 AND length(salt) = 16 AND length(commitment) = 8"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "mixed trail verifies" "valid|3|0" "SELECT status || '|' || blocks_checked || '|' || entries_pending FROM witness.verify()"
check "the lookup table holds the 0.1 entries' subjects" "$C7" \
	"SELECT count(*) FROM witness.entry_lookup WHERE subject_key = witness._subject_lookup_key('c7@example.com', NULL)"
"$REPO/build/witness-verify" --connect "host=$WORK port=$PORT dbname=$DB user=postgres" >"$WORK/wv.out" 2>&1 ||
	{ cat "$WORK/wv.out" >&2; exit 1; }
check_ok "witness-verify agrees" "$(grep -q 'result: *VALID' "$WORK/wv.out" && echo ok || cat "$WORK/wv.out")"

say "erasure across formats: format 2 erased, format 1 reported"
ERASE_OUT="$("$PSQL" -X -q -At -h "$WORK" -p "$PORT" -d "$DB" -c "SELECT witness.erase_subject('c1@example.com', 'upgrade test')" 2>&1)"
check_ok "format-2 entries of the subject erased" "$([[ $(echo "$ERASE_OUT" | tail -n 1) == 1 ]] && echo ok || echo "$ERASE_OUT")"
check_ok "format-1 entries named in a warning" \
	"$(echo "$ERASE_OUT" | grep -q 'WARNING:  3 entries of this subject were captured in format 1' && echo ok || echo "$ERASE_OUT")"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "valid after erasure" "valid|0" "SELECT status || '|' || entries_pending FROM witness.verify()"
"$REPO/build/witness-verify" --connect "host=$WORK port=$PORT dbname=$DB user=postgres" >"$WORK/wv.out" 2>&1 ||
	{ cat "$WORK/wv.out" >&2; exit 1; }
check_ok "witness-verify counts the erased entry" "$(grep -q 'entries erased: *1 ' "$WORK/wv.out" && echo ok || cat "$WORK/wv.out")"

say "subject access across formats: format-1 entries verified by their leaf hash, the erased one header only"
check "c1's export: three format-1 entries sealed and verified, the format-2 one erased, each with a proof" \
	"INSERT:sealed:true:t,UPDATE:sealed:true:t,UPDATE:sealed:true:t,UPDATE:erased:true:t" \
	"SELECT string_agg(concat_ws(':', l ->> 'operation', l ->> 'status', l ->> 'verified', l ->> 'proof' <> 'null'), ',' ORDER BY n)
	 FROM witness.subject_export('c1@example.com', 'json', 'upgrade test') WITH ORDINALITY AS x(line, n),
	      LATERAL (SELECT line::json AS l) j WHERE n > 1"


say "pg_dump of the updated trail restores, its 0.1 partition included (docs/scaling.md)"
q "SELECT count(*) FROM witness.seal()" >/dev/null
BEFORE="$(q "SELECT (SELECT count(*) FROM witness.entry_0_1) || '|' || (SELECT count(*) FROM witness.entry) || '|' || (SELECT count(*) FROM witness.block)")"
"$PG_BINDIR/pg_dump" -h "$WORK" -p "$PORT" -Fc -f "$WORK/updated.dump" "$DB"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE restored" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -h "$WORK" -p "$PORT" -d restored --single-transaction \
	"$WORK/updated.dump" >"$WORK/restore.out" 2>&1 || rc=$?
check_ok "pg_restore of the updated trail" "$( ((rc == 0)) && echo ok || cat "$WORK/restore.out")"
DB=restored
check "restored: the 0.1 partition, every entry and block" "$BEFORE" \
	"SELECT (SELECT count(*) FROM witness.entry_0_1) || '|' || (SELECT count(*) FROM witness.entry) || '|' || (SELECT count(*) FROM witness.block)"
check "restored: verifies" "valid|0" "SELECT status || '|' || entries_pending FROM witness.verify()"

say "ALTER EXTENSION pg_witness UPDATE while the sealer seals every second"
# The sealer takes witness.block, then reads witness.entry; the update script changed witness.entry
# first, then witness.block: each waited for the other, at every try (a review of the docs found it;
# 3 of 3 tries deadlocked before the fix, so one try is kept here, for CI's time).
q_on "$WORK" "$PORT" postgres "ALTER SYSTEM SET witness.seal_interval = '1s'" >/dev/null
q_on "$WORK" "$PORT" postgres "SELECT pg_reload_conf()" >/dev/null
for i in 1; do
	DB="busy$i"
	q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
	q "CREATE EXTENSION pg_witness VERSION '0.1'" >/dev/null
	q "CREATE TABLE t (id int PRIMARY KEY, v text)" >/dev/null
	q "SET client_min_messages = warning; SELECT witness.track('t')" >/dev/null
	q "INSERT INTO t SELECT g, 'v' || g FROM generate_series(1, 2000) g" >/dev/null
	sleep 1.2
	q "UPDATE t SET v = v || '.'" >/dev/null
	check "update $i with the sealer running: no deadlock" "0.2" \
		"ALTER EXTENSION pg_witness UPDATE; SELECT extversion FROM pg_extension WHERE extname = 'pg_witness'"
done
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "the last one verifies once sealed" "valid" "SELECT status FROM witness.verify() LIMIT 1"

finish upgrade_from_0_1
