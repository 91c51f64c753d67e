#!/usr/bin/env bash
# Integration test: pg_dump / pg_restore of a database with pg_witness.
#
# In the shared test cluster: database A gets pg_witness, tracked tables (one with a subject
# column, column tags and an excluded column; a partitioned one with a partition added after
# tracking; a keyless one with key_columns), a workload of INSERT, UPDATE, DELETE and TRUNCATE,
# sealed in several blocks. pg_dump -Fc A, createdb B, and
#
#   PGOPTIONS='-c session_replication_role=replica' pg_restore -d B --single-transaction
#
# Why replica mode: the trail's INSERT guard (witness_insert_only_by_sealer and its twin on
# witness.entry, origin triggers) refuses INSERTs in normal operation, and pg_witness's DDL event
# triggers would react to the restore's ALTER TABLE ... ENABLE ALWAYS TRIGGER / CREATE TRIGGER as
# to a user's DDL. In replica mode the guard does not fire and the event triggers stand aside,
# so the trail is loaded exactly as dumped; session_replication_role is superuser-only, so this is
# no way around the guard for anyone else. The capture triggers fire ALWAYS, replica mode or not.
#
# Then in B: witness.verify() is valid with A's block and entry counts; export_trail() of A and B
# are identical except the header's database field; the configuration (witness.tracked_tables)
# is identical; the capture triggers are back and fire ALWAYS, the append-only guards are back;
# capture works (a new change -> an entry with the next id); witness.seal() makes a block chained to
# the restored last block; verify() is still valid and the trail recomputes outside the database.
# If the restore fails, the test prints pg_restore's exact error and fails.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); a superuser.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB_A=witness_it_dump_a
DB_B=witness_it_dump_b
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$DB_A" && $MAINT_DB != "$DB_B" ]] || MAINT_DB=postgres
WORK="$(mktemp -d /tmp/dump_restore.XXXXXX)"
DBS_CREATED=0

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

# ---------------------------------------------------------------------------------------------
say "database A: tracked tables, workload, seals"

maint "DROP DATABASE IF EXISTS $DB_A WITH (FORCE)" >/dev/null 2>&1
maint "DROP DATABASE IF EXISTS $DB_B WITH (FORCE)" >/dev/null 2>&1
DBS_CREATED=1
maint "CREATE DATABASE $DB_A" >/dev/null
DB=$DB_A
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB_A" >"$WORK/setup.out" 2>&1 <<'SQL' || { cat "$WORK/setup.out"; exit 1; }
CREATE EXTENSION pg_witness;
-- The partitions of witness.entry the sealer makes (docs/scaling.md): pg_dump saves them as tables of
-- schema witness, with their entries; the restore makes them again.
SELECT count(*) FROM witness.create_entry_partitions(2);
CREATE SCHEMA app;
CREATE TABLE app.customers (id int PRIMARY KEY, name text NOT NULL, email text, ssn text, balance numeric(12,2) DEFAULT 0,
                            updated timestamptz DEFAULT now());
CREATE TABLE app.orders (id bigint, order_date date NOT NULL, customer_id int, amount numeric(10,2), note text,
                         PRIMARY KEY (id, order_date)) PARTITION BY RANGE (order_date);
CREATE TABLE app.orders_2024 PARTITION OF app.orders FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE app.orders_2025 PARTITION OF app.orders FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
CREATE TABLE app.events (at timestamptz NOT NULL, kind text NOT NULL, ref text, payload jsonb);
SELECT witness.track('app.customers', 'pii', '{"email": "pii", "balance": ["financial", "confidential"]}',
                     exclude_columns => '{ssn}', subject_column => 'id', encrypt => false);
SELECT witness.track('app.orders', 'financial', '{"amount": "financial"}', exclude_columns => '{note}');
SELECT witness.track('app.events', 'internal', key_columns => '{at,kind}');
-- A partition created after tracking: the row trigger is cloned, the TRUNCATE trigger added by pg_witness.
CREATE TABLE app.orders_2026 PARTITION OF app.orders FOR VALUES FROM ('2026-01-01') TO ('2027-01-01');

