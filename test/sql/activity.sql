-- Activity (docs/activity.md): reads of tables tracked with capture_reads, reads of the trail,
-- refused attempts and calls of pg_witness functions, recorded whatever their transaction does.
-- The cluster runs no background sealer here: witness.flush_activity() writes the queue.
SET client_min_messages = warning;
CREATE ROLE act_app LOGIN;
CREATE ROLE act_reader LOGIN;
CREATE ROLE act_intruder LOGIN;
RESET client_min_messages;
CREATE TABLE act_acct (id int PRIMARY KEY, owner text, balance int);
INSERT INTO act_acct SELECT g, 'o' || g, g * 10 FROM generate_series(1, 20) g;
CREATE TABLE act_plain (id int PRIMARY KEY, v text);
INSERT INTO act_plain VALUES (1, 'x');
SELECT witness.track('act_acct', capture_reads => true);
SELECT witness.track('act_plain');
SELECT table_name, capture_reads FROM witness.tracked_tables WHERE table_name IN ('act_acct'::regclass, 'act_plain'::regclass) ORDER BY 1;
GRANT SELECT ON act_acct, act_plain TO act_app;
GRANT USAGE ON SCHEMA witness TO act_reader;
GRANT SELECT ON witness.entry TO act_reader;

-- Everything queued so far is written; the rows below are the test's own.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset
CREATE FUNCTION act_show(since bigint) RETURNS TABLE (kind text, outcome text, who text, object_name text,
                                                     row_count bigint, n integer, sqlstate text, message text,
                                                     statement text)
LANGUAGE sql AS $$
	SELECT a.kind, a.outcome, a.session_user_name || '/' || a.current_user_name, a.object_name,
	       CASE WHEN a.object_name = 'witness.block' THEN NULL ELSE a.row_count END,
	       a.statement_count, a.sqlstate, a.message, left(a.statement, 70)
	FROM witness.activity a
	WHERE a.activity_id > since AND a.kind <> 'login' AND a.object_name IS DISTINCT FROM 'witness.flush_activity'
	ORDER BY a.activity_id
$$;

-- Reads of a table tracked with capture_reads: once per statement, with its rows; not for a table
-- tracked without it.
SELECT count(*) FROM act_acct WHERE id <= 5;
SELECT owner FROM act_acct WHERE id = 3;
SELECT * FROM act_plain;
-- In a transaction that rolls back, in a read-only transaction, through a cursor, in a statement
-- that fails halfway: recorded all the same.
BEGIN; SELECT owner FROM act_acct WHERE id = 4; ROLLBACK;
BEGIN READ ONLY; SELECT count(*) FROM act_acct; COMMIT;
BEGIN;
DECLARE c CURSOR FOR SELECT id FROM act_acct ORDER BY id;
FETCH 3 FROM c;
FETCH 2 FROM c;
CLOSE c;
COMMIT;
SELECT id / (id - 10) FROM act_acct ORDER BY id;
-- A savepoint rolled back over a read.
BEGIN; SAVEPOINT s; SELECT owner FROM act_acct WHERE id = 6; ROLLBACK TO s; COMMIT;
-- EXPLAIN reads nothing; EXPLAIN ANALYZE does.
EXPLAIN (COSTS OFF) SELECT * FROM act_acct;
EXPLAIN (COSTS OFF, ANALYZE, TIMING OFF, SUMMARY OFF) SELECT * FROM act_acct WHERE id = 1;
-- A read inside a function, and COPY TO.
CREATE FUNCTION act_peek(i int) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	RETURN (SELECT owner FROM act_acct WHERE id = i);
END $$;
SELECT act_peek(7);
COPY act_acct TO stdout WITH (FORMAT csv);
-- Through an untracked parent the table was made a child of; an index build, which hands every value
-- to an expression of the owner's.
CREATE TABLE act_parent (id int, owner text, balance int);
ALTER TABLE act_acct INHERIT act_parent;
SELECT count(*) FROM act_parent;
ALTER TABLE act_acct NO INHERIT act_parent;
CREATE INDEX act_acct_owner ON act_acct ((owner || '!'));
DROP INDEX act_acct_owner;
DROP TABLE act_parent;
-- By another role.
SET ROLE act_app;
SELECT balance FROM act_acct WHERE id = 2;
RESET ROLE;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM act_show(:start);
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset

