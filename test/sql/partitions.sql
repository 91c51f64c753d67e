-- witness.entry is partitioned by UTC month of stmt_time (docs/scaling.md). In a database of its own,
-- so that the partitions made here do not change what the other tests see.
SELECT current_database() AS original_db \gset
CREATE DATABASE witness_partitions;
\c witness_partitions
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
RESET client_min_messages;

-- The parent is partitioned by range of stmt_time; a fresh install has only the default partition.
SELECT c.relkind, pg_get_partkeydef(c.oid) AS partition_key FROM pg_class c WHERE c.oid = 'witness.entry'::regclass;
SELECT partition, is_default, range_start, range_end FROM witness.partitions;

-- The sealer makes the current UTC month's partition and the next two ahead of time; a second call
-- makes none. Each month is [first day 00:00 UTC, first day of the next month 00:00 UTC).
SELECT count(*) AS made FROM witness.create_entry_partitions(2);
SELECT count(*) AS made_again FROM witness.create_entry_partitions(2);
SELECT count(*) FILTER (WHERE NOT is_default) AS months,
       bool_and(range_start = date_trunc('month', range_start AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
                AND range_end = (date_trunc('month', range_start AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC')
           FILTER (WHERE NOT is_default) AS whole_utc_months,
       bool_or(now() >= range_start AND now() < range_end) AS covers_now,
       bool_or(now() + interval '2 months' >= range_start AND now() + interval '2 months' < range_end) AS covers_two_months_ahead
FROM witness.partitions;
-- Each partition carries the guards and indexes of witness.entry, named after it.
SELECT p.partition::text ~ '^witness\.entry_y[0-9]{4}m[0-9]{2}$' AS named_by_month,
       (SELECT array_agg(t.tgname::text ORDER BY t.tgname) FROM pg_trigger t WHERE t.tgrelid = p.partition) AS guards,
       (SELECT array_agg(substr(c.relname, length(p.partition::text) - 6) ORDER BY c.relname)
        FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = p.partition) AS indexes
FROM witness.partitions p WHERE NOT p.is_default ORDER BY p.range_start LIMIT 1;
SELECT count(*) AS months_bad FROM witness.create_entry_partitions(-1);
SELECT count(*) AS months_bad FROM witness.create_entry_partitions(NULL);

-- Capture writes each entry into the partition of its month.
CREATE TABLE pt (id int PRIMARY KEY, email text, v text);
SELECT witness.track('pt', 'pii', subject_column => 'email', encrypt => false);
INSERT INTO pt SELECT g, 'p' || (g % 3) || '@pt.example', 'a' FROM generate_series(1, 50) g;
UPDATE pt SET v = 'b' WHERE id <= 10;
SELECT p.range_start <= now() AND now() < p.range_end AS in_current_month, count(*) AS entries
FROM witness.entry e JOIN witness.partitions p ON p.partition = e.tableoid::regclass
WHERE e.table_name = 'pt' GROUP BY 1;
SELECT count(*) AS in_default FROM witness.entry_default;

-- A partition that begins now (a superuser's, for this test: months cannot be faked): the current
-- month's partition ends now, later entries go to the new one, earlier ones stay where they are, and
-- the trail reads as one across both.
SELECT clock_timestamp() AS cut \gset
SELECT format('ALTER TABLE witness.entry DETACH PARTITION %s', p.partition) AS detach,
       format('ALTER TABLE witness.entry ATTACH PARTITION %s FOR VALUES FROM (%L) TO (%L)', p.partition, p.range_start, :'cut') AS attach,
       format('CREATE TABLE witness.entry_test PARTITION OF witness.entry FOR VALUES FROM (%L) TO (%L)', :'cut', p.range_end) AS create_test
FROM witness.partitions p WHERE now() >= p.range_start AND now() < p.range_end \gset
BEGIN;
:detach;
:attach;
:create_test;
COMMIT;
SELECT witness._guard_entry_partition('witness.entry_test');
INSERT INTO pt SELECT g, 'p' || (g % 3) || '@pt.example', 'c' FROM generate_series(51, 80) g;
DELETE FROM pt WHERE id BETWEEN 41 AND 45;
SELECT e.tableoid::regclass = 'witness.entry_test'::regclass AS in_test_partition, count(*) AS entries
FROM witness.entry e WHERE e.table_name = 'pt' GROUP BY 1 ORDER BY 1;

-- Sealing, verification, proofs, block_of, export and erasure work across partitions.
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT status, problem FROM witness.verify();
SELECT (witness.prove(e.id) ->> 'entry_id')::bigint = e.id AS proved, (witness.block_of(e.id)).block_no IS NOT NULL AS has_block
FROM (SELECT min(id) AS id FROM witness.entry WHERE table_name = 'pt' AND tableoid <> 'witness.entry_test'::regclass
      UNION ALL SELECT max(id) FROM witness.entry WHERE table_name = 'pt' AND tableoid = 'witness.entry_test'::regclass) e;
SELECT count(*) - 1 - (SELECT count(*) FROM witness.block) AS exported_entries, (SELECT count(*) FROM witness.entry) AS entries
FROM witness.export_trail();
SELECT count(DISTINCT e.tableoid) AS partitions_of_subject FROM witness.entry e WHERE e.subject = 'p1@pt.example';
SELECT witness.erase_subject('p1@pt.example', 'request #1') AS erased;
SELECT count(*) FILTER (WHERE erasure_id IS NOT NULL) AS erased_entries, count(DISTINCT tableoid) FILTER (WHERE erasure_id IS NOT NULL) AS in_partitions
FROM witness.entry WHERE table_name = 'pt';
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT status, problem FROM witness.verify();

-- Attempts. A DML-only role, the owner of a tracked table and a role with CREATE on the database can
-- neither read nor write a partition, nor add one of their own.
CREATE ROLE pt_dml;
CREATE ROLE pt_creator;
GRANT SELECT, INSERT, UPDATE, DELETE ON pt TO pt_dml;
GRANT CREATE ON DATABASE witness_partitions TO pt_creator;
CREATE ROLE pt_owner;
ALTER TABLE pt OWNER TO pt_owner;
SET ROLE pt_dml;
SELECT count(*) FROM witness.entry_test;
INSERT INTO witness.entry_default SELECT * FROM witness.entry LIMIT 1;
UPDATE pt SET v = 'dml' WHERE id = 1;
RESET ROLE;
SET ROLE pt_owner;
SELECT count(*) FROM witness.entry_default;
ALTER TABLE witness.entry DETACH PARTITION witness.entry_test;
RESET ROLE;
SET ROLE pt_creator;
CREATE SCHEMA pt_evil;
CREATE TABLE pt_evil.mine (id bigint);
CREATE TABLE pt_evil.part PARTITION OF witness.entry FOR VALUES FROM ('2100-01-01') TO ('2100-02-01');
ALTER TABLE witness.entry ATTACH PARTITION pt_evil.mine FOR VALUES FROM ('2100-01-01') TO ('2100-02-01');
SELECT count(*) FROM witness.create_entry_partitions(5);
RESET ROLE;
-- An auditor reads witness.entry under its row-level security, never a partition around it; it sees
-- the partition list (ranges and sizes, no entries).
CREATE ROLE pt_auditor;
GRANT witness_auditor TO pt_auditor;
SET ROLE pt_auditor;
SELECT count(*) > 0 AS reads_the_trail FROM witness.entry;
SELECT count(*) FROM witness.entry_test;
SELECT count(*) > 1 AS sees_partitions FROM witness.partitions;
RESET ROLE;
-- A superuser cannot change a partition's entries either; detaching one takes its entries out of the
-- trail, which verification reports.
DELETE FROM witness.entry_test;
UPDATE witness.entry_default SET actor = 'x';
TRUNCATE witness.entry_test;
INSERT INTO witness.entry_test SELECT * FROM witness.entry_test;
BEGIN;
ALTER TABLE witness.entry DETACH PARTITION witness.entry_test;
SELECT status, problem FROM witness.verify() LIMIT 1;
ROLLBACK;
SELECT status FROM witness.verify();

-- Only an internal step deletes from the default partition: a superuser's DELETE is refused.
DELETE FROM witness.entry_default;

-- A partition whose columns are not witness.entry's in its order (a DBA's) is refused by capture
-- (55000): capture forms one tuple for any partition.
SELECT range_end AS test_end FROM witness.partitions WHERE partition = 'witness.entry_test'::regclass \gset
BEGIN;
ALTER TABLE witness.entry DETACH PARTITION witness.entry_test;
CREATE TABLE witness.entry_odd (LIKE witness.entry);
ALTER TABLE witness.entry_odd DROP COLUMN actor;
ALTER TABLE witness.entry_odd ADD COLUMN actor text;
ALTER TABLE witness.entry ATTACH PARTITION witness.entry_odd FOR VALUES FROM (:'cut') TO (:'test_end');
INSERT INTO pt VALUES (2000, 'odd@pt.example', 'e');
ROLLBACK;

-- Capture never fails for want of a partition: with none for now, entries go to the default
-- partition. The month's partition made then takes them (the month of a fresh install, whose
-- entries capture wrote before the worker's first pass): the same rows, moved, sealed and proved
-- as any. Last, and committed (capture keeps witness.entry open until its
-- transaction ends, and the attach needs it closed): the partitions detached here stay detached,
-- renamed out of the way, until the database is dropped.
ALTER TABLE witness.entry DETACH PARTITION witness.entry_test;
:detach;
SELECT c.oid::regclass AS month_table FROM pg_class c
WHERE c.relnamespace = 'witness'::regnamespace AND c.relname ~ '^entry_y[0-9]{4}m[0-9]{2}$'
  AND NOT c.relispartition AND c.relkind = 'r' \gset
ALTER TABLE :month_table RENAME TO entry_detached;
INSERT INTO pt VALUES (1000, 'late@pt.example', 'd'), (1001, 'late@pt.example', 'd');
SELECT e.tableoid::regclass AS partition, count(*) FROM witness.entry e WHERE e.table_name = 'pt' AND e.id > (SELECT max(id) - 2 FROM witness.entry) GROUP BY 1;
SELECT e.id AS late_id, e.leaf_hash AS late_hash FROM witness.entry e WHERE e.new_values ->> 'id' = '1000' \gset
-- Made in a session whose time zone prints as an abbreviation another zone owns (IST, read back as
-- Israel's): the bounds are still the UTC month's.
SET client_min_messages = warning;
SET DateStyle = 'SQL, DMY';
SET TimeZone = 'Asia/Kolkata';
SELECT witness._create_entry_partition(now()) IS NOT NULL AS made;
RESET DateStyle;
RESET TimeZone;
RESET client_min_messages;
SELECT r.range_start = date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS starts_at_the_utc_month,
       r.range_end = (date_trunc('month', now() AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC' AS ends_at_the_next
FROM witness.entry e, witness._partition_range(e.tableoid::regclass) r WHERE e.id = :late_id;
SELECT e.tableoid::regclass <> 'witness.entry_default'::regclass AS moved, e.leaf_hash = :'late_hash' AS same_hash, count(*) OVER () AS copies
FROM witness.entry e WHERE e.id = :late_id;
SELECT count(*) AS month_left_in_default FROM witness.entry_default e
WHERE e.stmt_time >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
SELECT entry_count AS sealed FROM witness.seal();
SELECT (witness.prove(:late_id) ->> 'entry_id')::bigint = :late_id AS proved;
\c :original_db
DROP DATABASE witness_partitions;
DROP ROLE pt_dml, pt_creator, pt_owner, pt_auditor;

-- A tracked table attached under a partitioned table that is then tracked and untracked keeps its
-- capture: its own trigger had become a clone of the parent's and was dropped with it, and its
-- changes went uncaptured (a review; capture_off named it).
CREATE TABLE pt_root (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE pt_leaf (id int PRIMARY KEY);
SELECT witness.track('pt_leaf') IS NOT NULL AS tracked;
ALTER TABLE pt_root ATTACH PARTITION pt_leaf FOR VALUES FROM (0) TO (10);
SELECT witness.track('pt_root') IS NOT NULL AS tracked;
SELECT witness.untrack('pt_root') IS NOT NULL AS untracked;
SELECT tgname, tgenabled FROM pg_trigger WHERE tgrelid = 'pt_leaf'::regclass ORDER BY 1;
INSERT INTO pt_leaf VALUES (1);
SELECT count(*) AS captured FROM witness.entry WHERE table_name = 'pt_leaf' AND op = 'I';
SELECT witness.untrack('pt_leaf') IS NOT NULL AS untracked;
DROP TABLE pt_root;
