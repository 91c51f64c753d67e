-- Proofs in large blocks (docs/verification.md, "Proofs in large blocks"): the sealer stores the chunk
-- roots of a block of more than witness.proof_chunk_size entries (witness.block_chunk), and
-- witness.prove() builds the proof from one chunk. Every proof equals the whole-block rebuild
-- (witness._block_tree), for chunks of 1024 and of 4, in a partly pruned block too; chunk rows altered
-- or deleted by a superuser never give a wrong proof (a warning, and the whole block is used); a
-- table owner, a DML-only role and a role with CREATE on the database cannot write them. In a
-- database of its own: retention here must not change what the other tests see.
\set SHOW_CONTEXT never
SELECT current_database() AS original_db \gset
CREATE DATABASE witness_prove_chunks;
\c witness_prove_chunks
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
CREATE ROLE pc_owner;
CREATE ROLE pc_dml;
CREATE ROLE pc_creator;
RESET client_min_messages;
SELECT format('GRANT CREATE ON DATABASE %I TO pc_creator', current_database()) \gexec
CREATE SCHEMA pc;
GRANT USAGE ON SCHEMA pc TO pc_dml, pc_owner;
CREATE TABLE pc.big (id int PRIMARY KEY, v text);
ALTER TABLE pc.big OWNER TO pc_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON pc.big TO pc_dml;
SELECT witness.track('pc.big', 'internal');

