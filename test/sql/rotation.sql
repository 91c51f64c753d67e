-- Master key rotation: witness.rotate_master_key() re-encrypts every sealed payload under the current
-- master key, in batches that commit, opening them with the previous key. No hash changes; the chain
-- verifies before, during (a rotation cut short) and after; the rotation is in the chain itself.
-- Key files: see encryption.sql (written by scripts/lib.sh, write_test_keys).
CREATE SCHEMA rot;
CREATE TABLE rot.customer (id int PRIMARY KEY, email text, plan text);
CREATE TABLE rot.note (id int PRIMARY KEY, body text);
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
CREATE FUNCTION rot.use_keys(current_key text, previous_key text) RETURNS text LANGUAGE sql AS $$
	SELECT concat_ws(' ', set_config('witness.master_key_file', CASE WHEN current_key <> '' THEN current_setting('data_directory') || '/regress_witness_' || current_key || '.key' ELSE '' END, false),
	                 set_config('witness.previous_master_key_file', CASE WHEN previous_key <> '' THEN current_setting('data_directory') || '/regress_witness_' || previous_key || '.key' ELSE '' END, false)) IS NOT NULL
	       AND true AS ok;
$$;
-- An error, with what depends on the tests run before (entry ids, counts) masked.
CREATE FUNCTION rot.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	detail text;
	hint text;
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	GET STACKED DIAGNOSTICS detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
	RETURN regexp_replace(regexp_replace(concat_ws(E'\n', SQLSTATE || ': ' || SQLERRM, 'DETAIL: ' || NULLIF(detail, ''), 'HINT: ' || NULLIF(hint, '')),
	                                     '([Ee]ntry) \d+', '\1 N', 'g'), '\d+ sealed payloads', 'N sealed payloads', 'g');
END
$$;
-- Which key sealed the payloads of this test's entries: a, b or another.
CREATE FUNCTION rot.keys() RETURNS TABLE (sealed_under text, entries bigint) LANGUAGE sql AS $$
	SELECT CASE encode(substring(sealed_payload, 2, 8), 'hex') WHEN current_setting('rot.a') THEN 'a' WHEN current_setting('rot.b') THEN 'b' ELSE 'other' END,
	       count(*)
	FROM witness.entry WHERE schema_name = 'rot' AND sealed_payload IS NOT NULL GROUP BY 1 ORDER BY 1
$$;
SELECT rot.use_keys('b', '');
SELECT set_config('rot.b', witness.master_key_id(), false) AS key_b;
SELECT rot.use_keys('a', '');
SELECT set_config('rot.a', witness.master_key_id(), false) AS key_a;

-- A trail under key a: a table with a subject column and one without (no pseudonym as key context).
SELECT witness.track('rot.customer', 'pii', subject_column => 'email');
SELECT witness.track('rot.note', encrypt => true);
INSERT INTO rot.customer SELECT g, 'user' || (g % 10) || '@rot.example', repeat('plan ', 40) FROM generate_series(1, 300) g;
UPDATE rot.customer SET plan = 'family' WHERE id % 3 = 0;
INSERT INTO rot.note SELECT g, 'note ' || g || repeat(' text', 30) FROM generate_series(1, 60) g;
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT * FROM rot.keys();
CREATE TABLE rot.before AS SELECT id, leaf_hash, commitment, sealed_payload FROM witness.entry;
SELECT status, problem FROM witness.verify(:base + 1);

