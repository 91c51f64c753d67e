-- Retention drops a partition of witness.entry whose entries expire, but for a few it keeps (a rule's
-- record, a held entry) that are copied into a partition replacing it (docs/retention.md, "Dropping
-- whole partitions"), with the same record as deleting its entries one by one: same run, same kept
-- leaf hashes, a trail that verifies and proves. A partition with pending entries is pruned row by
-- row; a partition dropped or detached by hand is still tampering. (A partition dropped whole:
-- test/integration/retention_drop_restore.sh.) Then a table owner, a
-- DML-only role, a role with CREATE on the database and a superuser try. In a database of its own: the
-- partitions made here must not change what the other tests see.
\set SHOW_CONTEXT never
SELECT current_database() AS original_db \gset
CREATE DATABASE witness_retention_partitions;
\c witness_retention_partitions
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
CREATE ROLE rp_admin;
CREATE ROLE rp_owner;
CREATE ROLE rp_dml;
CREATE ROLE rp_creator;
RESET client_min_messages;
GRANT witness_admin TO rp_admin;
SELECT format('GRANT CREATE ON DATABASE %I TO rp_creator', current_database()) \gexec
CREATE SCHEMA rp;
GRANT USAGE ON SCHEMA rp TO rp_dml, rp_owner;
CREATE TABLE rp.note (id int PRIMARY KEY, body text);
CREATE TABLE rp.ledger (id int PRIMARY KEY, amount numeric);
ALTER TABLE rp.ledger OWNER TO rp_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON rp.note TO rp_dml;
SELECT witness.track('rp.note', 'internal');
SELECT witness.track('rp.ledger', 'financial');

-- Months cannot be faked (stmt_time is the statement's start): a superuser makes a partition that
-- ends in eight seconds, "old", and one for everything after, "new", the way the sealer makes a month
-- (eight: the statements up to the sleep below must all start before then, on a loaded CI machine too).
SELECT clock_timestamp() AS t_from, clock_timestamp() + interval '8 s' AS cut \gset
SELECT format('CREATE TABLE witness.entry_old (LIKE witness.entry)') AS mk_old,
       format('ALTER TABLE witness.entry ATTACH PARTITION witness.entry_old FOR VALUES FROM (%L) TO (%L)', :'t_from', :'cut') AS at_old,
       format('CREATE TABLE witness.entry_new (LIKE witness.entry)') AS mk_new,
       format('ALTER TABLE witness.entry ATTACH PARTITION witness.entry_new FOR VALUES FROM (%L) TO (MAXVALUE)', :'cut') AS at_new \gset
:mk_old;
SELECT witness._guard_entry_partition('witness.entry_old');
:at_old;
:mk_new;
SELECT witness._guard_entry_partition('witness.entry_new');
:at_new;

-- Before the cut: block A, of the old partition (and the tracking's records in the default one);
-- two more entries of it left unsealed. A rule set then is a record kept forever, in the old partition.
INSERT INTO rp.note SELECT g, 'old ' || g FROM generate_series(1, 3) g;
INSERT INTO rp.note SELECT g, 'old ' || g FROM generate_series(8, 30) g;
SELECT witness.set_retention('pii', NULL) IS NOT NULL AS rule_set;
SELECT witness.seal() IS NOT NULL AS sealed;
INSERT INTO rp.note VALUES (4, 'old 4'), (5, 'old 5');
SELECT pg_sleep(greatest(0, extract(epoch FROM :'cut'::timestamptz - clock_timestamp()) + 1));
-- After it: block B spans both partitions (4, 5 old; 6, 7, a ledger row and the rule new).
INSERT INTO rp.note VALUES (6, 'new 6'), (7, 'new 7');
INSERT INTO rp.ledger VALUES (1, 10);
-- internal is kept for as long as has passed since the cut: the old partition's entries expire,
-- the new one's do not.
SELECT witness.set_retention('internal', now() - :'cut') IS NOT NULL AS rule_set;

-- Two entries of the old partition are pending: it stays, block A's entries are deleted one by one.
BEGIN;
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned, held_kept FROM witness.apply_retention();
SELECT p.partition, count(e.id) AS entries
FROM witness.partitions p LEFT JOIN witness.entry e ON e.tableoid = p.partition::oid
GROUP BY 1 ORDER BY p.partition::text;
ROLLBACK;

SELECT witness.seal() IS NOT NULL AS sealed;
SELECT p.partition, count(e.id) AS entries
FROM witness.partitions p LEFT JOIN witness.entry e ON e.tableoid = p.partition::oid
GROUP BY 1 ORDER BY p.partition::text;
SELECT witness.hold('rp-4', 'row 4 is evidence', "table" => 'rp.note', row_key => '{"id": 4}') IS NOT NULL AS held;

-- A held entry is kept with the rule's: the partition is replaced by a copy of those two.
BEGIN;
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned, held_kept FROM witness.apply_retention();
SELECT p.partition, count(e.id) AS entries
FROM witness.partitions p LEFT JOIN witness.entry e ON e.tableoid = p.partition::oid
GROUP BY 1 ORDER BY p.partition::text;
ROLLBACK;
SELECT witness.release_hold('rp-4', 'no longer needed') IS NOT NULL AS released;

-- Row by row: a session that has the trail open (a cursor on it, after capturing in the same
-- transaction) cannot detach a partition of it (PostgreSQL refuses to alter a table it has open): the
-- run deletes the entries instead. Its record
-- and kept hashes are kept to compare with the drop's.
BEGIN;
INSERT INTO rp.ledger VALUES (2, 20);
DECLARE trail_open CURSOR FOR SELECT id FROM witness.entry;
MOVE FORWARD 1 IN trail_open;
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned, held_kept, bytes_kept FROM witness.apply_retention();
SELECT (SELECT count(*) FROM witness.entry_old) AS old_left;
SELECT r.pruned - 'digest' AS pruned_row_by_row FROM witness.retention_run r ORDER BY r.run_id DESC LIMIT 1 \gset
SELECT string_agg(format('%s %s %s %s', block_no, whole, entry_ids, encode(sha256(leaf_hashes), 'hex')), '; ' ORDER BY block_no) AS kept_row_by_row
FROM witness.pruned_leaf \gset
SELECT (SELECT jsonb_agg(x - 'digest') FROM jsonb_array_elements(r.pruned) x) AS pruned_row_by_row
FROM witness.retention_run r ORDER BY r.run_id DESC LIMIT 1 \gset
ROLLBACK;

-- The run for real: the old partition is replaced by one holding only the rule's entry (a NOTICE
-- names it).
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned, held_kept, bytes_kept FROM witness.apply_retention();
SELECT partition, is_default FROM witness.partitions ORDER BY partition::text;
SELECT table_name, count(*) FROM witness.entry_old GROUP BY 1;
-- It is a partition like the others: guarded, indexed, granting nothing.
SELECT count(*) AS guards FROM pg_trigger WHERE tgrelid = 'witness.entry_old'::regclass AND tgname LIKE 'witness_%';
SELECT count(*) AS indexes FROM pg_index WHERE indrelid = 'witness.entry_old'::regclass;
SELECT relacl FROM pg_class WHERE oid = 'witness.entry_old'::regclass;
DELETE FROM witness.entry_old;
\echo :LAST_ERROR_SQLSTATE
-- The same record as row by row: per block the same entries, the same kept ids and hashes.
SELECT (SELECT jsonb_agg(x - 'digest') FROM jsonb_array_elements(r.pruned) x) = :'pruned_row_by_row'::jsonb AS same_record,
       r.entries_pruned, r.held_kept
FROM witness.retention_run r ORDER BY r.run_id DESC LIMIT 1;
SELECT string_agg(format('%s %s %s %s', block_no, whole, entry_ids, encode(sha256(leaf_hashes), 'hex')), '; ' ORDER BY block_no) = :'kept_row_by_row' AS same_kept
FROM witness.pruned_leaf;
SELECT block_no, whole, cardinality(entry_ids) AS kept_ids FROM witness.pruned_leaf ORDER BY block_no;

-- The trail verifies: the notes of the old partition are pruned, not missing; the entries left in
-- blocks A and B prove, the rule's among them.
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT status, entries_pruned, problem FROM witness.verify();
SELECT count(*) AS proved
FROM witness.entry e CROSS JOIN LATERAL witness.prove(e.id) p
WHERE e.table_name IN ('note', 'ledger', 'retention_rule') AND p ->> 'entry_id' = e.id::text;
-- A second run finds nothing more.
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned FROM witness.apply_retention();

-- Dropped or detached by hand, without a run, a partition is tampering: its entries are missing.
BEGIN;
ALTER TABLE witness.entry DETACH PARTITION witness.entry_new;
SELECT status, problem, count(*) FROM witness.verify() GROUP BY 1, 2 ORDER BY 1, 2;
ROLLBACK;
BEGIN;
DROP TABLE witness.entry_new;
SELECT status, problem, count(*) FROM witness.verify() GROUP BY 1, 2 ORDER BY 1, 2;
ROLLBACK;
-- A superuser calling the internal drop is the same: a partition gone, no run recorded it.
BEGIN;
SELECT witness._drop_entry_partition('witness.entry_new');
SELECT status, problem, count(*) FROM witness.verify() GROUP BY 1, 2 ORDER BY 1, 2;
ROLLBACK;

-- A table owner, a DML-only role and a role with CREATE on the database: refused (42501), and
-- nothing of the trail changes.
SET ROLE rp_owner;
SELECT * FROM witness.apply_retention();
\echo :LAST_ERROR_SQLSTATE
SELECT witness._drop_entry_partition('witness.entry_new');
\echo :LAST_ERROR_SQLSTATE
ALTER TABLE witness.entry DETACH PARTITION witness.entry_new;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE rp_dml;
SELECT witness._retention_members(b, NULL, NULL) FROM witness.block b;
\echo :LAST_ERROR_SQLSTATE
DROP TABLE witness.entry_new;
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SET ROLE rp_creator;
-- Its own schema with a look-alike of witness.partitions does not change what the run reads (search_path
-- is pinned), and it cannot run it anyway.
CREATE SCHEMA rp_shadow;
CREATE TABLE rp_shadow.partitions (partition regclass, is_default boolean, range_start timestamptz, range_end timestamptz);
SET search_path = rp_shadow, public;
SELECT * FROM witness.apply_retention();
\echo :LAST_ERROR_SQLSTATE
SELECT witness._drop_entry_partition('witness.entry_new');
\echo :LAST_ERROR_SQLSTATE
RESET search_path;
RESET ROLE;
-- witness_admin may run retention: nothing more expired (the rule now keeps a year, whatever time
-- this test took), nothing dropped.
SELECT witness.set_retention('internal', interval '1 year') IS NOT NULL AS rule_set;
SET ROLE rp_admin;
SELECT entries_pruned FROM witness.apply_retention();
RESET ROLE;
SELECT partition FROM witness.partitions ORDER BY partition::text;
SELECT status, entries_pruned FROM witness.verify();

\c :original_db
DROP DATABASE witness_retention_partitions;
DROP ROLE rp_admin, rp_owner, rp_dml, rp_creator;
