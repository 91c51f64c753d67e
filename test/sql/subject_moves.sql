-- A row that moves: an UPDATE that changes a row's subject column is one entry, filed under the new
-- subject (or none), whose old values are the old subject's data. The old subject's lookup key rides
-- along (witness.entry.old_subject_key): its export lists the entry with the new values withheld, and
-- its erasure empties the entry. In clear and encrypted, pending and sealed.
CREATE SCHEMA sm;
CREATE TABLE sm.clear_customer (id int PRIMARY KEY, email text, note text);
SELECT witness.track('sm.clear_customer', 'pii', subject_column => 'email', encrypt => false);
-- (Key b, as the rotation test left the trail, a as the previous one.)
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;
SELECT set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
CREATE TABLE sm.sealed_customer (id int PRIMARY KEY, email text, note text);
SELECT witness.track('sm.sealed_customer', 'pii', subject_column => 'email');
SELECT count(*) >= 0 AS sealed_earlier_entries FROM witness.seal();
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
SELECT witness._last_entry_id() AS e0 \gset
SET witness.reason = 'subject_moves.sql';

CREATE FUNCTION sm.changes(subject text, tbl text) RETURNS TABLE (entry bigint, op text, changes jsonb, status text)
LANGUAGE sql AS $$
	SELECT (l ->> 'entry_id')::bigint, l ->> 'operation', (l -> 'changes')::jsonb, l ->> 'status'
	FROM witness.subject_export(subject, 'json') WITH ORDINALITY AS x(line, n), LATERAL (SELECT line::json AS l) j
	WHERE n > 1 AND l ->> 'table' = tbl ORDER BY n
$$;

-- In each table: ann's row 1 goes to bob with a new note; bob's row 2 loses its subject; ann's row 3
-- changes its note only; cy's row 4 goes to ann (who writes her note) and back to cy; row 5 gets a
-- subject (dan) from none.
DO $$
DECLARE
	t text;
BEGIN
	FOREACH t IN ARRAY ARRAY['sm.clear_customer', 'sm.sealed_customer'] LOOP
		EXECUTE format($q$INSERT INTO %s VALUES (1, 'ann@sm.example', 'ann-note'), (2, 'bob@sm.example', 'bob-note'),
		                   (3, 'ann@sm.example', 'ann-third'), (4, 'cy@sm.example', 'cy-note'), (5, NULL, 'nobody-note')$q$, t);
		EXECUTE format($q$UPDATE %s SET email = 'bob@sm.example', note = 'bob-took-it' WHERE id = 1$q$, t);
		EXECUTE format($q$UPDATE %s SET email = NULL WHERE id = 2$q$, t);
		EXECUTE format($q$UPDATE %s SET note = 'ann-third-2' WHERE id = 3$q$, t);
		EXECUTE format($q$UPDATE %s SET email = 'ann@sm.example', note = 'ann-got-4' WHERE id = 4$q$, t);
		EXECUTE format($q$UPDATE %s SET email = 'cy@sm.example', note = 'cy-again' WHERE id = 4$q$, t);
		EXECUTE format($q$UPDATE %s SET email = 'dan@sm.example' WHERE id = 5$q$, t);
	END LOOP;
END
$$;

-- Only the UPDATEs that moved a row away from a subject carry the old subject's key: in clear the key
-- of the subject, encrypted the key of its pseudonym under the current master key (negative), never
-- the subject itself.
SELECT e.table_name, e.id - :e0 AS entry, e.op, e.old_subject_key IS NOT NULL AS has_old_key,
       CASE WHEN e.table_name = 'clear_customer' THEN e.old_subject_key = witness._subject_lookup_key(s.old, NULL)
            ELSE e.old_subject_key = witness._subject_lookup_key(NULL, (witness._subject_pseudonyms(s.old))[1]) END AS key_of_old_subject
FROM witness.entry e
LEFT JOIN LATERAL (SELECT CASE (e.id - :e0 - 1) % 11 WHEN 5 THEN 'ann@sm.example' WHEN 6 THEN 'bob@sm.example'
                                               WHEN 8 THEN 'cy@sm.example' WHEN 9 THEN 'ann@sm.example' END AS old) s ON true
WHERE e.id > :e0 AND e.table_name LIKE '%customer' AND e.op = 'U' ORDER BY e.id;

