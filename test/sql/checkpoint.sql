-- Verification that resumes from a checkpoint (docs/verification.md, "Resuming from a checkpoint"):
-- witness.verify_and_checkpoint() records a run whose newest valid block is the next checkpoint;
-- witness.verify_since_checkpoint() checks only the blocks after the newest checkpoint whose record is
-- sealed. Tested: a valid resume, tampering in a new block caught, tampering in an old block NOT caught
-- by a resume but caught by witness.verify(), a moved, altered or unanchored checkpoint reported as
-- "checkpoint invalid" (the whole trail then verified), the BRIN index that serves the resumed scan
-- replaced by one that would hide entries, the pages a resumed verification reads, and who may call
-- what (a table owner, a DML-only role, a role with CREATE on the database, the witness roles, a
-- superuser), and retention keeping the checkpoint's entry. A database of its own, so that block
-- numbers are known.
\set regress_db :DBNAME
SET client_min_messages = warning;
CREATE DATABASE regress_witness_checkpoint;
\c regress_witness_checkpoint
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
CREATE ROLE ck_owner;
CREATE ROLE ck_dml;
CREATE ROLE ck_creator;
CREATE ROLE ck_auditor IN ROLE witness_auditor;
CREATE ROLE ck_admin IN ROLE witness_admin;
CREATE ROLE ck_reader IN ROLE witness_reader;
RESET client_min_messages;
\set SHOW_CONTEXT never
CREATE TABLE items (id int PRIMARY KEY, label text);
ALTER TABLE items OWNER TO ck_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON items TO ck_dml;
GRANT CREATE ON DATABASE regress_witness_checkpoint TO ck_creator;
SELECT witness.track('items');
\set cols 'status, blocks_checked AS blocks, entries_checked AS entries, entries_pending AS pending, problem, block_no, detail, resumed_from_block AS resumed_from, checkpoint_run AS from_run, recorded_run AS run'

INSERT INTO items SELECT g, 'first ' || g FROM generate_series(1, 5) g;
SELECT block_no FROM witness.seal();

-- No checkpoint yet: the whole trail, resumed_from_block NULL.
SELECT :cols FROM witness.verify_since_checkpoint();
-- The first recorded run: a full one (resume finds no checkpoint), valid, so block 1 is a checkpoint.
SELECT :cols FROM witness.verify_and_checkpoint();
SELECT run_id, status, resumed_from_block, checkpoint_block,
       checkpoint_hash = (SELECT block_hash FROM witness.block WHERE block_no = 1) AS hash_of_block_1
FROM witness.verification_run;
-- Its record is not sealed yet: no block covers it, so it is no checkpoint yet; the whole trail.
SELECT :cols FROM witness.verify_since_checkpoint();
-- Sealed (block 2), with new entries in block 3: the resume checks blocks 2 and 3 only.
SELECT block_no FROM witness.seal();
INSERT INTO items SELECT g, 'second ' || g FROM generate_series(6, 8) g;
SELECT block_no FROM witness.seal();
SELECT :cols FROM witness.verify_since_checkpoint();
-- A resumed run recorded: checkpoint block 3, resumed from block 1; then sealed (block 4) and more
-- entries (block 5).
SELECT :cols FROM witness.verify_and_checkpoint();
SELECT block_no FROM witness.seal();
INSERT INTO items SELECT g, 'third ' || g FROM generate_series(9, 10) g;
SELECT block_no FROM witness.seal();
SELECT run_id, status, resumed_from_block, checkpoint_block FROM witness.verification_run ORDER BY run_id;
SELECT :cols FROM witness.verify_since_checkpoint();
-- Each run is an entry of the chain.
SELECT new_values::jsonb->>'run_id' AS run, new_values::jsonb->>'checkpoint_block' AS checkpoint_block
FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'verification_run' ORDER BY id;

