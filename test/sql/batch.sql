-- Entries are written in batches (docs/capture.md, "Batched writes"): per statement and per
-- subtransaction. A batch never outlives its subtransaction's rollback, and no entry is lost or
-- written twice, however statements, savepoints and triggers nest.
CREATE TABLE bt (id int PRIMARY KEY, v int);
CREATE TABLE bu (id int PRIMARY KEY, note text);
SELECT witness.track('bt'), witness.track('bu');
CREATE FUNCTION entries(t text) RETURNS bigint LANGUAGE sql AS
	$$ SELECT count(*) FROM witness.entry WHERE table_name = t $$;

-- A statement's entries are visible to the next statement of the same transaction, after COPY too.
BEGIN;
INSERT INTO bt SELECT g, 1 FROM generate_series(1, 10) g;
SELECT entries('bt') AS after_insert;
COPY bt FROM stdin;
11	1
12	1
\.
SELECT entries('bt') AS after_copy;
COMMIT;

-- More entries than one batch holds, rolled back with their savepoint: none remain.
BEGIN;
SAVEPOINT s;
INSERT INTO bt SELECT g, 2 FROM generate_series(1001, 3500) g;
SELECT entries('bt') AS inside_savepoint;
ROLLBACK TO SAVEPOINT s;
SELECT entries('bt') AS after_rollback_to;
COMMIT;
SELECT entries('bt') AS after_commit;

-- A statement that fails in its AFTER triggers, once a full batch has been written, leaves nothing.
CREATE FUNCTION fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'row % refused', NEW.id; END $$;
CREATE TRIGGER zz_fail AFTER INSERT ON bt FOR EACH ROW WHEN (NEW.id = 3400) EXECUTE FUNCTION fail();
INSERT INTO bt SELECT g, 3 FROM generate_series(2001, 3500) g;
DROP TRIGGER zz_fail ON bt;
SELECT entries('bt') AS after_failed_statement;

-- A subtransaction committed inside a rolled-back one leaves nothing either.
BEGIN;
SAVEPOINT outer_sp;
SAVEPOINT inner_sp;
INSERT INTO bt SELECT g, 4 FROM generate_series(3001, 4500) g;
RELEASE SAVEPOINT inner_sp;
ROLLBACK TO SAVEPOINT outer_sp;
COMMIT;
SELECT entries('bt') AS after_nested_rollback;

-- Large batches before, inside and after a savepoint whose statement fails in its triggers.
CREATE TRIGGER zz_fail AFTER INSERT ON bt FOR EACH ROW WHEN (NEW.id = 11400) EXECUTE FUNCTION fail();
BEGIN;
INSERT INTO bt SELECT g, 9 FROM generate_series(11001, 11300) g;
SAVEPOINT s;
INSERT INTO bt SELECT g, 9 FROM generate_series(11301, 12500) g;
ROLLBACK TO SAVEPOINT s;
INSERT INTO bt SELECT g, 9 FROM generate_series(12501, 14000) g;
COMMIT;
DROP TRIGGER zz_fail ON bt;
SELECT count(*) AS entries, min((row_key->>'id')::int), max((row_key->>'id')::int),
       count(*) FILTER (WHERE (row_key->>'id')::int BETWEEN 11301 AND 12500) AS from_failed
FROM witness.entry WHERE table_name = 'bt' AND (new_values->>'v') = '9';

-- Entries come in capture order: ids follow the rows of one statement.
INSERT INTO bt SELECT g, 5 FROM generate_series(5001, 7500) g;
SELECT bool_and(k = r) AS ids_follow_rows, count(*)
FROM (SELECT (row_key->>'id')::int AS k, 5000 + row_number() OVER (ORDER BY id) AS r
      FROM witness.entry WHERE table_name = 'bt' AND (new_values->>'v') = '5') s;

