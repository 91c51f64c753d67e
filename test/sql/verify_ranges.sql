-- Verification of a block range that ends before the newest block (docs/verification.md, "Ranges and
-- the records after them"). Such a range reads only the entries up to its end, through the xid BRIN
-- index, but an erasure of its entries, or a retention run that pruned them, is recorded in a later
-- block. The range must find those records, at the xid their rows were written by and otherwise by
-- reading on, and still report a record that is nowhere. In a database of its own: the filler must
-- lie between the blocks, and retention prunes every pii entry of the database.
\set SHOW_CONTEXT never
SELECT current_database() AS original_db \gset
CREATE DATABASE witness_verify_ranges;
\c witness_verify_ranges
SELECT clock_timestamp() AS t0 \gset
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
RESET client_min_messages;
CREATE SCHEMA vr;
-- vr.person's entries are kept and erased; vr.visit's (pii) are pruned; vr.filler lies between.
CREATE TABLE vr.person (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE vr.visit (id int PRIMARY KEY, email text NOT NULL);
CREATE TABLE vr.filler (id int PRIMARY KEY, pad text);
SELECT witness.track('vr.person', 'internal', subject_column => 'email', encrypt => false);
SELECT witness.track('vr.visit', 'pii', encrypt => false);
SELECT witness.track('vr.filler', 'internal');
-- The pages of the trail a statement reads (shared buffers hit or read).
CREATE FUNCTION vr.trail_pages() RETURNS bigint LANGUAGE sql AS $$
	SELECT COALESCE(sum(s.heap_blks_hit + s.heap_blks_read), 0)::bigint FROM pg_statio_all_tables s
	WHERE s.relid IN (SELECT relid FROM pg_partition_tree('witness.entry') WHERE isleaf)
$$;
CREATE FUNCTION vr.summarize() RETURNS void LANGUAGE sql AS $$
	SELECT brin_summarize_new_values(i.indexrelid) FROM pg_index i
	WHERE i.indrelid IN (SELECT relid FROM pg_partition_tree('witness.entry') WHERE isleaf)
	  AND pg_get_indexdef(i.indexrelid) LIKE '%USING brin (xid %'
$$;

-- Block 1: the entries that will be erased and pruned.
INSERT INTO vr.person SELECT g, 'p' || g || '@vr.example' FROM generate_series(1, 40) g;
INSERT INTO vr.visit SELECT g, 'v' || g || '@vr.example' FROM generate_series(1, 30) g;
SELECT entry_count FROM witness.seal();
SELECT clock_timestamp() AS t1 \gset
-- Block 2: filler, many 128-page ranges of the trail.
INSERT INTO vr.filler SELECT g, repeat('x', 400) FROM generate_series(1, 25000) g;
SELECT entry_count FROM witness.seal();
SELECT pg_relation_size('witness.entry_default') / 8192 > 1000 AS many_pages;
-- Block 3: person 7 erased. Block 4: vr.visit's entries pruned.
SELECT witness.erase_subject('p7@vr.example', 'request 1');
SELECT entry_count FROM witness.seal();
SELECT witness.set_retention('pii', '1 microsecond') IS NOT NULL AS set;
SELECT pg_sleep(0.01);
SELECT entries_pruned, blocks_partly_pruned FROM witness.apply_retention();
SELECT entry_count FROM witness.seal();
SELECT vr.summarize();

-- Block 1 alone: both records lie in later blocks; found at their xids, reading a few 128-page
-- ranges of the trail besides block 1's own, not the filler's pages (reading on would take them all).
SELECT pg_stat_force_next_flush();
SELECT vr.trail_pages() AS pages_before \gset
SELECT status, blocks_checked, entries_checked, entries_erased, entries_pruned, problem FROM witness.verify(1, 1);
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT vr.trail_pages() - :pages_before < pg_relation_size('witness.entry_default') / 8192 / 2 AS read_a_few_ranges;
SELECT status, blocks_checked, entries_erased, entries_pruned, problem FROM witness.verify(1, 2);
SELECT status, blocks_checked, entries_erased, entries_pruned, problem FROM witness.verify();

-- Thirty erasures, each its own transaction: their records share a few page ranges, which are read
-- once, not once for each record.
SELECT format('SELECT witness.erase_subject(%L, %L)', 'p' || g || '@vr.example', 'request ' || g)
FROM generate_series(10, 39) g \gexec
SELECT entry_count FROM witness.seal();
SELECT vr.summarize();
SELECT pg_stat_force_next_flush();
SELECT vr.trail_pages() AS pages_before \gset
SELECT status, blocks_checked, entries_erased, entries_pruned, problem FROM witness.verify(1, 1);
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT vr.trail_pages() - :pages_before < pg_relation_size('witness.entry_default') / 8192 / 2 AS read_a_few_ranges;

-- An erasure in a subtransaction: its row's xmin is the subtransaction's, its entry carries the
-- top-level transaction's. Not found at that xid, the record is found by reading on.
INSERT INTO vr.filler SELECT g, repeat('y', 400) FROM generate_series(25001, 35000) g;
SELECT entry_count FROM witness.seal();
BEGIN;
SAVEPOINT s;
SELECT witness.erase_subject('p8@vr.example', 'request 2');
RELEASE SAVEPOINT s;
COMMIT;
SELECT entry_count FROM witness.seal();
SELECT vr.summarize();
SELECT status, blocks_checked, entries_erased, entries_pruned, problem FROM witness.verify(1, 1);
SELECT status, entries_erased, problem FROM witness.verify();

-- A verification that resumes from a checkpoint is checked in parts too. Another session's
-- transaction, open from before the checkpoint's record until after the block that seals it, leaves
-- that block's snapshot xmin below the record's xid: the next part reads the record's page again. The
-- checkpoint's copy in the chain must still be counted once (twice would refuse the checkpoint).
CREATE EXTENSION dblink;
SELECT dblink_connect('open', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                     split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('open', 'BEGIN');
SELECT dblink_exec('open', 'INSERT INTO vr.filler VALUES (60000, ''open'')');
SELECT status, recorded_run IS NOT NULL AS recorded FROM witness.verify_and_checkpoint(false);
SELECT entry_count FROM witness.seal();
SELECT dblink_exec('open', 'COMMIT');
SELECT dblink_disconnect('open');
DROP EXTENSION dblink;
INSERT INTO vr.filler SELECT g, repeat('z', 100) FROM generate_series(35001, 55000) g;
SELECT entry_count FROM witness.seal();
INSERT INTO vr.filler VALUES (55001, 'last');
SELECT entry_count FROM witness.seal();
SET maintenance_work_mem = '1MB';
SELECT status, blocks_checked, entries_checked, problem, resumed_from_block IS NOT NULL AS resumed
FROM witness.verify_since_checkpoint();
RESET maintenance_work_mem;
SELECT status, blocks_checked, entries_checked, problem, resumed_from_block IS NOT NULL AS resumed
FROM witness.verify_since_checkpoint();

-- A subject with entries in two parts, erased in a savepoint: both parts must read on for its record.
-- The first one that does reads to the end of the trail once and keeps every record it passes; the
-- next part takes its record from there instead of reading the rest of the trail again.
INSERT INTO vr.person VALUES (101, 'sp@vr.example');
SELECT entry_count FROM witness.seal();
INSERT INTO vr.filler SELECT g, repeat('s', 400) FROM generate_series(60001, 80000) g;
SELECT entry_count FROM witness.seal();
INSERT INTO vr.person VALUES (102, 'sp@vr.example');
SELECT entry_count FROM witness.seal();
INSERT INTO vr.filler SELECT g, repeat('t', 400) FROM generate_series(80001, 100000) g;
SELECT entry_count FROM witness.seal();
BEGIN;
SAVEPOINT s;
SELECT witness.erase_subject('sp@vr.example', 'request 3');
RELEASE SAVEPOINT s;
COMMIT;
SELECT entry_count FROM witness.seal();
SELECT vr.summarize();
-- (The DEBUG1 message says when a part reads on: once here, for the first part, which needs the
-- record of p8's erasure, also made in a savepoint.)
SET maintenance_work_mem = '1MB';
SET client_min_messages = debug1;
SELECT status, entries_erased, problem FROM witness.verify();
RESET client_min_messages;
RESET maintenance_work_mem;
SELECT status, entries_erased, problem FROM witness.verify();

-- A payload removed with the name of an erasure that no record lists: looked for to the end of the
-- trail, and reported as in a verification of the whole trail.
SELECT id AS p9 FROM witness.entry WHERE subject = 'p9@vr.example' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = NULL, row_key = NULL, subject = NULL, salt = NULL, erasure_id = 99 WHERE id = :p9;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id = :p9 AS is_p9, detail FROM witness.verify(1, 1) WHERE problem = 'payload removed';
SELECT status, problem, entry_id = :p9 AS is_p9, detail FROM witness.verify() WHERE problem = 'payload removed';

-- A long trail is checked in parts, one range after another, each holding at most
-- maintenance_work_mem of entries (docs/scaling.md, "Memory"): at 1 MB, about 16,000 entries, so that
-- block 1, each filler block and the blocks after them are parts of their own. Same verdict, counts
-- and problems as in one part.
-- A part after the first reads its entries through the xid BRIN index; one part reads the whole trail.
SELECT block_no, entry_count FROM witness.block ORDER BY block_no;
CREATE FUNCTION vr.xid_brin_scans() RETURNS bigint LANGUAGE sql AS $$
	SELECT COALESCE(sum(s.idx_scan), 0)::bigint FROM pg_stat_all_indexes s
	WHERE s.relid IN (SELECT relid FROM pg_partition_tree('witness.entry') WHERE isleaf)
	  AND pg_get_indexdef(s.indexrelid) LIKE '%USING brin (xid %'
$$;
SELECT pg_stat_force_next_flush();
SELECT vr.xid_brin_scans() AS scans \gset
SET maintenance_work_mem = '1MB';
SELECT status, blocks_checked, entries_checked, entries_pending, entries_erased, entries_pruned, problem, entry_id = :p9 AS is_p9
FROM witness.verify();
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT vr.xid_brin_scans() - :scans >= 2 AS read_in_parts;
SELECT vr.xid_brin_scans() AS scans \gset
RESET maintenance_work_mem;
SELECT status, blocks_checked, entries_checked, entries_pending, entries_erased, entries_pruned, problem, entry_id = :p9 AS is_p9
FROM witness.verify();
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT vr.xid_brin_scans() - :scans AS brin_scans_in_one_part;
-- A block deleted where one part ends and the next begins, and the first block of a part changed:
-- found in parts as in one.
BEGIN;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
DELETE FROM witness.block WHERE block_no = 2;
UPDATE witness.block SET entry_count = entry_count + 1 WHERE block_no = 5;
SET LOCAL maintenance_work_mem = '1MB';
SELECT status, problem, block_no, entry_id = :p9 AS is_p9 FROM witness.verify();
SET LOCAL maintenance_work_mem = '64MB';
SELECT status, problem, block_no, entry_id = :p9 AS is_p9 FROM witness.verify();
ROLLBACK;

-- A block larger than a part on its own is streamed in id order, the verifier keeping a Merkle
-- frontier instead of the members. The blocks of 20,000 filler entries were written in id order, so
-- they are read as they lie in the heap. Block 2's (25,000) too, until an entry of it is changed: the
-- UPDATE puts the changed version at the end of the heap, out of id order. The heap's order is tried
-- first, found out of order, and block 2 is verified again sorted by id (on disk: a temporary file).
-- The changed entry is found and named as in one part: the block's members are then collected in a
-- second pass. (The DEBUG1 messages say which block was sorted.)
SELECT id AS f77 FROM witness.entry WHERE table_name = 'filler' AND row_key ->> 'id' = '77' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = replace(new_values::text, 'xxx', 'xXx')::json WHERE id = :f77;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT temp_files AS temp_before FROM pg_stat_database WHERE datname = current_database() \gset
SET maintenance_work_mem = '1MB';
SET client_min_messages = debug1;
SELECT status, blocks_checked, entries_checked, problem, block_no, entry_id = :f77 AS is_f77, entry_id = :p9 AS is_p9
FROM witness.verify();
RESET client_min_messages;
SELECT pg_stat_force_next_flush();
SELECT pg_stat_clear_snapshot();
SELECT temp_files - :temp_before > 0 AS sorted_on_disk FROM pg_stat_database WHERE datname = current_database();
RESET maintenance_work_mem;
SELECT status, blocks_checked, entries_checked, problem, block_no, entry_id = :f77 AS is_f77, entry_id = :p9 AS is_p9
FROM witness.verify();

-- A period-restricted auditor (docs/access.md) is told which entry is wrong when it lies in its
-- period, whichever part read it: the first entry of block 1 moved to the xid of a later filler block.
SELECT first_entry_id AS p1 FROM witness.block WHERE block_no = 1 \gset
SELECT max(xid::text::bigint) AS late_xid FROM witness.entry WHERE table_name = 'filler' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET xid = :'late_xid'::xid8 WHERE id = :p1;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SET client_min_messages = warning;
CREATE ROLE vr_aud;
RESET client_min_messages;
SELECT witness.grant_auditor('vr_aud', now() + interval '1 day', :'t0', :'t1') > 0 AS granted;
SET ROLE vr_aud;
SET maintenance_work_mem = '1MB';
SELECT problem, entry_id = :p1 AS is_p1, detail ~ 'outside the period' AS masked FROM witness.verify()
WHERE problem IN ('entry missing', 'entry inserted') ORDER BY 1;
RESET maintenance_work_mem;
SELECT problem, entry_id = :p1 AS is_p1, detail ~ 'outside the period' AS masked FROM witness.verify()
WHERE problem IN ('entry missing', 'entry inserted') ORDER BY 1;
RESET ROLE;

-- The problems come in the order one verifier gives them, masked or not: two entries of one block
-- changed, the first in a second auditor's period and the second not. Sorted before masking, as one
-- verifier sorts, the masked one stays second (masked first, it sorted first: a review found it).
INSERT INTO vr.filler VALUES (200001, 'in');
SELECT pg_sleep(0.01);
INSERT INTO vr.filler VALUES (200002, 'out');
SELECT entry_count FROM witness.seal();
SELECT id AS in_id, stmt_time AS in_time FROM witness.entry WHERE table_name = 'filler' AND row_key ->> 'id' = '200001' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = replace(new_values::text, '"in"', '"IN"')::json WHERE id = :in_id;
UPDATE witness.entry SET new_values = replace(new_values::text, '"out"', '"OUT"')::json
WHERE table_name = 'filler' AND row_key ->> 'id' = '200002';
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SET client_min_messages = warning;
CREATE ROLE vr_aud2;
RESET client_min_messages;
SELECT witness.grant_auditor('vr_aud2', now() + interval '1 day', :'in_time', :'in_time'::timestamptz + interval '1 millisecond') > 0 AS granted;
SET ROLE vr_aud2;
SET maintenance_work_mem = '1MB';
CREATE TEMP TABLE vr_parts AS SELECT row_number() OVER () AS n, v.* FROM witness.verify() v;
RESET maintenance_work_mem;
CREATE TEMP TABLE vr_one AS SELECT row_number() OVER () AS n, v.* FROM witness.verify() v;
RESET ROLE;
SELECT count(*) AS problems, count(*) FILTER (WHERE p IS DISTINCT FROM o) AS differing
FROM vr_parts p FULL JOIN vr_one o USING (n);
SELECT problem, entry_id = :in_id AS is_in, detail ~ 'outside the period' AS masked FROM vr_parts
WHERE block_no = (SELECT max(block_no) FROM witness.block) ORDER BY n;

\c :original_db
SET client_min_messages = warning;
DROP DATABASE witness_verify_ranges;
DROP ROLE vr_aud;
DROP ROLE vr_aud2;
RESET client_min_messages;
