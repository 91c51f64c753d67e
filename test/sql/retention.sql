-- Retention (docs/retention.md, "Retention"): rules per classification, witness.apply_retention()
-- pruning sealed, expired entries that no legal hold covers, and a trail that still verifies: the
-- pruned entries are counted, never missing; a remaining entry of a partly pruned block still has its
-- proof. Deletions without a retention run recorded in the chain, and kept leaf hashes that do not
-- match, are still tampering. Then a role without witness_admin, a table owner, a DML-only role, a
-- role with CREATE on the database and a superuser try to prune or delete.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE rt_admin;
CREATE ROLE rt_owner;
CREATE ROLE rt_dml;
CREATE ROLE rt_creator;
RESET client_min_messages;
GRANT witness_admin TO rt_admin;
SELECT format('GRANT CREATE ON DATABASE %I TO rt_creator', current_database()) \gexec

-- Earlier tests' entries are held, so that this test prunes its own only: everything before now.
SELECT count(*) <= 1 AS sealed FROM witness.seal();
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
SELECT now() AS t0 \gset
SELECT pg_sleep(0.01);
SELECT witness.hold('rt-earlier-tests', 'entries of the other regression tests', until => :'t0') IS NOT NULL AS held;

-- No rule: everything is kept forever.
SELECT classification, keep, forever FROM witness.retention_rules;

