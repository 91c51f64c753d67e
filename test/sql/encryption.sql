-- Encryption at rest: the payloads of subject-bearing tables are sealed (AES-256-GCM) under keys
-- derived from a master key held in a file named by a superuser-only setting. No plaintext reaches
-- the trail table; without the key, capture refuses instead of storing plaintext; the chain verifies
-- with or without the key; a subject's entries are found by keyed pseudonym, exported and erased.
CREATE SCHEMA enc;
CREATE TABLE enc.customer (id int PRIMARY KEY, email text, plan text);
CREATE TABLE enc.note (id int PRIMARY KEY, body text);
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
-- Errors that name a key file, with the data directory's path (which differs per cluster) masked.
CREATE FUNCTION enc.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
	hint text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN replace(concat_ws(E'\n', SQLSTATE || ': ' || SQLERRM, 'DETAIL: ' || NULLIF(detail, ''), 'HINT: ' || NULLIF(hint, '')),
	               current_setting('data_directory'), 'DATADIR');
END
$$;
-- An export line with what depends on the tests run before (ids, numbers, times) masked.
CREATE FUNCTION enc.mask(line text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(regexp_replace(line,
		'"(generated_at|time)" : "[^"]*"', '"\1" : "T"', 'g'), '"database" : "[^"]*"', '"database" : "D"'),
		'"proof" : \{.*\}\}$', '"proof" : P}'), '"(entry_id|block_no|access_id)" : \d+', '"\1" : N', 'g'),
		'\d{4}-\d\d-\d\dT[0-9:.]+Z', 'T', 'g'), '^\d+,', 'N,'), ',(sealed|erased),\d+,', ',\1,N,'), 'erasure \d+', 'erasure N')
$$;
-- The key files are in the data directory, written by the test harness (scripts/lib.sh,
-- write_test_keys): regress_witness_a.key and _b.key (0600), _notkey.key (0600, not a key) and
-- _open.key (a key that others may read).
-- No key configured: encryption is refused, with a hint saying how to make a key.
SELECT witness.master_key_id();
SELECT witness.track('enc.customer', 'pii', subject_column => 'email');
SELECT witness.track('enc.note', encrypt => true);
-- Tables without a subject column stay in clear unless asked.
SELECT witness.track('enc.note');
SELECT encrypt FROM witness.tracked_tables WHERE table_name = 'enc.note'::regclass;

-- A file that is not a key, one that others may read, and a missing one are refused; the error never
-- quotes the file.
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_notkey.key', false) IS NOT NULL AS set;
SELECT enc.try($$SELECT witness.master_key_id()$$);
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_open.key', false) IS NOT NULL AS set;
SELECT enc.try($$SELECT witness.master_key_id()$$);
-- ... also when tracking needs it.
SELECT enc.try($$SELECT witness.track('enc.note', encrypt => true)$$);
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/no_such.key', false) IS NOT NULL AS set;
SELECT enc.try($$SELECT witness.master_key_id()$$);
-- Only superusers may name the key file or read the setting.
CREATE ROLE enc_nobody;
SET ROLE enc_nobody;
SET witness.master_key_file = '/tmp/x.key';
SHOW witness.master_key_file;
SELECT witness._subject_pseudonyms('alice');
RESET ROLE;
-- Even with access to the trail, a role without EXECUTE cannot have payloads decrypted for it.
GRANT USAGE ON SCHEMA witness TO enc_nobody;
GRANT SELECT ON witness.entry TO enc_nobody;
SET ROLE enc_nobody;
SELECT witness.entry_payload_bytes(e) FROM witness.entry e LIMIT 1;
SELECT witness._entry_payload(e) FROM witness.entry e LIMIT 1;
RESET ROLE;
REVOKE SELECT ON witness.entry FROM enc_nobody;
REVOKE USAGE ON SCHEMA witness FROM enc_nobody;

SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
SELECT witness.master_key_id();
SELECT witness.track('enc.customer', 'pii', subject_column => 'email');
SELECT witness.track('enc.note', encrypt => true);
SELECT table_name, subject_column, encrypt FROM witness.tracked_tables WHERE table_name::text LIKE 'enc.%' ORDER BY 1;
SELECT min(id) - 1 AS e0 FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'tracked_table'
  AND new_values ->> 'relid' = 'enc.customer' \gset

