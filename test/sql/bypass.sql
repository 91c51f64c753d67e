-- Attempts to switch capture off, go around it or break pg_witness, made by the three roles of
-- docs/security.md: the owner of a tracked table, a role with only DML grants, and a role with CREATE
-- on the database. Each attempt is refused, or leaves an entry that says what happened.
SET client_min_messages = warning;
DROP ROLE IF EXISTS w_owner;
DROP ROLE IF EXISTS w_dml;
DROP ROLE IF EXISTS w_creator;
RESET client_min_messages;
CREATE ROLE w_owner;
CREATE ROLE w_dml;
CREATE ROLE w_creator;
GRANT CREATE ON DATABASE contrib_regression TO w_owner, w_creator;
CREATE SCHEMA owned AUTHORIZATION w_owner;
GRANT USAGE ON SCHEMA owned TO w_dml;
-- The owner may even use schema witness (to read its views, say): it changes nothing below.
GRANT USAGE ON SCHEMA witness TO w_owner;

SET ROLE w_owner;
CREATE TABLE owned.acct (id int PRIMARY KEY, balance int, note text);
CREATE TYPE owned.mood AS ENUM ('ok', 'bad');
CREATE TABLE owned.feel (id int PRIMARY KEY, m owned.mood);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON owned.acct TO w_dml;
RESET ROLE;
SELECT witness.track('owned.acct');
SELECT witness.track('owned.feel');
INSERT INTO owned.acct VALUES (1, 100, 'a'), (2, 200, 'b');
INSERT INTO owned.feel VALUES (1, 'ok'), (2, 'bad');

-- How many entries each table has so far; every attempt below is judged against these.
CREATE FUNCTION bypass_entries(t text) RETURNS bigint LANGUAGE sql AS $$
	SELECT count(*) FROM witness.entry WHERE schema_name = 'owned' AND table_name = t $$;
CREATE FUNCTION ddl_events() RETURNS TABLE (command_tag text, action text, table_name text, tracked_table text,
                                            role_name text, detail jsonb)
LANGUAGE sql AS $$
	SELECT e.command_tag, e.action, e.table_name, e.tracked_table, e.role_name, e.detail
	FROM witness.ddl_event e WHERE e.event_id > COALESCE(current_setting('test.seen_event', true), '0')::bigint
	ORDER BY e.event_id $$;
CREATE FUNCTION mark_events_seen() RETURNS void LANGUAGE sql AS $$
	SELECT set_config('test.seen_event', COALESCE((SELECT max(event_id) FROM witness.ddl_event), 0)::text, false) $$;
GRANT EXECUTE ON FUNCTION bypass_entries(text) TO PUBLIC;
SELECT mark_events_seen();

\set VERBOSITY terse
------------------------------------------------------------------------------------------------
-- The table owner
------------------------------------------------------------------------------------------------
SET ROLE w_owner;
-- The former internal flag is not a way in: setting it changes nothing.
BEGIN;
SET LOCAL pg_witness.syncing = on;
ALTER TABLE owned.acct DISABLE TRIGGER witness_capture;
ROLLBACK;
-- Renaming the capture trigger, then disabling or dropping it.
ALTER TRIGGER witness_capture ON owned.acct RENAME TO harmless;
ALTER TRIGGER witness_capture_truncate ON owned.acct RENAME TO harmless;
-- Replacing it with a no-op, restricting it with WHEN or a column list, or adding a second one.
CREATE FUNCTION owned.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE OR REPLACE TRIGGER witness_capture AFTER INSERT OR UPDATE OR DELETE ON owned.acct
	FOR EACH ROW EXECUTE FUNCTION owned.noop();
CREATE OR REPLACE TRIGGER witness_capture AFTER INSERT OR UPDATE OR DELETE ON owned.acct
	FOR EACH ROW WHEN (false) EXECUTE FUNCTION witness.capture();
CREATE OR REPLACE TRIGGER witness_capture AFTER INSERT OR UPDATE OF note OR DELETE ON owned.acct
	FOR EACH ROW EXECUTE FUNCTION witness.capture();
CREATE OR REPLACE TRIGGER witness_capture_truncate AFTER TRUNCATE ON owned.acct
	FOR EACH STATEMENT EXECUTE FUNCTION owned.noop();