-- Tampering in a new block (5) is caught by the resume.
SELECT id AS new_entry, leaf_hash AS new_hash FROM witness.entry
WHERE table_name = 'items' AND new_values::jsonb->>'id' = '10' \gset
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"id":10,"label":"forged"}' WHERE id = :new_entry;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
SELECT :cols FROM witness.verify_since_checkpoint();
-- A tampered run names no checkpoint: the next resume still starts from block 3.
SELECT :cols FROM witness.verify_and_checkpoint();
SELECT run_id, status, checkpoint_block FROM witness.verification_run ORDER BY run_id DESC LIMIT 1;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"id":10,"label":"third 10"}' WHERE id = :new_entry;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
SELECT block_no FROM witness.seal();
SELECT status, resumed_from_block FROM witness.verify_since_checkpoint();

-- Tampering in an old block (1, before the checkpoint) is NOT caught by a resume: it trusts the
-- blocks up to the checkpoint. witness.verify() of the whole trail catches it.
SELECT id AS old_entry FROM witness.entry WHERE table_name = 'items' AND new_values::jsonb->>'id' = '1' \gset
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"id":1,"label":"forged"}' WHERE id = :old_entry;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
SELECT status, blocks_checked, resumed_from_block FROM witness.verify_since_checkpoint();
SELECT status, problem, block_no FROM witness.verify();
SELECT status, problem, block_no, resumed_from_block FROM witness.verify_and_checkpoint(resume => false);
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"id":1,"label":"first 1"}' WHERE id = :old_entry;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
SELECT DISTINCT status FROM witness.verify();