-- Refusals. Not a superuser (EXECUTE is not granted to PUBLIC):
CREATE ROLE rot_nobody;
GRANT USAGE ON SCHEMA witness TO rot_nobody;
SET ROLE rot_nobody;
CALL witness.rotate_master_key();
RESET ROLE;
-- No current key:
SELECT rot.use_keys('', '');
CALL witness.rotate_master_key();
-- The new key only: the payloads under key a cannot be opened. (This refusal and the next come from
-- the survey witness.rotate_master_key() starts with, called here directly to mask entry ids.)
SELECT rot.use_keys('b', '');
SELECT rot.try($$SELECT witness._begin_rotation()$$);
-- Inside a transaction block or a function: it commits after each batch.
SELECT rot.use_keys('b', 'a');
BEGIN;
CALL witness.rotate_master_key();
ROLLBACK;
CREATE FUNCTION rot.rotate_in_function() RETURNS void LANGUAGE plpgsql AS $$ BEGIN CALL witness.rotate_master_key(); END $$;
SELECT rot.rotate_in_function();
CALL witness.rotate_master_key(0);
-- A payload under a key neither setting holds (its key id altered here): named in the error.
SELECT max(id) AS last_note FROM witness.entry WHERE schema_name = 'rot' AND table_name = 'note' \gset
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET sealed_payload = overlay(sealed_payload PLACING '\xffffffffffffffff'::bytea FROM 2) WHERE id = :last_note;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT rot.use_keys('b', 'a');
SELECT rot.try($$SELECT witness._begin_rotation()$$);
SELECT count(*) AS rotations FROM witness.key_rotation;