CREATE TRIGGER second_copy AFTER INSERT ON owned.acct FOR EACH ROW EXECUTE FUNCTION witness.capture();
-- Tying the trigger to an extension the owner could drop.
ALTER TRIGGER witness_capture ON owned.acct DEPENDS ON EXTENSION plpgsql;
-- Disabling, or making it fire on origin only (session_replication_role = replica would skip it).
ALTER TABLE owned.acct DISABLE TRIGGER witness_capture;
ALTER TABLE owned.acct DISABLE TRIGGER ALL;
ALTER TABLE owned.acct ENABLE TRIGGER witness_capture;
ALTER TABLE owned.acct ENABLE REPLICA TRIGGER witness_capture_truncate;
-- All of that was refused: capture is intact and the next change is recorded.
SELECT tgname, tgenabled, tgfoid::regprocedure FROM pg_trigger WHERE tgrelid = 'owned.acct'::regclass ORDER BY 1;
UPDATE owned.acct SET balance = 101 WHERE id = 1;
RESET ROLE;
SELECT bypass_entries('acct') AS acct_entries;   -- 2 inserts and the update

-- A data change made by DDL, with no row trigger firing: recorded with the statement that made it.
SET ROLE w_owner;
ALTER TABLE owned.acct ALTER COLUMN balance TYPE bigint USING balance * 1000;
ALTER TABLE owned.acct DROP COLUMN note;
ALTER TYPE owned.mood RENAME VALUE 'ok' TO 'tmp';
ALTER TYPE owned.mood RENAME VALUE 'bad' TO 'ok';
ALTER TYPE owned.mood RENAME VALUE 'tmp' TO 'bad';
RESET ROLE;
SELECT * FROM ddl_events();
SELECT statement FROM witness.ddl_event WHERE schema_name = 'owned' AND command_tag = 'ALTER TABLE' ORDER BY event_id LIMIT 1;
SELECT mark_events_seen();

-- Dropping the primary key, changing rows, adding it back: entries keep their row key.
SET ROLE w_owner;
ALTER TABLE owned.acct DROP CONSTRAINT acct_pkey;
UPDATE owned.acct SET balance = 7 WHERE id = 2;
ALTER TABLE owned.acct ADD PRIMARY KEY (id);
RESET ROLE;
SELECT operation, row_key, new_values FROM witness.log WHERE table_name = 'acct' ORDER BY id DESC LIMIT 1;
SELECT key_columns, key_is_primary_key FROM witness.tracked_tables WHERE table_name = 'owned.acct'::regclass;
SELECT mark_events_seen();

-- A child table that inherits from a tracked table: its rows are the parent's rows too.
SET ROLE w_owner;
CREATE TABLE owned.acct_archive (archived date) INHERITS (owned.acct);
INSERT INTO owned.acct_archive VALUES (10, 5, '2024-01-01');
UPDATE owned.acct SET balance = balance + 1 WHERE id = 10;
DELETE FROM owned.acct WHERE id = 10;
-- A table that joins through ALTER ... INHERIT brings its rows into the trail.
CREATE TABLE owned.acct_old (id int NOT NULL, balance bigint);
INSERT INTO owned.acct_old VALUES (20, 1), (21, 2);
ALTER TABLE owned.acct_old INHERIT owned.acct;
ALTER TABLE owned.acct_old NO INHERIT owned.acct;
RESET ROLE;
SELECT operation, table_name, row_key, old_values, new_values FROM witness.log
WHERE table_name = 'acct' AND (row_key ->> 'id')::int >= 10 ORDER BY id;
SELECT * FROM ddl_events();
-- No key is unique across an inheritance tree: a child can hold a row with the key of a row of the
-- tracked table. A child's rows carry the child's name in their row key ("tableoid", a system
-- column's name, which no key column has), so that a decoy row of the same key, put in a child and
-- deleted from it, is not read as a change of the parent's row (the parent's row read as deleted).
SET ROLE w_owner;
CREATE TABLE owned.acct_decoy () INHERITS (owned.acct);
INSERT INTO owned.acct_decoy VALUES (2, 1000000);
UPDATE ONLY owned.acct SET balance = 1000000 WHERE id = 2;
DELETE FROM owned.acct_decoy WHERE id = 2;
DROP TABLE owned.acct_decoy;
RESET ROLE;
SELECT tableoid::regclass, id, balance FROM owned.acct WHERE id = 2;
SELECT operation, row_key, old_values, new_values FROM witness.log
WHERE table_name = 'acct' AND row_key ->> 'id' = '2' ORDER BY id DESC LIMIT 3;
SELECT mark_events_seen();
-- The child's name is the one it has when the row changes: after its schema is renamed, in the same
-- session, the rows carry the new name (a renamed schema invalidates no table's cache entry; the
-- capture plans are made again all the same), so that a new table under the old name starts apart.
-- Each rename is recorded as renamed, with the child's old and new name: what links its rows'
-- histories under the two names. ALTER INDEX ... RENAME, which PostgreSQL lets rename a table, too.
CREATE SCHEMA owned_kids AUTHORIZATION w_owner;
SET ROLE w_owner;
CREATE TABLE owned_kids.acct_kid () INHERITS (owned.acct);
INSERT INTO owned_kids.acct_kid VALUES (3, 30);
ALTER SCHEMA owned_kids RENAME TO owned_kids_old;
UPDATE owned_kids_old.acct_kid SET balance = 31 WHERE id = 3;
ALTER TABLE owned_kids_old.acct_kid RENAME TO acct_kid2;
UPDATE owned_kids_old.acct_kid2 SET balance = 32 WHERE id = 3;
ALTER INDEX owned_kids_old.acct_kid2 RENAME TO acct_kid3;  -- renames a table too
UPDATE owned_kids_old.acct_kid3 SET balance = 33 WHERE id = 3;
RESET ROLE;
SELECT operation, row_key, new_values FROM witness.log
WHERE table_name = 'acct' AND row_key ->> 'id' = '3' ORDER BY id;
SELECT * FROM ddl_events();
DROP SCHEMA owned_kids_old CASCADE;
SELECT mark_events_seen();
SELECT tgrelid::regclass AS rel, tgname FROM pg_trigger
WHERE tgrelid IN ('owned.acct_archive'::regclass, 'owned.acct_old'::regclass) ORDER BY 1, 2;
SELECT mark_events_seen();