-- A checkpoint moved forward (run 2 made to name block 5, with block 5's hash, to skip block 5): its
-- record was sealed in block 4, before the block it names. Reported, and the whole trail verified
-- instead.
SELECT block_hash AS hash5 FROM witness.block WHERE block_no = 5 \gset
SELECT checkpoint_block AS cp2, checkpoint_hash AS cph2 FROM witness.verification_run WHERE run_id = 2 \gset
ALTER TABLE witness.verification_run DISABLE TRIGGER witness_append_only;
UPDATE witness.verification_run SET checkpoint_block = 5, checkpoint_hash = :'hash5' WHERE run_id = 2;
SELECT :cols FROM witness.verify_since_checkpoint();
-- Moved, with its entry in the chain rewritten to match: the same, and the whole trail's verification
-- finds the rewritten entry.
SELECT id AS run2_entry, new_values AS run2_values FROM witness.entry
WHERE table_name = 'verification_run' AND new_values::jsonb->>'run_id' = '2' \gset
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = replace(replace(:'run2_values', '"checkpoint_block":3', '"checkpoint_block":5'),
                                              encode(:'cph2'::bytea, 'hex'), encode(:'hash5'::bytea, 'hex'))::json
WHERE id = :run2_entry;
SELECT status, problem, block_no, resumed_from_block FROM witness.verify_since_checkpoint();
UPDATE witness.entry SET new_values = :'run2_values' WHERE id = :run2_entry;
-- Moved within the chain's copy only (the row kept): the row and its entry disagree.
UPDATE witness.verification_run SET checkpoint_block = 3, checkpoint_hash = :'cph2' WHERE run_id = 2;
UPDATE witness.entry SET new_values = replace(:'run2_values', '"status":"valid"', '"status":"tampered"')::json
WHERE id = :run2_entry;
SELECT status, problem, block_no, resumed_from_block FROM witness.verify_since_checkpoint();
UPDATE witness.entry SET new_values = :'run2_values' WHERE id = :run2_entry;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
-- The checkpointed hash altered: the block no longer has it.
UPDATE witness.verification_run SET checkpoint_block = 3, checkpoint_hash = sha256('other') WHERE run_id = 2;
SELECT status, problem, block_no, resumed_from_block FROM witness.verify_since_checkpoint();
UPDATE witness.verification_run SET checkpoint_hash = :'cph2' WHERE run_id = 2;
ALTER TABLE witness.verification_run ENABLE TRIGGER witness_append_only;
SELECT status, resumed_from_block FROM witness.verify_since_checkpoint();
-- The checkpoint block rewritten (its hash recomputed elsewhere is not possible here: its stored hash
-- changed): the checkpoint no longer holds.
ALTER TABLE witness.block DISABLE TRIGGER USER;
UPDATE witness.block SET block_hash = sha256('rewritten') WHERE block_no = 3;
SELECT status, problem, block_no, resumed_from_block FROM witness.verify_since_checkpoint() LIMIT 1;
UPDATE witness.block SET block_hash = :'cph2' WHERE block_no = 3;
ALTER TABLE witness.block ENABLE TRIGGER USER;
SELECT status, resumed_from_block FROM witness.verify_since_checkpoint();

-- A superuser can forge anything in the database, a checkpoint too: a row inserted past the guard is
-- captured and sealed like a true one, and a resume then trusts it (documented: only witness.verify()
-- of the whole trail, or a digest kept elsewhere, proves the blocks before a checkpoint).
SELECT max(block_no) AS newest, (SELECT block_hash FROM witness.block ORDER BY block_no DESC LIMIT 1) AS newest_hash
FROM witness.block \gset
ALTER TABLE witness.verification_run DISABLE TRIGGER witness_insert_only_by_pg_witness;
INSERT INTO witness.verification_run (started_at, finished_at, status, problems, blocks_checked, entries_checked,
                                      entries_pending, checkpoint_block, checkpoint_hash)
VALUES (now(), now(), 'valid', 0, 0, 0, 0, :newest, :'newest_hash');
ALTER TABLE witness.verification_run ENABLE TRIGGER witness_insert_only_by_pg_witness;
SELECT count(*) AS sealed FROM witness.seal();
SELECT status, blocks_checked, resumed_from_block = :newest AS resumed_from_the_forged_one
FROM witness.verify_since_checkpoint();

-- The BRIN index the resumed scan reads through, replaced by one that would hide every entry: the
-- resume does not use it (it reads the whole table) and still catches tampering in a new block.
INSERT INTO items VALUES (11, 'fourth 11');
SELECT count(*) AS sealed FROM witness.seal();
SELECT count(*) AS recorded FROM witness.verify_and_checkpoint();
SELECT count(*) AS sealed FROM witness.seal();
INSERT INTO items VALUES (12, 'fourth 12');
SELECT count(*) AS sealed FROM witness.seal();
-- (witness.entry is partitioned, docs/scaling.md: here every entry is in witness.entry_default.)
DROP INDEX witness.entry_default_xid;
CREATE INDEX entry_default_xid ON witness.entry_default USING brin (xid witness.xid8_minmax_ops) WHERE id < 0;
SELECT id AS e12 FROM witness.entry WHERE table_name = 'items' AND new_values::jsonb->>'id' = '12' \gset
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"id":12,"label":"forged"}' WHERE id = :e12;
SELECT status, problem, resumed_from_block IS NOT NULL AS resumed FROM witness.verify_since_checkpoint();
UPDATE witness.entry SET new_values = '{"id":12,"label":"fourth 12"}' WHERE id = :e12;
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
DROP INDEX witness.entry_default_xid;
CREATE INDEX entry_default_xid ON witness.entry_default USING brin (xid witness.xid8_minmax_ops);

-- What a resume reads: with the BRIN index summarized, the pages of the new entries, not the trail.
-- About 6 page ranges of 128 pages of old entries, a checkpoint, a few new entries.
INSERT INTO items SELECT g, repeat('x', 200) || g FROM generate_series(100, 15000) g;
SELECT count(*) AS sealed FROM witness.seal();
SELECT count(*) AS recorded FROM witness.verify_and_checkpoint();
SELECT count(*) AS sealed FROM witness.seal();
INSERT INTO items SELECT g, 'new ' || g FROM generate_series(20000, 20010) g;
SELECT count(*) AS sealed FROM witness.seal();
SELECT brin_summarize_new_values('witness.entry_default_xid') > 0 AS summarized;
SELECT pg_relation_size('witness.entry_default') / 8192 > 640 AS over_five_ranges;
-- Statistics reach pg_statio when the backend goes idle after pg_stat_force_next_flush().
CREATE FUNCTION pages_read() RETURNS bigint LANGUAGE sql AS $$
	SELECT pg_stat_clear_snapshot();
	SELECT heap_blks_read + heap_blks_hit FROM pg_statio_all_tables WHERE relid = 'witness.entry_default'::regclass
