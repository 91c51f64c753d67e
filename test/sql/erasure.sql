-- Erasure (GDPR Art. 17): a data subject's payloads go, their commitments stay, and every block still
-- verifies; a payload changed or removed any other way is tampering, each with its own problem kind.
CREATE TABLE customer (id int PRIMARY KEY, email text NOT NULL, plan text);
SELECT witness.track('customer', 'pii', subject_column => 'email', encrypt => false);
SELECT count(*) >= 0 AS sealed_earlier_entries FROM witness.seal();
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
INSERT INTO customer VALUES (1, 'ann@erasure.example', 'basic'), (2, 'bob@erasure.example', 'pro');
UPDATE customer SET plan = 'pro' WHERE id = 1;
SELECT entry_count FROM witness.seal();
INSERT INTO customer VALUES (3, 'ann@erasure.example', 'family');
SELECT min(id) - 1 AS e0 FROM witness.entry WHERE table_name = 'customer' \gset

-- Entries of version 0.2 are format 2: a 16-byte salt and a 32-byte commitment each. In clear, an
-- entry stores the commitment's first 8 bytes: salt and payload reproduce the rest.
SELECT id - :e0 AS entry, format, length(salt) AS salt_len, length(commitment) AS commitment_len
FROM witness.entry WHERE table_name = 'customer' ORDER BY id;
CREATE TEMP TABLE full_commitment AS
SELECT e.id, sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)) AS commitment
FROM witness.entry e WHERE e.table_name = 'customer';
SELECT count(*) FILTER (WHERE substr(f.commitment, 1, 8) = e.commitment) AS prefixes_match, count(*) AS entries
FROM full_commitment f JOIN witness.entry e USING (id);

-- Bad requests are refused before anything is erased.
SELECT witness.erase_subject('ann@erasure.example', NULL);
SELECT witness.erase_subject('ann@erasure.example', '   ');
SELECT witness.erase_subject('', 'request #1');
SELECT witness.erase_subject(NULL, 'request #1');
SELECT witness.erase_subject('ann@erasure.example', repeat('x', 1025));
-- At REPEATABLE READ an erasure would not see lookup rows the sealer commits while it runs.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT witness.erase_subject('ann@erasure.example', 'request #1');
ROLLBACK;
-- A role without EXECUTE cannot erase, nor write the erasure table or the trail itself.
CREATE ROLE erasure_nobody;
SET ROLE erasure_nobody;
SELECT witness.erase_subject('ann@erasure.example', 'request #1');
SELECT witness._erase_payloads('{}'::tid[], '{}'::oid[], '{}'::bigint[], 1);
INSERT INTO witness.erasure (entry_ids, reason, role_name) VALUES ('{1}', 'forged', 'me');
RESET ROLE;
-- Not even the owner writes the erasure table directly: only erase_subject() does.
INSERT INTO witness.erasure (entry_ids, reason, role_name) VALUES ('{1}', 'forged', 'me');
SELECT count(*) AS erased_so_far FROM witness.entry WHERE erasure_id IS NOT NULL;

-- The erasure: three entries of ann (two sealed, one pending); running it again erases nothing.
SELECT witness.erase_subject('ann@erasure.example', 'GDPR Art. 17 request #1') AS erased;
SELECT witness.erase_subject('ann@erasure.example', 'GDPR Art. 17 request #1, again') AS erased;
-- Payload and salt are gone, header and commitment kept; bob's entries are untouched.
SELECT id - :e0 AS entry, op, subject, row_key, new_values IS NULL AS values_gone, salt IS NULL AS salt_gone,
       erasure_id, length(commitment) AS commitment_len, session_user_name IS NOT NULL AS header_kept
FROM witness.entry WHERE table_name = 'customer' ORDER BY id;
-- An erased entry stores its commitment in full: what salt and payload reproduced before they went.
SELECT count(*) FILTER (WHERE f.commitment = e.commitment) AS full_commitments_kept, count(*) AS erased
FROM full_commitment f JOIN witness.entry e USING (id) WHERE e.erasure_id IS NOT NULL;
-- Each erasure is recorded, and is itself an entry of the trail naming who, why and which entries.
SELECT erasure_id, array_length(entry_ids, 1) AS entries, reason, role_name FROM witness.erasure ORDER BY erasure_id;
SELECT operation, new_values ->> 'reason' AS reason, new_values ->> 'role_name' AS role_name
FROM witness.log WHERE table_name = 'erasure' ORDER BY id;