-- Partitions: detach, change rows, attach again; attach a pre-filled table; drop a partition.
SET ROLE w_owner;
CREATE TABLE owned.sales (id int, region text, amount int) PARTITION BY LIST (region);
CREATE TABLE owned.sales_eu PARTITION OF owned.sales FOR VALUES IN ('eu');
RESET ROLE;
SELECT witness.track('owned.sales', key_columns => '{id}');
SELECT mark_events_seen();
SET ROLE w_owner;
INSERT INTO owned.sales VALUES (1, 'eu', 10);
ALTER TABLE owned.sales DETACH PARTITION owned.sales_eu;
UPDATE owned.sales_eu SET amount = 999;
ALTER TABLE owned.sales ATTACH PARTITION owned.sales_eu FOR VALUES IN ('eu');
CREATE TABLE owned.sales_us (id int, region text, amount int);
INSERT INTO owned.sales_us VALUES (2, 'us', 20), (3, 'us', 30);
ALTER TABLE owned.sales ATTACH PARTITION owned.sales_us FOR VALUES IN ('us');
DROP TABLE owned.sales_us;
RESET ROLE;
SELECT * FROM ddl_events();
SELECT operation, row_key, new_values FROM witness.log WHERE table_name = 'sales' ORDER BY id;
SELECT mark_events_seen();

-- Renaming a tracked table and putting a copy under its old name: the rename is recorded.
SET ROLE w_owner;
ALTER TABLE owned.feel RENAME TO feel_real;
CREATE TABLE owned.feel (id int PRIMARY KEY, m owned.mood);
ALTER SCHEMA owned RENAME TO owned2;
ALTER SCHEMA owned2 RENAME TO owned;
RESET ROLE;
SELECT * FROM ddl_events();
-- (names_since is an entry id, which depends on what ran before.)
SELECT operation, old_values - 'names_since' AS old_values, new_values - 'names_since' AS new_values,
       (new_values ->> 'names_since')::bigint > (old_values ->> 'names_since')::bigint AS names_since_moved
FROM witness.log WHERE table_name = 'tracked_table' AND operation = 'UPDATE' ORDER BY id DESC LIMIT 3;
-- The former names are not in these entries: only a rename changes them. A superuser's plain UPDATE
-- cleared them with no entry, and a hold on the table stopped covering its old name's entries (a review).
UPDATE witness.tracked_table SET former_names = '[]' WHERE relid = 'owned.feel_real'::regclass;
SELECT former_names FROM witness.tracked_table WHERE relid = 'owned.feel_real'::regclass;
SELECT mark_events_seen();

