-- Reading the trail (docs/views.md): witness.changes, witness.entity_history(), witness.search(),
-- witness.entry_text(), and witness.entry_lookup, which the sealer keeps and erasure and retention
-- keep consistent. Masking and periods are witness.log's; the attempts of a table owner, a DML-only
-- role and a role with CREATE on the database are refused.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE SCHEMA vw;
GRANT USAGE ON SCHEMA vw TO PUBLIC;
CREATE ROLE vw_reader;
CREATE ROLE vw_auditor;
CREATE ROLE vw_admin;
CREATE ROLE vw_owner;
CREATE ROLE vw_dml;
CREATE ROLE vw_creator;
CREATE ROLE vw_period;
GRANT witness_reader TO vw_reader;
GRANT witness_auditor TO vw_auditor;
GRANT witness_admin TO vw_admin;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO vw_creator', current_database()); END $$;

CREATE TABLE vw.customers (id int PRIMARY KEY, name text, email text, plan text);
ALTER TABLE vw.customers OWNER TO vw_owner;
SELECT witness.track('vw.customers', column_tags => '{"email": "pii"}');
CREATE TABLE vw.secret (id int PRIMARY KEY, v text);
SELECT witness.track('vw.secret', 'pii');
GRANT SELECT, INSERT, UPDATE, DELETE ON vw.customers, vw.secret TO vw_dml;
-- Records what a role's own condition is shown of the rows it filters.
CREATE TABLE vw.leaked (v text);
GRANT INSERT, SELECT ON vw.leaked TO PUBLIC;
CREATE FUNCTION vw.leak(v text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	INSERT INTO vw.leaked VALUES (v);
	RETURN true;
END
$$;
GRANT EXECUTE ON FUNCTION vw.leak(text) TO PUBLIC;
-- Says no when a statement is refused for lack of permission (42501), else yes.
-- The SQLSTATE a statement fails with, NULL when it succeeds.
CREATE FUNCTION vw.sqlstate_of(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN NULL;
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE;
END
$$;
CREATE FUNCTION vw.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE statement;
		RAISE EXCEPTION 'ran' USING ERRCODE = 'VW000';
	EXCEPTION WHEN OTHERS THEN
		RETURN CASE WHEN SQLSTATE = '42501' THEN 'no' ELSE 'yes' END;
	END;
END
$$;
GRANT EXECUTE ON FUNCTION vw.try(text) TO PUBLIC;

SELECT clock_timestamp() AS test_start \gset
-- The changes: two inserts and an update by alice and bob, sealed; then carol's update and a delete
-- by the DML-only role's own session, pending.
SET witness.actor = 'alice@example.com';
INSERT INTO vw.customers VALUES (1, 'Ann', 'ann@example.org', 'basic'), (2, 'Bob', 'bob@example.org', 'pro');
SET witness.actor = 'bob@example.com';
UPDATE vw.customers SET name = 'Ann B', email = 'annb@example.org' WHERE id = 1;
INSERT INTO vw.secret VALUES (7, 'classified words');
SELECT count(*) AS blocks FROM witness.seal();
SET witness.actor = 'carol@example.com';
UPDATE vw.customers SET plan = 'pro' WHERE id = 1;
RESET witness.actor;
SET SESSION AUTHORIZATION vw_dml;
DELETE FROM vw.customers WHERE id = 2;
RESET SESSION AUTHORIZATION;

-- witness.changes: one row per field, typed, values as text and jsonb.
SELECT operation, table_name, row_key, field, old_value, new_value, old_value_json, new_value_json, actor, session_user_name, tags
FROM witness.changes WHERE schema_name = 'vw' ORDER BY entry_id, field;
SELECT a.attname, format_type(a.atttypid, a.atttypmod) AS type, col_description(a.attrelid, a.attnum) IS NOT NULL AS commented
FROM pg_attribute a WHERE a.attrelid = 'witness.changes'::regclass AND a.attnum > 0 ORDER BY a.attnum;

-- The sealed entries are in witness.entry_lookup, the pending ones not yet: lookups find them in the
-- tail of the trail.
SELECT e.op, e.table_name, k.id IS NOT NULL AS in_lookup, k.key_hash = witness._lookup_key_hash(e.schema_name, e.table_name, e.row_key::jsonb) AS key_hash_right
FROM witness.entry e LEFT JOIN witness.entry_lookup k ON k.id = e.id WHERE e.schema_name = 'vw' ORDER BY e.id;

-- One row's history, oldest first, pending entries included.
SELECT operation, actor, session_user_name, fields, old_values, new_values, display_text
FROM witness.entity_history('vw.customers', '{"id": 1}');
SELECT operation, actor, session_user_name, display_text FROM witness.entity_history('vw.customers', '{"id": 2}');
SELECT count(*) AS no_such_row FROM witness.entity_history('vw.customers', '{"id": 3}');
SELECT witness.entity_history('vw.customers', NULL);

-- witness.search(): newest first, each filter alone.
SELECT table_name, operation, actor FROM witness.search(target => 'vw.customers');
SELECT table_name, operation, actor FROM witness.search(target => 'vw.customers', max_rows => 2);
SELECT min(stmt_time) AS first_update FROM witness.entry WHERE schema_name = 'vw' AND op = 'U' \gset
SELECT table_name, operation FROM witness.search(since => :'first_update', target => 'vw.customers');
SELECT table_name, operation FROM witness.search(until => :'first_update', target => 'vw.customers');
SELECT table_name, operation FROM witness.search(actor => 'bob@example.com', since => :'test_start');
SELECT table_name, operation, session_user_name FROM witness.search(db_user => 'vw_dml', since => :'test_start');
SELECT table_name, operation FROM witness.search(operation => 'delete', target => 'vw.customers');
SELECT table_name, operation, tags FROM witness.search(tag => 'pii', since => :'first_update');
SELECT table_name, operation FROM witness.search(value_text => 'ANNB@', since => :'test_start');
SELECT count(*) AS none FROM witness.search(max_rows => 0);
SELECT witness.search(operation => 'upsert');
SELECT witness.search(tag => 'secret');
SELECT witness.search(max_rows => -1);
SELECT witness.search(max_rows => NULL);
-- A table by the name the trail holds: the same entries as through target, by its bare name in any
-- schema, and once it is dropped (sealed entries through the lookup table, pending ones from the
-- tail); two ways to name it at once, or a name of three parts, refused.
SELECT (SELECT count(*) FROM witness.search(target => 'vw.customers')) AS by_target,
       (SELECT count(*) FROM witness.search(table_name => 'vw.customers')) AS by_name,
       (SELECT count(*) FROM witness.search(table_name => 'CUSTOMERS', since => :'test_start')) AS by_bare_name;
SELECT operation, actor FROM witness.entity_history('vw', 'customers', '{"id": 1}');
CREATE TABLE vw.dropped (id int PRIMARY KEY, v text);
SELECT witness.track('vw.dropped');
INSERT INTO vw.dropped VALUES (1, 'a');
SELECT count(*) > 0 AS sealed FROM witness.seal();
UPDATE vw.dropped SET v = 'b';
DROP TABLE vw.dropped;
SELECT operation, new_values FROM witness.entity_history('vw', 'dropped', '{"id": 1}');
SELECT operation, row_key FROM witness.search(table_name => 'vw.dropped');
SELECT operation, row_key FROM witness.search(table_name => 'dropped');
SELECT count(*) AS other_schema FROM witness.search(table_name => 'public.dropped');
SELECT witness.search(table_name => 'a.b.c');
SELECT witness.search(table_name => '');
SELECT witness.search(table_name => '"unterminated');
SELECT witness.search(table_name => 'vw.customers', target => 'vw.customers');
SELECT witness.entity_history('vw', NULL, '{"id": 1}');
SELECT witness.entity_history('vw.customers', '[1]');
SELECT witness.entity_history(0::oid::regclass, '{"id": 1}');
SELECT witness.search(target => 0::oid::regclass);
-- pg_witness's own activity records (logins, reads of the trail, calls) only when asked for.
SELECT count(*) FILTER (WHERE table_name = 'activity') AS activity_by_default FROM witness.search(max_rows => 1000);
SELECT count(*) FILTER (WHERE table_name = 'activity') > 0 AS activity_when_asked
FROM witness.search(max_rows => 1000, include_activity => true);
SELECT count(*) > 0 AS activity_by_table FROM witness.search(table_name => 'witness.activity');
-- An UPDATE that changes a row's key belongs to both histories: the row's before (found by its old
-- key, sealed through the lookup table and pending from the tail) and after.
CREATE TABLE vw.rekey (id int PRIMARY KEY, balance int);
SELECT witness.track('vw.rekey');
INSERT INTO vw.rekey VALUES (9, 100), (10, 5);
UPDATE vw.rekey SET id = 9001, balance = 0 WHERE id = 9;
SELECT count(*) > 0 AS sealed FROM witness.seal();
UPDATE vw.rekey SET id = 9 WHERE id = 10;
SELECT operation, row_key, old_values, new_values FROM witness.entity_history('vw.rekey', '{"id": 9}');
SELECT operation, row_key FROM witness.entity_history('vw.rekey', '{"id": 9001}');
SELECT operation, row_key FROM witness.entity_history('vw.rekey', '{"id": 10}');
SELECT k.old_key_hash IS NOT NULL AS has_old_key, count(*) FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id
WHERE e.table_name = 'rekey' GROUP BY 1 ORDER BY 1;
-- Arguments that are not two JSON objects (only a tampered entry has such) give no old key rather
-- than an error that would stop the lookup table's maintenance at that entry.
SELECT witness._old_row_key('{"id": 1}', '[]') IS NULL AS not_objects, witness._old_row_key('1', '{"id": 2}') IS NULL AS not_objects_either;
SELECT witness.untrack('vw.rekey');
DROP TABLE vw.rekey;
-- The one-line text stays one line: witness.actor refuses control characters, and a column whose
-- name holds a line break shows quoted, the break as a space.
SET witness.actor = E'alice updated customers {"id": 2}: plan\npostgres';
SELECT a.n, vw.sqlstate_of(format('SET witness.actor = %L', a.v)) AS refused_with
FROM (VALUES ('line separator', E'alice\u2028postgres'), ('right-to-left override', E'alice\u202Eecila')) a(n, v);
CREATE TABLE vw.lines (id int PRIMARY KEY, "note
postgres truncated payroll" text);
SELECT witness.track('vw.lines');
INSERT INTO vw.lines VALUES (1, 'a');
UPDATE vw.lines SET "note
postgres truncated payroll" = 'b';
SELECT display_text, strpos(display_text, chr(10)) AS line_breaks FROM witness.search(target => 'vw.lines', max_rows => 1);
SELECT witness.untrack('vw.lines');
DROP TABLE vw.lines;
-- Activity carries an outcome (docs/activity.md): a refused read is found as denied, and only it.
SELECT now() AS denied_start \gset
SET ROLE vw_creator;
SELECT count(*) AS refused_4711 FROM witness.entry;
RESET ROLE;
SELECT count(*) > 0 AS flushed FROM (SELECT witness.flush_activity()) f;
SELECT table_name, operation, new_values ->> 'kind' AS kind, new_values ->> 'sqlstate' AS sqlstate
FROM witness.search(outcome => 'denied', value_text => 'refused_4711');
SELECT count(*) AS denied_among_success FROM witness.search(outcome => 'success', since => :'denied_start') s
WHERE s.new_values ->> 'outcome' <> 'success';
SELECT witness.search(outcome => 'refused');

-- The display text: no value of a classified column, even for a superuser; names of changed
-- columns for updates; the same from witness.entry_text().
SELECT display_text FROM witness.search(target => 'vw.secret');
SELECT count(*) AS texts_with_values FROM witness.search(since => :'test_start', max_rows => 1000)
WHERE display_text LIKE '%example.org%' OR display_text LIKE '%classified words%';
SELECT count(*) AS entry_text_differs FROM witness.search(target => 'vw.customers') s
WHERE witness.entry_text(s.entry_id) IS DISTINCT FROM s.display_text;

-- A reader sees the values of classified columns masked, in every one of them, and cannot find an
-- entry by a value or a key it sees masked.
SET ROLE vw_reader;
SELECT table_name, field, old_value, new_value FROM witness.changes WHERE schema_name = 'vw' ORDER BY entry_id, field;
SELECT operation, row_key, new_values, display_text FROM witness.search(target => 'vw.secret');
SELECT count(*) AS found_by_masked_value FROM witness.search(value_text => 'annb@example.org');
SELECT count(*) AS found_by_masked_value FROM witness.search(value_text => 'classified');
SELECT table_name, operation FROM witness.search(value_text => 'Ann B', since => :'test_start');
SELECT count(*) AS found_by_masked_key FROM witness.entity_history('vw.secret', '{"id": 7}');
SELECT operation, fields, new_values FROM witness.entity_history('vw.customers', '{"id": 1}');
-- Its own condition on the view sees masked values only.
SELECT count(*) >= 0 AS read FROM witness.changes WHERE schema_name = 'vw' AND vw.leak(new_value);
SELECT count(*) AS leaked_values FROM vw.leaked WHERE v LIKE '%example.org%' OR v LIKE '%classified%';
SELECT count(*) AS read_lookup FROM witness.entry_lookup;
RESET ROLE;
-- An auditor sees them.
SET ROLE vw_auditor;
SELECT operation, row_key, new_values, display_text FROM witness.entity_history('vw.secret', '{"id": 7}');
RESET ROLE;
-- An auditor limited to a period sees nothing outside it, through the functions too.
SELECT witness.grant_auditor('vw_period', now() + interval '1 day', since => now() + interval '1 hour') > 0 AS granted;
SET ROLE vw_period;
SELECT count(*) AS outside_period FROM witness.search(target => 'vw.customers');
SELECT count(*) AS outside_period FROM witness.entity_history('vw.customers', '{"id": 1}');
SELECT count(*) AS outside_period FROM witness.changes WHERE schema_name = 'vw';
SELECT witness.entry_text(max(entry_id)) AS outside_period FROM witness.search(target => 'vw.customers');
RESET ROLE;
SELECT witness.revoke_auditor('vw_period');

-- The table owner, the DML-only role and a role with CREATE on the database: refused (42501), also
-- when they make a schema of their own.
SELECT r AS role,
       vw.try('SELECT count(*) FROM witness.changes') AS changes,
       vw.try('SELECT count(*) FROM witness.search()') AS search,
       vw.try('SELECT count(*) FROM witness.entity_history(''vw.customers'', ''{"id": 1}'')') AS entity_history,
       vw.try('SELECT witness.entry_text(1)') AS entry_text,
       vw.try('SELECT count(*) FROM witness.entry_lookup') AS entry_lookup,
       vw.try('SELECT witness._maintain_lookup()') AS maintain
FROM unnest(ARRAY['vw_owner', 'vw_dml', 'vw_creator']) r
CROSS JOIN LATERAL (SELECT set_config('role', r, true)) s
ORDER BY 1;
RESET ROLE;
SET ROLE vw_creator;
CREATE SCHEMA vw_evil;
CREATE FUNCTION vw_evil.search() RETURNS SETOF text LANGUAGE sql AS $$ SELECT 'evil' $$;
SET search_path = vw_evil, public;
SELECT vw.try('SELECT count(*) FROM witness.search()') AS search_with_own_schema_first;
RESET search_path;
RESET ROLE;
-- The roles may, and the admin sees values unmasked.
SELECT r AS role,
       vw.try('SELECT count(*) FROM witness.changes') AS changes,
       vw.try('SELECT count(*) FROM witness.search()') AS search,
       vw.try('SELECT count(*) FROM witness.entity_history(''vw.customers'', ''{"id": 1}'')') AS entity_history,
       vw.try('SELECT witness.entry_text(1)') AS entry_text,
       vw.try('SELECT count(*) FROM witness.entry_lookup') AS entry_lookup
FROM unnest(ARRAY['vw_reader', 'vw_auditor', 'vw_admin']) r
CROSS JOIN LATERAL (SELECT set_config('role', r, true)) s
ORDER BY 1;
RESET ROLE;
SET ROLE vw_admin;
SELECT new_value FROM witness.changes WHERE schema_name = 'vw' AND field = 'email' AND operation = 'UPDATE';
RESET ROLE;

-- Consistency after a seal: every entry the newest block sees is in witness.entry_lookup with its
-- statement time, and every row there is an entry.
SELECT count(*) AS blocks FROM witness.seal();
SELECT count(*) AS sealed_missing FROM witness.entry e, (SELECT snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1) b
WHERE pg_visible_in_snapshot(e.xid, b.snapshot) AND NOT EXISTS (SELECT FROM witness.entry_lookup k WHERE k.id = e.id AND k.stmt_time = e.stmt_time);
SELECT count(*) AS stray FROM witness.entry_lookup k WHERE NOT EXISTS (SELECT FROM witness.entry e WHERE e.id = k.id);
SELECT block_no = (SELECT max(block_no) FROM witness.block) AS state_current FROM witness.lookup_state;

-- When the lookup table cannot be filled, the block is sealed all the same (a WARNING), lookups find
-- its entries in the trail, and the next seal adds them.
-- (A constraint on pg_witness's tables only under its internal mark, docs/activity.md.)
BEGIN;
SELECT FROM witness._begin_internal_ddl();
ALTER TABLE witness.entry_lookup ADD CONSTRAINT vw_broken CHECK (id < 0) NOT VALID;
COMMIT;
UPDATE vw.customers SET plan = 'gold' WHERE id = 1;
SET client_min_messages = notice;
SELECT count(*) AS blocks FROM witness.seal();
SET client_min_messages = warning;
SELECT block_no < (SELECT max(block_no) FROM witness.block) AS state_behind FROM witness.lookup_state;
SELECT operation, actor, display_text FROM witness.search(target => 'vw.customers', max_rows => 1);
ALTER TABLE witness.entry_lookup DROP CONSTRAINT vw_broken;
UPDATE vw.customers SET plan = 'pro' WHERE id = 1;
SELECT count(*) AS blocks FROM witness.seal();
SELECT block_no = (SELECT max(block_no) FROM witness.block) AS state_current FROM witness.lookup_state;
SELECT count(*) AS gold_in_lookup FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id
WHERE e.table_name = 'customers' AND e.new_values::jsonb ->> 'plan' = 'gold';

-- Hiding an entry from search() by editing the lookup table: refused, even to a superuser, also in
-- replica mode; only pg_witness's sealer writes it. A superuser who sets pg_witness's internal mark by
-- hand gets past the guard, and the call that set it is recorded in witness.activity.
DELETE FROM witness.entry_lookup k USING witness.entry e WHERE e.id = k.id AND e.table_name = 'customers';
UPDATE witness.entry_lookup SET actor = 'someone else';
TRUNCATE witness.entry_lookup;
INSERT INTO witness.entry_lookup SELECT * FROM witness.entry_lookup LIMIT 1;
UPDATE witness.lookup_state SET block_no = 0;
-- Nor through the C function the sealer writes them with: it asks for pg_witness's mark.
SELECT witness._add_lookup_rows(b, NULL) FROM witness.block b ORDER BY b.block_no LIMIT 1;
SET session_replication_role = replica;
DELETE FROM witness.entry_lookup;
INSERT INTO witness.entry_lookup SELECT * FROM witness.entry_lookup LIMIT 1;
INSERT INTO witness.lookup_state VALUES (true, 1000000) ON CONFLICT DO NOTHING;
RESET session_replication_role;
SELECT count(*) AS customers_found FROM witness.search(target => 'vw.customers');
BEGIN;
SELECT count(*) AS vw_marked FROM witness._begin_internal_ddl();
DELETE FROM witness.entry_lookup k USING witness.entry e WHERE e.id = k.id AND e.table_name = 'customers';
SELECT witness.flush_activity() >= 1 AS flushed;
SELECT kind, outcome, object_name, statement FROM witness.activity
WHERE object_name = 'witness._begin_internal_ddl' AND statement LIKE '%vw_marked%';
ROLLBACK;

-- Erasure: the erased entries lose their key hash, and a row's history no longer finds them.
CREATE TABLE vw.people (id int PRIMARY KEY, who text, v text);
SELECT witness.track('vw.people', column_tags => '{"who": "pii"}', subject_column => 'who', encrypt => false);
INSERT INTO vw.people VALUES (1, 'pat@vw.example', 'a'), (2, 'sam@vw.example', 'b');
SELECT count(*) AS blocks FROM witness.seal();
SELECT count(*) AS history_before FROM witness.entity_history('vw.people', '{"id": 1}');
-- Earlier tests leave encrypted entries: an erasure needs the master keys to look into them (a, and
-- b, the rotation test's new key, under which the entries it captured since have their pseudonyms).
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) || set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false)) IS NOT NULL AS set;
SELECT witness.erase_subject('pat@vw.example', 'views test') AS erased;
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
SELECT count(*) AS history_after FROM witness.entity_history('vw.people', '{"id": 1}');
SELECT count(*) AS history_other FROM witness.entity_history('vw.people', '{"id": 2}');
SELECT count(*) AS erased_with_key_hash FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id
WHERE e.erasure_id IS NOT NULL AND k.key_hash IS NOT NULL;
SELECT operation, row_key, display_text FROM witness.search(target => 'vw.people');

-- The sealer writes the lookup rows in C (witness._add_lookup_rows()): exactly the rows
-- witness._lookup_rows() gives for each block, row keys, old keys of key-changing UPDATEs and erased
-- entries included.
-- All but entry_tid, the place the SQL rows cannot know: the C writer's is checked next.
CREATE TEMP VIEW lookup_have AS SELECT k.id, k.block_no, k.stmt_time, k.table_hash, k.key_hash, k.op, k.tags, k.actor,
	k.session_user_name, k.old_key_hash, k.subject_key
	FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.schema_name = 'vw';
CREATE TEMP VIEW lookup_want AS SELECT l.id, l.block_no, l.stmt_time, l.table_hash, l.key_hash, l.op, l.tags, l.actor,
	l.session_user_name, l.old_key_hash, l.subject_key
	FROM witness.block b, witness._lookup_rows(b, witness._previous_snapshot(b.block_no)) l
	JOIN witness.entry e ON e.id = l.id WHERE e.schema_name = 'vw';
SELECT count(*) AS lookup_differs FROM (
	(SELECT * FROM lookup_have EXCEPT ALL SELECT * FROM lookup_want)
	UNION ALL
	(SELECT * FROM lookup_want EXCEPT ALL SELECT * FROM lookup_have)) x;
DROP VIEW lookup_have, lookup_want;
-- Each lookup row remembers where its entry is (witness._entries_at() reads it there), an erased
-- one's too: the erasure wrote a new version of the row elsewhere and told the lookup row.
SELECT count(*) FILTER (WHERE e.ctid = k.entry_tid) = count(*) AS tids_point_at_entries,
       count(*) FILTER (WHERE e.erasure_id IS NOT NULL) > 0 AS some_erased
FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.schema_name = 'vw';
SELECT count(*) AS old_keys FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id
WHERE e.schema_name = 'vw' AND k.old_key_hash IS NOT NULL;

-- witness.verify_lookup() derives every block's lookup rows again and compares. A superuser who sets
-- pg_witness's mark by hand can delete or change lookup rows, and so hide an entry from
-- erase_subject() and subject_export(); verify_lookup() counts each row missing or altered.
SELECT count(*) > 0 AS blocks_checked, sum(missing) AS missing, sum(altered) AS altered, sum(extra) AS extra FROM witness.verify_lookup();
BEGIN;
SELECT count(*) AS vw_marked FROM witness._begin_internal_ddl();
DELETE FROM witness.entry_lookup k USING witness.entry e WHERE e.id = k.id AND e.table_name = 'people' AND e.subject = 'sam@vw.example';
UPDATE witness.entry_lookup k SET actor = 'someone else' FROM witness.entry e WHERE e.id = k.id AND e.table_name = 'customers';
SELECT count(*) AS sam_found FROM witness._subject_entries('sam@vw.example', NULL);
SELECT sum(missing) AS missing, sum(altered) > 0 AS altered, sum(extra) AS extra FROM witness.verify_lookup();
ROLLBACK;
SELECT count(*) AS sam_found FROM witness._subject_entries('sam@vw.example', NULL);
SELECT sum(missing + altered + extra) AS problems FROM witness.verify_lookup(1, 3);

-- Retention: pruned entries leave witness.entry_lookup, whole blocks and partly pruned ones alike.
CREATE TABLE vw.old (id int PRIMARY KEY);
SELECT witness.track('vw.old', 'restricted');
INSERT INTO vw.old SELECT g FROM generate_series(1, 3) g;
SELECT count(*) AS blocks FROM witness.seal();
INSERT INTO vw.old VALUES (4);
INSERT INTO vw.customers VALUES (5, 'Eve', 'eve@example.org', 'basic');
SELECT count(*) AS blocks FROM witness.seal();
SELECT count(*) AS old_in_lookup FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.table_name = 'old';
SELECT witness.set_retention('restricted', '1 microsecond') IS NOT NULL AS set;
SELECT pg_sleep(0.01);
SELECT entries_pruned >= 4 AS pruned FROM witness.apply_retention();
SELECT count(*) AS old_found FROM witness.search(target => 'vw.old');
SELECT count(*) AS stray FROM witness.entry_lookup k WHERE NOT EXISTS (SELECT FROM witness.entry e WHERE e.id = k.id);
SELECT count(*) AS customers_kept FROM witness.entity_history('vw.customers', '{"id": 5}');
SELECT witness.set_retention('restricted', NULL) IS NOT NULL AS reset;

-- Text that JSON writes escaped: a tab, quotes, a backslash (none was found before).
CREATE TABLE vw.escaped (id int PRIMARY KEY, v text);
SELECT witness.track('vw.escaped');
INSERT INTO vw.escaped VALUES (1, E'tab\there'), (2, 'say "hi" now'), (3, 'C:\dir');
SELECT s.row_key ->> 'id' AS found, n.needle
FROM unnest(ARRAY[E'tab\there', 'say "hi"', 'C:\dir']) AS n(needle),
     LATERAL witness.search(value_text => n.needle, target => 'vw.escaped') s ORDER BY 1;
SELECT witness.untrack('vw.escaped');
DROP TABLE vw.escaped;

-- Clean up.
SELECT witness.untrack(t) FROM unnest(ARRAY['vw.customers', 'vw.secret', 'vw.people', 'vw.old']::regclass[]) t;
SELECT format('REVOKE CREATE ON DATABASE %I FROM vw_creator', current_database()) \gexec
DROP SCHEMA vw CASCADE;
DROP SCHEMA vw_evil CASCADE;
DROP OWNED BY vw_reader, vw_auditor, vw_admin, vw_owner, vw_dml, vw_creator, vw_period;
DROP ROLE vw_reader, vw_auditor, vw_admin, vw_owner, vw_dml, vw_creator, vw_period;
