-- witness.entry has two BRIN indexes and no btree: entry_xid, through which the sealer finds unsealed
-- entries, and entry_id, for lookups by id. The sealer summarizes every page range that has filled
-- up, leaving alone the last 512 pages (which may still be filling), and summarized ranges hide no
-- entry: capture puts only the first and the last entry of a batch in each range into them.
-- witness.entry is partitioned (docs/scaling.md): each partition has these indexes of its own, named
-- after it, and witness.entry none. Without monthly partitions (the sealer makes them; not in this
-- test) entries go to entry_default.
SELECT count(*) AS indexes_of_the_parent FROM pg_index i WHERE i.indrelid = 'witness.entry'::regclass;
SELECT c.relname, a.amname, i.indisunique
FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
WHERE i.indrelid = 'witness.entry_default'::regclass ORDER BY 1;
CREATE TABLE xi (id int PRIMARY KEY, pad text);
SELECT witness.track('xi');
SELECT count(*) AS before_sealing FROM witness.seal();

-- Enough entries to fill many 128-page ranges.
INSERT INTO xi SELECT g, repeat('x', 300) FROM generate_series(1, 30000) g;
SELECT pg_relation_size('witness.entry_default') / current_setting('block_size')::int / 128 >= 12 AS many_ranges;
SELECT entry_count FROM witness.seal();
-- Only the ranges of the last 512 pages are left unsummarized: at most 5 of 128 pages.
SELECT brin_summarize_new_values('witness.entry_default_xid') <= 5 AS filled_xid_ranges_summarized;
SELECT brin_summarize_new_values('witness.entry_default_id') <= 5 AS filled_id_ranges_summarized;

-- Entries written after summarization, into summarized and new ranges, are all found and sealed,
-- with the sealer's query made to go through the BRIN index even on this small table.
SELECT max(id) + 1 AS first_new FROM witness.entry \gset
SET enable_seqscan = off;
UPDATE xi SET pad = 'y' WHERE id % 3 = 0;
INSERT INTO xi SELECT g, repeat('z', 300) FROM generate_series(30001, 31000) g;
SELECT entry_count FROM witness.seal();

-- Lookups by id go through entry_id and find every one of those entries: ranges whose summary missed
-- a batch's smallest or largest id would be skipped.
EXPLAIN (COSTS OFF) SELECT * FROM witness.entry WHERE id = 42;
SELECT max(id) AS last_new FROM witness.entry \gset
SELECT count(*) AS from_first FROM witness.entry WHERE id >= :first_new;
SELECT count(*) AS up_to_last FROM witness.entry WHERE id <= :last_new AND id >= :first_new - 5;
SELECT count(*) AS beyond_middle FROM witness.entry WHERE id > :first_new + 4321;
SELECT count(*) AS lookups, count(*) FILTER (WHERE EXISTS (SELECT 1 FROM witness.entry e WHERE e.id = g)) AS found
FROM generate_series(:first_new, :last_new, 37) g;
RESET enable_seqscan;
SELECT status, entries_pending, problem FROM witness.verify();

-- Indexes a DBA adds to witness.entry serve every entry: a partial index "column IS NOT NULL" (which
-- capture leaves out for an entry whose column is NULL, as its predicate would) and another partial
-- one (whose predicate the executor evaluates) find the same entries as a scan of the table.
CREATE INDEX entry_actor_dba ON witness.entry (actor) WHERE actor IS NOT NULL;
CREATE INDEX entry_tags_dba ON witness.entry (id) WHERE tags = 16;
CREATE TABLE dx (id int PRIMARY KEY, v text);
SELECT witness.track('dx');
INSERT INTO dx SELECT g, 'a' FROM generate_series(1, 500) g;
BEGIN;
SET LOCAL witness.actor = 'dba-index';
INSERT INTO dx SELECT g, 'b' FROM generate_series(501, 800) g;
UPDATE dx SET v = 'c' WHERE id <= 10;
COMMIT;
SET enable_seqscan = off;
SELECT count(*) AS by_actor_index FROM witness.entry WHERE actor = 'dba-index';
SELECT count(*) AS by_tags_index FROM witness.entry WHERE tags = 16 AND id > 0 AND table_name = 'dx';
RESET enable_seqscan;
SET enable_indexscan = off;
SET enable_bitmapscan = off;
SELECT count(*) FILTER (WHERE actor = 'dba-index') AS by_scan_actor, count(*) FILTER (WHERE tags = 16) AS by_scan_tags
FROM witness.entry WHERE table_name = 'dx';
RESET enable_indexscan;
RESET enable_bitmapscan;
DROP INDEX witness.entry_actor_dba;
DROP INDEX witness.entry_tags_dba;
SELECT witness.untrack('dx');
DROP TABLE dx;

-- Sealing a block and the work after it (lookup rows, daily summary, alert rules) read the block's
-- members through the BRIN indexes, never by scanning a partition of the trail, even when no
-- partition has statistics (a new month's, or before autovacuum's first ANALYZE): the planner then
-- chose sequential scans of everything captured so far, at every seal. This backend's scans of the
-- partitions are counted before and after (the counts not yet sent to the statistics, which include
-- the deliberate scans above). The regression database's trail is young: whether autovacuum has
-- analyzed it yet or not, no scan may be sequential.
CREATE TABLE sx (id int PRIMARY KEY, v text);
SELECT witness.track('sx');
INSERT INTO sx SELECT g, 'a' FROM generate_series(1, 3000) g;
UPDATE sx SET v = 'b' WHERE id % 3 = 0;
-- The sealer's summarizing of the page ranges that filled up counts as a scan of its own (PostgreSQL
-- reads a range's rows as a scan): done here first, so that what is counted below is the reads of
-- the block's members only.
SELECT count(brin_summarize_new_values(i.indexrelid::regclass)) > 0 AS summarized
FROM pg_index i JOIN pg_inherits h ON h.inhrelid = i.indrelid JOIN pg_class c ON c.oid = i.indexrelid
JOIN pg_am a ON a.oid = c.relam
WHERE h.inhparent = 'witness.entry'::regclass AND a.amname = 'brin';
BEGIN;
SELECT COALESCE(sum(t.seq_scan), 0) AS scans_before, COALESCE(sum(t.idx_scan), 0) AS index_scans_before
FROM pg_stat_xact_user_tables t JOIN pg_inherits h ON h.inhrelid = t.relid
WHERE h.inhparent = 'witness.entry'::regclass \gset
SELECT entry_count >= 4001 AS sealed_them FROM witness.seal();
SELECT witness._refresh_summary(true, NULL) > 0 AS counted;
SELECT count(*) >= 0 AS alerts_checked FROM witness.check_alerts();
SELECT COALESCE(sum(t.seq_scan), 0) - :scans_before AS trail_sequential_scans,
       COALESCE(sum(t.idx_scan), 0) > :index_scans_before AS trail_index_scans
FROM pg_stat_xact_user_tables t JOIN pg_inherits h ON h.inhrelid = t.relid
WHERE h.inhparent = 'witness.entry'::regclass;
COMMIT;
SELECT count(*) AS lookup_rows FROM witness.entry_lookup l JOIN witness.entry e ON e.id = l.id WHERE e.table_name = 'sx';
SELECT witness.untrack('sx');
DROP TABLE sx;
