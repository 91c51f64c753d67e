-- Collector mode (docs/central.md) without replication: who may make a database a collector, what a
-- collector refuses, and that collector mode cannot switch capture or sealing off in a database with
-- a trail of its own. test/integration/central_collector.sh ships real trails to collectors.
\set VERBOSITY terse
CREATE ROLE co_owner;
CREATE ROLE co_dml;
CREATE ROLE co_creator;
CREATE ROLE co_admin IN ROLE witness_admin;
CREATE TABLE co_items (id int PRIMARY KEY, label text);
ALTER TABLE co_items OWNER TO co_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON co_items TO co_dml;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO co_creator, co_owner', current_database()); END $$;
SELECT witness.track('co_items');

-- This database has a trail: no role makes it a collector, not even a superuser.
SELECT witness.become_collector('1/elsewhere');
SET ROLE co_owner;
SELECT witness.become_collector('1/elsewhere');
RESET ROLE;
SET ROLE co_dml;
SELECT witness.become_collector('1/elsewhere');
RESET ROLE;
SET ROLE co_creator;
SELECT witness.become_collector('1/elsewhere');
RESET ROLE;
SET ROLE co_admin;
SELECT witness.become_collector('1/elsewhere');
SELECT witness.publish_trail();
RESET ROLE;
SELECT count(*) AS collector_rows FROM witness.collector;
SELECT * FROM witness.collector_status;

-- Every column of the new table and view is commented.
SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attrelid IN ('witness.collector'::regclass, 'witness.collector_status'::regclass)
  AND a.attnum > 0 AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL;

-- A new database: CREATE EXTENSION and become_collector() in one transaction.
CREATE DATABASE regress_witness_collector;
\c regress_witness_collector
\set VERBOSITY terse
BEGIN;
CREATE EXTENSION pg_witness;
SAVEPOINT s;
SELECT witness.become_collector(NULL);
ROLLBACK TO SAVEPOINT s;
SELECT witness.become_collector('7000000000000000001/shop');
COMMIT;
SELECT source, became_by FROM witness.collector;
SELECT source, subscription, receiving, last_block_no FROM witness.collector_status;
-- Capture of pg_witness's own tables is off (an entry made here would mix with the source's).
SELECT count(*) AS capture_triggers FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid
WHERE c.relnamespace = 'witness'::regnamespace AND g.tgname LIKE 'witness_capture%';
SELECT count(*) AS tracked FROM witness.tracked_table;

-- What a collector refuses, to a superuser too.
SELECT witness.become_collector('7000000000000000002/other');
CREATE TABLE co_local (id int PRIMARY KEY);
SELECT witness.track('co_local');
SELECT * FROM witness.seal();
SELECT witness.erase_subject('ann@example.com', 'GDPR Art. 17 request #1');
SELECT witness.set_retention('internal', interval '1 day');
SELECT * FROM witness.apply_retention();
-- Legal holds too (an attack review: shown in force, and the shipped erasures emptied what they held).
SELECT witness.hold('case 1', 'litigation');
SELECT witness.hold('case 2', 'litigation', subject => 'ann@example.com');
SELECT witness.publish_trail();
UPDATE witness.collector SET source = 'x';
DELETE FROM witness.collector;
TRUNCATE witness.collector;
INSERT INTO witness.collector (source, became_by) VALUES ('x', 'y');
SET session_replication_role = replica;
DELETE FROM witness.collector;
UPDATE witness.entry SET actor = 'x';
DELETE FROM witness.block;
RESET session_replication_role;
-- With the statement guards disabled, the row guards (which an apply worker fires) still refuse.
BEGIN;
SET session_replication_role = replica;
INSERT INTO witness.block (block_no, snapshot, entry_count, first_entry_id, last_entry_id, merkle_root, prev_hash, sealed_at, block_hash)
VALUES (1, '10:10:', 0, NULL, NULL, '\x00', '\x00', now(), '\x00');
RESET session_replication_role;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
UPDATE witness.block SET entry_count = 1;
ROLLBACK;
SELECT count(*) AS blocks FROM witness.block;
SELECT status, blocks_checked, entries_checked FROM witness.verify();