-- Bad rules: 22023, nothing recorded.
SELECT witness.set_retention(NULL, '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT witness.set_retention('secret', '1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT witness.set_retention('pii', '-1 day');
\echo :LAST_ERROR_SQLSTATE
SELECT witness.set_retention('pii', '0');
SELECT witness.set_retention('pii', '10000 years');
-- A period with a negative part, though positive taken as 30-day months.
SELECT witness.set_retention('pii', '-1 mon 40 days');
SELECT witness.set_retention('pii', '1 day -1 hour');
SELECT count(*) AS rules_recorded FROM witness.retention_rule;

CREATE SCHEMA rt;
GRANT USAGE ON SCHEMA rt TO rt_dml, rt_owner;
CREATE TABLE rt.person (id int PRIMARY KEY, email text);
CREATE TABLE rt.invoice (id int PRIMARY KEY, email text, amount numeric);
CREATE TABLE rt.note (id int PRIMARY KEY, body text);
ALTER TABLE rt.note OWNER TO rt_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON rt.person TO rt_dml;
SELECT witness.track('rt.person', 'pii', encrypt => false);
-- financial, with a pii column: its entries carry both tags and keep the longer period.
SELECT witness.track('rt.invoice', 'financial', column_tags => '{"email": "pii"}', encrypt => false);
SELECT witness.track('rt.note', 'internal');

-- Block A: two pii entries and one internal entry (partly pruned).
BEGIN;
INSERT INTO rt.person VALUES (1, 'ann@rt.example'), (2, 'bob@rt.example');
INSERT INTO rt.note VALUES (1, 'kept');
COMMIT;
SELECT witness.seal() IS NOT NULL AS sealed;
-- Block B: pii entries only (wholly pruned).
INSERT INTO rt.person VALUES (3, 'cy@rt.example'), (4, 'dee@rt.example');
SELECT witness.seal() IS NOT NULL AS sealed;
-- Block C: a held pii entry, and a pii + financial one.
INSERT INTO rt.person VALUES (5, 'eve@rt.example');
INSERT INTO rt.invoice VALUES (1, 'eve@rt.example', 10.5);
SELECT witness.seal() IS NOT NULL AS sealed;
-- Pending: never pruned.
INSERT INTO rt.person VALUES (6, 'fay@rt.example');
SELECT min(id) - 1 AS e0 FROM witness.entry WHERE schema_name = 'rt' \gset
SELECT id - :e0 AS entry, table_name, witness.tag_names(tags) AS tags, b.block_no - :base AS block
FROM witness.entry e LEFT JOIN LATERAL witness.block_of(e.id) b ON true
WHERE schema_name = 'rt' ORDER BY id;

SELECT witness.hold('rt-eve', 'dispute about person 5', "table" => 'rt.person', row_key => '{"id": 5}') IS NOT NULL AS held;

-- Rules: pii for a microsecond, financial for ten years, internal forever.
SET ROLE rt_admin;
SELECT witness.set_retention('pii', '1 microsecond') IS NOT NULL AS set;
SELECT witness.set_retention('financial', '10 years') IS NOT NULL AS set;
SELECT witness.set_retention('internal', NULL) IS NOT NULL AS set;
RESET ROLE;
SELECT classification, keep, forever, set_by FROM witness.retention_rules;
SELECT pg_sleep(0.01);

-- The attempts of the others, before anything is pruned: 42501 each, nothing deleted.
CREATE FUNCTION rt.attempt(who text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	outcome text := 'allowed';
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', who);
	BEGIN
		EXECUTE stmt;
	EXCEPTION WHEN OTHERS THEN
		outcome := SQLSTATE || ' ' || SQLERRM;
	END;
	RESET ROLE;
	RETURN outcome;
END
$$;
GRANT EXECUTE ON FUNCTION rt.attempt(text, text) TO PUBLIC;
SELECT who, stmt, rt.attempt(who, stmt) AS outcome
FROM unnest(ARRAY['rt_owner', 'rt_dml', 'rt_creator']) who,
     unnest(ARRAY['SELECT * FROM witness.apply_retention()',
                  'SELECT witness.set_retention(''pii'', NULL)',
                  'DELETE FROM witness.entry WHERE schema_name = ''rt''',
                  'SELECT witness._prune_entries(''{}'', ''{}'')',
                  'INSERT INTO witness.pruned_leaf VALUES (1, 1, true, ''{}'', '''')']) stmt
ORDER BY who, stmt;
-- The table owner deletes its own rows: captured, not pruning.
SELECT rt.attempt('rt_owner', 'DELETE FROM rt.note WHERE id = 99');
-- A role with CREATE on the database makes a schema with a now() a thousand years ahead, hoping that
-- a run with its schema first in search_path takes every entry for expired: apply_retention() pins
-- its search_path, and the ten-year invoice stays (below).
SET ROLE rt_creator;
CREATE SCHEMA rt_creator_s;
CREATE FUNCTION rt_creator_s.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT pg_catalog.now() + interval '1000 years' $$;
RESET ROLE;
-- A superuser: the guard triggers refuse a DELETE on the trail, and the deleting function refuses
-- to run outside witness.apply_retention().
DELETE FROM witness.entry WHERE schema_name = 'rt';
\echo :LAST_ERROR_SQLSTATE
DELETE FROM witness.pruned_leaf;
\echo :LAST_ERROR_SQLSTATE
INSERT INTO witness.pruned_leaf VALUES (1, 1, true, '{}', '');
SELECT witness._prune_entries(ARRAY(SELECT ctid FROM witness.entry WHERE id = :e0 + 1), ARRAY[:e0 + 1]::bigint[]);
\echo :LAST_ERROR_SQLSTATE
UPDATE witness.retention_rule SET keep = NULL;
SELECT count(*) AS rt_entries FROM witness.entry WHERE schema_name = 'rt';

-- A run decides from the holds and rules it reads: at REPEATABLE READ its snapshot, taken before a
-- hold committed, pruned the held entries (an attack review). Refused at any level but READ COMMITTED.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT entries_pruned FROM witness.apply_retention();
ROLLBACK;

-- Expired entries altered (their content no longer gives the leaf hash they store): the run refuses
-- (XX001) rather than keep leaf hashes that are not the sealed ones, and prunes nothing.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"altered":true}' WHERE schema_name = 'rt' AND new_values IS NOT NULL;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
SAVEPOINT run;
\set VERBOSITY sqlstate
SELECT entries_pruned FROM witness.apply_retention();
\set VERBOSITY terse
ROLLBACK TO run;
SELECT count(*) AS kept_rows FROM witness.pruned_leaf WHERE block_no > :base;
ROLLBACK;

-- The run, as witness_admin, with the creator's schema first in search_path.
SET ROLE rt_admin;
SET search_path = rt_creator_s, public;
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned, held_kept >= 1 AS held_kept, bytes_kept
FROM witness.apply_retention();
RESET search_path;
RESET ROLE;
-- What remains of rt: the internal note, the held entry, the pii + financial invoice, the pending one.
SELECT id - :e0 AS entry, table_name FROM witness.entry WHERE schema_name = 'rt' ORDER BY id;
SELECT block_no - :base AS block, whole, cardinality(entry_ids) AS ids, octet_length(leaf_hashes) AS hash_bytes
FROM witness.pruned_leaf WHERE block_no > :base ORDER BY block_no;
SELECT r.run_by, r.entries_pruned, r.rules ->> 'pii' AS pii, r.rules ->> 'internal' AS internal,
       jsonb_array_length(r.pruned) AS blocks
FROM witness.retention_run r ORDER BY run_id DESC LIMIT 1;
-- The run is an entry of the chain.
SELECT count(*) AS run_entries FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'retention_run';

-- Valid, the pruned entries counted, before and after the run's own entry is sealed.
SELECT status, entries_pruned, problem FROM witness.verify(:base + 1);
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT status, entries_pruned, entries_pending, problem FROM witness.verify(:base + 1);
SELECT status, entries_pruned FROM witness.verify_period(:'t0', now() + interval '1 hour');

-- The note's entry, left in the partly pruned block A: its proof is over all three leaves, the pruned
-- ones' kept hashes included, and leads to the sealed root.
CREATE FUNCTION rt.proof_root(p jsonb) RETURNS bytea LANGUAGE plpgsql AS $$
DECLARE
	h bytea := decode(p ->> 'leaf_hash', 'hex');
	idx bigint := (p ->> 'leaf_index')::bigint;
	last bigint := (p ->> 'tree_size')::bigint - 1;
	s bytea;
BEGIN
	-- RFC 9162 section 2.1.3.2.
	FOR s IN SELECT decode(x, 'hex') FROM jsonb_array_elements_text(p -> 'audit_path') x LOOP
		IF last = 0 THEN
			RETURN NULL;
		END IF;
		IF idx % 2 = 1 OR idx = last THEN
			h := sha256('\x01'::bytea || s || h);
			IF idx % 2 = 0 THEN
				LOOP
					idx := idx >> 1;
					last := last >> 1;
					EXIT WHEN idx % 2 = 1 OR idx = 0;
				END LOOP;
			END IF;
		ELSE
			h := sha256('\x01'::bytea || h || s);
		END IF;
		idx := idx >> 1;
		last := last >> 1;
	END LOOP;
	RETURN h;
END
$$;
SELECT p ->> 'tree_size' AS tree_size, p ->> 'leaf_index' AS leaf_index,
       rt.proof_root(p) = decode(p ->> 'merkle_root', 'hex') AS proof_checks
FROM (SELECT witness.prove(:e0 + 3) AS p) x;
-- A pruned entry has no proof.
\set VERBOSITY sqlstate
SELECT witness.prove(:e0 + 1);
\set VERBOSITY default

-- A second run: the entry that was pending is sealed now, and goes; the held and the longer-kept
-- entries stay.
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned FROM witness.apply_retention();
-- Released, the held entry goes with the next run; block C keeps the invoice, so it is partly pruned.
SELECT witness.release_hold('rt-eve', 'dispute settled') IS NOT NULL AS released;
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned FROM witness.apply_retention();
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT status, entries_pruned, problem FROM witness.verify(:base + 1);

-- Tampering is still reported. A superuser deletes the note's entry by hand, guards disabled, with
-- no retention run: entry missing.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
DELETE FROM witness.entry WHERE id = :e0 + 3;
SELECT status, problem, block_no - :base AS block, entry_id - :e0 AS entry,
       regexp_replace(detail, 'entry \d+', 'entry N') AS detail FROM witness.verify(:base + 1);
ROLLBACK;
-- ... and adds a kept hash for it, as retention would: no run in the chain names it.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
ALTER TABLE witness.pruned_leaf DISABLE TRIGGER witness_insert_only_by_pg_witness;
INSERT INTO witness.pruned_leaf SELECT :base + 1, 999, false, ARRAY[id], witness._sealed_leaf(e) FROM witness.entry e WHERE id = :e0 + 3;
DELETE FROM witness.entry WHERE id = :e0 + 3;
SELECT status, problem, block_no - :base AS block, entry_id - :e0 AS entry,
       regexp_replace(detail, 'entry \d+', 'entry N') AS detail FROM witness.verify(:base + 1);
ROLLBACK;
-- ... or marks block A wholly pruned: no run in the chain says so, and the mark is reported (and
-- not used: the block's entries are checked as they are).
BEGIN;
ALTER TABLE witness.pruned_leaf DISABLE TRIGGER witness_insert_only_by_pg_witness;
INSERT INTO witness.pruned_leaf VALUES (:base + 1, 999, true, '{}', '');
SELECT status, problem, block_no - :base AS block, entry_id - :e0 AS entry,
       regexp_replace(detail, 'entry \d+', 'entry N') AS detail FROM witness.verify(:base + 1);
ROLLBACK;
-- A kept leaf hash altered (its first byte flipped: an overwrite with a fixed byte changed nothing, one run in 256).
BEGIN;
ALTER TABLE witness.pruned_leaf DISABLE TRIGGER witness_append_only;
UPDATE witness.pruned_leaf SET leaf_hashes = set_byte(leaf_hashes, 0, get_byte(leaf_hashes, 0) # 255)
WHERE block_no = :base + 1;
SELECT status, problem, block_no - :base AS block, entry_id - :e0 AS entry,
       regexp_replace(detail, 'entry \d+', 'entry N') AS detail FROM witness.verify(:base + 1);
ROLLBACK;
-- A kept leaf hash and the run's record rewritten to match: the run's entry in the chain no longer
-- matches its commitment.
BEGIN;
ALTER TABLE witness.pruned_leaf DISABLE TRIGGER witness_append_only;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.pruned_leaf SET leaf_hashes = set_byte(leaf_hashes, 0, get_byte(leaf_hashes, 0) # 255)
WHERE block_no = :base + 1;
UPDATE witness.entry e SET new_values = jsonb_set(e.new_values::jsonb, '{pruned,0,digest}',
	to_jsonb(encode(witness._pruned_digest(p.block_no, p.whole, p.entry_ids, p.leaf_hashes), 'hex')))::json
FROM witness.pruned_leaf p
WHERE e.schema_name = 'witness' AND e.table_name = 'retention_run' AND p.block_no = :base + 1
  AND (e.new_values ->> 'run_id')::bigint = p.run_id;
SELECT status, problem, block_no - :base AS block, detail FROM witness.verify(:base + 1);
ROLLBACK;
SELECT status, entries_pruned FROM witness.verify(:base + 1);

-- Holds that follow a row and a table (attack reviews). A role with only DML grants changes a held
-- row's key, then changes it under the new key, changes the key again and deletes the row; a table
-- owner renames a held table, changes it and drops it. Retention keeps every one of those entries,
-- and prunes the others.
CREATE TABLE rt.pay (id int PRIMARY KEY, amount int);
GRANT SELECT, UPDATE, DELETE ON rt.pay TO rt_dml;
SELECT witness.track('rt.pay', 'pii') IS NOT NULL AS tracked;
CREATE TABLE rt.acct (id int PRIMARY KEY, v text);
ALTER TABLE rt.acct OWNER TO rt_owner;
GRANT CREATE ON SCHEMA rt TO rt_owner; -- renaming a table takes it
SELECT witness.track('rt.acct', 'pii') IS NOT NULL AS tracked;
-- A partitioned table: a row moved to another partition is a DELETE and an INSERT under a new key.
CREATE TABLE rt.part (id int, region text, v text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE rt.part_eu PARTITION OF rt.part FOR VALUES IN ('eu');
CREATE TABLE rt.part_us PARTITION OF rt.part FOR VALUES IN ('us');
GRANT SELECT, UPDATE ON rt.part TO rt_dml;
SELECT witness.track('rt.part', 'pii') IS NOT NULL AS tracked;
INSERT INTO rt.pay VALUES (991, 100), (5, 1);
INSERT INTO rt.acct VALUES (1, 'a'), (2, 'b');
INSERT INTO rt.part VALUES (1, 'eu', 'x'), (2, 'eu', 'y');
SELECT witness.hold('rt-pay', 'payment dispute', "table" => 'rt.pay', row_key => '{"id": 991}') IS NOT NULL AS held,
       witness.hold('rt-acct', 'litigation', "table" => 'rt.acct') IS NOT NULL AS held,
       witness.hold('rt-part', 'litigation', "table" => 'rt.part', row_key => '{"id": 1, "region": "eu"}') IS NOT NULL AS held;
SET ROLE rt_dml;
UPDATE rt.pay SET id = 9991, amount = 0 WHERE id = 991;
UPDATE rt.pay SET amount = -5 WHERE id = 9991;
UPDATE rt.pay SET id = 99991 WHERE id = 9991;
DELETE FROM rt.pay WHERE id = 99991;
UPDATE rt.pay SET amount = 2 WHERE id = 5;
UPDATE rt.part SET region = 'us';
UPDATE rt.part SET v = 'after the move' WHERE id = 1;
UPDATE rt.part SET v = 'not held' WHERE id = 2;
RESET ROLE;
SET ROLE rt_owner;
ALTER TABLE rt.acct RENAME TO acct2;
UPDATE rt.acct2 SET v = 'changed' WHERE id = 2;
DELETE FROM rt.acct2 WHERE id = 1;
DROP TABLE rt.acct2;
RESET ROLE;
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT pg_sleep(0.01);
SELECT entries_pruned, held_kept > 0 AS held_kept FROM witness.apply_retention();
SELECT table_name, op, row_key::text FROM witness.entry WHERE schema_name = 'rt' AND table_name IN ('pay', 'acct', 'acct2', 'part') ORDER BY id;
-- Released, they go.
SELECT witness.release_hold('rt-pay', 'settled') IS NOT NULL AS released, witness.release_hold('rt-acct', 'settled') IS NOT NULL AS released,
       witness.release_hold('rt-part', 'settled') IS NOT NULL AS released;
SELECT entries_pruned FROM witness.apply_retention();
SELECT count(*) AS left FROM witness.entry WHERE schema_name = 'rt' AND table_name IN ('pay', 'acct', 'acct2', 'part');
SELECT status FROM witness.verify(:base + 1);
REVOKE CREATE ON SCHEMA rt FROM rt_owner;

-- A hold on a subject follows a row moved away from the subject (to none, or to another), and a hold
-- covers the TRUNCATE of its table (attack reviews: a role with only DML grants moved alice's row
-- away, changed it and deleted it; another truncated a table with held rows; retention pruned those
-- entries). bob's row is held by nothing and goes.
-- The review of the fix moved alice's rows to another partition as it changed their owner (a DELETE
-- and an INSERT), and mallory's erasure emptied the INSERT holding alice's data: refused now.
CREATE TABLE rt.acct3 (id int PRIMARY KEY, owner text, ssn text);
CREATE TABLE rt.acct4 (id int PRIMARY KEY, owner text, ssn text);
CREATE TABLE rt.acct5 (region text, id int, owner text, ssn text, PRIMARY KEY (region, id)) PARTITION BY LIST (region);
CREATE TABLE rt.acct5_us PARTITION OF rt.acct5 FOR VALUES IN ('us');
CREATE TABLE rt.acct5_eu PARTITION OF rt.acct5 FOR VALUES IN ('eu');
GRANT SELECT, UPDATE, DELETE, TRUNCATE ON rt.acct3, rt.acct4, rt.acct5 TO rt_dml;
SELECT witness.track(t, 'pii', subject_column => 'owner', encrypt => false) IS NOT NULL AS tracked
FROM unnest(ARRAY['rt.acct3', 'rt.acct4', 'rt.acct5']::regclass[]) t;
INSERT INTO rt.acct3 VALUES (1, 'alice', '111'), (2, 'alice', '112'), (3, 'bob', '222');
INSERT INTO rt.acct4 VALUES (1, 'carol', '333'), (2, 'dave', '444');
INSERT INTO rt.acct5 VALUES ('us', 1, 'alice', '511'), ('us', 2, 'alice', '512'), ('us', 3, 'bob', '522');
SELECT witness.hold('rt-alice', 'litigation about alice', subject => 'alice') IS NOT NULL AS held,
       witness.hold('rt-acct4', 'litigation', "table" => 'rt.acct4', row_key => '{"id": 2}') IS NOT NULL AS held;
SET ROLE rt_dml;
UPDATE rt.acct3 SET owner = NULL WHERE id = 1;
UPDATE rt.acct3 SET owner = 'mallory' WHERE id = 2;
UPDATE rt.acct3 SET ssn = '999';
DELETE FROM rt.acct3;
TRUNCATE rt.acct4;
UPDATE rt.acct5 SET region = 'eu', owner = NULL WHERE id = 1;
UPDATE rt.acct5 SET region = 'eu', owner = 'mallet' WHERE id = 2;
UPDATE rt.acct5 SET ssn = '999';
DELETE FROM rt.acct5;
RESET ROLE;
-- (Earlier tests left encrypted entries: an erasure needs the master key to find a subject's.)
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) || set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false)) IS NOT NULL AS set;
SELECT witness.erase_subject('mallet', 'request');
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT pg_sleep(0.01);
SELECT entries_pruned > 0 AS pruned FROM witness.apply_retention();
SELECT table_name, op, row_key::text, subject FROM witness.entry WHERE schema_name = 'rt' AND table_name IN ('acct3', 'acct4', 'acct5') ORDER BY id;
SELECT witness.release_hold('rt-alice', 'settled') IS NOT NULL AS released, witness.release_hold('rt-acct4', 'settled') IS NOT NULL AS released;
SELECT entries_pruned FROM witness.apply_retention();
SELECT status FROM witness.verify(:base + 1);

-- Back to keeping everything, for whatever runs next.
SELECT witness.set_retention(c, NULL) IS NOT NULL AS reset FROM unnest(witness.retention_classes()) c;
SELECT witness.release_hold('rt-earlier-tests', 'retention test done') IS NOT NULL AS released;
SELECT witness.untrack(t) FROM unnest(ARRAY['rt.person', 'rt.invoice', 'rt.note', 'rt.pay', 'rt.part', 'rt.acct3', 'rt.acct4', 'rt.acct5']::regclass[]) t;
SELECT format('REVOKE CREATE ON DATABASE %I FROM rt_creator', current_database()) \gexec
DROP SCHEMA rt CASCADE;
DROP SCHEMA rt_creator_s CASCADE;
DROP ROLE rt_admin, rt_owner, rt_dml, rt_creator;
