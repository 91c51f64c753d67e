-- Entries store the first 8 bytes of their leaf hash (docs/hashing.md, "How entries store their leaf
-- hash"); the sealer, proofs and witness.log take the full hash from the content, and verification
-- names an entry whose content or stored bytes no longer agree.
CREATE SCHEMA sl;
CREATE TABLE sl.account (id int PRIMARY KEY, balance numeric);
SELECT witness.track('sl.account');
SELECT count(*) >= 0 AS sealed_earlier FROM witness.seal();
SELECT max(block_no) AS base FROM witness.block \gset

INSERT INTO sl.account SELECT g, g * 100 FROM generate_series(1, 6) g;
SELECT min(id) AS e1 FROM witness.entry WHERE schema_name = 'sl' \gset
-- What capture stores: 8 bytes, the first of the hash the content gives.
SELECT count(*) AS entries, bool_and(octet_length(leaf_hash) = 8) AS eight_bytes,
       bool_and(leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8)) AS prefix_of_recomputed
FROM witness.entry e WHERE schema_name = 'sl';
-- witness.log shows the full hash, the one the block covers.
SELECT bool_and(octet_length(l.leaf_hash) = 32 AND l.leaf_hash = witness.entry_leaf_hash(e)) AS log_shows_full_hash
FROM witness.log l JOIN witness.entry e USING (id) WHERE e.schema_name = 'sl';
SELECT block_no - :base AS block, entry_count FROM witness.seal();
-- The block's root is over the full hashes, and a proof proves one of them.
SELECT witness.prove(:e1) ->> 'leaf_hash' = encode((SELECT witness.entry_leaf_hash(e) FROM witness.entry e WHERE id = :e1), 'hex') AS proof_of_full_hash;
SELECT status, problem FROM witness.verify(:base + 1);

-- Tampering after sealing, as a superuser who disables the guards; each rolled back.
-- 1. The stored bytes altered, the content intact: "hash changed".
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET leaf_hash = '\x0102030405060708' WHERE id = :e1 + 1;
SELECT status, problem, entry_id - :e1 AS entry FROM witness.verify(:base + 1);
-- ... and prove() refuses the entry.
\set VERBOSITY sqlstate
SELECT witness.prove(:e1 + 1);
\set VERBOSITY terse
ROLLBACK;
-- 2. The stored bytes emptied or shortened: they can no longer vouch for any content.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET leaf_hash = '' WHERE id = :e1 + 1;
UPDATE witness.entry e SET leaf_hash = substring(witness.entry_leaf_hash(e) FOR 7) WHERE id = :e1 + 2;
SELECT status, problem, entry_id - :e1 AS entry FROM witness.verify(:base + 1) ORDER BY entry_id;
ROLLBACK;
-- 3. A value changed: "value changed", and the detail says what the stored bytes cannot tell.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"balance":1,"id":3}' WHERE id = :e1 + 2;
SELECT status, problem, entry_id - :e1 AS entry, detail FROM witness.verify(:base + 1);
ROLLBACK;
-- 4. A value changed with its stored bytes recomputed to match: the block's Merkle root catches it.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"balance":1,"id":3}' WHERE id = :e1 + 2;
UPDATE witness.entry e SET commitment = substring(sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)) FOR 8) WHERE id = :e1 + 2;
UPDATE witness.entry e SET leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8) WHERE id = :e1 + 2;
SELECT status, problem, block_no - :base AS block FROM witness.verify(:base + 1);
ROLLBACK;
-- 5. All 32 bytes written where 8 were: a full hash of the altered content is no more trusted.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"balance":1,"id":3}' WHERE id = :e1 + 2;
UPDATE witness.entry e SET commitment = sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)) WHERE id = :e1 + 2;
UPDATE witness.entry e SET leaf_hash = witness.entry_leaf_hash(e) WHERE id = :e1 + 2;
SELECT status, problem, block_no - :base AS block FROM witness.verify(:base + 1);
ROLLBACK;
-- 6. Two entries trade ids: each one's content, hashed under the other's id, gives the bytes it
-- stores, so they are named as reordered, even with a third entry of the block altered beside them.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET id = CASE id WHEN :e1 + 1 THEN :e1 + 4 ELSE :e1 + 1 END WHERE id IN (:e1 + 1, :e1 + 4);
SELECT status, problem, entry_id - :e1 AS entry,
       detail LIKE format('entries %s and %s traded ids: %%', :e1 + 1, :e1 + 4) AS names_both,
       substring(detail FROM 'traded ids: (.*)$') AS why