-- The root an audit path leads to (the verifier's rule, RFC 9162 2.1.3.2, in SQL).
CREATE FUNCTION pc.root_from_path(leaf bytea, idx bigint, size bigint, path bytea[]) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
	fn bigint := idx;
	sn bigint := size - 1;
	r bytea := leaf;
	p bytea;
BEGIN
	FOREACH p IN ARRAY path LOOP
		IF fn % 2 = 1 OR fn = sn THEN
			r := sha256('\x01'::bytea || p || r);
			IF fn % 2 = 0 THEN
				WHILE fn % 2 = 0 AND fn <> 0 LOOP
					fn := fn / 2;
					sn := sn / 2;
				END LOOP;
			END IF;
		ELSE
			r := sha256('\x01'::bytea || r || p);
		END IF;
		fn := fn / 2;
		sn := sn / 2;
	END LOOP;
	RETURN r;
END
$$;
-- For entries ids of block bno: how many proofs the chunk gives (witness._chunk_proof), how many of
-- witness.prove()'s equal the proof rebuilt from the whole block, and how many check against the
-- block's root.
CREATE FUNCTION pc.compare(bno bigint, ids bigint[]) RETURNS TABLE (proofs bigint, from_chunk bigint, same bigint, checks bigint)
LANGUAGE sql AS $$
	SELECT count(*), count(*) FILTER (WHERE c.leaf_index IS NOT NULL),
	       count(*) FILTER (WHERE p.proof = witness._entry_proof(e.id, witness._sealed_leaf(e), b, t.tree)),
	       count(*) FILTER (WHERE pc.root_from_path(witness._sealed_leaf(e), (p.proof->>'leaf_index')::bigint, (p.proof->>'tree_size')::bigint,
	                                                ARRAY(SELECT decode(x, 'hex') FROM jsonb_array_elements_text(p.proof->'audit_path') x))
	                              = b.merkle_root)
	FROM witness.block b CROSS JOIN LATERAL (SELECT witness._block_tree(b) AS tree) t
	JOIN witness.entry e ON e.id = ANY (ids)
	CROSS JOIN LATERAL (SELECT witness.prove(e.id) AS proof) p
	LEFT JOIN LATERAL witness._chunk_proof(b, e.id, witness._sealed_leaf(e)) c ON true
	WHERE b.block_no = bno
$$;

-- The setting: a power of two, or 0; a superuser's.
SHOW witness.proof_chunk_size;
SET witness.proof_chunk_size = 1000;
SET witness.proof_chunk_size = 1;
SET ROLE pc_dml;
SET witness.proof_chunk_size = 4;
RESET ROLE;

-- 5000 entries in one statement, chunks of 1024: five chunk rows, the last of 904 entries.
INSERT INTO pc.big SELECT g, 'v' || g FROM generate_series(1, 5000) g;
SELECT block_no AS b1, first_entry_id AS f1, last_entry_id AS l1, entry_count FROM witness.seal() \gset
SELECT :entry_count AS entries;
SELECT chunk_no, chunk_size, first_entry_id - :f1 AS first_member, length(root) AS root_bytes
FROM witness.block_chunk WHERE block_no = :b1 ORDER BY chunk_no;
-- First, last, both sides of each chunk boundary, every 97th: from the chunk, and the same proof.
SELECT * FROM pc.compare(:b1, ARRAY[:f1, :f1 + 1, :f1 + 1023, :f1 + 1024, :f1 + 2047, :f1 + 2048, :f1 + 4095,
                                   :f1 + 4096, :l1 - 1, :l1] || ARRAY(SELECT g FROM generate_series(:f1, :l1, 97) g));
SELECT jsonb_array_length(p->'audit_path') AS path_length, p->>'tree_size' AS tree_size,
       (p->>'leaf_index')::bigint = 3000 AS leaf_index
FROM (SELECT witness.prove(:f1 + 3000) AS p) x;

-- A chunk's members are read at the places their lookup rows remember (witness._chunk_members_at()):
-- the same ids and leaf hashes as read by id, for every chunk. An entry no longer at its place (moved
-- by an update), or a place altered by hand: read by id instead, and the same proofs.
CREATE FUNCTION pc.chunks_at(bno bigint) RETURNS TABLE (chunks bigint, same_at_places bigint, read_by_id bigint)
LANGUAGE sql AS $$
	SELECT count(*), count(*) FILTER (WHERE a.ids IS NOT NULL AND a.ids = r.ids AND a.leaves = r.leaves),
	       count(*) FILTER (WHERE a.ids IS NULL)
	FROM witness.block b JOIN witness.block_chunk c ON c.block_no = b.block_no
	LEFT JOIN witness.block_chunk n ON n.block_no = c.block_no AND n.chunk_no = c.chunk_no + 1
	CROSS JOIN LATERAL witness._chunk_members_at(b, c.first_entry_id, COALESCE(n.first_entry_id - 1, b.last_entry_id)) a
	CROSS JOIN LATERAL witness._block_members_in(b, c.first_entry_id, COALESCE(n.first_entry_id - 1, b.last_entry_id)) r
	WHERE b.block_no = bno
$$;
SELECT * FROM pc.chunks_at(:b1);
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET id = id WHERE id = :f1 + 30;
SELECT * FROM pc.chunks_at(:b1);
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 30, :f1 + 31, :f1 + 3000]);
ROLLBACK;
BEGIN;
ALTER TABLE witness.entry_lookup DISABLE TRIGGER witness_written_by_pg_witness;
UPDATE witness.entry_lookup SET entry_tid = (SELECT k.entry_tid FROM witness.entry_lookup k WHERE k.id = :f1 + 41) WHERE id = :f1 + 40;
UPDATE witness.entry_lookup SET entry_tid = NULL WHERE id = :f1 + 2000;
SELECT * FROM pc.chunks_at(:b1);
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 40, :f1 + 41, :f1 + 2000]);
ROLLBACK;
-- A lookup row of the chunk deleted by hand: the members at their places give no proof
-- that checks, and the members read by id do, with no warning of altered entries.
BEGIN;
ALTER TABLE witness.entry_lookup DISABLE TRIGGER witness_written_by_pg_witness;
DELETE FROM witness.entry_lookup WHERE id = :f1 + 50;
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 51, :f1 + 1500]);
ROLLBACK;

-- A block of at most one chunk stores none; with the setting at 0, no block does.
INSERT INTO pc.big SELECT g, 'small' FROM generate_series(5001, 5003) g;
SELECT block_no AS b2 FROM witness.seal() \gset
SET witness.proof_chunk_size = 0;
INSERT INTO pc.big SELECT g, 'none' FROM generate_series(5004, 7000) g;
SELECT block_no AS b3, first_entry_id AS f3, last_entry_id AS l3 FROM witness.seal() \gset
SELECT count(*) AS chunk_rows FROM witness.block_chunk WHERE block_no IN (:b2, :b3);
SELECT * FROM pc.compare(:b3, ARRAY[:f3, :f3 + 1500, :l3]);