-- DROP TYPE ... CASCADE drops a typed tracked table: recorded, and the configuration forgets it.
SET ROLE w_owner;
CREATE TYPE owned.row_t AS (id int, v text);
CREATE TABLE owned.typed OF owned.row_t (PRIMARY KEY (id));
RESET ROLE;
SELECT witness.track('owned.typed');
SELECT mark_events_seen();
SET ROLE w_owner;
DROP TYPE owned.row_t CASCADE;
RESET ROLE;
SELECT * FROM ddl_events();
SELECT count(*) AS dangling_configuration FROM witness.tracked_table WHERE relid::oid NOT IN (SELECT oid FROM pg_class);
SELECT operation, old_values ->> 'schema_name' AS schema_name, old_values ->> 'table_name' AS table_name
FROM witness.log WHERE table_name = 'tracked_table' ORDER BY id DESC LIMIT 1;
SELECT mark_events_seen();

------------------------------------------------------------------------------------------------
-- A role with only DML grants
------------------------------------------------------------------------------------------------
SET ROLE w_dml;
ALTER TABLE owned.acct DISABLE TRIGGER witness_capture;
DROP TRIGGER witness_capture ON owned.acct;
SELECT witness._begin_internal_ddl();
SELECT witness._capture_rows('owned.acct');
INSERT INTO witness.ddl_event (command_tag, action, role_name) VALUES ('x', 'y', 'z');
SELECT witness.untrack('owned.acct');
SET session_replication_role = replica;
UPDATE owned.acct SET balance = 5 WHERE id = 1;
TRUNCATE owned.acct;
RESET ROLE;
SELECT operation, row_key, current_user_name FROM witness.log WHERE table_name = 'acct' ORDER BY id DESC LIMIT 2;

------------------------------------------------------------------------------------------------
-- A role with CREATE on the database
------------------------------------------------------------------------------------------------
SET ROLE w_creator;
CREATE SCHEMA creator AUTHORIZATION w_creator;
-- A trigger with a reserved name on its own partitioned table is refused; DDL by others keeps working.
CREATE TABLE creator.p (id int) PARTITION BY RANGE (id);
CREATE FUNCTION creator.noop() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER witness_capture_truncate AFTER INSERT ON creator.p FOR EACH ROW EXECUTE FUNCTION creator.noop();
CREATE TRIGGER anything AFTER INSERT ON creator.p FOR EACH ROW EXECUTE FUNCTION witness.capture_truncate();
CREATE TABLE creator.p1 PARTITION OF creator.p FOR VALUES FROM (0) TO (10);
RESET ROLE;
SET ROLE w_owner;
CREATE TABLE owned.other (id int);
ALTER TABLE owned.other ADD COLUMN v int;
DROP TABLE owned.other;
RESET ROLE;

-- A trigger named like pg_witness's, made before track(): track() refuses rather than keep it.
CREATE TABLE pre (id int PRIMARY KEY);
ALTER EVENT TRIGGER witness_ddl_command_end DISABLE;   -- as if made before pg_witness was installed
CREATE FUNCTION noop_trg() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE TRIGGER witness_capture_truncate AFTER TRUNCATE ON pre FOR EACH STATEMENT EXECUTE FUNCTION noop_trg();
ALTER EVENT TRIGGER witness_ddl_command_end ENABLE ALWAYS;
SELECT witness.track('pre');
SELECT count(*) AS pre_tracked FROM witness.tracked_table WHERE relid = 'pre'::regclass;
DROP TABLE pre;

