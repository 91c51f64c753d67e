#!/usr/bin/env bash
# Integration test: retention drops a partition whose every entry expired (docs/retention.md,
# "Dropping whole partitions"), and pg_dump / pg_restore of the pruned trail still verifies.
#
# Database A: a table tracked as internal; a partition of witness.entry that ends two seconds after it
# is made (a superuser's, as test/sql/retention_partitions.sql: months cannot be faked) takes the
# first entries, a partition from then on the later ones; blocks span both. A rule keeps internal for
# about the time since the cut. A transaction that wrote into the first partition before the cut is
# still open at the first run: the run cannot lock the partition, deletes its expired entries one by
# one and the partition stays. Once that transaction committed and its entry is sealed, the next run
# drops the partition, and A verifies with the entries pruned. pg_dump -Fc A, restore
# into B in replica mode (as test/integration/dump_restore.sh): B has the same partitions, verifies
# with the same counts, proves its remaining entries, and its export matches A's but for the header and witness-verify accepts it.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); a superuser.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB_A=witness_it_retdrop_a
DB_B=witness_it_retdrop_b
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$DB_A" && $MAINT_DB != "$DB_B" ]] || MAINT_DB=postgres
WORK="$(mktemp -d /tmp/retention_drop_restore.XXXXXX)"
DBS_CREATED=0
VERIFY="${REPO:-$(cd "$HERE/../.." && pwd)}/build/witness-verify"
# The run's NOTICE naming the dropped partition is not part of the checked output.
export PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning"

