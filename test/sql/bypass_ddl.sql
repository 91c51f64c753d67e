-- Subtler ways for the owner of a tracked table to change its data, or which rows belong to it,
-- without an entry: through partitioning and inheritance, nested types, a concurrent session, and
-- long statements (docs/security.md). Each is captured, recorded or refused.
SET client_min_messages = warning;
DROP ROLE IF EXISTS d_owner;
RESET client_min_messages;
CREATE ROLE d_owner;
GRANT CREATE ON DATABASE contrib_regression TO d_owner;
CREATE SCHEMA o AUTHORIZATION d_owner;
SET ROLE d_owner;
CREATE TABLE o.acct (id int PRIMARY KEY, balance int, ssn text);
INSERT INTO o.acct VALUES (1, 100, 's1'), (2, 200, 's2');
RESET ROLE;
SELECT witness.track('o.acct', exclude_columns => '{ssn}');
CREATE FUNCTION events_since(first bigint) RETURNS TABLE (command_tag text, action text, table_name text, tracked_table text, detail jsonb)
LANGUAGE sql AS $$
	SELECT e.command_tag, e.action, e.table_name, e.tracked_table, e.detail FROM witness.ddl_event e
	WHERE e.event_id > first ORDER BY e.event_id $$;
CREATE FUNCTION last_event() RETURNS bigint LANGUAGE sql AS $$ SELECT COALESCE(max(event_id), 0) FROM witness.ddl_event $$;
\set VERBOSITY terse

-- A tracked table made a partition of an untracked table keeps its capture trigger.
SELECT last_event() AS ev \gset
SET ROLE d_owner;
CREATE TABLE o.wrap (id int, balance int, ssn text) PARTITION BY RANGE (id);
ALTER TABLE o.wrap ATTACH PARTITION o.acct FOR VALUES FROM (MINVALUE) TO (MAXVALUE);
UPDATE o.acct SET balance = 0 WHERE id = 1;
INSERT INTO o.wrap VALUES (3, 300, 's3');
ALTER TABLE o.wrap DETACH PARTITION o.acct;
DROP TABLE o.wrap;
RESET ROLE;
SELECT operation, row_key, new_values FROM witness.log WHERE table_name = 'acct' ORDER BY id DESC LIMIT 2;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'o.acct'::regclass ORDER BY 1;

-- Many members: every child and partition of a tracked table is captured, however many there are.
SET ROLE d_owner;
DO $$ BEGIN
	FOR i IN 1..8 LOOP EXECUTE format('CREATE TABLE o.kid%s () INHERITS (o.acct)', i); END LOOP;
END $$;
INSERT INTO o.kid8 VALUES (801, 1, 'k');
UPDATE o.acct SET balance = 2 WHERE id = 801;
CREATE TABLE o.pt (id int, region int) PARTITION BY LIST (region);
DO $$ BEGIN
	FOR i IN 1..6 LOOP EXECUTE format('CREATE TABLE o.pt%s PARTITION OF o.pt FOR VALUES IN (%s)', i, i); END LOOP;
END $$;
RESET ROLE;
SELECT witness.track('o.pt', key_columns => '{id}');
SET ROLE d_owner;
CREATE TABLE o.filled (id int, region int);
INSERT INTO o.filled VALUES (71, 7), (72, 7);
ALTER TABLE o.pt ATTACH PARTITION o.filled FOR VALUES IN (7);
TRUNCATE o.filled;
RESET ROLE;
SELECT operation, row_key FROM witness.log WHERE table_name = 'acct' AND row_key ->> 'id' = '801' ORDER BY id;
SELECT operation, row_key FROM witness.log WHERE table_name = 'pt' ORDER BY id;
SELECT count(*) AS members_without_both_triggers FROM witness._tracked_tree() m
WHERE m.relkind = 'r' AND (SELECT count(*) FROM pg_trigger t WHERE t.tgrelid = m.relid AND t.tgname LIKE 'witness_capture%') <> 2;
SET ROLE d_owner;
DROP TABLE o.pt;
DO $$ BEGIN
	FOR i IN 1..8 LOOP EXECUTE format('DROP TABLE o.kid%s', i); END LOOP;
END $$;
RESET ROLE;

-- Inheritance deeper than any fixed limit is followed to its end.
SET ROLE d_owner;
DO $$ BEGIN
	CREATE TABLE o.h1 () INHERITS (o.acct);
	FOR i IN 2..70 LOOP EXECUTE format('CREATE TABLE o.h%s () INHERITS (o.h%s)', i, i - 1); END LOOP;