INSERT INTO enc.customer VALUES (1, 'alice@enc.example', 'basic'), (2, 'bob@enc.example', 'pro'), (3, NULL, 'trial');
UPDATE enc.customer SET plan = 'family' WHERE id = 1;
INSERT INTO enc.note VALUES (1, 'secret note body');
-- Nothing of the payload in clear: no row key, subject, values or salt; the sealed bytes hold none
-- of the plaintext; the subject is there only as its keyed pseudonym (none for a row without one).
SELECT table_name, op, row_key IS NULL AS no_key, subject IS NULL AS no_subject, old_values IS NULL AND new_values IS NULL AS no_values,
       salt IS NULL AS no_salt, length(sealed_payload) > 37 + 16 AS sealed,
       position('alice'::bytea IN sealed_payload) = 0 AND position('secret'::bytea IN sealed_payload) = 0
         AND position('basic'::bytea IN sealed_payload) = 0 AS no_plaintext,
       subject_pseudonym = (witness._subject_pseudonyms('alice@enc.example'))[1] AS alice,
       subject_pseudonym IS NULL AS no_pseudonym, length(commitment) AS commitment_len
FROM witness.entry WHERE schema_name = 'enc' ORDER BY id;
-- The same subject always gets the same pseudonym, a different one another.
SELECT (witness._subject_pseudonyms('alice@enc.example'))[1] = (witness._subject_pseudonyms('alice@enc.example'))[1] AS same,
       (witness._subject_pseudonyms('alice@enc.example'))[1] <> (witness._subject_pseudonyms('bob@enc.example'))[1] AS different;

-- The chain verifies, and every sealed payload opens and matches its commitment.
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT status, problem, entries_unchecked FROM witness.verify(:base + 1);
SELECT count(*) AS payloads_opened FROM witness.entry e
WHERE schema_name = 'enc' AND witness.entry_payload_bytes(e) IS NOT NULL;

-- Without the key: capture of an encrypted table fails and rolls back the change; other tables go on.
RESET witness.master_key_file;
INSERT INTO enc.customer VALUES (4, 'carol@enc.example', 'basic');
SELECT count(*) AS carol_rows FROM enc.customer WHERE id = 4;
BEGIN;
UPDATE enc.note SET body = 'changed' WHERE id = 1;
ROLLBACK;
-- Verification still passes on the header and commitment, and says how many payloads it could not open.
SELECT status, problem, entries_unchecked FROM witness.verify(:base + 1);
-- Reading a subject's entries needs the key.
SELECT witness.subject_export('alice@enc.example', 'json', 'request #1');
SELECT witness.erase_subject('alice@enc.example', 'request #1');
SELECT regexp_replace(enc.try($$SELECT witness.entry_payload_bytes(e) FROM witness.entry e
                                WHERE schema_name = 'enc' AND sealed_payload IS NOT NULL LIMIT 1$$), 'entry \d+', 'entry N');

-- Another master key opens nothing: the payloads read as changed, never as another plaintext, and
-- the detail says why (it read "salt and content no longer match" for intact payloads).
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;
SELECT status, problem, entry_id - :e0 AS entry, detail FROM witness.verify(:base + 1) ORDER BY entry_id;
-- Nor would its pseudonyms find the subject's entries: subject access and erasure refuse rather than
-- find nothing.
SELECT witness.subject_export('alice@enc.example', 'csv', 'request #1b');
SELECT witness.erase_subject('alice@enc.example', 'request #1b');

-- Subject access, decrypted: alice's two entries, bob's and the subject-less row not among them.
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
SELECT enc.mask(line) AS line FROM witness.subject_export('alice@enc.example', 'json', 'request #2') AS line;
SELECT enc.mask(line) AS line FROM witness.subject_export('alice@enc.example', 'csv', 'request #3') AS line;