-- ann's export: her INSERTs and her row 3's UPDATE as before; the UPDATE that gave row 1 to bob with
-- its old values (hers) and every new value withheld (bob's); cy's row 4 coming to her with its old
-- values withheld (cy's), and leaving her again with the new ones withheld.
SELECT entry - :e0 AS entry, op, changes FROM sm.changes('ann@sm.example', 'sm.clear_customer');
SELECT entry - :e0 - 11 AS entry_less_11, op, changes FROM sm.changes('ann@sm.example', 'sm.sealed_customer');
SELECT regexp_replace(line, '^\d+,[0-9TZ:.-]+,', '') AS csv_without_id_and_time
FROM witness.subject_export('ann@sm.example', 'csv') AS line
WHERE line LIKE '%withheld%' AND line LIKE '%sealed_customer%';
-- Nothing of bob's, cy's or dan's reaches ann's export, in either format.
SELECT count(*) FILTER (WHERE line LIKE '%bob%' OR line LIKE '%cy%' OR line LIKE '%dan@%') AS lines_naming_others
FROM (SELECT line FROM witness.subject_export('ann@sm.example', 'json') AS line
      UNION ALL SELECT line FROM witness.subject_export('ann@sm.example', 'csv') AS line) x;
-- bob's: row 1 came to him (old values withheld), row 2 left him (new value withheld).
SELECT entry - :e0 AS entry, op, changes FROM sm.changes('bob@sm.example', 'sm.clear_customer');
-- dan's row came from no subject: nothing to withhold, no old key.
SELECT entry - :e0 AS entry, op, changes FROM sm.changes('dan@sm.example', 'sm.clear_customer');

-- Sealed or pending, found the same way (through the partial index on old_subject_key): the moves to
-- and from ann (rows 1 and 4, both tables), and cy's row 4 leaving and coming back.
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT (SELECT count(*) FROM witness._subject_entries('ann@sm.example', witness._lookup_pseudonyms('ann@sm.example')) f
        WHERE (f.entry).old_subject_key IS NOT NULL) AS ann_found_with_old_key,
       (SELECT count(*) FROM witness._subject_entries('cy@sm.example', witness._lookup_pseudonyms('cy@sm.example')) f
        WHERE (f.entry).old_subject_key IS NOT NULL) AS cy_found_with_old_key;

-- A legal hold on bob covers the entry that gave him ann's row, so ann's erasure is refused whole.
SELECT witness.hold('sm-bob', 'litigation #7', subject => 'bob@sm.example') > 0 AS held;
SELECT witness.erase_subject('ann@sm.example', 'GDPR Art. 17 request #1');
SELECT witness.release_hold('sm-bob', 'litigation #7 settled') > 0 AS released;

-- ann's erasure empties her entries and the UPDATEs that moved rows away from her (rows 1 and 4, in
-- both tables), keys included; the rest stays.
SELECT witness.erase_subject('ann@sm.example', 'GDPR Art. 17 request #1') AS erased;
SELECT e.table_name, e.id - :e0 AS entry, e.op, e.erasure_id IS NOT NULL AS erased, e.old_subject_key IS NOT NULL AS has_old_key,
       e.salt IS NULL AND e.sealed_payload IS NULL AND e.old_values IS NULL AND e.new_values IS NULL AS payload_gone
FROM witness.entry e WHERE e.id > :e0 AND e.table_name LIKE '%customer' ORDER BY e.id;
SELECT x.entry_ids = ARRAY(SELECT e.id FROM witness.entry e WHERE e.erasure_id = x.erasure_id ORDER BY e.id) AS erasure_lists_them
FROM witness.erasure x WHERE x.erasure_id = (SELECT max(erasure_id) FROM witness.erasure);
-- Nothing of ann is left to find, and the chain still verifies.
SELECT count(*) AS ann_values_left FROM witness.entry e
WHERE e.id > :e0 AND (e.old_values::text LIKE '%ann%' OR e.new_values::text LIKE '%ann%' OR e.subject LIKE 'ann%');
SELECT count(*) AS ann_entries_left FROM witness._subject_entries('ann@sm.example', witness._lookup_pseudonyms('ann@sm.example'));
SELECT entry - :e0 AS entry, op, status FROM sm.changes('ann@sm.example', 'sm.clear_customer');
SELECT count(*) > 0 AS sealed FROM witness.seal();
SELECT status, entries_erased >= 10 AS counts_erased FROM witness.verify(:base + 1);
-- Again: nothing more.
SELECT witness.erase_subject('ann@sm.example', 'GDPR Art. 17 request #1, again') AS erased;
-- bob's export keeps row 2's move away from him; the entry that brought him ann's row is gone with her
-- payload.
SELECT entry - :e0 AS entry, op, changes, status FROM sm.changes('bob@sm.example', 'sm.clear_customer');

-- Only the capture writes old_subject_key, like every column of the trail.
CREATE ROLE sm_owner;
GRANT USAGE ON SCHEMA witness TO sm_owner;
SET ROLE sm_owner;
UPDATE witness.entry SET old_subject_key = NULL WHERE id > :e0;
RESET ROLE;
UPDATE witness.entry SET old_subject_key = NULL WHERE id > :e0;
REVOKE USAGE ON SCHEMA witness FROM sm_owner;
DROP ROLE sm_owner;

-- Other statements that move a row away from a subject: an UPDATE that moves it to another partition
-- (PostgreSQL makes it a DELETE and an INSERT: two entries, each under its own subject), INSERT ... ON
-- CONFLICT DO UPDATE, MERGE, and a BEFORE trigger that changes the subject behind the statement's back.
-- Each leaves eve's old values under her key; her erasure reaches every one of them.
CREATE TABLE sm.parted (id int, email text, note text, PRIMARY KEY (id, email)) PARTITION BY LIST (email);
CREATE TABLE sm.parted_eve PARTITION OF sm.parted FOR VALUES IN ('eve@sm.example');
CREATE TABLE sm.parted_other PARTITION OF sm.parted DEFAULT;
SELECT witness.track('sm.parted', 'pii', subject_column => 'email', encrypt => false);
CREATE TABLE sm.upserted (id int PRIMARY KEY, email text, note text);
SELECT witness.track('sm.upserted', 'pii', subject_column => 'email', encrypt => false);
CREATE FUNCTION sm.hand_over() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF NEW.note = 'hand over' THEN
		NEW.email := 'fay@sm.example';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER hand_over BEFORE UPDATE ON sm.upserted FOR EACH ROW EXECUTE FUNCTION sm.hand_over();
SELECT witness._last_entry_id() AS e1 \gset
INSERT INTO sm.parted VALUES (1, 'eve@sm.example', 'eve-parted');
UPDATE sm.parted SET email = 'fay@sm.example', note = 'fay-parted' WHERE id = 1;
INSERT INTO sm.upserted VALUES (1, 'eve@sm.example', 'eve-upsert'), (2, 'eve@sm.example', 'eve-merge'),
                               (3, 'eve@sm.example', 'eve-trigger');
INSERT INTO sm.upserted VALUES (1, 'fay@sm.example', 'x') ON CONFLICT (id) DO UPDATE SET email = EXCLUDED.email, note = 'fay-upsert';
MERGE INTO sm.upserted u USING (VALUES (2)) v(id) ON u.id = v.id
WHEN MATCHED THEN UPDATE SET email = 'fay@sm.example', note = 'fay-merge';
UPDATE sm.upserted SET note = 'hand over' WHERE id = 3;
SELECT e.id - :e1 AS entry, e.table_name, e.op, e.subject, e.old_subject_key IS NOT NULL AS has_old_key
FROM witness.entry e WHERE e.id > :e1 ORDER BY e.id;
-- eve's export: every entry with her values, fay's new values withheld.
SELECT entry - :e1 AS entry, op, changes FROM sm.changes('eve@sm.example', 'sm.parted')
UNION ALL SELECT entry - :e1, op, changes FROM sm.changes('eve@sm.example', 'sm.upserted') ORDER BY 1;
SELECT witness.erase_subject('eve@sm.example', 'GDPR Art. 17 request #2') AS erased;
SELECT count(*) AS eve_values_left FROM witness.entry e
WHERE e.id > :e1 AND (e.old_values::text LIKE '%eve%' OR e.new_values::text LIKE '%eve%' OR e.subject LIKE 'eve%');
SELECT count(*) > 0 AS sealed FROM witness.seal();
SELECT status FROM witness.verify(:base + 1);
SELECT witness.untrack('sm.parted');
SELECT witness.untrack('sm.upserted');

-- A lookup-key collision. The key of an old subject in clear was a plain 64-bit hash
-- (hashtextextended), which can be collided with a string of one's choosing (this pair was found by
-- inverting it); a subject who picks such an identifier must not see, nor erase, the entry of the row
-- that moved away from the other one. The key is now taken from SHA-256 (witness::clear_subject_key):
-- the pair no longer shares it. An entry found by the key still counts only when its old values hold
-- the subject; an attack review got past that check with a second column holding the attacker's own
-- identifier (previous_owner below), which a shared key no longer lets it reach.
SELECT hashtextextended('victim@example.com', 0) = hashtextextended('atk:tdwinfpnRL:;/M3d<O6:', 0) AS colliding_pair;
CREATE TABLE sm.profile (id int PRIMARY KEY, email text, address text);
SELECT witness.track('sm.profile', 'pii', subject_column => 'email', encrypt => false);
SELECT witness._last_entry_id() AS e2 \gset
INSERT INTO sm.profile VALUES (1, 'victim@example.com', '1 Victim Street'), (2, 'atk:tdwinfpnRL:;/M3d<O6:', 'x');
UPDATE sm.profile SET email = 'victim.new@example.com', address = '2 New Street' WHERE id = 1;
SELECT witness._subject_lookup_key('victim@example.com', NULL) = witness._subject_lookup_key('atk:tdwinfpnRL:;/M3d<O6:', NULL) AS same_lookup_key;
SELECT entry - :e2 AS entry, op, changes FROM sm.changes('atk:tdwinfpnRL:;/M3d<O6:', 'sm.profile');
SELECT entry - :e2 AS entry, op, changes FROM sm.changes('victim@example.com', 'sm.profile');
SELECT witness.erase_subject('atk:tdwinfpnRL:;/M3d<O6:', 'the attacker''s own erasure') AS erased;
SELECT id - :e2 AS entry, erasure_id IS NOT NULL AS erased, old_values::text LIKE '%Victim Street%' AS victim_data_kept
FROM witness.entry WHERE id > :e2 AND table_name = 'profile' ORDER BY id;
SELECT witness.untrack('sm.profile');
CREATE TABLE sm.asset (id int PRIMARY KEY, owner text, previous_owner text, note text);
SELECT witness.track('sm.asset', 'pii', subject_column => 'owner', encrypt => false);
SELECT witness._last_entry_id() AS e3 \gset
INSERT INTO sm.asset VALUES (7, 'atk:tdwinfpnRL:;/M3d<O6:', NULL, 'bought');
UPDATE sm.asset SET owner = 'victim@example.com', previous_owner = owner WHERE id = 7;
UPDATE sm.asset SET note = 'victim home: 1 Victim Street' WHERE id = 7;
UPDATE sm.asset SET owner = 'third@example.com', previous_owner = owner, note = 'sold' WHERE id = 7;
SELECT entry - :e3 AS entry, op, changes FROM sm.changes('atk:tdwinfpnRL:;/M3d<O6:', 'sm.asset');
SELECT witness.erase_subject('atk:tdwinfpnRL:;/M3d<O6:', 'the attacker''s own erasure') AS erased;
SELECT id - :e3 AS entry, erasure_id IS NOT NULL AS erased, old_values::text LIKE '%Victim Street%' AS victim_data_kept
FROM witness.entry WHERE id > :e3 AND table_name = 'asset' ORDER BY id;
-- The victim's own export (entry 2, which moved the row to the victim, was emptied by the
-- attacker's erasure). Entry 4 moved the row away and set previous_owner to the victim's identifier:
-- only owner is the subject column (the table's configuration), so the victim's own old values are
-- shown and every new value withheld (an attack review found the old note withheld, and the
-- attacker's export above showed previous_owner as "new": null beside "old_withheld").
SELECT entry - :e3 AS entry, op, changes FROM sm.changes('victim@example.com', 'sm.asset');
SELECT count(*) AS csv_previous_owner_old_shown_new_withheld FROM witness.subject_export('victim@example.com', 'csv') AS line
WHERE line LIKE '%,sm.asset,UPDATE,"{""id"": 7}",previous_owner,atk:tdwinfpnRL:;/M3d<O6:,,%,new value withheld: the row moved to another subject or to none';
-- Configured again with another subject column after the entries: the configuration is not known
-- to have been in force, and every field counts as the subject column again (more is withheld).
SELECT witness.track('sm.asset', 'pii', subject_column => 'previous_owner', encrypt => false);
SELECT entry - :e3 AS entry, op, changes FROM sm.changes('victim@example.com', 'sm.asset') WHERE entry - :e3 = 4;
SELECT witness.untrack('sm.asset');
-- Configured again in the transaction that captured the UPDATE, after it: the entry is not read with
-- the new subject column (tracked_at was the transaction's start, and a review saw the other
-- subject's identifier in this export).
CREATE TABLE sm.acct (id int PRIMARY KEY, owner text, prev_owner text);
SELECT witness.track('sm.acct', 'pii', subject_column => 'owner', encrypt => false);
INSERT INTO sm.acct VALUES (1, 'alice@sm.example', NULL);
BEGIN;
UPDATE sm.acct SET owner = 'bob@sm.example', prev_owner = 'bob@sm.example' WHERE id = 1;
SELECT witness.track('sm.acct', 'pii', subject_column => 'prev_owner', encrypt => false);
COMMIT;
SELECT op, changes FROM sm.changes('bob@sm.example', 'sm.acct');
SELECT witness.untrack('sm.acct');

-- A row whose key is its subject moves to another subject: the old subject's export shows the key
-- the row had while it was theirs, not the new subject's address (in clear and encrypted).
CREATE TABLE sm.clear_account (email text PRIMARY KEY, phone text);
SELECT witness.track('sm.clear_account', 'pii', subject_column => 'email', encrypt => false);
CREATE TABLE sm.sealed_account (email text PRIMARY KEY, phone text);
SELECT witness.track('sm.sealed_account', 'pii', subject_column => 'email');
INSERT INTO sm.clear_account VALUES ('bob@acct.example', '555-BOB');
INSERT INTO sm.sealed_account VALUES ('bob@acct.example', '555-BOB');
UPDATE sm.clear_account SET email = 'carol@acct.example', phone = '555-CAROL';
UPDATE sm.sealed_account SET email = 'carol@acct.example', phone = '555-CAROL';
SELECT l ->> 'table' AS "table", l ->> 'operation' AS op, l -> 'row_key' AS row_key, l -> 'changes' AS changes
FROM witness.subject_export('bob@acct.example', 'json') WITH ORDINALITY AS x(line, n), LATERAL (SELECT line::json AS l) j
WHERE n > 1 AND l ->> 'table' LIKE 'sm.%account' ORDER BY l ->> 'table', (l ->> 'entry_id')::bigint;
SELECT count(*) AS csv_lines_naming_carol
FROM witness.subject_export('bob@acct.example', 'csv') AS line WHERE line LIKE '%carol%';
SELECT l -> 'row_key' AS carol_sees
FROM witness.subject_export('carol@acct.example', 'json') WITH ORDINALITY AS x(line, n), LATERAL (SELECT line::json AS l) j
WHERE n > 1 AND l ->> 'table' LIKE 'sm.%account' ORDER BY l ->> 'table', (l ->> 'entry_id')::bigint;
SELECT witness.untrack('sm.clear_account');
SELECT witness.untrack('sm.sealed_account');

-- An UPDATE that leaves the subject column alone and sets another column to the subject's text: the
-- subject's own old values are shown (a review found them withheld as another subject's).
CREATE TABLE sm.contact_card (id int PRIMARY KEY, email text, backup_email text, address text);
SELECT witness.track('sm.contact_card', 'pii', subject_column => 'email');
INSERT INTO sm.contact_card VALUES (1, 'ann@pf.example', 'ann.old@pf.example', 'Old Street 1');
UPDATE sm.contact_card SET backup_email = 'ann@pf.example', address = 'New Street 2' WHERE id = 1;
SELECT l ->> 'operation' AS op, l -> 'changes' AS changes
FROM witness.subject_export('ann@pf.example', 'json') WITH ORDINALITY AS x(line, n), LATERAL (SELECT line::json AS l) j
WHERE n > 1 AND l ->> 'table' = 'sm.contact_card' ORDER BY (l ->> 'entry_id')::bigint;
SELECT witness.untrack('sm.contact_card');

-- The subject column renamed: an entry captured under its former name is not taken for one whose
-- subject stayed (a review's rename showed the previous subject's values in the next one's export).
CREATE TABLE sm.renamed_card (id int PRIMARY KEY, email text, note text);
SELECT witness.track('sm.renamed_card', 'pii', subject_column => 'email', encrypt => false);
INSERT INTO sm.renamed_card VALUES (1, 'ann@rc.example', 'ann-secret-note');
UPDATE sm.renamed_card SET email = 'bob@rc.example', note = 'bob-note';
ALTER TABLE sm.renamed_card RENAME COLUMN email TO mail;
SELECT l ->> 'operation' AS op, l -> 'changes' AS bob_sees
FROM witness.subject_export('bob@rc.example', 'json') WITH ORDINALITY AS x(line, n), LATERAL (SELECT line::json AS l) j
WHERE n > 1 AND l ->> 'table' = 'sm.renamed_card' ORDER BY (l ->> 'entry_id')::bigint;
SELECT witness.untrack('sm.renamed_card');

RESET witness.reason;
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
SELECT witness.untrack('sm.clear_customer');
SELECT witness.untrack('sm.sealed_customer');
DROP SCHEMA sm CASCADE;
