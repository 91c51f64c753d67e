-- Sealing, verification and proofs; every tamper scenario is caught and named.
CREATE TABLE ledger (id int PRIMARY KEY, amount numeric, memo text);
SELECT witness.track('ledger', 'financial');
-- Seal whatever earlier tests left, so blocks below start from a known state.
SELECT count(*) > 0 AS sealed_earlier_entries FROM witness.seal();
SELECT max(block_no) AS base FROM witness.block \gset

INSERT INTO ledger SELECT g, g * 10, 'm' || g FROM generate_series(1, 7) g;
SELECT block_no - :base AS block, entry_count, last_entry_id - first_entry_id + 1 AS id_span,
       length(merkle_root) AS root_len, length(block_hash) AS hash_len
FROM witness.seal();
-- An empty pass makes no block.
SELECT count(*) AS blocks_from_empty_pass FROM witness.seal();
UPDATE ledger SET amount = amount + 1 WHERE id <= 3;
DELETE FROM ledger WHERE id = 7;
SELECT block_no - :base AS block, entry_count FROM witness.seal();
-- Blocks are chained by hash.
SELECT count(*) AS unchained FROM witness.block b JOIN witness.block p ON p.block_no = b.block_no - 1
WHERE b.prev_hash <> p.block_hash;
SELECT encode(prev_hash, 'hex') = repeat('0', 64) AS first_block_has_zero_prev FROM witness.block WHERE block_no = 1;

-- Unsealed entries are pending, never valid or tampered.
INSERT INTO ledger VALUES (100, 1, 'not sealed yet');
SELECT status, entries_pending, problem FROM witness.verify();
SELECT status, blocks_checked, entries_checked, problem FROM witness.verify(:base + 1, :base + 2);
SELECT status, blocks_checked, entries_checked, entries_pending FROM witness.verify(:base + 1, :base + 1);
SELECT status, blocks_checked FROM witness.verify_period(now() - interval '1 hour', now() + interval '1 hour');
-- It checks only the blocks sealed in its window.
SELECT sealed_at AS newest_sealed FROM witness.block ORDER BY block_no DESC LIMIT 1 \gset
SELECT status, blocks_checked = 1 AS only_the_newest,
       blocks_checked < (SELECT count(*) FROM witness.block) AS not_all
FROM witness.verify_period(:'newest_sealed', now() + interval '1 hour');
-- A period in which nothing was sealed is not called valid.
SELECT status, blocks_checked, detail IS NOT NULL AS explained FROM witness.verify_period('2000-01-01', '2000-01-02');
\set VERBOSITY terse
SELECT * FROM witness.verify_period(NULL, now());
SELECT * FROM witness.verify_period(now(), now() - interval '1 day');
\set VERBOSITY default
\set VERBOSITY sqlstate
SELECT witness.prove(max(id)) FROM witness.entry;   -- not sealed yet: 55000
\set VERBOSITY terse
SELECT witness.seal() IS NOT NULL AS sealed;

-- Proofs: leaf, audit path, root and block header.
SELECT p ->> 'block_no' = (SELECT (max(block_no) - 1)::text FROM witness.block) AS right_block,
       (p ->> 'leaf_index')::int AS leaf_index, (p ->> 'tree_size')::int AS tree_size,
       jsonb_array_length(p -> 'audit_path') AS path_len, p -> 'block_header' ? 'snapshot' AS has_header
FROM (SELECT witness.prove(e.id) AS p FROM witness.entry e WHERE e.table_name = 'ledger' AND e.op = 'D') s;
\set VERBOSITY default
SELECT witness.prove(-1);
\set VERBOSITY terse
-- The export has a header, every block and every entry.
SELECT count(*) = 1 + (SELECT count(*) FROM witness.block) + (SELECT count(*) FROM witness.entry) AS export_complete,
       count(*) FILTER (WHERE line::jsonb ->> 'type' = 'entry') AS entry_lines
FROM witness.export_trail() AS line;