SET witness.actor = 'alice';
SET witness.context = '{"session": "s-1", "ip": "10.0.0.7"}';
INSERT INTO app.customers (id, name, email, ssn, balance)
SELECT g, 'customer ' || g, 'c' || g || '@example.org', 'ssn-' || g, g * 10 FROM generate_series(1, 200) g;
INSERT INTO app.orders SELECT g, date '2024-03-01' + (g % 900), 1 + g % 200, g * 1.5, 'secret note ' || g FROM generate_series(1, 600) g;
-- Chunks of 64: the blocks get chunk rows (witness.block_chunk, docs/verification.md "Proofs in large blocks").
SET witness.proof_chunk_size = 64;
SELECT count(*) FROM witness.seal();
SET witness.reason = 'monthly correction';
UPDATE app.customers SET balance = balance + 1, email = upper(email) WHERE id % 7 = 0;
UPDATE app.orders SET order_date = order_date + 40 WHERE id % 50 = 0;   -- some move to another partition
DELETE FROM app.orders WHERE id % 31 = 0;
INSERT INTO app.events SELECT timestamptz '2025-01-01 00:00+00' + g * interval '1 minute', 'login', 'u' || g, jsonb_build_object('n', g, 'ok', g % 2 = 0)
FROM generate_series(1, 100) g;
RESET witness.reason;
SELECT count(*) FROM witness.seal();
BEGIN;
UPDATE app.customers SET name = name || ' (vip)' WHERE id <= 5;
DELETE FROM app.customers WHERE id = 200;
COMMIT;
TRUNCATE app.orders_2024;
TRUNCATE app.events;
SELECT count(*) FROM witness.seal();
SQL
# orders: 600 inserts; 12 updates of which 1 moves to the next partition (DELETE + INSERT); 19 deletes;
# customers: 200 inserts, 28 + 5 updates, 1 delete; one TRUNCATE entry per truncated leaf table.
check "A: entries per table and operation" \
	"customers:D:1|customers:I:200|customers:U:33|events:I:100|events:T:1|orders:D:20|orders:I:601|orders:T:1|orders:U:11" \
	"SELECT string_agg(k, '|' ORDER BY k) FROM (
	   SELECT table_name || ':' || op::text || ':' || count(*) AS k FROM witness.entry WHERE schema_name = 'app' GROUP BY table_name, op) x"
check "A: no excluded value (ssn, note) in any entry" 0 \
	"SELECT count(*) FROM witness.entry WHERE concat(old_values::text, new_values::text) ~ '(ssn-|secret note)'"
check "A: witness.verify() valid, nothing pending" "1|valid|0" \
	"SELECT count(*), string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()" "SELECT * FROM witness.verify()"
A_COUNTS="$(q "SELECT blocks_checked || '|' || entries_checked FROM witness.verify()")"
echo "A: blocks|entries = $A_COUNTS"
check "A: blocks" 3 "SELECT count(*) FROM witness.block"
CHUNKS_SQL="SELECT count(*) || ' rows, ' || md5(string_agg(block_no || ':' || chunk_no || ':' || chunk_size || ':' || first_entry_id || ':' || encode(root, 'hex'), ',' ORDER BY block_no, chunk_no)) FROM witness.block_chunk"
PROOF_SQL="SELECT md5(witness.prove(e.id)::text) || ' ' || (c.leaf_index IS NOT NULL) FROM witness.entry e, witness.block b, witness._chunk_proof(b, e.id, witness._sealed_leaf(e)) c WHERE b.block_no = 1 AND e.id = b.first_entry_id + 100"
check "A: block 1 has chunk rows, and prove() of its 101st entry reads its chunk" "t" \
	"SELECT (SELECT count(*) FROM witness.block_chunk WHERE block_no = 1) > 1 AND (SELECT c.leaf_index IS NOT NULL
	   FROM witness.entry e, witness.block b, witness._chunk_proof(b, e.id, witness._sealed_leaf(e)) c WHERE b.block_no = 1 AND e.id = b.first_entry_id + 100)"
A_CHUNKS="$(q "$CHUNKS_SQL")"
A_PROOF="$(q "$PROOF_SQL")"

# ---------------------------------------------------------------------------------------------
say "pg_dump -Fc A; createdb B; pg_restore in replica mode"

"$PG_BINDIR/pg_dump" -Fc -f "$WORK/a.dump" "$DB_A"
echo "dump: $(stat -c %s "$WORK/a.dump") bytes; extension tables with data in the dump:"
"$PG_BINDIR/pg_restore" -l "$WORK/a.dump" | grep -E 'TABLE DATA witness|SEQUENCE SET witness' | sed 's/^/      /'
maint "CREATE DATABASE $DB_B" >/dev/null
rc=0
PGOPTIONS='-c session_replication_role=replica' "$PG_BINDIR/pg_restore" -d "$DB_B" --single-transaction "$WORK/a.dump" \
	>"$WORK/restore.out" 2>&1 || rc=$?
if ((rc != 0)) || [[ -s $WORK/restore.out ]]; then
	echo "---- pg_restore output (exit status $rc) ----"
	cat "$WORK/restore.out"
fi
check "pg_restore exit status" 0 "SELECT $rc"
if ((rc != 0)); then
	# For the diagnosis: what B's trail holds where the restore stopped.
	echo "B where pg_restore stopped: $("$PSQL" -X -q -A -t -d "$DB_B" -c "SELECT count(*) || ' entries restored, max id ' ||
	      coalesce(max(id), 0) || ', witness.entry_id_seq last_value ' || (SELECT last_value FROM witness.entry_id_seq) FROM witness.entry" 2>&1 || true)"
	finish dump_restore