END $$;
INSERT INTO o.h70 VALUES (70, 7000, 'deep');
UPDATE o.acct SET balance = 1 WHERE id = 70;
RESET ROLE;
SELECT operation, row_key, new_values FROM witness.log WHERE table_name = 'acct' AND row_key ->> 'id' = '70' ORDER BY id;
SET ROLE d_owner;
DROP TABLE o.h1 CASCADE;
RESET ROLE;

-- Foreign and temporary tables cannot join a tracked table: their rows live elsewhere.
SET ROLE d_owner;
CREATE TEMP TABLE tmp_child () INHERITS (o.acct);
CREATE TEMP TABLE tmp_child (id int NOT NULL, balance int, ssn text);
ALTER TABLE tmp_child INHERIT o.acct;
DROP TABLE tmp_child;
RESET ROLE;
CREATE EXTENSION postgres_fdw;
CREATE SERVER loop FOREIGN DATA WRAPPER postgres_fdw;
CREATE FOREIGN TABLE o.remote () INHERITS (o.acct) SERVER loop;
DROP SERVER loop CASCADE;
DROP EXTENSION postgres_fdw;

-- A rewrite through an untracked parent reaches the tracked child: recorded for the child.
SELECT last_event() AS ev \gset
SET ROLE d_owner;
CREATE TABLE o.base (balance int);
ALTER TABLE o.acct INHERIT o.base;
ALTER TABLE o.base ALTER COLUMN balance TYPE int USING balance * 1000;
ALTER TABLE o.acct NO INHERIT o.base;
RESET ROLE;
SELECT * FROM events_since(:ev);

-- A column renamed through an inheritance parent keeps its configuration: the excluded column stays
-- excluded under its new name.
SET ROLE d_owner;
ALTER TABLE o.acct INHERIT o.base;
ALTER TABLE o.base ADD COLUMN ssn text;
ALTER TABLE o.acct NO INHERIT o.base;
ALTER TABLE o.acct INHERIT o.base;
ALTER TABLE o.base RENAME COLUMN ssn TO tax_id;
ALTER TABLE o.acct NO INHERIT o.base;
UPDATE o.acct SET tax_id = 'leaked?' WHERE id = 2;
RESET ROLE;
SELECT exclude_columns FROM witness.tracked_tables WHERE table_name = 'o.acct'::regclass;
SELECT count(*) AS entries_with_the_excluded_value FROM witness.entry WHERE new_values::text LIKE '%leaked?%';

-- ALTER TABLE ONLY ... DROP COLUMN drops an excluded column from the tracked table but not from its
-- children: it stays excluded there.
SET ROLE d_owner;
CREATE TABLE o.acct_kid () INHERITS (o.acct);
CREATE TABLE o.acct_kid_b () INHERITS (o.acct);
INSERT INTO o.acct_kid VALUES (900, 9, 'kid secret');
ALTER TABLE ONLY o.acct DROP COLUMN tax_id;
DELETE FROM o.acct_kid;
RESET ROLE;
SELECT exclude_columns FROM witness.tracked_tables WHERE table_name = 'o.acct'::regclass;
SELECT count(*) AS entries_with_the_excluded_value FROM witness.entry WHERE old_values::text LIKE '%kid secret%';
-- While the name stays excluded, no captured column may take it (found by a review): a new child's own
-- column renamed so would stop being captured. Refused, and recorded as refused.
SET ROLE d_owner;
CREATE TABLE o.acct_kid2 (bonus int) INHERITS (o.acct);
ALTER TABLE o.acct_kid2 RENAME COLUMN bonus TO tax_id;
INSERT INTO o.acct_kid2 (id, balance, bonus) VALUES (901, 9, 100);
UPDATE o.acct_kid2 SET bonus = 200 WHERE id = 901;
RESET ROLE;
SELECT operation, old_values, new_values FROM witness.log WHERE table_name = 'acct' AND row_key ->> 'id' = '901' ORDER BY id;
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT kind, outcome, sqlstate FROM witness.activity WHERE kind = 'denied' AND statement LIKE '%RENAME COLUMN bonus TO tax_id%';
-- Nor may the child's own copy of the excluded column be renamed (found by a review): the tracked table
-- no longer has it, so the configuration could not follow the rename, would take it for a drop and
-- capture the column under its new name. Dropping it is a drop.
SET ROLE d_owner;
ALTER TABLE o.acct_kid RENAME COLUMN tax_id TO tax_old;
-- Also while a sibling still has the name (a second review): the configuration keeps it for the
-- sibling, and the renamed column would be captured.
ALTER TABLE o.acct_kid_b RENAME COLUMN tax_id TO tax_b;
INSERT INTO o.acct_kid_b (id, balance, tax_id) VALUES (902, 9, 'sibling secret');
RESET ROLE;
SELECT count(*) AS entries_with_the_excluded_value FROM witness.entry WHERE new_values::text LIKE '%sibling secret%';
SELECT exclude_columns FROM witness.tracked_tables WHERE table_name = 'o.acct'::regclass;
SET ROLE d_owner;
DROP TABLE o.acct_kid, o.acct_kid_b, o.acct_kid2;
ALTER TABLE o.acct ADD COLUMN tax_id text;
RESET ROLE;

