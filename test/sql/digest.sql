-- Signed digests catch what the chain alone cannot: a deleted newest block, a trail rewritten from scratch.
CREATE TABLE vault (id int PRIMARY KEY, v text);
SELECT witness.track('vault', 'confidential');
INSERT INTO vault SELECT g, 'v' || g FROM generate_series(1, 5) g;
SELECT count(*) AS blocks FROM witness.seal();

-- Without keys, digest() says how to make them.
\set VERBOSITY default
SELECT witness.digest();
\set VERBOSITY terse
-- Keys live in files named by superuser-only settings (the HMAC key here; Ed25519 is covered by the
-- unit and integration tests, since SQL cannot make a PEM key).
COPY (SELECT 'b3f1c0ffee0ddba11cafe5eed00dfacade0fb0a7ca7f00d5eaf00d1deadbeef1') TO '/tmp/pg_witness_regress_hmac.key';
SET witness.hmac_key_file = '/tmp/pg_witness_regress_hmac.key';
SELECT witness.digest() AS digest1 \gset
SELECT (:'digest1'::jsonb) -> 'digest' ? 'block_hash' AS has_hash, (:'digest1'::jsonb) ? 'hmac_sha256' AS signed,
       (:'digest1'::jsonb) -> 'digest' ->> 'database' = witness.database_id() AS names_database;
SELECT status, signatures, same_database FROM witness.verify_digest(:'digest1');

-- The trail grows; the old digest still holds.
UPDATE vault SET v = 'w' WHERE id = 1;
SELECT count(*) AS blocks FROM witness.seal();
SELECT status FROM witness.verify_digest(:'digest1');

-- A digest altered after signing, or signed with another key, is rejected.
SELECT status, signatures FROM witness.verify_digest(jsonb_set(:'digest1'::jsonb, '{digest,entries}', '1'));
COPY (SELECT '0000000000000000000000000000000000000000000000000000000000000000') TO '/tmp/pg_witness_regress_other.key';
SET witness.hmac_key_file = '/tmp/pg_witness_regress_other.key';
SELECT status, signatures FROM witness.verify_digest(:'digest1');
RESET witness.hmac_key_file;
SELECT status, detail FROM witness.verify_digest(:'digest1');
SET witness.hmac_key_file = '/tmp/pg_witness_regress_hmac.key';
SELECT witness.verify_digest('{"digest": {}}');
-- A key file that is set but empty signed nothing, silently; a FIFO hung the backend (and every
-- sealer, through postgresql.conf) past cancel and shutdown; /dev/zero read a gigabyte (attack review).
COPY (SELECT 1) TO PROGRAM 'rm -f /tmp/pg_witness_regress_empty.key /tmp/pg_witness_regress.fifo && : > /tmp/pg_witness_regress_empty.key && mkfifo /tmp/pg_witness_regress.fifo';
SET witness.hmac_key_file = '/tmp/pg_witness_regress_empty.key';
SELECT witness.digest();
SET witness.hmac_key_file = '/tmp/pg_witness_regress.fifo';
SELECT witness.digest();
SET witness.hmac_key_file = '/dev/zero';
SELECT witness.digest();
SET witness.hmac_key_file = '/tmp';
SELECT witness.digest();
COPY (SELECT 1) TO PROGRAM 'rm -f /tmp/pg_witness_regress_empty.key /tmp/pg_witness_regress.fifo';
SET witness.hmac_key_file = '/tmp/pg_witness_regress_hmac.key';

-- An entry of a block before the digested one changed in place, nothing recomputed: block N's stored
-- hash is still the digested one, but blocks 1 to N no longer recompute to it (an attack review: only
-- the trail from block N on was checked, and the digest said valid).
SELECT witness.digest() AS digest_later \gset
SELECT (:'digest_later'::jsonb -> 'digest' ->> 'block_no')::bigint > (:'digest1'::jsonb -> 'digest' ->> 'block_no')::bigint AS digests_a_later_block;
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
SELECT format('ALTER TABLE %s DISABLE TRIGGER witness_append_only', h.inhrelid::regclass) FROM pg_inherits h WHERE h.inhparent = 'witness.entry'::regclass \gexec
UPDATE witness.entry SET new_values = '{"id": 1, "v": "forged"}' WHERE table_name = 'vault' AND op = 'I' AND new_values ->> 'id' = '1';
SELECT status, detail ~ '^the trail does not verify: (value|payload) changed' AS names_the_change FROM witness.verify_digest(:'digest_later');
ROLLBACK;
SELECT status, detail ~ '^blocks 1 to \d+ recompute to the digested state' AS says_recomputed FROM witness.verify_digest(:'digest_later');

-- The newest block is deleted: the chain alone looks fine, the digest and the digest file do not.
SELECT witness.digest() AS digest2 \gset
COPY (SELECT :'digest1' UNION ALL SELECT :'digest2') TO '/tmp/pg_witness_regress.digests';
BEGIN;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
DELETE FROM witness.block WHERE block_no = (SELECT max(block_no) FROM witness.block);
SELECT status, problem FROM witness.verify();
SELECT status, detail ~ 'missing' AS says_missing FROM witness.verify_digest(:'digest2');
SET LOCAL witness.digest_file = '/tmp/pg_witness_regress.digests';
SELECT status, problem, detail FROM witness.verify();
ROLLBACK;

-- The newest block deleted and its entries sealed again: every block number is there again and the
-- chain links, but the block's hash is not the one the digest file recorded for it (a review:
-- verify() compared the number alone, and said valid once the sealer had passed again).
BEGIN;
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
DELETE FROM witness.block WHERE block_no = (SELECT max(block_no) FROM witness.block);
SELECT count(*) AS blocks FROM witness.seal();
SELECT status, problem FROM witness.verify();
SET LOCAL witness.digest_file = '/tmp/pg_witness_regress.digests';
SELECT status, problem, block_no = (:'digest2'::jsonb -> 'digest' ->> 'block_no')::bigint AS the_digested_block,
       detail ~ 'is not the hash the digest file recorded for block' AS says_sealed_again
FROM witness.verify();
ROLLBACK;

-- The whole trail is rewritten from scratch: an attacker saves the entries, wipes both tables, puts
-- history back without what they want gone, and reseals. It verifies on its own, not against a digest.
BEGIN;
CREATE TEMP TABLE saved ON COMMIT DROP AS SELECT * FROM witness.entry;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only, DISABLE TRIGGER witness_insert_only_by_capture;
-- TRUNCATE fires the guard of every partition of witness.entry too (docs/scaling.md).
SELECT format('ALTER TABLE %s DISABLE TRIGGER witness_append_only', h.inhrelid::regclass) FROM pg_inherits h WHERE h.inhparent = 'witness.entry'::regclass \gexec
ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
TRUNCATE witness.entry, witness.block;
SELECT status, blocks_checked, entries_checked, entries_pending FROM witness.verify();
INSERT INTO witness.entry SELECT * FROM saved WHERE NOT (table_name = 'vault' AND op = 'U');
SELECT count(*) AS blocks FROM witness.seal();
SELECT status, problem FROM witness.verify();
SELECT status, detail ~ 'rewritten' AS says_rewritten FROM witness.verify_digest(:'digest1');
ROLLBACK;
SELECT status FROM witness.verify_digest(:'digest2');
RESET witness.hmac_key_file;