FROM witness.verify(:base + 1);
UPDATE witness.entry SET new_values = '{"balance":1,"id":3}' WHERE id = :e1 + 2;
SELECT status, problem, entry_id - :e1 AS entry FROM witness.verify(:base + 1) ORDER BY entry_id;
-- ... and with that entry's commitment and stored bytes recomputed to match: with the two swapped
-- entries' sealed leaves put back, the root still differs, and says so.
UPDATE witness.entry e SET commitment = substring(sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)) FOR 8) WHERE id = :e1 + 2;
UPDATE witness.entry e SET leaf_hash = substring(witness.entry_leaf_hash(e) FOR 8) WHERE id = :e1 + 2;
SELECT status, problem, entry_id - :e1 AS entry,
       CASE WHEN entry_id IS NULL THEN substring(detail FROM 'Merkle root is still not the sealed one: (.*)$') END AS why
FROM witness.verify(:base + 1) ORDER BY entry_id;
ROLLBACK;

-- Altered between capture and sealing: the sealer warns and seals what the entry stores of its hash;
-- verification names the entry as altered before sealing, and prove() refuses it. Rolled back too.
INSERT INTO sl.account VALUES (7, 700);
SELECT max(id) AS e7 FROM witness.entry WHERE schema_name = 'sl' \gset
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"balance":7000000,"id":7}' WHERE id = :e7;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
SELECT block_no - :base AS block, entry_count FROM witness.seal();
SELECT status, problem, entry_id = :e7 AS names_it, detail FROM witness.verify(:base + 2);
\set VERBOSITY sqlstate
SAVEPOINT refused;
SELECT witness.prove(:e7);
ROLLBACK TO refused;
\set VERBOSITY terse
-- The blocks before it are unaffected.
SELECT status FROM witness.verify(:base + 1, :base + 1);
ROLLBACK;
-- Untouched, the same entry seals and verifies.
SELECT block_no - :base AS block, entry_count FROM witness.seal();
SELECT status, problem FROM witness.verify(:base + 1);

-- A subject access export gives no proof from a block another of whose entries was altered: the
-- block no longer gives its sealed root (docs/personal-data.md).
-- (Earlier tests left encrypted entries: an export needs the keys they were sealed under.)
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false)
        || set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false)) IS NOT NULL AS keys_set;
CREATE TABLE sl.customer (id int PRIMARY KEY, email text);
SELECT witness.track('sl.customer', subject_column => 'email', encrypt => false);
INSERT INTO sl.customer VALUES (1, 'ann@sl.example'), (2, 'bob@sl.example');
SELECT entry_count FROM witness.seal();
SELECT (SELECT count(*) FROM witness.subject_export('ann@sl.example', 'json', 'test') l
        WHERE (l::json ->> 'proof') IS NOT NULL AND l::json ->> 'proof' <> 'null') AS proofs_before;
-- (Altered and put back in transactions of their own: the export records itself in the trail.)
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET row_key = '{"id": 3}' WHERE schema_name = 'sl' AND table_name = 'customer' AND subject = 'bob@sl.example';
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
SELECT l::json ->> 'verified' AS verified, l::json ->> 'problem' AS problem, l::json ->> 'proof' AS proof
FROM witness.subject_export('ann@sl.example', 'json', 'test') l WHERE l::json ->> 'entry_id' IS NOT NULL;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET row_key = '{"id":2}' WHERE schema_name = 'sl' AND table_name = 'customer' AND subject = 'bob@sl.example';
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
SELECT status, problem FROM witness.verify(:base + 1);
RESET witness.master_key_file;
RESET witness.previous_master_key_file;

-- An entry the core cannot encode (an operation letter it does not know) is sealed with a warning
-- and named by verification; it stops neither the sealer nor the readers.
INSERT INTO sl.account VALUES (8, 800);
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET op = 'X' WHERE id = (SELECT max(id) FROM witness.entry WHERE schema_name = 'sl' AND table_name = 'account');
SELECT entry_count FROM witness.seal();
SELECT status, problem FROM witness.verify((SELECT max(block_no) FROM witness.block));
SELECT count(*) > 0 AS log_reads_it FROM witness.log WHERE schema_name = 'sl';
ROLLBACK;
-- A stored leaf hash lengthened by a byte, its first 32 still the right ones: reported, not taken.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry e SET leaf_hash = witness.entry_leaf_hash(e) || '\x00'::bytea WHERE id = :e1 + 1;
SELECT status, problem, entry_id - :e1 AS entry FROM witness.verify(:base + 1);
ROLLBACK;
-- A pseudonym of one byte set on an entry in clear, sealed without one: reported (it read as absent
-- and verify() said valid, while witness.entry_leaf_hash() disagreed: an attack review).
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET subject_pseudonym = '\x00' WHERE id = :e1 + 1;
SELECT status, problem, entry_id - :e1 AS entry FROM witness.verify(:base + 1);
ROLLBACK;
SELECT entry_count FROM witness.seal();
SELECT status, problem FROM witness.verify(:base + 1);