-- A trigger on a tracked table writes to another tracked table, from a subtransaction that rolls
-- back (v = 0) or commits, while the outer statement's entries wait in their own batch.
CREATE FUNCTION bt_side_effect() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		INSERT INTO bu VALUES (NEW.id, 'from subtransaction');
		IF NEW.v = 0 THEN
			RAISE EXCEPTION 'undo';
		END IF;
	EXCEPTION WHEN raise_exception THEN
		NULL;
	END;
	RETURN NULL;
END $$;
CREATE TRIGGER zz_side_effect AFTER INSERT ON bt FOR EACH ROW EXECUTE FUNCTION bt_side_effect();
INSERT INTO bt SELECT g, g % 2 FROM generate_series(8001, 8010) g;
SELECT (SELECT count(*) FROM bt WHERE id BETWEEN 8001 AND 8010) AS bt_rows, (SELECT count(*) FROM bu) AS bu_rows,
       (SELECT count(*) FROM witness.entry WHERE table_name = 'bt' AND (row_key->>'id')::int BETWEEN 8001 AND 8010) AS bt_entries,
       entries('bu') AS bu_entries,
       (SELECT array_agg((row_key->>'id')::int ORDER BY id) FROM witness.entry WHERE table_name = 'bu') AS bu_keys;
DROP TRIGGER zz_side_effect ON bt;

-- A PL/pgSQL loop with one subtransaction per row, every other one rolled back.
DO $$
BEGIN
	FOR i IN 9001 .. 9006 LOOP
		BEGIN
			INSERT INTO bt VALUES (i, 6);
			IF i % 2 = 0 THEN
				RAISE EXCEPTION 'undo';
			END IF;
		EXCEPTION WHEN raise_exception THEN
			NULL;
		END;
	END LOOP;
END $$;
SELECT array_agg((row_key->>'id')::int ORDER BY id) AS kept FROM witness.entry
WHERE table_name = 'bt' AND (new_values->>'v') = '6';

-- A deferred trigger changes a tracked table at commit: its entries are written before commit.
CREATE FUNCTION bt_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO bu SELECT g, 'deferred' FROM generate_series(NEW.id * 10, NEW.id * 10 + 1199) g;
	RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER zz_at_commit AFTER INSERT ON bt DEFERRABLE INITIALLY DEFERRED
	FOR EACH ROW EXECUTE FUNCTION bt_at_commit();
BEGIN;
INSERT INTO bt VALUES (10001, 7);
SELECT count(*) AS before_commit FROM witness.entry WHERE table_name = 'bu' AND new_values->>'note' = 'deferred';
COMMIT;
SELECT count(*) AS after_commit FROM witness.entry WHERE table_name = 'bu' AND new_values->>'note' = 'deferred';
DROP TRIGGER zz_at_commit ON bt;

-- Entries written by a function called from a query.
CREATE FUNCTION insert_many(n int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO bt SELECT g, 8 FROM generate_series(20001, 20000 + n) g;
	RETURN n;
END $$;
SELECT insert_many(2100);
SELECT count(*) FROM witness.entry WHERE table_name = 'bt' AND (new_values->>'v') = '8';

-- Values of several MB in one batch: TOASTed entries are found through the id index and hash right.
CREATE TABLE big (id int PRIMARY KEY, doc text);
SELECT witness.track('big');
INSERT INTO big SELECT g, repeat(md5(g::text), 100000) FROM generate_series(1, 4) g;
SET enable_seqscan = off;
SELECT e.id = ids.id AS index_points_right, length(e.new_values::text) AS value_length,
       e.leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8) AS hash_ok
FROM (SELECT id FROM witness.entry WHERE table_name = 'big') ids
JOIN LATERAL (SELECT * FROM witness.entry x WHERE x.id = ids.id) e ON true ORDER BY e.id;
RESET enable_seqscan;

-- Every entry written here hashes right, and each change has exactly one entry.
SELECT count(*) FILTER (WHERE leaf_hash <> substring(witness.entry_leaf_hash(e) FOR 8)) AS mismatches,
       count(*) - count(DISTINCT (table_name, row_key::text, op)) AS duplicates
FROM witness.entry e WHERE table_name IN ('bt', 'bu', 'big');