-- Chunks of 4 over 37 entries: every shape of path; all of them, from the chunk.
SET witness.proof_chunk_size = 4;
INSERT INTO pc.big SELECT g, 'four' FROM generate_series(7001, 7037) g;
SELECT block_no AS b4, first_entry_id AS f4, last_entry_id AS l4 FROM witness.seal() \gset
SELECT count(*) AS chunk_rows, min(chunk_size) AS chunk_size FROM witness.block_chunk WHERE block_no = :b4;
SELECT * FROM pc.compare(:b4, ARRAY(SELECT g FROM generate_series(:f4, :l4) g));

-- A superuser alters chunk rows (the guard disabled): never a wrong proof. Another chunk's root:
-- the proof does not check, a warning, and the whole block's tree gives it.
BEGIN;
ALTER TABLE witness.block_chunk DISABLE TRIGGER witness_append_only;
UPDATE witness.block_chunk SET root = sha256(root) WHERE block_no = :b1 AND chunk_no = 3;
SELECT witness.prove(:f1 + 10) IS NOT NULL AS proved;
SET client_min_messages = error;
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 10]);
RESET client_min_messages;
-- The proved chunk's own root is recomputed from its entries, never read.
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 3100]);
ROLLBACK;
BEGIN;
ALTER TABLE witness.block_chunk DISABLE TRIGGER witness_append_only;
-- A boundary moved by one entry: the chunks have the wrong entries.
UPDATE witness.block_chunk SET first_entry_id = first_entry_id + 1 WHERE block_no = :b1 AND chunk_no = 2;
SELECT witness.prove(:f1 + 2049) IS NOT NULL AS proved;
SET client_min_messages = error;
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 2048, :f1 + 2049]);
RESET client_min_messages;
ROLLBACK;
BEGIN;
ALTER TABLE witness.block_chunk DISABLE TRIGGER witness_append_only;
-- A chunk row deleted; then a forged chunk size on all rows.
DELETE FROM witness.block_chunk WHERE block_no = :b1 AND chunk_no = 4;
SET client_min_messages = error;
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 5]);
RESET client_min_messages;
ROLLBACK;
BEGIN;
ALTER TABLE witness.block_chunk DISABLE TRIGGER witness_append_only;
UPDATE witness.block_chunk SET chunk_size = 2048 WHERE block_no = :b1;
SET client_min_messages = error;
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 5]);
RESET client_min_messages;
-- All of the block's rows deleted: the block is proved as before version 0.2, no warning.
DELETE FROM witness.block_chunk WHERE block_no = :b1;
SELECT * FROM pc.compare(:b1, ARRAY[:f1 + 5, :l1]);
-- verify() does not read the chunk rows: the trail is intact.
SELECT status FROM witness.verify();
ROLLBACK;

-- Another entry of the chunk altered (its stored leaf hash): the chunk's proof does not check, nor
-- does the whole block's, and prove() refuses (XX001) rather than return a proof that fails against
-- the root (before, it returned one); witness.verify() names the entry.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET leaf_hash = sha256(leaf_hash) WHERE id = :f1 + 20;
SAVEPOINT refused;
SELECT witness.prove(:f1 + 21) IS NOT NULL AS proved;
ROLLBACK;
-- The same when its content is altered instead.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET row_key = '{"id": -1}' WHERE id = :f1 + 20;
SAVEPOINT refused;
\set VERBOSITY sqlstate
SELECT witness.prove(:f1 + 21) IS NOT NULL AS proved;
\set VERBOSITY default
ROLLBACK TO refused;
SELECT count(*) FILTER (WHERE problem IS NOT NULL) > 0 AS verify_names_it,
       bool_or(entry_id = :f1 + 20) AS the_altered_one FROM witness.verify(:b1, :b1);
ROLLBACK;

