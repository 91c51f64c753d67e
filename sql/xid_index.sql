-- The sealer finds unsealed entries through witness.entry_xid, a BRIN index: it summarizes every page
-- range that has filled up, leaving alone the last 512 pages (which may still be filling), and
-- summarized ranges hide no entry.
SELECT amname FROM pg_class c JOIN pg_am a ON a.oid = c.relam WHERE c.oid = 'witness.entry_xid'::regclass;
CREATE TABLE xi (id int PRIMARY KEY, pad text);
SELECT witness.track('xi');
SELECT count(*) AS before_sealing FROM witness.seal();

-- Enough entries to fill many 128-page ranges.
INSERT INTO xi SELECT g, repeat('x', 300) FROM generate_series(1, 30000) g;
SELECT pg_relation_size('witness.entry') / current_setting('block_size')::int / 128 >= 12 AS many_ranges;
SELECT entry_count FROM witness.seal();
-- Only the ranges of the last 512 pages are left unsummarized: at most 5 of 128 pages.
SELECT brin_summarize_new_values('witness.entry_xid') <= 5 AS filled_ranges_summarized;

-- Entries written after summarization, into summarized and new ranges, are all found and sealed,
-- with the sealer's query made to go through the BRIN index even on this small table.
SET enable_seqscan = off;
UPDATE xi SET pad = 'y' WHERE id % 3 = 0;
INSERT INTO xi SELECT g, repeat('z', 300) FROM generate_series(30001, 31000) g;
SELECT entry_count FROM witness.seal();
RESET enable_seqscan;
SELECT status, entries_pending, problem FROM witness.verify();