------------------------------------------------------------------------------------------------
-- Superusers (docs/security.md): they can switch capture off without a trace. What they change
-- in the trail afterwards is caught by verify() and digests (seal.sql, digest.sql).
------------------------------------------------------------------------------------------------
SELECT mark_events_seen();
BEGIN;
SET LOCAL session_replication_role = replica;
DROP TRIGGER witness_capture ON owned.acct;
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER witness_ddl_command_end DISABLE;
ALTER TABLE owned.acct DISABLE TRIGGER witness_capture;
ROLLBACK;
SELECT count(*) AS events_left_by_superuser FROM ddl_events();
-- ... but every step leaves capture control activity, published as PostgreSQL makes the change, so
-- that a rollback or a later edit of the same transaction cannot take it back (docs/activity.md,
-- "Capture control"). So do the guards of the trail disabled, a function of pg_witness replaced and
-- a system catalog written directly, which no event trigger sees whatever its state.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS a0 FROM witness.activity \gset
BEGIN;
SET LOCAL session_replication_role = replica;
DROP TRIGGER witness_capture ON owned.acct;
ALTER TABLE owned.acct RENAME TO acct_renamed;  -- so that a table of no capture could take its name
ROLLBACK;
-- A table made an inheritance child of a tracked one creates no capture trigger: its rows would
-- join the tracked table, changeable through it, with nothing recorded (an attack review). So would
-- its leaving, and an enum value renamed under the tracked tables' values.
BEGIN;
SET LOCAL session_replication_role = replica;
CREATE TABLE owned.ghost (LIKE owned.acct);
ALTER TABLE owned.ghost INHERIT owned.acct;
ALTER TABLE owned.ghost NO INHERIT owned.acct;
CREATE TABLE owned.ghost2 () INHERITS (owned.acct);
ALTER TYPE owned.mood RENAME VALUE 'bad' TO 'fine';
ROLLBACK;
-- Nor a column added with a constant default: every row reads it without being rewritten, and no
-- row trigger fires (an attack review).
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE owned.acct ADD COLUMN planted int DEFAULT 5;
ROLLBACK;
-- So are the attributes of a row type that a tracked table stores renamed, dropped or retyped: the
-- stored values change meaning or lose a field without a row trigger firing (an attack review swapped
-- two attribute names this way). A type that nothing stores is not recorded.
BEGIN;
CREATE TYPE owned.pair AS (a int, b int);
CREATE TABLE owned.rt (x int, y int);
CREATE TYPE owned.unused AS (a int);
CREATE TABLE owned.holder (id int PRIMARY KEY, v owned.rt, p owned.pair[]);
SELECT count(*) AS tracked FROM (SELECT witness.track('owned.holder')) t;
SET LOCAL session_replication_role = replica;
ALTER TABLE owned.rt RENAME COLUMN x TO t;
ALTER TABLE owned.rt DROP COLUMN y;
ALTER TYPE owned.pair RENAME ATTRIBUTE a TO c;
ALTER TYPE owned.pair DROP ATTRIBUTE b CASCADE;
ALTER TYPE owned.unused RENAME ATTRIBUTE a TO b;
ROLLBACK;
BEGIN;
ALTER EVENT TRIGGER witness_ddl_command_end DISABLE;
ALTER TABLE owned.acct DISABLE TRIGGER witness_capture;
ALTER EVENT TRIGGER witness_ddl_command_end ENABLE REPLICA;
ROLLBACK;
BEGIN;
ALTER TABLE witness.entry_default DISABLE TRIGGER witness_append_only;
ALTER TABLE witness.entry_default ENABLE ALWAYS TRIGGER witness_append_only;
UPDATE pg_catalog.pg_class SET relhastriggers = false WHERE oid = 'owned.acct'::regclass;
SET LOCAL allow_system_table_mods = on;
TRUNCATE pg_catalog.pg_description;
ROLLBACK;
-- Refused by the event trigger, as before: a denied attempt, no capture control row.
ALTER TABLE owned.acct DISABLE TRIGGER witness_capture;
-- What only a superuser or pg_witness may do, while the event triggers check: nothing recorded.
BEGIN;
CREATE TRIGGER other_trigger AFTER INSERT ON owned.acct FOR EACH ROW EXECUTE FUNCTION noop_trg();
ALTER TABLE owned.acct DISABLE TRIGGER other_trigger;
ROLLBACK;
-- Maintenance that rewrites pg_witness's tables drops the copies it swaps in: not recorded.
VACUUM FULL witness.entry;
CLUSTER witness.entry_lookup USING entry_lookup_pkey;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, outcome, object_name, message, row_count, statement
FROM witness.activity WHERE activity_id > :a0 AND kind IN ('capture control', 'catalog write', 'denied') ORDER BY activity_id;
-- Taking pg_witness out of shared_preload_libraries is a setting change in witness.ddl_event (here
-- set to what it is, then reset).
SELECT mark_events_seen();
SELECT current_setting('shared_preload_libraries') AS preload \gset
ALTER SYSTEM SET shared_preload_libraries = :'preload';
ALTER SYSTEM RESET shared_preload_libraries;
SELECT command_tag, action, detail - 'value' - 'current_user' AS detail FROM ddl_events();
-- What would let a superuser drop those records, or hide pg_witness's objects from it, is refused
-- outright: a rule or someone else's trigger on a table of schema witness, renaming or moving
-- pg_witness's triggers, event triggers, functions and tables.
CREATE FUNCTION hide_rows() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
CREATE RULE hide AS ON INSERT TO witness.activity DO INSTEAD NOTHING;
CREATE TRIGGER hide BEFORE INSERT ON witness.ddl_event FOR EACH ROW EXECUTE FUNCTION hide_rows();
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TRIGGER witness_capture ON owned.acct RENAME TO not_capture;
ROLLBACK;
ALTER EVENT TRIGGER witness_ddl_command_end RENAME TO not_witness;
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER FUNCTION witness.capture() SET SCHEMA public;
ROLLBACK;
ALTER TABLE witness.activity SET SCHEMA public;
ALTER TABLE witness.activity RENAME TO not_activity;
-- Nor is a table moved into schema witness: pg_witness takes what is there for its own, and a tracked
-- table moved in and out again had lost its capture triggers (a robustness review).
ALTER TABLE owned.acct SET SCHEMA witness;
SELECT count(*) AS capture_triggers FROM pg_trigger WHERE tgrelid = 'owned.acct'::regclass AND tgname LIKE 'witness_capture%';
-- So are a row-level BEFORE INSERT trigger there even with pg_witness's own function (it could drop
-- rows), code of one's own in schema witness (it would run as pg_witness's, unrecorded), replacing a
-- function of pg_witness, changing the extension's members, and constraints, policies, defaults or
-- retyped columns on its tables (a NOT VALID check would stop the drain and the sealer with it, a
-- policy hide rows from auditors, a USING rewrite every row).
CREATE TRIGGER a_drop BEFORE INSERT ON witness.activity FOR EACH ROW EXECUTE FUNCTION witness._reject_write();
CREATE FUNCTION witness.helper() RETURNS void LANGUAGE sql AS 'SELECT';
CREATE OR REPLACE FUNCTION witness._reject_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END $$;
ALTER EXTENSION pg_witness DROP FUNCTION witness._reject_write();
ALTER EXTENSION pg_witness ADD FUNCTION hide_rows();
ALTER TABLE witness.activity ADD CONSTRAINT no_control CHECK (kind <> 'capture control') NOT VALID;
CREATE POLICY hide ON witness.activity AS RESTRICTIVE FOR SELECT USING (kind <> 'capture control');
ALTER TABLE witness.activity ALTER COLUMN message SET DEFAULT 'nothing';
ALTER TABLE witness.activity ALTER COLUMN message TYPE text USING (message || '');
-- Someone else's event trigger that pg_witness's own DDL fires (here in track()) runs as the
-- session's code: what it does is recorded, not taken for pg_witness's.
CREATE FUNCTION sneak() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('test.sneak', true) = 'on' THEN
		PERFORM set_config('test.sneak', 'off', true);
		UPDATE pg_catalog.pg_class SET relhastriggers = relhastriggers WHERE oid = 'owned.acct'::regclass;
		ALTER TABLE owned.acct DISABLE TRIGGER witness_capture;
	END IF;