-- An erasure entry arrives whose content does not give its stored leaf hash (made up without
-- computing it, as an attack review did on a source): it erases nothing here (the positive path,
-- a real erasure shipped and applied, is test/integration/central_collector.sh).
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO witness.entry (id, xid, stmt_time, backend_pid, tags, format, op, schema_name, table_name, row_key, subject,
                           new_values, session_user_name, current_user_name, leaf_hash, salt, commitment)
VALUES (1, '700', now(), 1, 1, 2, 'I', 'public', 'shop', '{"id": 1}', 'ann', '{"id": 1, "v": "x"}', 'u', 'u', '\x00', '\x0102', '\x00'),
       (2, '701', now(), 1, 16, 2, 'I', 'witness', 'erasure', '{"erasure_id": 77}', NULL,
        '{"entry_ids": "{1}", "erasure_id": 77}', 'u', 'u', '\x00', '\x0102', '\x00');
SELECT id, erasure_id, new_values IS NOT NULL AS has_values FROM witness.entry ORDER BY id;
ROLLBACK;

-- An entry that arrives twice (a subscription dropped and made again copies the trail again) is
-- refused, not stored twice (a review); one of a month with no partition yet waits in the default
-- partition, and making that month's partition moves it there, on a collector too (the same review
-- found a collector that could make no partition again).
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO witness.entry (id, xid, stmt_time, backend_pid, tags, format, op, schema_name, table_name, row_key,
                           new_values, session_user_name, current_user_name, leaf_hash, salt, commitment)
VALUES (3, '702', date_trunc('month', now()) + interval '5 months', 1, 1, 2, 'I', 'public', 'shop', '{"id": 3}', '{"id": 3}', 'u', 'u', '\x00', '\x0102', '\x00');
SAVEPOINT again;
INSERT INTO witness.entry SELECT * FROM witness.entry WHERE id = 3;
ROLLBACK TO again;
-- So is an entry of an id held already with another statement time: another trail's (a review: a
-- source's pg_witness dropped and created again numbered its entries from 1, and an erasure of the new
-- trail erased the old trail's entry of the same id here).
SAVEPOINT again;
INSERT INTO witness.entry (id, xid, stmt_time, backend_pid, tags, format, op, schema_name, table_name, row_key,
                           new_values, session_user_name, current_user_name, leaf_hash, salt, commitment)
VALUES (3, '703', now(), 1, 1, 2, 'I', 'public', 'shop', '{"id": 3}', '{"id": 3}', 'u', 'u', '\x00', '\x0102', '\x00');
ROLLBACK TO again;
SELECT tableoid::regclass AS partition FROM witness.entry WHERE id = 3;
SELECT count(*) > 0 AS made FROM witness.create_entry_partitions(6);
SELECT tableoid::regclass = 'witness.entry_default'::regclass AS still_default, count(*) FROM witness.entry WHERE id = 3 GROUP BY 1;
ROLLBACK;

\c contrib_regression
\set VERBOSITY terse
DROP DATABASE regress_witness_collector;

-- A collector row forged into a database that tracks tables (a superuser, as a restore would load
-- it) does not stop its sealing: the sealer warns and seals it as a source.
CREATE DATABASE regress_witness_forged;
\c regress_witness_forged
\set VERBOSITY terse
CREATE EXTENSION pg_witness;
CREATE TABLE f_items (id int PRIMARY KEY);
SELECT witness.track('f_items');
INSERT INTO f_items VALUES (1);
SET session_replication_role = replica;
INSERT INTO witness.collector (source, became_by) VALUES ('1/forged', 'mallory');
RESET session_replication_role;
SELECT block_no, entry_count FROM witness.seal();
SELECT status, blocks_checked, entries_checked FROM witness.verify();
-- Nor does it stop tracking.
CREATE TABLE f_more (id int PRIMARY KEY);
SELECT witness.track('f_more');
SELECT count(*) AS tracked FROM witness.tracked_table WHERE schema_name = 'public';
\c contrib_regression
\set VERBOSITY terse
DROP DATABASE regress_witness_forged;

