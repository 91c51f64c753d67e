-- ALTER TABLE on tracked tables keeps capture correct, and partitioned tables are captured whole.
CREATE TABLE people (id int PRIMARY KEY, email text, secret text, amount int, note text);
SELECT witness.track('people', 'pii', column_tags => '{"amount": "financial"}', exclude_columns => '{secret}',
                     subject_column => 'email', encrypt => false);
INSERT INTO people VALUES (1, 'p@x', 's1', 10, 'n');

-- Renaming configured columns carries the configuration along: the excluded column stays excluded.
ALTER TABLE people RENAME COLUMN secret TO hidden;
ALTER TABLE people RENAME COLUMN email TO mail;
ALTER TABLE people RENAME COLUMN amount TO total;
ALTER TABLE people RENAME COLUMN id TO ident;
SELECT column_tags, exclude_columns, subject_column, key_columns FROM witness.tracked_tables WHERE table_name = 'people'::regclass;
UPDATE people SET hidden = 's2', total = 11, note = 'renamed';
-- Adding, retyping and dropping columns: the next change uses the new shape (no stale tuple descriptor).
ALTER TABLE people ADD COLUMN added date DEFAULT '2024-01-01';
ALTER TABLE people ALTER COLUMN total TYPE numeric(10,2);
UPDATE people SET total = total + 0.5, added = '2024-12-31';
ALTER TABLE people DROP COLUMN note;
-- The subject column and the key columns cannot be dropped while the configuration names them (an
-- attack review dropped the subject column and gave a bytea copy its name: every later entry had no
-- subject); track() again without them first.
ALTER TABLE people DROP COLUMN mail;
ALTER TABLE people DROP COLUMN ident;
SELECT subject_column, key_columns FROM witness.tracked_tables WHERE table_name = 'people'::regclass;
SELECT witness.track('people', 'pii', column_tags => '{"total": "financial"}', exclude_columns => '{hidden}', encrypt => false);
ALTER TABLE people DROP COLUMN mail;    -- no longer the subject column: entries carry no subject from now on
-- Also when children keep the column (ALTER TABLE ONLY on an inheritance parent: the review of the
-- refusal dropped the parent's subject column so, and gave the parent a bytea column of that name).
CREATE TABLE inh_parent (id int PRIMARY KEY, mail text, v int);
CREATE TABLE inh_child () INHERITS (inh_parent);
SELECT witness.track('inh_parent', subject_column => 'mail', encrypt => false);
ALTER TABLE ONLY inh_parent DROP COLUMN mail;
ALTER TABLE ONLY inh_parent DROP COLUMN v;   -- a column the configuration does not name
SELECT witness.untrack('inh_parent');
DROP TABLE inh_parent CASCADE;
UPDATE people SET total = 1;
SELECT operation, row_key, subject, tags, old_values, new_values FROM witness.log WHERE table_name = 'people' ORDER BY id;
SELECT column_tags, exclude_columns, subject_column, key_columns FROM witness.tracked_tables WHERE table_name = 'people'::regclass;
-- Renaming the table: entries name it as it was at capture.
ALTER TABLE people RENAME TO persons;
INSERT INTO persons (ident, hidden, total) VALUES (2, 'x', 2);
SELECT table_name, row_key FROM witness.log WHERE table_name IN ('people', 'persons') ORDER BY id DESC LIMIT 2;

-- Partitioned tables: tracking the parent captures every partition, present and future, attached or created.
CREATE SCHEMA "Sales Dept";
CREATE TABLE "Sales Dept"."Orders" (id int, region text, "Amount" numeric, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE "Sales Dept"."Orders EU" PARTITION OF "Sales Dept"."Orders" FOR VALUES IN ('eu');
SELECT witness.track('"Sales Dept"."Orders"', 'financial');
CREATE TABLE "Sales Dept".orders_us (region text NOT NULL, "Amount" numeric, id int NOT NULL);   -- other column order
ALTER TABLE "Sales Dept"."Orders" ATTACH PARTITION "Sales Dept".orders_us FOR VALUES IN ('us');
CREATE TABLE "Sales Dept".orders_other PARTITION OF "Sales Dept"."Orders" DEFAULT PARTITION BY LIST (region);
CREATE TABLE "Sales Dept".orders_asia PARTITION OF "Sales Dept".orders_other FOR VALUES IN ('asia');
INSERT INTO "Sales Dept"."Orders" VALUES (1, 'eu', 10), (2, 'us', 20), (3, 'asia', 30);
UPDATE "Sales Dept"."Orders" SET region = 'us' WHERE id = 1;   -- moves between partitions
SELECT tgrelid::regclass AS rel, tgname, tgenabled FROM pg_trigger
WHERE tgname LIKE 'witness_capture%' AND tgrelid::regclass::text LIKE '"Sales Dept"%' ORDER BY tgrelid::regclass::text, tgname;
-- TRUNCATE of one partition, and of the whole table.
TRUNCATE "Sales Dept"."Orders EU";
TRUNCATE "Sales Dept"."Orders";
SELECT operation, schema_name, table_name, row_key, old_values, new_values FROM witness.log
WHERE schema_name = 'Sales Dept' ORDER BY id, row_key ->> 'partition';
-- A detached partition is no longer captured.
ALTER TABLE "Sales Dept"."Orders" DETACH PARTITION "Sales Dept".orders_us;
INSERT INTO "Sales Dept".orders_us VALUES ('us', 1, 9);
TRUNCATE "Sales Dept".orders_us;
SELECT count(*) FROM pg_trigger WHERE tgrelid = '"Sales Dept".orders_us'::regclass AND tgname LIKE 'witness%';
SELECT count(*) AS entries_after_detach FROM witness.entry WHERE schema_name = 'Sales Dept' AND new_values ->> 'Amount' = '9';
-- untrack() of a partitioned table removes every capture trigger.
SELECT witness.untrack('"Sales Dept"."Orders"');
SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'witness%' AND tgrelid::regclass::text LIKE '"Sales Dept"%';

SELECT count(*) FILTER (WHERE leaf_hash <> substring(witness.entry_leaf_hash(e) FOR 8)) AS hash_mismatches FROM witness.entry e;
