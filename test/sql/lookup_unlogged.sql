-- The lookup table is unlogged (docs/views.md, "Speed"): a crash, a promotion or a base backup
-- leaves witness.entry_lookup and witness.lookup_state empty, together. Simulated here by emptying
-- both under pg_witness's mark. Every reader must then find exactly what it found before, through
-- the trail (search by table and by table name, a row's history, a subject access export in clear
-- and encrypted, an inclusion proof), and the sealer must fill the table again, in bounded steps,
-- until witness.verify_lookup() finds it whole. In a database of its own.
\set SHOW_CONTEXT never
SELECT current_database() AS original_db \gset
CREATE DATABASE witness_lookup_unlogged;
\c witness_lookup_unlogged
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
RESET client_min_messages;
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false)) IS NOT NULL AS key_set;

-- The two tables and every index of the lookup table are unlogged; the trail is not.
SELECT c.relname, c.relpersistence FROM pg_class c
WHERE c.relnamespace = 'witness'::regnamespace AND c.relkind IN ('r', 'i')
  AND (c.relname LIKE 'entry\_lookup%' OR c.relname LIKE 'lookup\_state%')
ORDER BY 1;
SELECT count(*) AS unlogged_trail_relations FROM pg_class c
WHERE c.relnamespace = 'witness'::regnamespace AND c.relpersistence <> 'p'
  AND (c.relname LIKE 'entry\_default%' OR c.relname = 'block' OR c.relname LIKE 'block\_%' OR c.relname = 'erasure');

CREATE SCHEMA lu;
CREATE TABLE lu.person (id int PRIMARY KEY, email text NOT NULL, note text);
CREATE TABLE lu.secret (id int PRIMARY KEY, email text NOT NULL, note text);
SET client_min_messages = warning;
SELECT witness.track('lu.person', 'pii', subject_column => 'email', encrypt => false);
SELECT witness.track('lu.secret', 'pii', subject_column => 'email', encrypt => true);
RESET client_min_messages;
SELECT coalesce(max(block_no), 0) AS base FROM witness.block \gset
-- Chunks of 4 entries: a proof then reads its chunk's members at the places the lookup rows keep
-- (witness._chunk_members_at()), or by id when the table does not hold the block.
SET witness.proof_chunk_size = 4;

-- Three blocks of about 20 entries each, then one pending entry.
INSERT INTO lu.person SELECT g, 'p' || (g % 5) || '@lu.example', 'n' FROM generate_series(1, 20) g;
SELECT count(*) AS blocks FROM witness.seal();
INSERT INTO lu.secret SELECT g, 'p' || (g % 5) || '@lu.example', 'n' FROM generate_series(1, 20) g;
SELECT count(*) AS blocks FROM witness.seal();
UPDATE lu.person SET note = 'm' WHERE id <= 10;
UPDATE lu.secret SET note = 'm' WHERE id <= 10;
SELECT count(*) AS blocks FROM witness.seal();
UPDATE lu.person SET note = 'x' WHERE id = 1;
SELECT count(DISTINCT block_no) AS chunked_blocks FROM witness.block_chunk WHERE block_no > :base;
SELECT count(*) AS in_lookup, (SELECT block_no - :base FROM witness.lookup_state) AS state_block FROM witness.entry_lookup;

-- What each reader finds, as one text per reader (entry ids, in order).
CREATE FUNCTION lu.reads() RETURNS TABLE (reader text, found text) LANGUAGE sql AS $$
	SELECT 'search target', string_agg(s.entry_id::text, ',' ORDER BY s.entry_id) FROM witness.search(target => 'lu.person', max_rows => 1000) s
	UNION ALL
	SELECT 'search table_name', string_agg(s.entry_id::text, ',' ORDER BY s.entry_id) FROM witness.search(table_name => 'secret', max_rows => 1000) s
	UNION ALL
	SELECT 'search operation', string_agg(s.entry_id::text, ',' ORDER BY s.entry_id) FROM witness.search(operation => 'UPDATE', max_rows => 1000) s
	UNION ALL
	SELECT 'entity_history', string_agg(h.entry_id::text, ',' ORDER BY h.entry_id) FROM witness.entity_history('lu.person', '{"id": 1}') h
	UNION ALL
	SELECT 'search db_user', string_agg(s.entry_id::text, ',' ORDER BY s.entry_id)
	FROM witness.search(db_user => current_user, max_rows => 1000) s WHERE s.table_name IN ('person', 'secret')
	UNION ALL
	SELECT 'subject_export', string_agg((x.line::json ->> 'entry_id') || ':' || (x.line::json ->> 'status'), ',' ORDER BY x.n)
	FROM witness.subject_export('p1@lu.example', 'json', 'regression test') WITH ORDINALITY AS x(line, n) WHERE x.n > 1
	UNION ALL
	SELECT 'prove', string_agg(md5(witness.prove(e.id)::text), ',' ORDER BY e.id)
	FROM witness.entry e WHERE e.table_name IN ('person', 'secret') AND e.id % 7 = 0
	  AND e.id <= (SELECT max(b.last_entry_id) FROM witness.block b)
$$;
CREATE TABLE lu.before AS SELECT * FROM lu.reads();
SELECT reader, found IS NOT NULL AND found <> '' AS found_some, array_length(string_to_array(found, ','), 1) AS n FROM lu.before ORDER BY reader;

-- A crash: both tables empty at once.
BEGIN;
SELECT FROM witness._begin_internal_ddl();
TRUNCATE witness.entry_lookup, witness.lookup_state;
COMMIT;
SELECT count(*) AS in_lookup, (SELECT count(*) FROM witness.lookup_state) AS state_rows FROM witness.entry_lookup;
-- The readers find the same, through the trail. (Each subject export adds an entry, of
-- witness.subject_access: the readers leave those out.)
SELECT b.reader, a.found = b.found AS same_as_before FROM lu.before b LEFT JOIN lu.reads() a USING (reader) ORDER BY b.reader;

-- Filled again in steps: whole blocks, until a call has added 30 entries or more.
SELECT witness._maintain_lookup(30) AS added;
SELECT block_no - :base AS state_block FROM witness.lookup_state;
SELECT b.reader, a.found = b.found AS same_as_before FROM lu.before b LEFT JOIN lu.reads() a USING (reader) ORDER BY b.reader;
SELECT witness._maintain_lookup(30) AS added;
SELECT block_no - :base AS state_block FROM witness.lookup_state;
SELECT witness._maintain_lookup(30) AS added;
SELECT block_no - :base AS state_block FROM witness.lookup_state;
SELECT count(*) AS in_lookup FROM witness.entry_lookup;
SELECT sum(entries) AS entries, sum(missing) AS missing, sum(altered) AS altered, sum(extra) AS extra FROM witness.verify_lookup();
SELECT b.reader, a.found = b.found AS same_as_before FROM lu.before b LEFT JOIN lu.reads() a USING (reader) ORDER BY b.reader;

-- The next seal after the pending entry: the table follows as before.
SELECT count(*) AS blocks FROM witness.seal();
SELECT count(*) AS in_lookup, (SELECT block_no - :base FROM witness.lookup_state) AS state_block FROM witness.entry_lookup;
SELECT sum(missing) + sum(altered) + sum(extra) AS wrong FROM witness.verify_lookup();

\c :original_db
SET client_min_messages = warning;
DROP DATABASE witness_lookup_unlogged;