$$;
SELECT pg_stat_force_next_flush();
SELECT pages_read() AS before_full \gset
SELECT status, entries_checked > 14900 AS all_entries FROM witness.verify();
SELECT pg_stat_force_next_flush();
SELECT pages_read() AS before_resume \gset
SELECT status, entries_checked < 100 AS new_entries_only, resumed_from_block IS NOT NULL AS resumed
FROM witness.verify_since_checkpoint();
SELECT pg_stat_force_next_flush();
SELECT pages_read() AS after_resume \gset
SELECT :before_resume - :before_full >= pg_relation_size('witness.entry_default') / 8192 AS full_read_every_page,
       :after_resume - :before_resume <= 2 * 128 AS resume_read_at_most_two_ranges;
-- A range of old blocks (witness.verify(first_block, last_block)) reads the page ranges of its own
-- entries only: here the first range, not the 15,000 entries after it.
SELECT status, blocks_checked FROM witness.verify(2, 3);
SELECT pg_stat_force_next_flush();
SELECT pages_read() AS after_range \gset
SELECT :after_range - :after_resume <= 128 AS range_read_one_range;

-- An erasure after the checkpoint of entries sealed before it: its record lies in a new block, its
-- entries in old ones. The resume is valid (the old blocks are not checked, nor counted erased); the
-- full verification counts the erased entry.
CREATE TABLE cust (id int PRIMARY KEY, email text);
SELECT witness.track('cust', subject_column => 'email', encrypt => false);
INSERT INTO cust VALUES (1, 'a@ck.example'), (2, 'b@ck.example');
SELECT count(*) AS sealed FROM witness.seal();
SELECT status FROM witness.verify_and_checkpoint();
SELECT count(*) AS sealed FROM witness.seal();
SELECT witness.erase_subject('a@ck.example', 'asked to be forgotten') AS erased;
SELECT count(*) AS sealed FROM witness.seal();
SELECT status, entries_erased, resumed_from_block IS NOT NULL AS resumed FROM witness.verify_since_checkpoint();
SELECT status, entries_erased FROM witness.verify();

-- Who may call what. The auditor resumes; only the admin records (it writes the chain).
SET ROLE ck_auditor;
SELECT status, resumed_from_block IS NOT NULL AS resumed FROM witness.verify_since_checkpoint();
\set VERBOSITY sqlstate
SELECT count(*) FROM witness.verify_and_checkpoint();
SET ROLE ck_admin;
SELECT status, recorded_run IS NOT NULL AS recorded FROM witness.verify_and_checkpoint();
SELECT count(*) FROM witness.verify_since_checkpoint();
-- Neither the table's owner, a DML-only role, a role with CREATE on the database nor witness_reader.
SET ROLE ck_owner;
SELECT count(*) FROM witness.verify_since_checkpoint();
SELECT count(*) FROM witness.verify_and_checkpoint();
SET ROLE ck_dml;
SELECT count(*) FROM witness.verify_since_checkpoint();
SELECT count(*) FROM witness.verify_and_checkpoint();
SET ROLE ck_creator;
SELECT count(*) FROM witness.verify_since_checkpoint();
SELECT count(*) FROM witness.verify_and_checkpoint();
-- A role with CREATE on the database cannot put a checkpoint of its own before pg_witness's either.
CREATE SCHEMA ck_evil;
CREATE TABLE ck_evil.verification_run (LIKE witness.verification_run);
SET search_path = ck_evil, public;
RESET ROLE;
SELECT status, resumed_from_block IS NOT NULL AS resumed FROM witness.verify_since_checkpoint();
RESET search_path;
SET ROLE ck_reader;
SELECT count(*) FROM witness.verify_since_checkpoint();
SELECT count(*) FROM witness.verify_and_checkpoint();
-- Nobody writes a checkpoint but pg_witness: the admin, the owner of the table, a superuser.
SET ROLE ck_admin;
UPDATE witness.verification_run SET checkpoint_block = 1;
RESET ROLE;
UPDATE witness.verification_run SET checkpoint_block = 1;
INSERT INTO witness.verification_run (started_at, finished_at, status, problems, blocks_checked, entries_checked,
                                      entries_pending) VALUES (now(), now(), 'valid', 0, 0, 0, 0);