-- The others cannot write chunk rows: 42501 each (no USAGE on schema witness; the guard for a superuser).
CREATE FUNCTION pc.attempt(who text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	outcome text := 'allowed';
BEGIN
	IF who <> 'superuser' THEN
		EXECUTE format('SET LOCAL ROLE %I', who);
	END IF;
	BEGIN
		EXECUTE stmt;
	EXCEPTION WHEN OTHERS THEN
		outcome := SQLSTATE || ' ' || SQLERRM;
	END;
	RESET ROLE;
	RETURN outcome;
END
$$;
GRANT USAGE ON SCHEMA pc TO PUBLIC;
GRANT EXECUTE ON FUNCTION pc.attempt(text, text) TO PUBLIC;
SELECT who, stmt, pc.attempt(who, stmt) AS outcome
FROM unnest(ARRAY['pc_owner', 'pc_dml', 'pc_creator', 'superuser']) who,
     unnest(ARRAY[format('INSERT INTO witness.block_chunk VALUES (%s, 9, 1024, 1, ''\x00'')', :b1),
                  'UPDATE witness.block_chunk SET root = ''\x00''',
                  'DELETE FROM witness.block_chunk',
                  'TRUNCATE witness.block_chunk']) stmt
ORDER BY 1, 2;
SELECT count(*) AS chunk_rows FROM witness.block_chunk;

-- A partly pruned block of chunks: the kept leaf hashes of the pruned entries stand in for them.
CREATE TABLE pc.person (id int PRIMARY KEY, email text);
SELECT witness.track('pc.person', 'pii', encrypt => false);
SET witness.proof_chunk_size = 4;
DO $$
BEGIN
	FOR i IN 1..15 LOOP
		INSERT INTO pc.person VALUES (i, 'p' || i || '@pc.example');
		IF i % 3 = 0 THEN
			INSERT INTO pc.big VALUES (8000 + i, 'kept');
		END IF;
	END LOOP;
END
$$;
SELECT block_no AS b5, entry_count AS n5 FROM witness.seal() \gset
SELECT :n5 AS entries, count(*) AS chunk_rows FROM witness.block_chunk WHERE block_no = :b5;
SELECT witness.set_retention('pii', '1 microsecond') IS NOT NULL AS set;
SELECT pg_sleep(0.01);
SELECT entries_pruned, blocks_partly_pruned FROM witness.apply_retention();
SELECT count(*) AS left_in_block FROM witness.entry e WHERE (witness.block_of(e.id)).block_no = :b5;
SELECT * FROM pc.compare(:b5, ARRAY(SELECT e.id FROM witness.entry e WHERE (witness.block_of(e.id)).block_no = :b5));
SELECT status, entries_pruned FROM witness.verify(:b5);

-- A chunk's pruned members are found in the block's kept ids by binary search when they ascend;
-- otherwise the whole array is read and filtered, as before.
SELECT witness._ascending_positions('{3,5,7,9,11}', 5, 9) AS inside, witness._ascending_positions('{3,5,7,9,11}', 12, 20) AS after,
       witness._ascending_positions('{3,5,7,9,11}', 0, 2) AS before, witness._ascending_positions('{9,3,7}', 5, 9) AS unsorted,
       witness._ascending_positions('{}', 1, 2) AS empty;

-- The sealer sorts a block's members (id, leaf hash) with a tuplesort, on disk past
-- maintenance_work_mem, and computes the root and chunk roots as the sorted leaves stream out: a block
-- of 30,000 entries sealed with maintenance_work_mem at its minimum (1 MB: about 11,000 members fit; chunks of 4 here)
-- has chunk rows whose proofs equal the whole-block rebuild and check against its root, and
-- witness.verify() recomputes the same root from the entries.
SET maintenance_work_mem = '1MB';
INSERT INTO pc.big SELECT g, 'w' || g FROM generate_series(100001, 130000) g;
SELECT block_no AS b6, first_entry_id AS f6, last_entry_id AS l6, entry_count AS n6 FROM witness.seal() \gset
RESET maintenance_work_mem;
SELECT :n6 AS entries, count(*) AS chunk_rows FROM witness.block_chunk WHERE block_no = :b6;
SELECT * FROM pc.compare(:b6, ARRAY[:f6, :f6 + 1023, :f6 + 1024, :f6 + 15000, :f6 + 29696, :l6]);
SELECT status, count(*) AS rows FROM witness.verify(:b6) GROUP BY status;

\c :original_db
DROP DATABASE witness_prove_chunks;
DROP ROLE pc_owner, pc_dml, pc_creator;