-- Typed tables: ALTER TYPE ... ALTER ATTRIBUTE ... CASCADE rewrites them; RENAME ATTRIBUTE renames
-- their columns, configuration included.
SET ROLE d_owner;
CREATE TYPE o.money_t AS (id int, amount numeric(12,2), secret text);
CREATE TABLE o.ledger OF o.money_t (PRIMARY KEY (id));
INSERT INTO o.ledger VALUES (1, 1234.56, 'x');
RESET ROLE;
SELECT witness.track('o.ledger', exclude_columns => '{secret}');
SELECT last_event() AS ev \gset
SET ROLE d_owner;
ALTER TYPE o.money_t ALTER ATTRIBUTE amount TYPE numeric(12,0) CASCADE;
ALTER TYPE o.money_t RENAME ATTRIBUTE secret TO hidden CASCADE;
UPDATE o.ledger SET hidden = 'still hidden?';
RESET ROLE;
SELECT * FROM events_since(:ev);
SELECT exclude_columns FROM witness.tracked_tables WHERE table_name = 'o.ledger'::regclass;
SELECT count(*) AS entries_with_the_excluded_value FROM witness.entry WHERE new_values::text LIKE '%still hidden?%';

-- Enum labels swapped inside nested types: a composite, a domain over a domain, an array of a
-- domain, a range; and attributes dropped from a composite type or a table used as a column type.
SET ROLE d_owner;
CREATE TYPE o.mood AS ENUM ('ok', 'bad');
CREATE TYPE o.comp AS (m o.mood, note text);
CREATE DOMAIN o.dm1 AS o.mood;
CREATE DOMAIN o.dm2 AS o.dm1;
CREATE TABLE o.rowsrc (a int, b text);
CREATE TABLE o.nested (id int PRIMARY KEY, c o.comp, dd o.dm2, ad o.dm1[], x o.rowsrc);
RESET ROLE;
SELECT witness.track('o.nested');
SELECT last_event() AS ev \gset
SET ROLE d_owner;
ALTER TYPE o.mood RENAME VALUE 'ok' TO 'tmp';
ALTER TYPE o.comp DROP ATTRIBUTE note;
ALTER TABLE o.rowsrc DROP COLUMN b;
RESET ROLE;
SELECT command_tag, action, table_name FROM events_since(:ev);

-- A long statement is recorded whole: padding cannot push the data change out of the record.
SET ROLE d_owner;
SELECT format('/*%s*/ ALTER TABLE o.acct ALTER COLUMN balance TYPE bigint USING balance * 1000', repeat(' ', 9000)) AS padded \gset
:padded;
RESET ROLE;
SELECT length(statement) > 9000 AS whole, statement LIKE '%USING balance * 1000%' AS with_the_change
FROM witness.ddl_event ORDER BY event_id DESC LIMIT 1;

-- A session whose snapshot predates another session's change sees the newest catalog: here session B
-- makes o.mid a child of o.acct after this REPEATABLE READ transaction took its snapshot, and this
-- transaction then creates a child of o.mid. The child is captured.
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                      split_part(current_setting('unix_socket_directories'), ',', 1)));
SET ROLE d_owner;
CREATE TABLE o.mid (id int NOT NULL, balance bigint, tax_id text);
RESET ROLE;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) >= 0 AS snapshot_taken FROM pg_inherits;
SELECT dblink_exec('other', 'ALTER TABLE o.mid INHERIT o.acct');
SET LOCAL ROLE d_owner;
CREATE TABLE o.leaf () INHERITS (o.mid);
COMMIT;
SELECT tgname FROM pg_trigger WHERE tgrelid = 'o.leaf'::regclass ORDER BY 1;
SET ROLE d_owner;
INSERT INTO o.leaf VALUES (4711, 1, 't');
RESET ROLE;
SELECT operation, row_key FROM witness.log WHERE table_name = 'acct' AND row_key ->> 'id' = '4711';
-- Rows that join under REPEATABLE READ: another session adds rows after this transaction's snapshot,
-- then this transaction attaches the table. All its rows are captured.
SET ROLE d_owner;
CREATE TABLE o.late (id int NOT NULL, balance bigint, tax_id text);
INSERT INTO o.late VALUES (500, 1, 'a');
RESET ROLE;
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT count(*) AS rows_in_snapshot FROM o.late;
SELECT dblink_exec('other', 'INSERT INTO o.late VALUES (501, 2, ''b''), (502, 3, ''c'')');
SET LOCAL ROLE d_owner;
ALTER TABLE o.late INHERIT o.acct;
COMMIT;
SELECT action, detail FROM witness.ddl_event ORDER BY event_id DESC LIMIT 1;
SELECT count(*) AS late_rows_captured FROM witness.log WHERE table_name = 'acct' AND (row_key ->> 'id')::int BETWEEN 500 AND 502;