-- Every block still verifies, before and after sealing the erasure, and counts the erased entries.
SELECT status, problem, entries_erased FROM witness.verify(:base + 1);
SELECT entry_count FROM witness.seal();
SELECT status, problem, entries_erased FROM witness.verify(:base + 1);

-- Tampering 0: bob's intact entry made to name an erasure (a column the leaf hash does not cover).
-- Erasures pass over entries that name one, so this would keep bob's data from his erasure: verify()
-- reports it. Put back afterwards.
SELECT id AS bob0 FROM witness.entry WHERE subject = 'bob@erasure.example' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET erasure_id = -1 WHERE id = :bob0;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, block_no - :base AS block, entry_id - :e0 AS entry, detail FROM witness.verify(:base + 1);
-- Erasure 0 too: the verifiers read 0 as "none", and an attack review hid an entry so.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET erasure_id = 0 WHERE id = :bob0;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, block_no - :base AS block, entry_id - :e0 AS entry, detail FROM witness.verify(:base + 1);
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET erasure_id = NULL WHERE id = :bob0;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status FROM witness.verify(:base + 1);

-- Tampering 1: bob's payload changed under its commitment.
SELECT id AS bob, new_values AS bob_values, encode(salt, 'hex') AS bob_salt FROM witness.entry
WHERE subject = 'bob@erasure.example' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"email":"bob@erasure.example","id":2,"plan":"free"}' WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, block_no - :base AS block, entry_id - :e0 AS entry FROM witness.verify(:base + 1);

-- Tampering 2: bob's payload and salt removed without an erasure. Bob's entry stored only its
-- commitment's first 8 bytes, which went with nothing to reproduce them: its leaf fails too.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = NULL, row_key = NULL, subject = NULL, salt = NULL WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry, detail FROM witness.verify(:base + 1);
-- ... nor does naming an erasure that did not list it help.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET erasure_id = 1 WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry, detail FROM witness.verify(:base + 1);

-- Tampering 3: the erasure record altered to list bob too: its own entry no longer matches its leaf.
SELECT id AS rec, new_values AS rec_values FROM witness.entry
WHERE table_name = 'erasure' AND new_values ->> 'reason' = 'GDPR Art. 17 request #1' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = replace(new_values::text, '"entry_ids":"{', '"entry_ids":"{' || :bob || ',')::json
WHERE id = :rec;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id = :rec AS is_the_record FROM witness.verify(:base + 1);

-- Restored, the trail verifies again.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = :'rec_values' WHERE id = :rec;
UPDATE witness.entry SET new_values = :'bob_values', subject = 'bob@erasure.example', erasure_id = NULL,
       row_key = '{"id":2}', salt = decode(:'bob_salt', 'hex') WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);

-- Tampering 4: an erased entry's commitment cut to the 8 bytes an entry in clear stores, and its actor
-- changed. An erasure stores the whole commitment, so the cut one cannot hide the header: the leaf
-- no longer reproduces.
SELECT id AS ann1, encode(commitment, 'hex') AS ann1_commitment FROM witness.entry
WHERE table_name = 'customer' AND erasure_id IS NOT NULL ORDER BY id LIMIT 1 \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET commitment = substr(commitment, 1, 8), actor = 'someone else' WHERE id = :ann1;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET commitment = decode(:'ann1_commitment', 'hex'), actor = NULL WHERE id = :ann1;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem FROM witness.verify(:base + 1);