END $$;
CREATE EVENT TRIGGER sneak ON ddl_command_end EXECUTE FUNCTION sneak();
CREATE TABLE sneaky (id int PRIMARY KEY);
BEGIN;
SET LOCAL test.sneak = on;
SELECT witness.track('sneaky');
ROLLBACK;
DROP EVENT TRIGGER sneak;
DROP TABLE sneaky;
-- Had a superuser written a rule or a trigger into the catalogs by hand (here: pg_class says
-- witness.activity has rules), the drain writes nothing, with a warning; the events wait in the queue
-- and are written once the table is as pg_witness made it again.
SELECT witness.flush_activity() >= 0 AS flushed;
UPDATE pg_catalog.pg_class SET relhasrules = true WHERE oid = 'witness.activity'::regclass;
SELECT witness.flush_activity() AS written_while_foreign;
UPDATE pg_catalog.pg_class SET relhasrules = false WHERE oid = 'witness.activity'::regclass;
SELECT witness.flush_activity() > 0 AS written_again;
SELECT kind, object_name, message, left(statement, 60) AS statement FROM witness.activity
WHERE kind IN ('capture control', 'catalog write', 'denied') ORDER BY activity_id DESC LIMIT 20;

-- witness.tracked_table in replica mode, where its capture trigger does not fire (a restore loads it
-- that way): an UPDATE or DELETE would change how a table is captured (here: stop capturing a
-- column) with no entry, and is refused, track() included; an INSERT, which could give a partition
-- settings of its own, is recorded as a catalog write.
CREATE TABLE owned.pay (id int PRIMARY KEY, amount int) PARTITION BY RANGE (id);
CREATE TABLE owned.pay_1 PARTITION OF owned.pay FOR VALUES FROM (0) TO (100);
SELECT witness.track('owned.pay');
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS a1 FROM witness.activity \gset
BEGIN;
SET LOCAL session_replication_role = replica;
UPDATE witness.tracked_table SET exclude_columns = '{amount}' WHERE relid = 'owned.pay'::regclass;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
DELETE FROM witness.tracked_table WHERE relid = 'owned.pay'::regclass;
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
SELECT witness.track('owned.pay', exclude_columns => '{amount}');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO witness.tracked_table (relid, classification, exclude_columns, schema_name, table_name)
VALUES ('owned.pay_1', 'internal', '{amount}', 'owned', 'pay_1');
ROLLBACK;
BEGIN;
SET LOCAL session_replication_role = replica;
COPY witness.tracked_table (relid, classification, exclude_columns, schema_name, table_name) FROM STDIN;
owned.pay_1	internal	{amount}	owned	pay_1
\.
ROLLBACK;
-- A filled table attached as a partition (its rows join the tracked table without entries) and
-- detached again, where the event triggers stand aside (an attack review).
CREATE TABLE owned.pay_filled (id int PRIMARY KEY, amount int);
INSERT INTO owned.pay_filled VALUES (150, 7);
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE owned.pay ATTACH PARTITION owned.pay_filled FOR VALUES FROM (100) TO (200);
ALTER TABLE owned.pay DETACH PARTITION owned.pay_filled;
ROLLBACK;
DROP TABLE owned.pay_filled;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, outcome, object_name, left(statement, 60) AS statement FROM witness.activity
WHERE activity_id > :a1 AND kind IN ('capture control', 'catalog write', 'denied') ORDER BY activity_id;
-- In origin mode the same UPDATE is an entry of the chain, as every change of the configuration is.
BEGIN;
UPDATE witness.tracked_table SET exclude_columns = '{amount}' WHERE relid = 'owned.pay'::regclass;
SELECT operation, old_values, new_values FROM witness.log
WHERE table_name = 'tracked_table' AND row_key ->> 'relid' = 'owned.pay' ORDER BY id DESC LIMIT 1;
ROLLBACK;
DROP TABLE owned.pay;