maint() { "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "$1"; }
cleanup() {
	local rc=$?
	set +e
	if ((DBS_CREATED)); then
		maint "DROP DATABASE IF EXISTS $DB_A WITH (FORCE)" >/dev/null
		maint "DROP DATABASE IF EXISTS $DB_B WITH (FORCE)" >/dev/null
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "database A: two partitions, blocks across the cut, a retention run that drops the first"

maint "DROP DATABASE IF EXISTS $DB_A WITH (FORCE)" >/dev/null 2>&1
maint "DROP DATABASE IF EXISTS $DB_B WITH (FORCE)" >/dev/null 2>&1
DBS_CREATED=1
maint "CREATE DATABASE $DB_A" >/dev/null
DB=$DB_A
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB_A" >"$WORK/setup.out" 2>&1 <<'SQL' || { cat "$WORK/setup.out"; exit 1; }
CREATE EXTENSION pg_witness;
CREATE TABLE notes (id int PRIMARY KEY, body text);
SELECT witness.track('notes', 'internal');
SELECT count(*) FROM witness.seal();
SELECT clock_timestamp() AS t_from, clock_timestamp() + interval '2 s' AS cut \gset
CREATE TABLE witness.entry_early (LIKE witness.entry);
SELECT witness._guard_entry_partition('witness.entry_early');
SELECT format('ALTER TABLE witness.entry ATTACH PARTITION witness.entry_early FOR VALUES FROM (%L) TO (%L)', :'t_from', :'cut') \gexec
CREATE TABLE witness.entry_late (LIKE witness.entry);
SELECT witness._guard_entry_partition('witness.entry_late');
SELECT format('ALTER TABLE witness.entry ATTACH PARTITION witness.entry_late FOR VALUES FROM (%L) TO (MAXVALUE)', :'cut') \gexec
INSERT INTO notes SELECT g, 'early ' || g FROM generate_series(1, 300) g;
SELECT count(*) FROM witness.seal();
SQL
CUT="$(q "SELECT range_end FROM witness.partitions WHERE partition = 'witness.entry_early'::regclass")"
# A transaction that writes into the early partition before the cut and commits well after it.
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB_A" -c "BEGIN" -c "INSERT INTO notes VALUES (1000, 'straggler')" \
	-c "SELECT pg_sleep(greatest(0, extract(epoch FROM '$CUT'::timestamptz - clock_timestamp())) + 4)" -c "COMMIT" \
	>"$WORK/straggler.out" 2>&1 &
STRAGGLER=$!
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB_A" >>"$WORK/setup.out" 2>&1 <<SQL || { cat "$WORK/setup.out"; exit 1; }
INSERT INTO notes SELECT g, 'early ' || g FROM generate_series(301, 400) g;
SELECT pg_sleep(greatest(0, extract(epoch FROM '$CUT'::timestamptz - clock_timestamp()) + 1));
INSERT INTO notes SELECT g, 'late ' || g FROM generate_series(401, 500) g;
UPDATE notes SET body = body || '!' WHERE id > 450 AND id <= 500;
SELECT count(*) FROM witness.seal();
SQL
# internal is kept for the time since the cut less half a second, set right before each run: the
# early partition's entries have expired, the late one's (a second after the cut and later) not.
RULE="SELECT witness.set_retention('internal', now() - '$CUT'::timestamptz - interval '0.5 s') IS NOT NULL"
check "A: entries per partition before the run (the straggler's not committed)" "witness.entry_default:1|witness.entry_early:400|witness.entry_late:150" \
	"SELECT string_agg(p.partition || ':' || (SELECT count(*) FROM witness.entry e WHERE e.tableoid = p.partition), '|' ORDER BY p.partition::text)
	 FROM witness.partitions p"
q "$RULE" >/dev/null
check "A: while the straggler writes, the run prunes 400 entries one by one: one block wholly, one partly" "400|1|1|0" \
	"SELECT entries_pruned || '|' || blocks_wholly_pruned || '|' || blocks_partly_pruned || '|' || held_kept FROM witness.apply_retention()"
check "A: the early partition stays" "witness.entry_default|witness.entry_early|witness.entry_late" \
	"SELECT string_agg(partition::text, '|' ORDER BY partition::text) FROM witness.partitions"
wait "$STRAGGLER" || { cat "$WORK/straggler.out"; exit 1; }
check "A: the straggler's entry is in the early partition" "1|straggler" \
	"SELECT count(*) || '|' || min(new_values ->> 'body') FROM witness.entry_early"
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "$RULE" >/dev/null
check "A: the next run prunes it (its block holds the first run's records too), and drops the partition" "1|0|1|0" \
	"SELECT entries_pruned || '|' || blocks_wholly_pruned || '|' || blocks_partly_pruned || '|' || held_kept FROM witness.apply_retention()"
check "A: the early partition is gone" "witness.entry_default|witness.entry_late" \
	"SELECT string_agg(partition::text, '|' ORDER BY partition::text) FROM witness.partitions"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "A: verify() valid, 401 pruned" "1|valid|401" \
	"SELECT count(*) || '|' || string_agg(DISTINCT status, ',') || '|' || sum(entries_pruned) FROM witness.verify()" "SELECT * FROM witness.verify()"
A_COUNTS="$(q "SELECT blocks_checked || '|' || entries_checked || '|' || entries_pruned FROM witness.verify()")"
note "A: blocks|entries|pruned = $A_COUNTS"

say "pg_dump -Fc A; createdb B; pg_restore in replica mode"
"$PG_BINDIR/pg_dump" -Fc -f "$WORK/a.dump" "$DB_A"
maint "CREATE DATABASE $DB_B" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -d "$DB_B" --single-transaction "$WORK/a.dump" \
	>"$WORK/restore.out" 2>&1 || rc=$?
if ((rc != 0)) || [[ -s $WORK/restore.out ]]; then
	echo "---- pg_restore output (exit status $rc) ----"
	cat "$WORK/restore.out"
fi
check "pg_restore exit status" 0 "SELECT $rc"

DB=$DB_B
check "B: the same partitions" "witness.entry_default|witness.entry_late" \
	"SELECT string_agg(partition::text, '|' ORDER BY partition::text) FROM witness.partitions"
check "B: verify() valid with A's counts" "valid|$A_COUNTS" \
	"SELECT status || '|' || blocks_checked || '|' || entries_checked || '|' || entries_pruned FROM witness.verify()" "SELECT * FROM witness.verify()"
check "B: every remaining entry of notes proves" "150" \
	"SELECT count(*) FROM witness.entry e CROSS JOIN LATERAL witness.prove(e.id) p WHERE e.table_name = 'notes' AND p ->> 'entry_id' = e.id::text"
q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_A" "SELECT * FROM witness.export_trail()" | tail -n +2 >"$WORK/a.export"
q "SELECT * FROM witness.export_trail()" | tail -n +2 >"$WORK/b.export"
check_ok "B: export equals A's but for the header ($(wc -l <"$WORK/b.export") lines)" "$(cmp -s "$WORK/a.export" "$WORK/b.export" && echo ok || echo "differs")"
A_RUN="$(q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_A" "SELECT md5(string_agg(r::text, '|' ORDER BY run_id)) FROM witness.retention_run r")"
check "B: the retention run's record is A's" "$A_RUN" "SELECT md5(string_agg(r::text, '|' ORDER BY run_id)) FROM witness.retention_run r"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB_B" -c "\\copy (SELECT witness.export_trail()) TO '$WORK/trail.copy'"
rc=0
"$VERIFY" "$WORK/trail.copy" >"$WORK/verify.out" 2>&1 || rc=$?
indent <"$WORK/verify.out"
check_ok "witness-verify of B's export: valid, 401 entries pruned" \
	"$([[ $rc == 0 ]] && grep -q 'entries pruned: *401 ' "$WORK/verify.out" && echo ok || echo "exit status $rc")"
finish retention_drop_restore