-- An erasure does not hide tampering: bob's payload altered, then bob erased. The erasure names the
-- altered entry, and verification goes on reporting it (and its leaf, which the altered payload could
-- not complete, as failing).
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"email":"bob@erasure.example","id":2,"plan":"free"}' WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT witness.erase_subject('bob@erasure.example', 'GDPR Art. 17 request #2') AS erased;
SELECT array_length(entry_ids, 1) AS entries, tampered_entry_ids = ARRAY[:bob]::bigint[] AS names_bob
FROM witness.erasure WHERE reason = 'GDPR Art. 17 request #2';
SELECT count(*) AS sealed FROM witness.seal();
SELECT status, problem, entry_id - :e0 AS entry, detail FROM witness.verify(:base + 1);
-- Tampering 5: a payload changed and the commitment's stored 8 bytes made to match it (what a
-- superuser can recompute). The payload reproduces what is stored of the commitment, but the entry no
-- longer gives its leaf hash: the erasure still names it as tampered. (Rolled back: the trail is not
-- left with it.)
BEGIN;
INSERT INTO customer VALUES (30, 'cy@erasure.example', 'basic');
SELECT id AS cy FROM witness.entry WHERE subject = 'cy@erasure.example' \gset
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = '{"email":"cy@erasure.example","id":30,"plan":"free"}' WHERE id = :cy;
UPDATE witness.entry e SET commitment = substr(sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)), 1, 8) WHERE id = :cy;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
SELECT witness._payload_verified(e) AS payload_matches_prefix, witness._matching_leaf(e) IS NULL AS leaf_lost
FROM witness.entry e WHERE id = :cy;
SELECT witness.erase_subject('cy@erasure.example', 'GDPR Art. 17 request #5') AS erased;
SELECT tampered_entry_ids = ARRAY[:cy]::bigint[] AS names_cy FROM witness.erasure WHERE reason = 'GDPR Art. 17 request #5';
ROLLBACK;
-- Tampering 6: a payload removed by hand, explained by a forged erasure record whose transaction id
-- this cluster has not reached. No seal would ever take it; it stayed pending, and verify() took it as
-- evidence (an attack review). Now its entry is reported, and the payload as removed.
INSERT INTO customer VALUES (31, 'dee@erasure.example', 'basic');
SELECT count(*) AS sealed FROM witness.seal();
SELECT id AS dee FROM witness.entry WHERE subject = 'dee@erasure.example' \gset
SELECT id AS rec FROM witness.entry WHERE table_name = 'erasure' AND new_values ->> 'reason' = 'GDPR Art. 17 request #1' \gset
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only, DISABLE TRIGGER witness_insert_only_by_capture;
UPDATE witness.entry e SET commitment = sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)) WHERE id = :dee;
UPDATE witness.entry SET row_key = NULL, subject = NULL, old_values = NULL, new_values = NULL, salt = NULL, erasure_id = 7
WHERE id = :dee;
INSERT INTO witness.entry SELECT * FROM witness.entry WHERE id = :rec;
UPDATE witness.entry SET id = :dee + 1000, xid = '4611686018427387904', row_key = '{"erasure_id":7}',
       new_values = (new_values::jsonb || jsonb_build_object('erasure_id', 7, 'entry_ids', '{' || :dee || '}'))::json
WHERE id = :rec AND ctid = (SELECT max(ctid) FROM witness.entry WHERE id = :rec);
UPDATE witness.entry e SET commitment = sha256('\x03'::bytea || e.salt || witness.entry_payload_bytes(e)) WHERE id = :dee + 1000;
UPDATE witness.entry e SET leaf_hash = witness.entry_leaf_hash(e) WHERE id = :dee + 1000;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only, ENABLE TRIGGER witness_insert_only_by_capture;
SELECT status, problem, entry_id - :dee AS entry, regexp_replace(detail, '[0-9]{6,}', 'N', 'g') AS detail
FROM witness.verify(:base + 1);
ROLLBACK;
DROP ROLE erasure_nobody;

-- Any role that can connect could take the advisory locks pg_witness used to take, and hold them:
-- every erasure then waited. Its locks are rows of witness.mutex now, which only pg_witness can lock.
CREATE ROLE erasure_squatter LOGIN;
GRANT witness_reader, witness_auditor, witness_admin TO erasure_squatter; -- even pg_witness's roles cannot
CREATE EXTENSION dblink;
SELECT dblink_connect('squat', format('dbname=%s port=%s host=%s user=erasure_squatter', current_database(),
                      current_setting('port'), split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT * FROM dblink('squat', $$SELECT pg_advisory_lock(hashtext('pg_witness erase_subject')),
                                       pg_advisory_lock(hashtext('pg_witness entry_lookup')),
                                       pg_advisory_lock(hashtext('pg_witness legal_hold'))$$) AS t(a text, b text, c text);
SELECT dblink_exec('squat', 'BEGIN');
SELECT dblink_exec('squat', 'SELECT FROM witness.mutex FOR UPDATE');
SELECT dblink_exec('squat', 'ROLLBACK');
SELECT dblink_exec('squat', $$SELECT witness._take_mutex('erase_subject')$$);
INSERT INTO customer VALUES (40, 'carol@erasure.example', 'free');
SET statement_timeout = '20s';
SELECT witness.erase_subject('carol@erasure.example', 'GDPR Art. 17 request #3, while another role holds the old lock keys') AS erased;
RESET statement_timeout;
-- Not even the owner of pg_witness's tables changes the locks by hand.
DELETE FROM witness.mutex;
SELECT dblink_disconnect('squat');
DROP EXTENSION dblink;
DROP ROLE erasure_squatter;