-- A source names itself in its trail when it publishes it (witness.trail_publication): a collector
-- made for another database that receives this trail says so (a review subscribed the collector of
-- one database to another's publication, and it verified as valid). The entry is copied over as the
-- apply worker would insert it; the positive case is test/integration/central_collector.sh.
-- The source's database is LATIN1: a collector database of another encoding says so (a review's
-- collector in UTF8 of a WIN1252 source reported untouched entries as tampered).
CREATE DATABASE regress_witness_pub ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
\c regress_witness_pub
\set VERBOSITY terse
CREATE EXTENSION pg_witness;
-- A role with CREATE on the database made a publication of that name first: publish_trail() takes it
-- over (a review: it was set right but stayed that role's, who then stopped it publishing inserts).
CREATE ROLE co_squatter;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO co_squatter', current_database()); END $$;
SET client_min_messages = error; -- no wal_level warning
SET ROLE co_squatter;
CREATE PUBLICATION witness_trail;
RESET ROLE;
SELECT witness.publish_trail();
RESET client_min_messages;
SELECT pg_get_userbyid(pubowner) = current_user AS owned_by_caller, pubinsert, pubupdate,
       (SELECT count(*) FROM pg_publication_tables t WHERE t.pubname = p.pubname) AS tables
FROM pg_publication p WHERE pubname = 'witness_trail';
SELECT new_values::jsonb ->> 'database_id' = witness.database_id() AS names_itself,
       new_values::jsonb ->> 'role_name' AS role_name FROM witness.entry WHERE table_name = 'trail_publication';
-- Pausing the publication, or dropping one of its tables, is capture control: a review paused it, had a
-- superuser rewrite an entry before it shipped, resumed it, and nothing named the pause.
SELECT witness.flush_activity() >= 0 AS flushed;
ALTER PUBLICATION witness_trail SET (publish = '');
ALTER PUBLICATION witness_trail DROP TABLE witness.era;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, object_name, message FROM witness.activity WHERE object_name LIKE 'publication%' ORDER BY activity_id;
SET client_min_messages = error;
SELECT witness.publish_trail();
RESET client_min_messages;
SELECT row_to_json(e)::text AS pubrow FROM witness.entry e WHERE table_name = 'trail_publication' ORDER BY id LIMIT 1 \gset
-- pg_witness dropped and created again: a new trail, under a new trail id, which a collector of the
-- old one refuses (publish_trail() warns so: central_collector.sh).
SELECT new_values::jsonb ->> 'trail_id' AS old_trail FROM witness.entry WHERE table_name = 'trail_publication' ORDER BY id LIMIT 1 \gset
SELECT count(DISTINCT new_values::jsonb ->> 'trail_id') AS trail_ids FROM witness.entry WHERE table_name = 'trail_publication';
DROP EXTENSION pg_witness;
CREATE EXTENSION pg_witness;
SET client_min_messages = error;
SELECT witness.publish_trail();
RESET client_min_messages;
SELECT row_to_json(e)::text AS newpubrow, new_values::jsonb ->> 'trail_id' <> :'old_trail' AS new_trail_id
FROM witness.entry e WHERE table_name = 'trail_publication' ORDER BY id LIMIT 1 \gset
SELECT :'new_trail_id' AS new_trail_id;
-- An erasure names the leaf hashes of the entries it erased (their first 8 bytes): a collector erases
-- only those, not another trail's entries of the same ids (an attack review published a re-created
-- trail by hand, past the checks above, and its erasure emptied the old trail's entries centrally).
CREATE TABLE pub_people (id int PRIMARY KEY, email text);
SELECT witness.track('pub_people', 'pii', subject_column => 'email', encrypt => false);
INSERT INTO pub_people VALUES (1, 'ann@example.com');
INSERT INTO pub_people VALUES (2, 'ann@example.com');
INSERT INTO pub_people VALUES (3, 'ann@example.com');
SELECT json_agg(row_to_json(e) ORDER BY e.id)::text AS annrows FROM witness.entry e WHERE e.table_name = 'pub_people' \gset
-- Her third entry's stored leaf hash altered here after it shipped: the erasure lists it as tampered,
-- and the collector, whose copy is intact, erases it too (the review of the leaf check).
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET leaf_hash = '\x0807060504030201' WHERE id = ((:'annrows'::jsonb) -> 2 ->> 'id')::bigint;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
COMMIT;
SET client_min_messages = error;
SELECT witness.erase_subject('ann@example.com', 'GDPR Art. 17 request #5') AS erased;
RESET client_min_messages;
SELECT row_to_json(e)::text AS erasurerow, cardinality((new_values::jsonb ->> 'entry_leaves')::bytea[]) AS leaves_named
FROM witness.entry e WHERE e.table_name = 'erasure' ORDER BY e.id DESC LIMIT 1 \gset
SELECT :'leaves_named' AS leaves_named;
CREATE DATABASE regress_witness_wrong;
\c regress_witness_wrong
\set VERBOSITY terse
BEGIN;
CREATE EXTENSION pg_witness;
SELECT witness.become_collector('7000000000000000001/shop');
COMMIT;
SELECT published_as, source_matches FROM witness.collector_status;
SET session_replication_role = replica;
SET client_min_messages = error; -- the warning names the cluster's system identifier
INSERT INTO witness.entry SELECT * FROM json_populate_record(NULL::witness.entry, :'pubrow');
-- Changed on the way (the name it gives altered): not taken.
INSERT INTO witness.entry
SELECT (jsonb_populate_record(NULL::witness.entry, p || jsonb_build_object('id', (p ->> 'id')::bigint + 100,
                                                                           'new_values', (p -> 'new_values') || '{"database_id": "1/forged"}'))).*
FROM (SELECT :'pubrow'::jsonb AS p) x;
RESET client_min_messages;
-- The new trail's publication is refused: the apply worker stops there.
INSERT INTO witness.entry SELECT * FROM json_populate_record(NULL::witness.entry, :'newpubrow');
RESET session_replication_role;
SELECT published_as LIKE '%/regress_witness_pub' AS names_the_publisher, source_matches FROM witness.collector_status;
SELECT count(*) AS origins, count(DISTINCT trail_id) AS trails FROM witness.collector_origin;
-- Ann's first entry as it shipped; her second's id held by another trail's entry; then the erasure.
SET session_replication_role = replica;
INSERT INTO witness.entry SELECT * FROM json_populate_record(NULL::witness.entry, (:'annrows'::json) -> 0);
INSERT INTO witness.entry SELECT * FROM jsonb_populate_record(NULL::witness.entry,
	((:'annrows'::jsonb) -> 1) || '{"leaf_hash": "\\x0102030405060708", "new_values": {"id": 2, "email": "bob@example.com"}}');
INSERT INTO witness.entry SELECT * FROM json_populate_record(NULL::witness.entry, (:'annrows'::json) -> 2);
INSERT INTO witness.entry SELECT * FROM json_populate_record(NULL::witness.entry, :'erasurerow');
RESET session_replication_role;
SELECT new_values::jsonb ->> 'email' AS email, erasure_id IS NOT NULL AS erased FROM witness.entry
WHERE table_name = 'pub_people' ORDER BY id;
SELECT source_encoding, encoding_matches FROM witness.collector_status;
\c contrib_regression
\set VERBOSITY terse
DROP DATABASE regress_witness_wrong;
DROP DATABASE regress_witness_pub;
DROP ROLE co_squatter;

DROP TABLE co_items;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM co_creator, co_owner', current_database()); END $$;
DROP ROLE co_owner, co_dml, co_creator, co_admin;