fi

# ---------------------------------------------------------------------------------------------
say "database B: the restored trail"

DB=$DB_B
check "B: witness.verify() valid, nothing pending" "1|valid|0" \
	"SELECT count(*), string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()" "SELECT * FROM witness.verify()"
check "B: the partitions of witness.entry, their ranges and entries = A's" \
	"$(q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_A" "SELECT string_agg(p.partition || ':' || coalesce(p.range_start::text, 'default') || ':' || (SELECT count(*) FROM witness.entry e WHERE e.tableoid = p.partition), ',' ORDER BY p.partition::text) FROM witness.partitions p")" \
	"SELECT string_agg(p.partition || ':' || coalesce(p.range_start::text, 'default') || ':' || (SELECT count(*) FROM witness.entry e WHERE e.tableoid = p.partition), ',' ORDER BY p.partition::text) FROM witness.partitions p"
check "B: blocks|entries checked = A's" "$A_COUNTS" "SELECT blocks_checked || '|' || entries_checked FROM witness.verify()"
check "B: witness.block_chunk = A's (pg_extension_config_dump)" "$A_CHUNKS" "$CHUNKS_SQL"
check "B: prove() of block 1's 101st entry = A's, from its chunk" "$A_PROOF" "$PROOF_SQL"
check "B: count(*) of witness.entry|witness.block = A's" \
	"$(q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_A" "SELECT (SELECT count(*) FROM witness.entry) || '|' || (SELECT count(*) FROM witness.block)")" \
	"SELECT (SELECT count(*) FROM witness.entry) || '|' || (SELECT count(*) FROM witness.block)"

q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_A" "SELECT * FROM witness.export_trail()" >"$WORK/a.trail"
q "SELECT * FROM witness.export_trail()" >"$WORK/b.trail"
echo "export_trail(): A $(wc -l <"$WORK/a.trail") lines, B $(wc -l <"$WORK/b.trail") lines"
echo "header A: $(head -n 1 "$WORK/a.trail")"
echo "header B: $(head -n 1 "$WORK/b.trail")"
drop_db_field() { head -n 1 "$1" | python3 -c 'import json, sys; h = json.load(sys.stdin); h.pop("database", None); print(json.dumps(h, sort_keys=True))'; }
if [[ "$(drop_db_field "$WORK/a.trail")" == "$(drop_db_field "$WORK/b.trail")" ]] &&
	[[ "$(head -n 1 "$WORK/a.trail")" != "$(head -n 1 "$WORK/b.trail")" ]]; then
	check_ok "export_trail() headers: equal except the database field (which differs)" ok
else
	check_ok "export_trail() headers: equal except the database field (which differs)" "$(diff <(head -n 1 "$WORK/a.trail") <(head -n 1 "$WORK/b.trail") | head -5)"
fi
if cmp -s <(tail -n +2 "$WORK/a.trail") <(tail -n +2 "$WORK/b.trail"); then
	check_ok "export_trail(): every block and entry line of A and B identical" ok
else
	check_ok "export_trail(): every block and entry line of A and B identical" \
		"$(diff <(tail -n +2 "$WORK/a.trail") <(tail -n +2 "$WORK/b.trail") | head -10)"
fi

# The configuration rows of pg_witness's own tables (witness.tracked_table, witness.ddl_event) are made
# by CREATE EXTENSION (and left out of the dump), so their tracked_at is when B got the extension;
# everything else must be equal.
CONFIG_SQL="SELECT table_name::text, classification, column_tags, exclude_columns, subject_column, key_columns, key_is_primary_key,
                   CASE WHEN table_name::text NOT LIKE 'witness.%' THEN tracked_at END, tracked_by
              FROM witness.tracked_tables ORDER BY 1"
q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_A" "$CONFIG_SQL" >"$WORK/a.config"
q "$CONFIG_SQL" >"$WORK/b.config"
sed 's/^/      /' "$WORK/b.config"
if cmp -s "$WORK/a.config" "$WORK/b.config"; then
	check_ok "witness.tracked_tables of A and B identical ($(wc -l <"$WORK/b.config") tables; tracked_at of pg_witness's own rows aside)" ok
else
	check_ok "witness.tracked_tables of A and B identical" "$(diff "$WORK/a.config" "$WORK/b.config" | head -10)"
fi
TRIGGERS_SQL="SELECT count(*) || ' triggers: ' || string_agg(c.oid::regclass::text || ':' || t.tgname || ':' || t.tgenabled::text, ', '
                      ORDER BY c.oid::regclass::text, t.tgname)
                FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
               WHERE NOT t.tgisinternal AND c.relnamespace IN ('app'::regnamespace, 'witness'::regnamespace)"
