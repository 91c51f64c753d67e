-- The trail is append-only for everyone, the owner and superusers included, and capture cannot be
-- switched off quietly.
CREATE TABLE guarded (id int PRIMARY KEY, v text);
SELECT witness.track('guarded');
INSERT INTO guarded VALUES (1, 'a');

\set VERBOSITY default
UPDATE witness.entry SET subject = 'forged';
DELETE FROM witness.entry;
TRUNCATE witness.entry;
INSERT INTO witness.entry SELECT * FROM witness.entry LIMIT 1;
-- Even with no rows matched.
DELETE FROM witness.entry WHERE false;
TRUNCATE witness.tracked_table;
-- The owner of the tables is the superuser running this test: the same refusals apply with
-- session_replication_role = replica for UPDATE, DELETE and TRUNCATE.
SET session_replication_role = replica;
UPDATE witness.entry SET subject = 'forged';
DELETE FROM witness.entry;
TRUNCATE witness.entry;
\set VERBOSITY terse

-- Capture triggers fire ALWAYS: replica mode (used by replication and some bulk loaders) is still captured.
INSERT INTO guarded VALUES (2, 'written as replica');
RESET session_replication_role;
SELECT operation, new_values FROM witness.log WHERE table_name = 'guarded' ORDER BY id;
SELECT count(*) AS subjects_forged FROM witness.entry WHERE subject = 'forged';

-- Capture triggers of a tracked table cannot be disabled or dropped, not even by the table owner.
SET client_min_messages = warning;
DROP ROLE IF EXISTS guarded_owner;
RESET client_min_messages;
CREATE ROLE guarded_owner;
ALTER TABLE guarded OWNER TO guarded_owner;
SET ROLE guarded_owner;
ALTER TABLE guarded DISABLE TRIGGER witness_capture;
ALTER TABLE guarded DISABLE TRIGGER ALL;
ALTER TABLE guarded ENABLE TRIGGER witness_capture;   -- origin-only would stop capture under replica
DROP TRIGGER witness_capture ON guarded;
DROP TRIGGER witness_capture_truncate ON guarded;
-- ... while ordinary changes by the owner are captured as usual.
UPDATE guarded SET v = 'by owner' WHERE id = 1;
RESET ROLE;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'guarded'::regclass ORDER BY tgname;
SELECT operation, current_user_name, new_values FROM witness.log WHERE table_name = 'guarded' ORDER BY id DESC LIMIT 1;

-- Dropping a tracked table removes its configuration (recorded) and keeps its entries.
DROP TABLE guarded;
SELECT count(*) AS still_tracked FROM witness.tracked_table WHERE relid::oid NOT IN (SELECT oid FROM pg_class);
SELECT count(*) AS entries_kept FROM witness.entry WHERE table_name = 'guarded';
SELECT operation, old_values ->> 'classification' AS classification FROM witness.log
WHERE table_name = 'tracked_table' ORDER BY id DESC LIMIT 1;

DROP ROLE guarded_owner;

-- A superuser who reshapes the trail's tables gets an error from pg_witness, not blocks or entries
-- written into the wrong columns: the layout is checked by name and position.
CREATE TABLE reshaped (id int PRIMARY KEY);
SELECT witness.track('reshaped');
INSERT INTO reshaped VALUES (1);
-- (Changing the columns of pg_witness's tables is refused, docs/activity.md, "Capture control", but
-- under its internal mark, which a superuser sets on purpose here and which is recorded.)
BEGIN;
SELECT FROM witness._begin_internal_ddl();
ALTER TABLE witness.block RENAME COLUMN sealed_at TO sealed_time;
SELECT block_no FROM witness.seal();
ROLLBACK;
BEGIN;
SELECT FROM witness._begin_internal_ddl();
ALTER TABLE witness.block ADD COLUMN note text;
SELECT block_no FROM witness.seal();
ROLLBACK;
SELECT count(*) AS sealed FROM witness.seal();
DROP TABLE reshaped;