-- Cut short: a payload that no longer opens (one byte of it altered, its key id put back) stops the
-- rotation in the middle, after the batches before it committed.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry e SET sealed_payload = set_byte(b.sealed_payload, 40, get_byte(b.sealed_payload, 40) # 1)
FROM rot.before b WHERE e.id = b.id AND e.id = :last_note;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SET client_min_messages = warning;
\set VERBOSITY sqlstate
CALL witness.rotate_master_key(batch_size => 20);
\set VERBOSITY default
RESET client_min_messages;
-- Half done, committed: some payloads under b, the rest under a.
SELECT sealed_under FROM rot.keys();
SELECT event, old_key_id = current_setting('rot.a') AS from_a, new_key_id = current_setting('rot.b') AS to_b, payloads > 0 AS payloads
FROM witness.key_rotation ORDER BY rotation_id;
-- The payload put back: the chain is valid in the middle of the rotation, with both keys configured.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry e SET sealed_payload = b.sealed_payload FROM rot.before b WHERE e.id = b.id AND e.id = :last_note;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT status, problem, entries_unchecked FROM witness.verify(:base + 1);
-- ... and so is a subject's export, decrypting payloads under either key.
SELECT count(*) AS user1_lines FROM witness.subject_export('user1@rot.example', 'csv', 'rotation test #1');
-- With the old key no longer configured while payloads are still under it, export and erasure
-- refuse: such a payload is not altered, only unreadable, and an erasure must not record it as
-- tampered for good.
BEGIN;
-- One of user1's entries as the rotation left it if it had not reached it: sealed under a.
SET LOCAL session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry e SET sealed_payload = b.sealed_payload FROM rot.before b
WHERE e.id = b.id AND e.id = (SELECT min(x.id) FROM witness.entry x WHERE x.subject_pseudonym = ANY (witness._lookup_pseudonyms('user1@rot.example')));
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
SELECT rot.use_keys('b', '');
-- (What subject_export() reads an entry with; the export itself cannot record its access while this
-- transaction holds witness.entry locked.)
SELECT rot.try($$SELECT witness._entry_payload(e) FROM witness.entry e WHERE e.subject_pseudonym = ANY (witness._lookup_pseudonyms('user1@rot.example'))$$);
SELECT rot.try($$SELECT witness.erase_subject('user1@rot.example', 'rotation test #1b')$$);
SELECT count(*) AS erasures_recorded FROM witness.erasure WHERE reason = 'rotation test #1b';
ROLLBACK;

-- The rotation that stopped left no lock behind. While a session holds it (as a running rotation does
-- between its batches), another session's rotation is refused, naming that session.
SELECT count(*) AS rotation_locks_left FROM pg_locks l
WHERE l.locktype = 'object' AND l.classid = 'pg_proc'::regclass AND l.objid = 'witness.rotate_master_key(integer)'::regprocedure;
SELECT witness._take_rotation_lock() AS taken;
CREATE EXTENSION dblink;
SELECT dblink_connect('other', format('dbname=%s port=%s host=%s user=%s options=%L', current_database(), current_setting('port'),
                      split_part(current_setting('unix_socket_directories'), ',', 1), current_user,
                      format('-c witness.master_key_file=%s -c witness.previous_master_key_file=%s',
                             current_setting('witness.master_key_file'), current_setting('witness.previous_master_key_file'))));
SET client_min_messages = warning; -- (the remote error comes as a notice, with a process id)
SELECT dblink_exec('other', 'CALL witness.rotate_master_key()', false) AS other_rotation;
RESET client_min_messages;
SELECT dblink_error_message('other') LIKE 'ERROR:  another rotation of the master key is running (process ' || pg_backend_pid() || ')%'
       AS refused_naming_this_session;
SELECT dblink_disconnect('other');
SELECT witness._release_rotation_lock();
-- The lock is no advisory lock, which any role that can connect could take first and keep every
-- rotation out: not by the advisory key pg_witness used, not by locking the procedure (only its
-- owner may), not through pg_witness's own functions, not even with pg_witness's roles.
CREATE ROLE rot_squatter LOGIN;
GRANT witness_reader, witness_auditor, witness_admin TO rot_squatter;
SELECT dblink_connect('squat', format('dbname=%s port=%s host=%s user=rot_squatter', current_database(), current_setting('port'),
                      split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT * FROM dblink('squat', $$SELECT pg_advisory_lock(hashtext('pg_witness rotate_master_key'))$$) AS t(locked text);
SELECT dblink_exec('squat', 'BEGIN');
SELECT dblink_exec('squat', $$COMMENT ON PROCEDURE witness.rotate_master_key(integer) IS 'mine'$$, false) AS comment_on_procedure;
SELECT dblink_error_message('squat') AS why;
SELECT dblink_exec('squat', 'ROLLBACK');
SELECT dblink_exec('squat', 'SELECT witness._take_rotation_lock()', false) AS take_rotation_lock;
SELECT dblink_error_message('squat') AS why;

-- Called again, it goes on where it stopped and finishes (while the squatter holds the old key).
SET client_min_messages = warning;
CALL witness.rotate_master_key(batch_size => 20);
RESET client_min_messages;
SELECT * FROM rot.keys();
SELECT event, old_key_id = current_setting('rot.a') AS from_a, new_key_id = current_setting('rot.b') AS to_b, payloads > 0 AS payloads,
       role_name
FROM witness.key_rotation ORDER BY rotation_id;
SELECT dblink_disconnect('squat');
DROP EXTENSION dblink;
DROP ROLE rot_squatter;
-- Nothing left under another key in the whole trail; nothing hashed changed, every sealed payload did.
SELECT count(*) AS under_other_keys FROM witness.entry
WHERE sealed_payload IS NOT NULL AND substring(sealed_payload, 2, 8) <> decode(witness.master_key_id(), 'hex');
SELECT count(*) FILTER (WHERE e.leaf_hash IS DISTINCT FROM b.leaf_hash) AS leaf_hashes_changed,
       count(*) FILTER (WHERE e.commitment IS DISTINCT FROM b.commitment) AS commitments_changed,
       count(*) FILTER (WHERE b.sealed_payload IS NOT NULL AND e.sealed_payload = b.sealed_payload) AS sealed_payloads_unchanged,
       count(*) FILTER (WHERE (b.sealed_payload IS NULL) <> (e.sealed_payload IS NULL)) AS sealed_payloads_added_or_removed
FROM rot.before b JOIN witness.entry e USING (id);
-- Each re-encrypted entry is a new row version elsewhere, and its lookup row says where (as after an
-- erasure): a subject's export reads it there with one page, not by id.
SELECT count(*) > 0 AS lookup_rows, count(*) FILTER (WHERE e.ctid = k.entry_tid) = count(*) AS tids_point_at_entries
FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.sealed_payload IS NOT NULL;
-- The rotation itself is in the chain (witness.key_rotation is tracked), and cannot be rewritten.
SELECT op, new_values ->> 'event' AS event FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'key_rotation'
ORDER BY id;
UPDATE witness.key_rotation SET payloads = 0;
INSERT INTO witness.key_rotation (event, old_key_id, new_key_id, payloads, role_name) VALUES ('started', 'x', 'y', 0, 'z');
SELECT entry_count > 0 AS sealed FROM witness.seal();
-- Valid with both keys and with the new key alone.
SELECT status, problem, entries_unchecked FROM witness.verify(:base + 1);
SELECT rot.use_keys('b', '');
SELECT status, problem, entries_unchecked FROM witness.verify(:base + 1);
-- A subject's entries captured before the rotation keep the pseudonym of the old key (it is hashed).
-- The rotation kept the old key's pseudonym key, sealed under the new one: with the new key alone,
-- the export finds them.
SELECT key_id = current_setting('rot.a') AS old_key_kept, length(wrapped) = 37 + 32 AS sealed FROM witness.retired_pseudonym_key;
SELECT count(*) AS user1_lines_new_key_alone FROM witness.subject_export('user1@rot.example', 'csv', 'rotation test #2');
SELECT cardinality(witness._lookup_pseudonyms('user1@rot.example')) AS pseudonyms;
-- Without the kept key (removed by hand), subject lookups refuse to run rather than miss them.
CREATE TABLE rot.kept AS SELECT * FROM witness.retired_pseudonym_key;
DELETE FROM witness.retired_pseudonym_key;
SELECT rot.try($$SELECT witness.subject_export('user1@rot.example', 'csv', 'rotation test #2')$$);
SELECT rot.try($$SELECT witness.erase_subject('user1@rot.example', 'rotation test #2')$$);
INSERT INTO witness.retired_pseudonym_key SELECT * FROM rot.kept;
DROP TABLE rot.kept;
-- Not readable by PUBLIC.
SET ROLE rot_nobody;
SELECT count(*) FROM witness.retired_pseudonym_key;
RESET ROLE;
-- With it as the previous key, the export finds them and decrypts them under the new key.
SELECT rot.use_keys('b', 'a');
SELECT count(*) AS user1_lines FROM witness.subject_export('user1@rot.example', 'csv', 'rotation test #3');
SELECT line ~ '"old" : "plan plan' AS decrypted FROM witness.subject_export('user3@rot.example', 'json', 'rotation test #4') AS line
WHERE line LIKE '%"operation" : "UPDATE"%' LIMIT 1;
-- With the old key alone, the re-encrypted payloads read as changed, never as another plaintext.
SELECT rot.use_keys('a', '');
SELECT status, problem, count(*) AS entries FROM witness.verify(:base + 1) WHERE entry_id IN (SELECT id FROM witness.entry WHERE schema_name = 'rot')
GROUP BY 1, 2;
-- Nor can subject access and erasure rely on the old key alone: entries captured since the rotation
-- have pseudonyms of the new key. They refuse rather than miss them.
SELECT witness.erase_subject('user1@rot.example', 'old key only');
-- Called again with nothing left to do, it says so and records nothing.
SELECT rot.use_keys('b', 'a');
CALL witness.rotate_master_key();
SELECT count(*) AS rotation_events FROM witness.key_rotation;
-- Erasure after the rotation: the subject's payloads under the new key go, the chain stays valid.
SELECT witness.erase_subject('user1@rot.example', 'GDPR Art. 17, after rotation') AS erased;
SELECT count(*) AS user1_payloads_left FROM witness.entry WHERE subject_pseudonym = ANY (witness._subject_pseudonyms('user1@rot.example')) AND sealed_payload IS NOT NULL;
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT status, problem, entries_unchecked FROM witness.verify(:base + 1);

SELECT rot.use_keys('', '');
DROP TABLE rot.before;
REVOKE USAGE ON SCHEMA witness FROM rot_nobody;
DROP ROLE rot_nobody;