-- Another session's temporary table joins a tracked table indirectly: it is a child of an untracked
-- table that this session then makes part of the tracked one. Nobody can put triggers on it; DDL
-- keeps working everywhere, and its membership is recorded as uncaptured, once.
SET ROLE d_owner;
CREATE TABLE o.w (id int NOT NULL, balance bigint, tax_id text);
CREATE TABLE o.u () INHERITS (o.w);
RESET ROLE;
SELECT dblink_exec('other', 'CREATE TEMP TABLE tmp_kid () INHERITS (o.u)');
SET ROLE d_owner;
ALTER TABLE o.w INHERIT o.acct;
CREATE TABLE o.after_the_race (a int);
RESET ROLE;
SELECT action, table_name, tracked_table, detail ->> 'reason' AS reason FROM witness.ddl_event
WHERE action = 'uncaptured' ORDER BY event_id;

-- The owner of a tracked table makes its child a member of an extension it created (pg_trgm is
-- trusted: CREATE on the database suffices). pg_dump leaves an extension's tables out of its dumps
-- and DROP EXTENSION drops them: the membership, its end, and the drop are each recorded.
SELECT last_event() AS before_extension \gset
SET ROLE d_owner;
CREATE TABLE o.kid () INHERITS (o.acct);
INSERT INTO o.kid VALUES (700, 7, 'k');
CREATE EXTENSION pg_trgm SCHEMA o;
ALTER EXTENSION pg_trgm ADD TABLE o.kid;
ALTER EXTENSION pg_trgm DROP TABLE o.kid;
ALTER EXTENSION pg_trgm ADD TABLE o.kid;
DROP EXTENSION pg_trgm;
RESET ROLE;
SELECT command_tag, action, table_name, tracked_table, detail - 'rows_estimate' AS detail FROM events_since(:before_extension);

-- DETACH PARTITION ... CONCURRENTLY cancelled in its second transaction: the first, committed, took
-- the partition's rows out of the tracked table, and nothing after the command runs (an attack
-- review). Recorded before it starts.
CREATE TABLE o.conc (id int PRIMARY KEY, v text) PARTITION BY RANGE (id);
CREATE TABLE o.conc_1 PARTITION OF o.conc FOR VALUES FROM (0) TO (100);
CREATE TABLE o.conc_2 PARTITION OF o.conc FOR VALUES FROM (100) TO (200);
SELECT witness.track('o.conc') IS NULL AS tracked;
INSERT INTO o.conc VALUES (1, 'stays'), (150, 'leaves');
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS conc_a0 FROM witness.activity \gset
SELECT dblink_exec('other', 'BEGIN ISOLATION LEVEL REPEATABLE READ');
SELECT * FROM dblink('other', 'SELECT count(*) FROM o.conc') AS t(rows_seen bigint);
SET statement_timeout = '1s';
ALTER TABLE o.conc DETACH PARTITION o.conc_2 CONCURRENTLY;
RESET statement_timeout;
SELECT dblink_exec('other', 'COMMIT');
SELECT count(*) AS rows_left_in_tracked_table FROM o.conc;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, object_name, message FROM witness.activity WHERE activity_id > :conc_a0 AND kind = 'capture control' ORDER BY activity_id;
ALTER TABLE o.conc DETACH PARTITION o.conc_2 FINALIZE;
SELECT witness.untrack('o.conc') IS NULL AS untracked;

SELECT dblink_disconnect('other');
DROP EXTENSION dblink;

SELECT count(*) FILTER (WHERE leaf_hash <> substring(witness.entry_leaf_hash(e) FOR 8)) AS hash_mismatches FROM witness.entry e;
DROP SCHEMA o CASCADE;
DROP FUNCTION events_since(bigint), last_event();
REVOKE CREATE ON DATABASE contrib_regression FROM d_owner;
DROP ROLE d_owner;