SELECT id AS e_upd FROM witness.entry WHERE table_name = 'ledger' AND op = 'U' ORDER BY id LIMIT 1 \gset
SELECT id AS e_ins FROM witness.entry WHERE table_name = 'ledger' AND op = 'I' ORDER BY id LIMIT 1 \gset
SELECT :e_ins + 1 AS e_ins2 \gset

-- Tampering, as a superuser who disables the guards. Each scenario is rolled back afterwards.
-- 1. A captured value is changed.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = jsonb_set(new_values::jsonb, '{amount}', '999999')::json WHERE id = :e_upd;
SELECT status, problem, entry_id - :e_upd AS entry FROM witness.verify();
ROLLBACK;
-- 2. A leaf hash is changed.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET leaf_hash = sha256('forged') WHERE id = :e_upd;
SELECT status, problem, entry_id - :e_upd AS entry FROM witness.verify();
ROLLBACK;
-- 3. A value, its commitment and its leaf hash are all rewritten consistently: the block's Merkle root
--    catches it. (In clear, an entry stores its commitment's first 8 bytes: the forger writes all 32.)
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = jsonb_set(new_values::jsonb, '{amount}', '999999')::json WHERE id = :e_upd;
UPDATE witness.entry e SET commitment = sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)) WHERE id = :e_upd;
UPDATE witness.entry e SET leaf_hash = witness.entry_leaf_hash(e) WHERE id = :e_upd;
SELECT status, problem, block_no - :base AS block FROM witness.verify();
ROLLBACK;
-- 4. An entry is deleted.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
DELETE FROM witness.entry WHERE id = :e_ins2;
SELECT status, problem, block_no - :base AS block FROM witness.verify();
ROLLBACK;
-- 5. A forged entry is inserted into a sealed block's range (an old transaction id, a valid leaf hash).
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_insert_only_by_capture, DISABLE TRIGGER witness_append_only;
INSERT INTO witness.entry
SELECT (SELECT max(id) + 1000 FROM witness.entry), xid, stmt_time, backend_pid, client_port, tags, format, op,
       schema_name, table_name, '{"id": 666}', subject, old_values, '{"id": 666, "amount": 1, "memo": "forged"}',
       session_user_name, current_user_name, application_name, client_addr, actor, reason, context, leaf_hash