\set VERBOSITY default
-- Every new column is commented.
SELECT a.attname FROM pg_attribute a
WHERE a.attrelid = 'witness.verification_run'::regclass AND a.attnum > 0 AND NOT a.attisdropped
  AND col_description(a.attrelid, a.attnum) IS NULL;
SELECT current_setting('witness.full_verify_interval') AS full_verify_interval;

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE regress_witness_checkpoint;

-- Retention and the checkpoint (docs/retention.md): witness.verification_run is classified
-- internal, but the entry of the run a resumed verification starts from, and those of later runs,
-- are never pruned. A review pruned the checkpoint's entry under an internal rule: every resumed
-- verification then reported "checkpoint invalid" and recorded a tampered run, witness.verify() valid.
CREATE DATABASE regress_witness_ck_retention;
\c regress_witness_ck_retention
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
RESET client_min_messages;
CREATE TABLE t (id int PRIMARY KEY, v text);
SELECT witness.track('t', 'internal');
INSERT INTO t VALUES (1, 'one');
SELECT block_no FROM witness.seal();
SELECT status, recorded_run FROM witness.verify_and_checkpoint();
SELECT block_no FROM witness.seal();
SELECT status, recorded_run, resumed_from_block FROM witness.verify_and_checkpoint();
SELECT block_no FROM witness.seal();
SELECT status, resumed_from_block, checkpoint_run FROM witness.verify_since_checkpoint();
SELECT witness.set_retention('internal', '1 second');
SELECT pg_sleep(1.5);
SELECT block_no FROM witness.seal();
-- Run 1's entry and the row of t are pruned; run 2's, the checkpoint's, is kept.
SELECT entries_pruned FROM witness.apply_retention();
SELECT new_values::jsonb->>'run_id' AS run_kept FROM witness.entry WHERE table_name = 'verification_run';
SELECT block_no FROM witness.seal();
SELECT status, entries_pruned FROM witness.verify();
SELECT status, problem, detail, resumed_from_block, checkpoint_run FROM witness.verify_since_checkpoint();
SELECT status, problem, resumed_from_block, checkpoint_run, recorded_run FROM witness.verify_and_checkpoint();
-- Once run 3's record is sealed it is the checkpoint: run 2's entry may go, run 3's stays.
SELECT block_no FROM witness.seal();
SELECT pg_sleep(1.5);
SELECT entries_pruned FROM witness.apply_retention();
SELECT new_values::jsonb->>'run_id' AS run_kept FROM witness.entry WHERE table_name = 'verification_run';
SELECT block_no FROM witness.seal();
SELECT status, problem, resumed_from_block, checkpoint_run FROM witness.verify_since_checkpoint();
SELECT status, entries_pruned FROM witness.verify();
-- The checkpoint's entry deleted without a retention run (past the guard): still reported.
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
DELETE FROM witness.entry WHERE table_name = 'verification_run' AND new_values::jsonb->>'run_id' = '3';
ALTER TABLE witness.entry ENABLE TRIGGER witness_append_only;
SELECT status, problem, detail, resumed_from_block FROM witness.verify_since_checkpoint() LIMIT 1;

\c :regress_db
SET client_min_messages = warning;
DROP DATABASE regress_witness_ck_retention;
DROP ROLE ck_owner, ck_dml, ck_creator, ck_auditor, ck_admin, ck_reader;