-- Found by a review, each recorded as a read now: extended statistics on an expression and ANALYZE,
-- which hand every value to the owner's functions as an index build does; a DELETE naming no column
-- (no SELECT privilege is checked), which hands every row to the table's triggers, rolled back; a
-- superuser (or pg_read_all_data) reading the table's TOAST table, which holds its long values.
CREATE STATISTICS act_acct_stats ON (owner || '!') FROM act_acct;
ANALYZE act_acct;
DROP STATISTICS act_acct_stats;
BEGIN; DELETE FROM act_acct; ROLLBACK;
CREATE TABLE act_long (id int PRIMARY KEY, doc text);
ALTER TABLE act_long ALTER COLUMN doc SET STORAGE EXTERNAL;
INSERT INTO act_long VALUES (1, repeat('long value ', 400));
SELECT witness.track('act_long', capture_reads => true);
DO $$ BEGIN
	EXECUTE format('CREATE VIEW act_toast AS SELECT chunk_id FROM %s',
	               (SELECT reltoastrelid::regclass FROM pg_class WHERE oid = 'act_long'::regclass));
END $$;
SELECT count(*) > 0 AS read_toast FROM act_toast;
-- A transaction that took records from the queue cannot be prepared: rolled back later, it would
-- lose them (a review lost a read so).
BEGIN;
SELECT owner FROM act_acct WHERE id = 8;
SELECT witness.flush_activity() > 0 AS took;
\set VERBOSITY terse
PREPARE TRANSACTION 'act_prepared';
\set VERBOSITY default
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM act_show(:start);
SELECT witness.untrack('act_long');
DROP VIEW act_toast;
DROP TABLE act_long;
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset

-- The same statement repeated by one session is one row, each read kept.
PREPARE get_owner(int) AS SELECT owner FROM act_acct WHERE id = $1;
EXECUTE get_owner(1);
EXECUTE get_owner(2);
EXECUTE get_owner(99);
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, statement_count, row_count, statement_rows, cardinality(statement_times) AS times,
       last_happened_at >= happened_at AS ordered
FROM witness.activity WHERE activity_id > :start AND kind = 'read';
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset

-- Reads of the trail itself, by any role and by any route; pg_witness's own reads inside its
-- functions are its calls, not reads of the trail.
SET ROLE act_reader;
SELECT count(*) >= 0 AS read FROM witness.entry;
DO $$ BEGIN PERFORM count(*) FROM witness.entry; END $$;
RESET ROLE;
SELECT count(*) > 0 AS read FROM witness.log;
COPY (SELECT id FROM witness.entry LIMIT 1) TO stdout;
COPY witness.block TO '/dev/null';
-- A table read twice by one statement is named once.
SELECT count(*) >= 0 AS read_twice FROM witness.block a JOIN witness.block b USING (block_no);
SELECT count(*) >= 0 AS verified FROM witness.verify();
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM act_show(:start);
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset

-- Refused attempts, recorded although their transaction aborts.
PREPARE act_probe(text) AS SELECT witness.subject_export($1, 'json', 'curious');
SET ROLE act_intruder;
SELECT * FROM act_acct;
UPDATE act_plain SET v = 'y';
SELECT * FROM witness.entry;
SELECT witness.verify();
SELECT witness.flush_activity();
INSERT INTO witness.activity (kind, outcome, happened_at, backend_pid) VALUES ('login', 'success', now(), 1);
BEGIN;
SELECT 1;
DELETE FROM act_plain;
ROLLBACK;
ALTER TABLE act_plain ADD COLUMN z int;
-- A password, or a data subject, in a refused statement is not kept: the trail is append-only.
ALTER ROLE act_app PASSWORD 'sekrit';
SELECT witness.subject_export('ann@example.org', 'json', 'curious');
SELECT witness.hold ('probe', 'curious', subject => 'ann@example.org');
SELECT witness."hold"/**/('probe', 'curious', subject => 'ann@example.org');
SELECT witness.U&"h\006Fld"('probe', 'curious', subject => 'ann@example.org');
EXECUTE act_probe('ann@example.org');
/* a comment first */ EXPLAIN ANALYZE EXECUTE act_probe('ann@example.org');
-- Refused in the executor of a utility command: recorded once, not once per hook it passes.
EXPLAIN ANALYZE SELECT * FROM act_acct;
-- Refusals the caller's own exception handler catches are recorded too (once each).
DO $$ BEGIN PERFORM * FROM act_acct; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'caught: %', SQLERRM; END $$;
DO $$ BEGIN EXECUTE 'ALTER TABLE act_plain ADD COLUMN z int'; EXCEPTION WHEN insufficient_privilege THEN RAISE NOTICE 'caught: %', SQLERRM; END $$;
RESET ROLE;
DEALLOCATE act_probe;
-- pg_witness's own refusals to let capture be switched off, named after the role that tried (not
-- the owner of the pg_witness function that refused).
ALTER TABLE act_plain DISABLE TRIGGER witness_capture;
ALTER TABLE act_plain OWNER TO act_app;
SET ROLE act_app;
ALTER TABLE act_plain DISABLE TRIGGER witness_capture;
RESET ROLE;
ALTER TABLE act_plain OWNER TO CURRENT_USER;
-- Even a superuser cannot write or delete activity.
DELETE FROM witness.activity;
INSERT INTO witness.activity (kind, outcome, happened_at, backend_pid) VALUES ('login', 'success', now(), 1);
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM act_show(:start);
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset

-- Found by an attack review, each a read now (each showed every value to an expression of the owner's,
-- with no trace when rolled back): a CHECK constraint added to an untracked inheritance parent and
-- validated on the tracked child; the tracked table attached as a partition of a new parent whose key
-- is an expression, or its default partition, checked when a partition is created; a constraint added to a domain of one of its columns; an expression index rebuilt
-- by its name; CLUSTER naming no table (any table of the database).
CREATE TABLE act_base (id int, owner text, balance int);
ALTER TABLE act_acct INHERIT act_base;
CREATE DOMAIN act_name AS text;
CREATE TABLE act_dom (id int PRIMARY KEY, owner act_name);
INSERT INTO act_dom VALUES (1, 'd1');
SELECT witness.track('act_dom', capture_reads => true);
CREATE INDEX act_acct_expr ON act_acct ((owner || '?'));
SELECT witness.flush_activity() > 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset
BEGIN;
ALTER TABLE act_base ADD CONSTRAINT act_base_owner CHECK (owner <> '');
ROLLBACK;
BEGIN;
CREATE TABLE act_p (id int NOT NULL, owner act_name) PARTITION BY LIST ((owner <> ''));
ALTER TABLE act_p ATTACH PARTITION act_dom FOR VALUES IN (true);
ROLLBACK;
BEGIN;
CREATE TABLE act_p (id int NOT NULL, owner act_name) PARTITION BY LIST ((owner <> ''));
ALTER TABLE act_p ATTACH PARTITION act_dom DEFAULT;
CREATE TABLE act_p_set PARTITION OF act_p FOR VALUES IN (true);
ROLLBACK;
BEGIN;
ALTER DOMAIN act_name ADD CONSTRAINT act_name_set CHECK (VALUE <> '');
ROLLBACK;
REINDEX INDEX act_acct_expr;
CLUSTER;
-- A plain VACUUM evaluates nothing of the owner's: no read; REINDEX SYSTEM rebuilds catalogs only.
VACUUM act_base;
SELECT current_database() AS act_reindexed \gset
REINDEX SYSTEM :"act_reindexed";
-- The review of the fix: a foreign table created as a partition checks the default partition too; a
-- plain VACUUM summarizes a BRIN index through its expression.
CREATE FOREIGN DATA WRAPPER act_fdw;
CREATE SERVER act_server FOREIGN DATA WRAPPER act_fdw;
BEGIN;
CREATE TABLE act_p (id int NOT NULL, owner act_name) PARTITION BY LIST ((owner <> ''));
ALTER TABLE act_p ATTACH PARTITION act_dom DEFAULT;
CREATE FOREIGN TABLE act_p_far PARTITION OF act_p FOR VALUES IN (false) SERVER act_server;
ROLLBACK;
CREATE INDEX act_dom_brin ON act_dom USING brin ((owner || '?'));
VACUUM act_dom;
DROP INDEX act_dom_brin;
DROP SERVER act_server;
DROP FOREIGN DATA WRAPPER act_fdw;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, object_name, left(statement, 70) AS statement FROM witness.activity
WHERE activity_id > :start AND object_name IN ('public.act_acct', 'public.act_dom') ORDER BY activity_id;
DROP INDEX act_acct_expr;
ALTER TABLE act_acct NO INHERIT act_base;
DROP TABLE act_base;
SELECT witness.untrack('act_dom');
DROP TABLE act_dom;
DROP DOMAIN act_name;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset

-- A command that fails after it locked a tracked table it does not name (here: a foreign key to it,
-- then a CHECK that fails) is taken to have read it (the watch of utility commands, activity_hooks.cpp:
-- a command that fails is not looked up again). An exception block rolled back inside the command's
-- own expression (act_catch) does not end the watch (a review ended it so, in a rename race).
CREATE TABLE act_ref (id int);
INSERT INTO act_ref VALUES (1);
CREATE FUNCTION act_catch(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	BEGIN
		PERFORM 1 / 0;
	EXCEPTION WHEN division_by_zero THEN
		NULL;
	END;
	RETURN i;
END $$;
BEGIN;
ALTER TABLE act_ref ADD CONSTRAINT act_ref_fk FOREIGN KEY (id) REFERENCES act_acct (id), ADD CONSTRAINT act_ref_c CHECK (act_catch(id) > 1);
ROLLBACK;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, outcome, object_name, left(statement, 40) AS statement FROM witness.activity
WHERE activity_id > :start AND object_name = 'public.act_acct' ORDER BY activity_id;
DROP TABLE act_ref;
DROP FUNCTION act_catch(int);
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset

-- Calls of pg_witness functions: one row per function and statement, failed when it raised.
SELECT block_no AS first_block FROM witness.seal() \gset
SELECT witness.track('act_plain', classification => 'no_such_class');
-- A call of a SECURITY DEFINER function names the role that called it, not the function's owner (an
-- attack review found every call of witness.search(), prove(), ... recorded as the owner's).
GRANT witness_auditor TO act_reader;
SET ROLE act_reader;
SELECT count(*) >= 0 AS searched FROM witness.search(max_rows => 1);
RESET ROLE;
-- Made by a SECURITY DEFINER function of another role's, the call is that role's (it ran as it), not
-- the role that called the function; so is a refusal inside one (the review of the fix found both
-- recorded as the statement's role, act_app here, who may read act_acct).
CREATE FUNCTION act_reader_search() RETURNS bigint LANGUAGE sql SECURITY DEFINER
AS 'SELECT count(*) FROM witness.search(max_rows => 1)';
ALTER FUNCTION act_reader_search() OWNER TO act_reader;
CREATE FUNCTION act_intruder_probe() RETURNS boolean LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN
	PERFORM count(*) FROM act_acct;
	RETURN true;
EXCEPTION WHEN insufficient_privilege THEN
	RETURN false;
END $$;
ALTER FUNCTION act_intruder_probe() OWNER TO act_intruder;
SET ROLE act_app;
SELECT act_reader_search() >= 0 AS searched, act_intruder_probe() AS probed;
RESET ROLE;
DROP FUNCTION act_reader_search(), act_intruder_probe();
REVOKE witness_auditor FROM act_reader;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM act_show(:start);

-- Events of a database dropped before anything wrote them give their slots back at the next drain
-- of any database, counted in a lost row, instead of holding them ten minutes (a busy database
-- dropped left the queue full, and other databases lost events meanwhile).
SELECT current_database() AS act_db \gset
SELECT COALESCE(sum(row_count), 0) AS lost_before FROM witness.activity WHERE kind = 'lost' \gset
CREATE DATABASE witness_act_gone;
\c witness_act_gone
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
SELECT count(*) AS verified_blocks FROM witness.verify();
\c :act_db
DROP DATABASE witness_act_gone;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT sum(row_count) - :lost_before >= 1 AS gone_database_events_counted FROM witness.activity WHERE kind = 'lost';

-- A role without any privilege that repeats a refused statement fills half the queue at most, and
-- one row: another role's read of the trail still finds a slot (an attack review lost an auditor's
-- read behind such a flood, and the refusals wrote 8,500 rows a second).
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset
SELECT current_setting('witness.activity_queue_size')::int AS queue_size \gset
SET ROLE act_intruder;
DO $$ BEGIN FOR i IN 1 .. current_setting('witness.activity_queue_size')::int LOOP BEGIN PERFORM count(*) FROM act_acct; EXCEPTION WHEN insufficient_privilege THEN NULL; END; END LOOP; END $$;
RESET ROLE;
SET ROLE act_reader;
SELECT count(*) >= 0 AS read_the_trail FROM witness.entry;
RESET ROLE;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT kind, current_user_name, count(*) AS rows,
       CASE WHEN kind = 'denied' THEN sum(statement_count) BETWEEN :queue_size / 4 AND :queue_size / 2 END AS at_most_half
FROM witness.activity WHERE activity_id > :start AND current_user_name IN ('act_intruder', 'act_reader') GROUP BY 1, 2 ORDER BY 1, 2;
SELECT sum(row_count) > 0 AS flood_counted_as_lost FROM witness.activity WHERE activity_id > :start AND kind = 'lost';
-- The lost row names whose events were lost: the login role and database of this session (the
-- refusals it could not keep were act_intruder's, under SET ROLE).
SELECT bool_or(message LIKE format('%%; whose (login role and database): %%role %s in database %s: %%',
                                   quote_ident(session_user), quote_ident(current_database()))) AS lost_row_names_login
FROM witness.activity WHERE activity_id > :start AND kind = 'lost';

-- A drain in a savepoint rolled back gives the lost events it took back, also after an earlier drain
-- of the same transaction took some (the review of the named lost rows lost the inner count so).
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT COALESCE(max(activity_id), 0) AS start2 FROM witness.activity \gset
BEGIN;
SET ROLE act_intruder;
DO $$ BEGIN FOR i IN 1 .. current_setting('witness.activity_queue_size')::int LOOP BEGIN PERFORM count(*) FROM act_acct; EXCEPTION WHEN insufficient_privilege THEN NULL; END; END LOOP; END $$;
RESET ROLE;
SELECT witness.flush_activity() > 0 AS outer_flushed;
SELECT COALESCE(sum(row_count), 0) AS outer_lost FROM witness.activity WHERE activity_id > :start2 AND kind = 'lost' \gset
SET ROLE act_intruder;
DO $$ BEGIN FOR i IN 1 .. current_setting('witness.activity_queue_size')::int LOOP BEGIN PERFORM count(*) FROM act_acct; EXCEPTION WHEN insufficient_privilege THEN NULL; END; END LOOP; END $$;
RESET ROLE;
SAVEPOINT inner_drain;
SELECT witness.flush_activity() > 0 AS inner_flushed;
SELECT sum(row_count) - :outer_lost AS inner_lost FROM witness.activity WHERE activity_id > :start2 AND kind = 'lost' \gset
ROLLBACK TO SAVEPOINT inner_drain;
COMMIT;
SELECT :inner_lost > 0 AS inner_drain_took_some;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT sum(row_count) >= :outer_lost + :inner_lost AS nothing_lost_of_the_lost FROM witness.activity WHERE activity_id > :start2 AND kind = 'lost';

-- An INSERT and a COPY FROM into the table are reads of it too: a unique or exclusion violation tells
-- that a row exists and, to a role that may select, its key (an attack review learned from failed
-- INSERTs whether a patient was booked, and nothing was recorded). Recorded whether they fail or
-- not, also when an exception block catches the violation.
SELECT COALESCE(max(activity_id), 0) AS start FROM witness.activity \gset
GRANT INSERT ON act_acct TO act_intruder;
SET ROLE act_intruder;
INSERT INTO act_acct VALUES (3, 'probe', 0);
DO $$ BEGIN INSERT INTO act_acct VALUES (4, 'probe', 0); EXCEPTION WHEN unique_violation THEN NULL; END $$;
BEGIN; INSERT INTO act_acct VALUES (99, 'probe', 0); ROLLBACK;
INSERT INTO act_acct VALUES (5, 'probe', 0) ON CONFLICT DO NOTHING;
RESET ROLE;
COPY act_acct FROM stdin;
6	dup	0
\.
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM act_show(:start) WHERE kind = 'read';
REVOKE INSERT ON act_acct FROM act_intruder;

-- Every activity row is an entry of the chain, and the chain verifies.
SELECT count(*) = (SELECT count(*) FROM witness.activity) AS every_row_an_entry
FROM witness.entry e WHERE e.schema_name = 'witness' AND e.table_name = 'activity';
SELECT count(*) > 0 AS sealed FROM witness.seal();
-- (Earlier tests tampered with older blocks on purpose: the blocks of this test are verified.)
SELECT status, count(*) FROM witness.verify(:first_block) GROUP BY status;

SELECT witness.untrack('act_acct');
SELECT witness.untrack('act_plain');
DROP TABLE act_acct, act_plain;
DROP FUNCTION act_peek(int);
DROP FUNCTION act_show(bigint);
REVOKE ALL ON witness.entry FROM act_reader;
REVOKE ALL ON SCHEMA witness FROM act_reader;
DROP ROLE act_app, act_reader, act_intruder;