FROM witness.entry WHERE id = :e_ins;
UPDATE witness.entry e SET leaf_hash = witness.entry_leaf_hash(e) WHERE id = (SELECT max(id) FROM witness.entry);
SELECT status, problem, block_no - :base AS block, entry_id = (SELECT max(id) FROM witness.entry) AS names_forged_entry
FROM witness.verify();
ROLLBACK;
-- 5b. A copy of a sealed entry is inserted with the same id: ids are not backed by a unique index
--     (witness.entry_id is BRIN), so verify() must name it, and prove() refuses the id.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_insert_only_by_capture;
INSERT INTO witness.entry SELECT * FROM witness.entry WHERE id = :e_ins;
SELECT status, problem, block_no - :base AS block, entry_id - :e_ins AS entry FROM witness.verify();
\set VERBOSITY sqlstate
SELECT witness.prove(:e_ins);
\set VERBOSITY terse
ROLLBACK;
-- 5c. The same, but the copy carries other values and a matching leaf hash.
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_insert_only_by_capture, DISABLE TRIGGER witness_append_only;
INSERT INTO witness.entry SELECT * FROM witness.entry WHERE id = :e_ins;
UPDATE witness.entry SET new_values = '{"id": 1, "amount": 1, "memo": "forged"}'
WHERE id = :e_ins AND ctid = (SELECT max(ctid) FROM witness.entry WHERE id = :e_ins);
UPDATE witness.entry e SET commitment = sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e))
WHERE id = :e_ins AND ctid = (SELECT max(ctid) FROM witness.entry WHERE id = :e_ins);
UPDATE witness.entry e SET leaf_hash = witness.entry_leaf_hash(e)
WHERE id = :e_ins AND ctid = (SELECT max(ctid) FROM witness.entry WHERE id = :e_ins);
SELECT status, problem, block_no - :base AS block, entry_id - :e_ins AS entry FROM witness.verify();
ROLLBACK;
-- 5d. A copy with other values and a transaction id of its own, sealed into a later block: each block
--     checks, and both verifiers said valid (an attack review). The id met twice is named.
INSERT INTO ledger VALUES (1001, 1, 'for 5d');
SELECT xid AS x5d FROM witness.entry WHERE id = (SELECT max(id) FROM witness.entry) \gset
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_insert_only_by_capture, DISABLE TRIGGER witness_append_only;
INSERT INTO witness.entry SELECT * FROM witness.entry WHERE id = :e_ins;
UPDATE witness.entry SET xid = :'x5d', new_values = '{"id": 1, "amount": 999, "memo": "forged"}'
WHERE id = :e_ins AND ctid = (SELECT max(ctid) FROM witness.entry WHERE id = :e_ins);
UPDATE witness.entry e SET commitment = sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e))
WHERE id = :e_ins AND ctid = (SELECT max(ctid) FROM witness.entry WHERE id = :e_ins);
UPDATE witness.entry e SET leaf_hash = witness.entry_leaf_hash(e)
WHERE id = :e_ins AND ctid = (SELECT max(ctid) FROM witness.entry WHERE id = :e_ins);
ALTER TABLE witness.entry ENABLE TRIGGER witness_insert_only_by_capture, ENABLE ALWAYS TRIGGER witness_append_only;
SELECT entry_count AS sealed_with_the_copy FROM witness.seal();
SELECT status, problem, block_no - :base AS block, entry_id - :e_ins AS entry FROM witness.verify();
ROLLBACK;
DELETE FROM ledger WHERE id = 1001;
SELECT entry_count FROM witness.seal();
-- 6. Two entries swap contents (their ids trade places).
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET id = -1 WHERE id = :e_ins;
UPDATE witness.entry SET id = :e_ins WHERE id = :e_ins2;
UPDATE witness.entry SET id = :e_ins2 WHERE id = -1;
SELECT status, problem, entry_id - :e_ins AS entry FROM witness.verify();
ROLLBACK;
-- 7. A block field is altered.
BEGIN;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
UPDATE witness.block SET entry_count = entry_count + 1 WHERE block_no = :base + 1;
SELECT status, problem, block_no - :base AS block FROM witness.verify();
ROLLBACK;
-- 8. A block's hash is recomputed to hide an altered field: the next block's link breaks.
BEGIN;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
UPDATE witness.block SET sealed_at = sealed_at - interval '1 day', block_hash = sha256('rehashed') WHERE block_no = :base + 1;
SELECT status, problem, block_no - :base AS block FROM witness.verify();
ROLLBACK;
-- 9. A block in the middle is deleted.
BEGIN;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
DELETE FROM witness.block WHERE block_no = :base + 1;
SELECT status, problem, block_no - :base AS block FROM witness.verify();
ROLLBACK;

-- After all that, the trail is intact again.
SELECT status, problem FROM witness.verify();

-- The sealed tables are append-only like the entries.
UPDATE witness.block SET entry_count = 0;
DELETE FROM witness.block;
TRUNCATE witness.block;
INSERT INTO witness.block SELECT * FROM witness.block LIMIT 1;
-- seal() needs READ COMMITTED: a block is defined by a snapshot taken under the sealer lock.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT * FROM witness.seal();
ROLLBACK;
-- A block is a write: refused in a read-only transaction (one was written there, its lookup rows not).
INSERT INTO ledger VALUES (1000, 1, 'read-only attempt');
BEGIN READ ONLY;
SELECT count(*) FROM witness.seal();
ROLLBACK;
DELETE FROM ledger WHERE id = 1000;
SELECT count(*) AS the_two_entries_sealed_now FROM witness.seal() WHERE entry_count = 2;
