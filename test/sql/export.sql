-- witness.export_trail(): header, blocks in order, entries by id even when they are stored out of
-- id order; JSON escapes that give back every value; early stop; an updated row version; privileges.
CREATE TABLE export_outer (id int PRIMARY KEY, note text);
CREATE TABLE export_inner (id int PRIMARY KEY, note text);
SELECT witness.track('export_outer', subject_column => 'note', encrypt => false);
SELECT witness.track('export_inner');
-- A row trigger that writes inside an exception block (a subtransaction): the inner entries are held
-- until the outer statement's are written, and come after them (docs/capture.md).
CREATE FUNCTION export_inner_write() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		INSERT INTO export_inner VALUES (NEW.id, 'inner ' || NEW.id);
	EXCEPTION WHEN unique_violation THEN NULL;
	END;
	RETURN NEW;
END $$;
CREATE TRIGGER export_inner_write AFTER INSERT ON export_outer FOR EACH ROW EXECUTE FUNCTION export_inner_write();
SELECT count(*) > 0 AS sealed_earlier_entries FROM witness.seal();
SELECT max(id) AS before_id FROM witness.entry \gset
-- Text with a tab, a newline, a carriage return, a backslash, a quote, \x01 and U+10FFFF.
INSERT INTO export_outer SELECT g, E'tab\there\nnew "q" \\ \x01 ' || chr(1114111) || ' ' || g FROM generate_series(1, 5) g;
SELECT count(*) AS sealed FROM witness.seal();
-- A superuser rewrites the first of them unchanged behind the guard: its new row version lies after
-- the others, so the trail is stored out of id order (the seq scan meets a higher id before a lower one).
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET reason = reason WHERE id = :before_id + 1;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
COMMIT;
SELECT count(*) > 0 AS stored_out_of_order
FROM (SELECT id, lag(id) OVER () AS prev FROM (SELECT id FROM witness.entry WHERE id > :before_id) s) x
WHERE id < prev;

-- The export: the header first, every block in order, every entry in strictly ascending id order.
CREATE TEMP TABLE export_lines AS
SELECT n, line, line::jsonb AS j FROM witness.export_trail() WITH ORDINALITY AS e(line, n);
SELECT j ->> 'type' AS first_line, j ->> 'backslash' = E'\\' AS backslash_member, j ? 'highest_block_no' AS has_highest
FROM export_lines WHERE n = 1;
SELECT count(*) FILTER (WHERE j ->> 'type' = 'header') AS headers,
       count(*) FILTER (WHERE j ->> 'type' = 'block') = (SELECT count(*) FROM witness.block) AS every_block,
       count(*) FILTER (WHERE j ->> 'type' = 'entry') = (SELECT count(*) FROM witness.entry) AS every_entry
FROM export_lines;
SELECT bool_and(block_no = prev + 1) AS blocks_in_order
FROM (SELECT (j ->> 'block_no')::bigint AS block_no, lag((j ->> 'block_no')::bigint) OVER (ORDER BY n) AS prev
      FROM export_lines WHERE j ->> 'type' = 'block') s WHERE prev IS NOT NULL;
SELECT bool_and(id > prev) AS entries_by_id, max(n) = (SELECT max(n) FROM export_lines) AS entries_last
FROM (SELECT n, (j ->> 'id')::bigint AS id, lag((j ->> 'id')::bigint) OVER (ORDER BY n) AS prev
      FROM export_lines WHERE j ->> 'type' = 'entry') s;
-- Every value comes back from the JSON: the text columns, the JSON values, the leaf hash, the times.
SELECT count(*) AS entries_compared,
       count(*) FILTER (WHERE l.j ->> 'subject' IS NOT DISTINCT FROM e.subject
                          AND l.j -> 'new_values' IS NOT DISTINCT FROM e.new_values::jsonb
                          AND l.j -> 'row_key' IS NOT DISTINCT FROM e.row_key::jsonb
                          AND l.j ->> 'leaf_hash' = encode(e.leaf_hash, 'hex')
                          AND (l.j ->> 'xid')::bigint = e.xid::text::bigint
                          AND (l.j ->> 'stmt_time_us')::bigint = (extract(epoch FROM e.stmt_time) * 1000000)::bigint
                          AND l.j ->> 'op' = e.op::text AND l.j ->> 'table_name' = e.table_name
                          AND (l.j ->> 'format')::int = e.format) AS equal
FROM export_lines l JOIN witness.entry e ON e.id = (l.j ->> 'id')::bigint
WHERE l.j ->> 'type' = 'entry' AND e.id > :before_id;
SELECT j ->> 'subject' = E'tab\there\nnew "q" \\ \x01 ' || chr(1114111) || ' 1' AS awkward_subject_exact,
       strpos(line, E'\t') = 0 AND strpos(line, E'\n') = 0 AS no_raw_control_characters
FROM export_lines WHERE j ->> 'table_name' = 'export_outer' AND j -> 'row_key' ->> 'id' = '1';

-- Stopping early (LIMIT) closes the export's cursors; the next export in the session is whole.
SELECT count(*) AS first_three FROM (SELECT witness.export_trail() LIMIT 3) s;
SELECT count(*) = (SELECT count(*) FROM export_lines) AS whole_again FROM (SELECT witness.export_trail()) s;

-- A row updated in place behind the guard (a heap-only tuple version) is exported as it now is.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET reason = 'rewritten' WHERE id = :before_id + 1;
SELECT j ->> 'reason' AS reason_exported FROM witness.export_trail() AS e(line), LATERAL (SELECT line::jsonb AS j) x
WHERE j ->> 'id' = (:before_id + 1)::text;
ROLLBACK;

-- Only roles granted EXECUTE may export (and SELECT on the trail's tables: it runs with their rights).
CREATE ROLE export_nobody;
GRANT USAGE ON SCHEMA witness TO export_nobody;
SET ROLE export_nobody;
\set VERBOSITY terse
SELECT count(*) FROM witness.export_trail();
RESET ROLE;
GRANT EXECUTE ON FUNCTION witness.export_trail() TO export_nobody;
SET ROLE export_nobody;
SELECT count(*) FROM witness.export_trail();
\set VERBOSITY default
RESET ROLE;
REVOKE ALL ON SCHEMA witness FROM export_nobody;
REVOKE ALL ON FUNCTION witness.export_trail() FROM export_nobody;
DROP ROLE export_nobody;

-- The exports' own cursors are out of their caller's reach: an attack review read their names in
-- pg_cursors, closed one between two fetches and declared its own of the same name, whose rows the
-- export then read (a server crash on a column of another type; entries outside a restricted
-- auditor's period read past row-level security). Only the caller's cursor is listed now, and one
-- closed under the export (a rolled-back savepoint) is a clean error. 1,200 entries: a second batch.
\set VERBOSITY terse
BEGIN;
INSERT INTO export_inner SELECT g, 'bulk ' || g FROM generate_series(1001, 2200) g;
DECLARE lines CURSOR FOR SELECT witness.export('jsonl');
DECLARE trail CURSOR FOR SELECT witness.export_trail();
MOVE 1 FROM lines;
MOVE 1 FROM trail;
SELECT string_agg(name, ', ' ORDER BY name) AS cursors_listed FROM pg_cursors;
MOVE 5000 FROM lines;
DECLARE later CURSOR FOR SELECT witness.export('jsonl');
SAVEPOINT s;
MOVE 1 FROM later;
ROLLBACK TO s;
MOVE 5000 FROM later;
ROLLBACK;
\set VERBOSITY default

DROP TRIGGER export_inner_write ON export_outer;
DROP FUNCTION export_inner_write();