-- Tampering 1: one byte of bob's sealed payload flipped.
SELECT id AS bob, encode(sealed_payload, 'hex') AS bob_sealed FROM witness.entry
WHERE subject_pseudonym = (witness._subject_pseudonyms('bob@enc.example'))[1] \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET sealed_payload = set_byte(sealed_payload, 30, get_byte(sealed_payload, 30) # 1) WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
-- Tampering 2: alice's sealed payload moved onto bob's entry (a real ciphertext, of another entry).
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET sealed_payload = (SELECT sealed_payload FROM witness.entry
                                          WHERE subject_pseudonym = (witness._subject_pseudonyms('alice@enc.example'))[1] ORDER BY id LIMIT 1) WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
-- Tampering 3: bob's sealed payload removed without an erasure.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET sealed_payload = NULL WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
-- Tampering 4: values written into the clear columns of bob's sealed entry (which witness.log would
-- show, and lookups by subject would match).
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET sealed_payload = decode(:'bob_sealed', 'hex'), subject = 'carol@enc.example',
                         new_values = '{"plan":"forged"}' WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
-- Tampering 4b: bob's payload back, his pseudonym's first byte flipped and a byte added: its first 32
-- bytes, flipped back, were read as his pseudonym, and verify() said valid while lookups of bob missed
-- the entry (the review of a fix for pseudonyms of another length).
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET subject = NULL, new_values = NULL, sealed_payload = decode(:'bob_sealed', 'hex'),
                         subject_pseudonym = set_byte(subject_pseudonym, 0, get_byte(subject_pseudonym, 0) # 255) || '\x00'::bytea
WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET subject_pseudonym = set_byte(substring(subject_pseudonym FOR 32), 0, get_byte(subject_pseudonym, 0) # 255) WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
-- Tampering 5: bob's sealed payload cut short, and of another format version: reported, not an error.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET subject = NULL, new_values = NULL, sealed_payload = substring(decode(:'bob_sealed', 'hex') FOR 20) WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET sealed_payload = set_byte(decode(:'bob_sealed', 'hex'), 0, 2) WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
RESET witness.master_key_file;
SELECT status, problem, entry_id - :e0 AS entry FROM witness.verify(:base + 1);
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
-- Put back: valid again.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET sealed_payload = decode(:'bob_sealed', 'hex') WHERE id = :bob;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem FROM witness.verify(:base + 1);

-- A pseudonym stays the one of the key it was captured under. With another key current and that one
-- previous, the payloads still open and the subject's entries are still found.
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;
SELECT set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
SELECT status, problem, entries_unchecked FROM witness.verify(:base + 1);
SELECT count(*) AS alice_lines FROM witness.subject_export('alice@enc.example', 'csv', 'request #3b');
SELECT cardinality(witness._subject_pseudonyms('alice@enc.example')) AS pseudonyms;
RESET witness.previous_master_key_file;
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;

-- An empty subject names nobody: captured sealed, without a pseudonym.
INSERT INTO enc.customer VALUES (7, '', 'trial');
SELECT subject_pseudonym IS NULL AS no_pseudonym, sealed_payload IS NOT NULL AS sealed
FROM witness.entry WHERE schema_name = 'enc' ORDER BY id DESC LIMIT 1;
DELETE FROM enc.customer WHERE id = 7;

-- Erasure of an encrypted subject, found by pseudonym: the sealed payloads go, the chain stays valid,
-- the export lists them as erased; a second erasure erases nothing more.
SELECT witness.erase_subject('alice@enc.example', 'GDPR Art. 17 request #4') AS erased;
SELECT witness.erase_subject('alice@enc.example', 'GDPR Art. 17 request #4, again') AS erased;
SELECT id - :e0 AS entry, sealed_payload IS NULL AS sealed_gone, erasure_id IS NOT NULL AS erased,
       subject_pseudonym IS NOT NULL AS pseudonym_kept
FROM witness.entry WHERE schema_name = 'enc' AND table_name = 'customer' ORDER BY id;
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT status, problem, entries_erased, entries_unchecked FROM witness.verify(:base + 1);
SELECT enc.mask(line) AS line FROM witness.subject_export('alice@enc.example', 'csv', 'request #5') AS line;

RESET witness.master_key_file;
DROP ROLE enc_nobody;