check "B: the same triggers as A, with the same firing mode (A = always)" \
	"$(q_on "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_A" "$TRIGGERS_SQL")" "$TRIGGERS_SQL"
check "B: capture triggers fire ALWAYS on app.customers, app.orders, app.events and the leaf partitions' TRUNCATE triggers" 0 \
	"SELECT count(*) FROM pg_trigger t WHERE t.tgname LIKE 'witness_capture%' AND t.tgenabled <> 'A' AND t.tgrelid NOT IN (SELECT c.oid FROM pg_class c WHERE c.relnamespace = 'witness'::regnamespace)"
check "B: the trail's guards are in place (UPDATE of an entry refused)" "42501" \
	"DO \$\$ BEGIN UPDATE witness.entry SET actor = 'mallory' WHERE id = 1; RAISE EXCEPTION 'not refused' USING ERRCODE = 'XX000';
	  EXCEPTION WHEN insufficient_privilege THEN NULL; END \$\$; SELECT '42501'"
check "B: direct INSERT into witness.block refused outside replica mode (42501)" refused \
	"DO \$\$ BEGIN INSERT INTO witness.block SELECT block_no + 1000, snapshot, entry_count, first_entry_id, last_entry_id, merkle_root,
	                                           prev_hash, sealed_at, block_hash FROM witness.block WHERE block_no = 1;
	  RAISE EXCEPTION 'not refused' USING ERRCODE = 'XX000';
	  EXCEPTION WHEN insufficient_privilege THEN NULL; END \$\$; SELECT 'refused'"
check_blocks "B"

# ---------------------------------------------------------------------------------------------
say "database B: capture and sealing go on"

MAX_ID="$(q "SELECT max(id) FROM witness.entry")"
LAST="$(q "SELECT block_no || '|' || encode(block_hash, 'hex') FROM witness.block ORDER BY block_no DESC LIMIT 1")"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB_B" >"$WORK/b_work.out" 2>&1 <<'SQL' || { cat "$WORK/b_work.out"; exit 1; }
SET witness.actor = 'bob';
INSERT INTO app.customers (id, name, email, ssn) VALUES (1001, 'after restore', 'new@example.org', 'ssn-new');
UPDATE app.customers SET balance = 42 WHERE id = 1;
INSERT INTO app.orders VALUES (5000, '2026-06-01', 1001, 9.99, 'secret note new');
CREATE TABLE app.orders_2027 PARTITION OF app.orders FOR VALUES FROM ('2027-01-01') TO ('2028-01-01');
INSERT INTO app.orders VALUES (5001, '2027-02-01', 1001, 1.00, 'secret note newer');
TRUNCATE app.orders_2027;
SQL
check "B: new changes captured with ids after the restored ones (I customers, U customers, I orders, I orders, T orders)" \
	"I:customers:bob|U:customers:bob|I:orders:bob|I:orders:bob|T:orders:bob" \
	"SELECT string_agg(op::text || ':' || table_name || ':' || actor, '|' ORDER BY id) FROM witness.entry WHERE id > $MAX_ID AND schema_name = 'app'"
check "B: the new customer's entry: subject, tags, no excluded ssn" "1001|{pii,financial,confidential}|false" \
	"SELECT subject || '|' || witness.tag_names(tags)::text || '|' || (new_values::jsonb ? 'ssn') FROM witness.entry WHERE id > $MAX_ID AND op = 'I' AND table_name = 'customers'"
check "B: the TRUNCATE of a partition created after the restore names it" 'app.orders_2027' \
	"SELECT row_key->>'partition' FROM witness.entry WHERE id > $MAX_ID AND op = 'T'"
# Six entries: the five changes and the DDL event of the new partition joining app.orders.
check "B: the new partition's joining is recorded as a DDL event" "joined|orders_2027|app.orders|0" \
	"SELECT action || '|' || table_name || '|' || tracked_table || '|' || (detail->>'rows_captured') FROM witness.ddl_event ORDER BY event_id DESC LIMIT 1"
check "B: witness.verify() reports the new entries as pending, still valid" "valid|6" \
	"SELECT status || '|' || entries_pending FROM witness.verify()"
check "B: witness.seal() makes block ${LAST%%|*}+1, chained to the restored block ${LAST%%|*}" \
	"$((${LAST%%|*} + 1))|${LAST#*|}|6" \
	"SELECT block_no || '|' || encode(prev_hash, 'hex') || '|' || entry_count FROM witness.seal()"
check "B: witness.verify() valid, nothing pending" "1|valid|0" \
	"SELECT count(*), string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()" "SELECT * FROM witness.verify()"
check_blocks "B after sealing"
check_trail "B after sealing" "${PGHOST:-127.0.0.1}" "${PGPORT:-5432}" "$DB_B"
finish dump_restore