-- So is a row of pg_witness's record tables written in replica mode, where their capture triggers do
-- not fire either, through pg_witness's own functions too (here a legal hold and its release, which
-- would otherwise be no entries); and queued activity is not written then, so that every row of
-- witness.activity is an entry.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS a2 FROM witness.activity \gset
BEGIN;
SET LOCAL session_replication_role = replica;
SELECT witness.hold('bp-replica', 'evidence') IS NOT NULL AS held;
SELECT witness.release_hold('bp-replica', 'no longer needed') IS NOT NULL AS released;
SELECT witness.flush_activity() AS flushed_in_replica_mode;
ROLLBACK;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, outcome, object_name, left(statement, 60) AS statement FROM witness.activity
WHERE activity_id > :a2 AND kind IN ('capture control', 'catalog write', 'denied') ORDER BY activity_id;

-- The trail and the chain too: their insert guards fire on origin only (restores and replication
-- apply workers load rows so), and pg_witness writes them in C, past the executor. A superuser's
-- entry made up in replica mode, before the sealer takes it into a block, was recorded nowhere and
-- sealed as if captured (an attack review); a block, a chunk root, a pruned leaf or the alert rules
-- state likewise.
SELECT COALESCE(max(activity_id), 0) AS a3 FROM witness.activity \gset
BEGIN;
SET LOCAL session_replication_role = replica;
INSERT INTO witness.entry SELECT * FROM witness.entry ORDER BY id DESC LIMIT 1;
INSERT INTO witness.entry_default SELECT * FROM witness.entry_default ORDER BY id DESC LIMIT 1;
INSERT INTO witness.block SELECT * FROM witness.block LIMIT 0;
INSERT INTO witness.block_chunk SELECT * FROM witness.block_chunk LIMIT 0;
INSERT INTO witness.pruned_leaf SELECT * FROM witness.pruned_leaf LIMIT 0;
-- One row here would keep the alert rules from ever looking at a later block (a code review).
INSERT INTO witness.alert_state SELECT * FROM witness.alert_state LIMIT 0;
COPY witness.entry_default FROM stdin;
\.
ROLLBACK;
-- In origin mode the guards refuse it, and nothing else is recorded than the refusal.
INSERT INTO witness.block SELECT * FROM witness.block LIMIT 0;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, outcome, object_name, row_count, left(statement, 60) AS statement FROM witness.activity
WHERE activity_id > :a3 AND kind IN ('capture control', 'catalog write', 'denied') ORDER BY activity_id;

-- pg_witness's own configuration cannot be untracked; a dangling OID is a clear error.
SELECT witness.untrack('witness.tracked_table');
SELECT witness.untrack('witness.ddl_event');
SELECT witness.track(0::oid::regclass);
SELECT witness.untrack(0::oid::regclass);

-- Schema squatting: a role with CREATE on a database makes schema witness before a superuser runs
-- CREATE EXTENSION there. The extension refuses to install into it.
CREATE DATABASE witness_squat;
GRANT CREATE ON DATABASE witness_squat TO w_creator;
\c witness_squat
SET ROLE w_creator;
CREATE SCHEMA witness;
RESET ROLE;
CREATE EXTENSION pg_witness;
ALTER SCHEMA witness OWNER TO postgres;
CREATE FUNCTION witness.planted() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE EXTENSION pg_witness;
DROP FUNCTION witness.planted();
GRANT CREATE ON SCHEMA witness TO w_creator;
CREATE EXTENSION pg_witness;
REVOKE CREATE ON SCHEMA witness FROM w_creator;
CREATE EXTENSION pg_witness;
SELECT count(*) AS installed FROM pg_extension WHERE extname = 'pg_witness';
\c contrib_regression
DROP DATABASE witness_squat WITH (FORCE);

-- A superuser declares pg_witness's C symbols a second time, outside schema witness: calls of
-- pg_witness's own functions are recorded, these would not be. Setting the mark of pg_witness's own
-- writes so, a superuser deleted a pending entry (witness._prune_entries()) with no trace (found by an
-- attack review). Each such declaration is refused when called.
CREATE FUNCTION public.mark() RETURNS void LANGUAGE c AS '$libdir/pg_witness', 'witness_begin_internal_ddl';
CREATE FUNCTION public.prune(tid[], bigint[], oid[]) RETURNS bigint LANGUAGE c AS '$libdir/pg_witness', 'witness_prune_entries';
CREATE FUNCTION public.erase(tid[], oid[], bigint[], bigint) RETURNS bigint LANGUAGE c AS '$libdir/pg_witness', 'witness_erase_payloads';
CREATE FUNCTION public.reseal(bigint, integer) RETURNS bigint LANGUAGE c AS '$libdir/pg_witness', 'witness_reseal_payloads';
SELECT public.mark();
SELECT public.prune('{}', '{}', '{}');
SELECT public.erase('{}', '{}', '{}', 1);
SELECT public.reseal(1, 1);
SELECT witness._in_internal_ddl() AS marked;
DROP FUNCTION public.mark(), public.prune(tid[], bigint[], oid[]), public.erase(tid[], oid[], bigint[], bigint), public.reseal(bigint, integer);
-- A superuser's event trigger calls pg_witness's mark while another extension is created: calls and
-- reads were not recorded during any CREATE EXTENSION, only pg_witness's own script should pass
-- (found by a code review: an unsealed entry was pruned with no record). Recorded as calls now.
CREATE FUNCTION public.in_extension_script() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
	IF current_setting('bypass.fired', true) IS DISTINCT FROM 'yes' THEN
		PERFORM set_config('bypass.fired', 'yes', true);
		PERFORM witness._begin_internal_ddl();
		PERFORM witness._end_internal_ddl();
	END IF;
END $$;
CREATE EVENT TRIGGER bypass_in_extension_script ON ddl_command_end EXECUTE FUNCTION public.in_extension_script();
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT max(activity_id) AS activity_before FROM witness.activity \gset
CREATE EXTENSION pg_trgm;
DROP EVENT TRIGGER bypass_in_extension_script;
DROP EXTENSION pg_trgm;
DROP FUNCTION public.in_extension_script();
-- _erase_payloads() writes the trail without the mark: a session's call of it is recorded too.
SELECT witness._erase_payloads('{}', '{}', '{}', 1) AS erased_places;
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT kind, object_name FROM witness.activity
WHERE activity_id > :activity_before AND kind = 'call' AND object_name LIKE 'witness.\_%' ORDER BY activity_id;

-- The trail still verifies after all of this.
SELECT count(*) FILTER (WHERE leaf_hash <> substring(witness.entry_leaf_hash(e) FOR 8)) AS hash_mismatches FROM witness.entry e;

DROP SCHEMA creator CASCADE;
DROP SCHEMA owned CASCADE;
DROP FUNCTION bypass_entries(text), ddl_events(), mark_events_seen(), noop_trg();
REVOKE CREATE ON DATABASE contrib_regression FROM w_owner, w_creator;
REVOKE USAGE ON SCHEMA witness FROM w_owner;
DROP ROLE w_owner, w_dml, w_creator;
