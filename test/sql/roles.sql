-- Who may see what (docs/access.md): the roles witness_admin, witness_auditor and witness_reader, the
-- matrix of every function, view and table against them, time-limited and period-restricted auditors,
-- masking of classified values, and owners of tracked tables who try to switch capture off.
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE SCHEMA ro;
GRANT USAGE ON SCHEMA ro TO PUBLIC;
-- Searches by value read every entry since they start: from here on only (the trail earlier tests
-- left holds some 60,000 entries, and reading them all took most of this test's two and a half minutes).
SELECT now() AS ro_start \gset

-- Runs a statement in a subtransaction that is always rolled back; says no when it was refused for
-- lack of permission (42501), yes otherwise: it ran, or passed the permission checks and failed for
-- a reason that depends on the state earlier tests left (no digest key, no master key, ...).
CREATE FUNCTION ro.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	BEGIN
		EXECUTE statement;
		RAISE EXCEPTION 'ran' USING ERRCODE = 'RO000';
	EXCEPTION WHEN OTHERS THEN
		RETURN CASE WHEN SQLSTATE = '42501' THEN 'no' ELSE 'yes' END;
	END;
END
$$;
-- The same, with the error message (times replaced).
CREATE FUNCTION ro.err(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || regexp_replace(SQLERRM, '\d{4}-\d\d-\d\d [0-9:.+-]+', 'TIME', 'g');
END
$$;
-- Tells what it is given, and is cheap enough for the planner to run it first.
CREATE FUNCTION ro.leak(v text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	RAISE NOTICE 'leaked: %', v;
	RETURN true;
END
$$;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA ro TO PUBLIC;

-- The roles exist, cannot log in, and are nobody's members but what a DBA grants.
SELECT rolname, rolcanlogin, rolsuper, rolbypassrls, rolcreaterole, rolcreatedb, rolreplication,
       shobj_description(oid, 'pg_authid') IS NOT NULL AS commented
FROM pg_roles WHERE rolname LIKE 'witness\_%' ORDER BY 1;

CREATE ROLE ro_admin;
CREATE ROLE ro_auditor;
CREATE ROLE ro_reader;
CREATE ROLE ro_public;
GRANT witness_admin TO ro_admin;
GRANT witness_auditor TO ro_auditor;
GRANT witness_reader TO ro_reader;

CREATE TABLE ro.cust (id int PRIMARY KEY, name text, card text, note text);
SELECT witness.track('ro.cust', column_tags => '{"card": "financial", "note": "confidential"}');
CREATE TABLE ro.secret (id int PRIMARY KEY, v text);
SELECT witness.track('ro.secret', 'pii');
CREATE TABLE ro.plain (id int PRIMARY KEY, v text);
SELECT witness.track('ro.plain');
CREATE TABLE ro.spare (id int PRIMARY KEY);
CREATE TABLE ro.subj (id int PRIMARY KEY, who text, v text);
SELECT witness.track('ro.subj', column_tags => '{"who": "pii"}', subject_column => 'who', encrypt => false);
GRANT ALL ON ro.cust, ro.secret, ro.plain, ro.spare, ro.subj TO PUBLIC;
INSERT INTO ro.cust VALUES (1, 'ada', '4111', 'vip');
INSERT INTO ro.secret VALUES (1, 'x');
INSERT INTO ro.plain VALUES (1, 'p');
INSERT INTO ro.subj VALUES (1, 's1', 'before');
SELECT count(*) > 0 AS sealed FROM witness.seal();
SELECT min(id) AS first_id FROM witness.entry WHERE table_name = 'cust' \gset
CREATE ROLE ro_target;
CREATE ROLE ro_granted;
SELECT witness.grant_auditor('ro_granted', now() + interval '1 day') > 0 AS granted;

-- The matrix: every function, view and table a role can reach, tried by each role. "no" cells are
-- refusals with SQLSTATE 42501.
CREATE TABLE ro.attempt (n serial, what text, statement text);
INSERT INTO ro.attempt (what, statement) VALUES
 ('view log', 'SELECT count(*) FROM witness.log'),
 ('view tracked_tables', 'SELECT count(*) FROM witness.tracked_tables'),
 ('view seal_status', 'SELECT count(*) FROM witness.seal_status'),
 ('table entry', 'SELECT count(*) FROM witness.entry'),
 ('table block', 'SELECT count(*) FROM witness.block'),
 ('table tracked_table', 'SELECT count(*) FROM witness.tracked_table'),
 ('table ddl_event', 'SELECT count(*) FROM witness.ddl_event'),
 ('table erasure', 'SELECT count(*) FROM witness.erasure'),
 ('table subject_access', 'SELECT count(*) FROM witness.subject_access'),
 ('table key_rotation', 'SELECT count(*) FROM witness.key_rotation'),
 ('table auditor_grant', 'SELECT count(*) FROM witness.auditor_grant'),
 ('table legal_hold', 'SELECT count(*) FROM witness.legal_hold'),
 ('view holds', 'SELECT count(*) FROM witness.holds'),
 ('table retired_pseudonym_key', 'SELECT count(*) FROM witness.retired_pseudonym_key'),
 ('write entry', 'DELETE FROM witness.entry'),
 ('write auditor_grant', 'INSERT INTO witness.auditor_grant (role_name, event, granted_by) VALUES (''x'', ''revoked'', ''x'')'),
 ('track()', 'SELECT witness.track(''ro.spare'')'),
 ('untrack()', 'SELECT witness.untrack(''ro.plain'')'),
 ('erase_subject()', 'SELECT witness.erase_subject(''nobody'', ''test'')'),
 ('grant_auditor()', 'SELECT witness.grant_auditor(''ro_target'', now() + interval ''1 hour'')'),
 ('revoke_auditor()', 'SELECT witness.revoke_auditor(''ro_granted'')'),
 ('hold(), release_hold()', 'SELECT witness.hold(''roles test'', ''roles test'', subject => ''nobody'') > 0 AND witness.release_hold(''roles test'', ''x'') > 0'),
 ('rotate_master_key()', 'CALL witness.rotate_master_key()'),
 ('seal()', 'SELECT count(*) FROM witness.seal()'),
 ('verify()', 'SELECT count(*) FROM witness.verify()'),
 ('verify_period()', 'SELECT count(*) FROM witness.verify_period(now() - interval ''1 day'', now() + interval ''1 day'')'),
 ('digest()', 'SELECT witness.digest()'),
 ('verify_digest()', 'SELECT count(*) FROM witness.verify_digest(''{}'')'),
 ('prove()', 'SELECT witness.prove(' || :first_id || ')'),
 ('block_of()', 'SELECT witness.block_of(' || :first_id || ')'),
 ('export_trail()', 'SELECT count(*) FROM witness.export_trail()'),
 ('subject_export()', 'SELECT count(*) FROM witness.subject_export(''nobody'', ''json'', ''roles test'')'),
 ('entry_leaf_hash()', 'SELECT witness.entry_leaf_hash(jsonb_populate_record(NULL::witness.entry, ''{"id": 1}''))'),
 ('entry_canonical_bytes()', 'SELECT witness.entry_canonical_bytes(jsonb_populate_record(NULL::witness.entry, ''{"id": 1}''))'),
 ('entry_payload_bytes()', 'SELECT witness.entry_payload_bytes(jsonb_populate_record(NULL::witness.entry, ''{"id": 1}''))'),
 ('master_key_id()', 'SELECT witness.master_key_id()'),
 ('primary_key_columns()', 'SELECT witness.primary_key_columns(''ro.cust'')'),
 ('classifications(), tag_mask(), tag_names()', 'SELECT witness.tag_names(witness.tag_mask(witness.classifications()))'),
 ('database_id()', 'SELECT witness.database_id()'),
 ('access_check(), entry_visible(), values_unmasked()', 'SELECT witness.access_check() AND witness.entry_visible(now()) AND witness.values_unmasked() IS NOT NULL'),
 ('masked_tags(), _masked_values()', 'SELECT witness._masked_values(''{"card": 1}'', ''ro'', ''cust'', 1), witness.masked_tags()'),
 ('_entry_payload()', 'SELECT witness._entry_payload(jsonb_populate_record(NULL::witness.entry, ''{"id": 1}''))'),
 ('_subject_pseudonyms()', 'SELECT witness._subject_pseudonyms(''x'')'),
 ('_begin_internal_ddl()', 'SELECT witness._begin_internal_ddl()'),
 ('_record_subject_access()', 'SELECT witness._record_subject_access(''x'', ''json'', ''r'')'),
 ('export(), export_encrypted() (docs/exports.md)', 'SELECT count(*) FROM witness.export(''jsonl'', since => now()) UNION ALL SELECT count(*) FROM witness.export_encrypted(''p'', ''csv'', since => now(), iterations => 1000)'),
 ('table alert, view alert_rules', 'SELECT (SELECT count(*) FROM witness.alert) + (SELECT count(*) FROM witness.alert_rules)'),
 ('table alert_rule', 'SELECT count(*) FROM witness.alert_rule'),
 ('set_alert_rule(), check_alerts()', 'SELECT witness.set_alert_rule(''mass_export'', threshold => 50) > 0 AND (SELECT count(*) >= 0 FROM witness.check_alerts())');

CREATE FUNCTION ro.try_as(r text, statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	IF r <> 'postgres' THEN
		EXECUTE format('SET LOCAL ROLE %I', r);
	END IF;
	result := ro.try(statement);
	RESET ROLE;
	RETURN result;
END
$$;

SELECT a.what, ro.try_as('postgres', a.statement) AS superuser, ro.try_as('ro_admin', a.statement) AS admin,
       ro.try_as('ro_auditor', a.statement) AS auditor, ro.try_as('ro_reader', a.statement) AS reader,
       ro.try_as('ro_public', a.statement) AS public
FROM ro.attempt a ORDER BY a.n;

-- Every other function of schema witness: nobody but a superuser may execute it (the trigger functions
-- are called as the role whose change is captured; docs/access.md).
SELECT p.oid::regprocedure AS executable_by_a_role
FROM pg_proc p
WHERE p.pronamespace = 'witness'::regnamespace
  AND (has_function_privilege('ro_public', p.oid, 'EXECUTE') OR has_function_privilege('ro_reader', p.oid, 'EXECUTE')
       OR has_function_privilege('ro_auditor', p.oid, 'EXECUTE') OR has_function_privilege('ro_admin', p.oid, 'EXECUTE'))
  AND p.proname LIKE '\_%'
ORDER BY p.oid::regprocedure::text COLLATE "C";

-- Masking: a reader sees the values of classified columns (card: financial, note: confidential) and
-- of classified tables (secret: pii) as "***"; an auditor and an admin see them.
SET ROLE ro_reader;
SELECT table_name, operation, row_key, subject, new_values FROM witness.log WHERE schema_name = 'ro' ORDER BY id;
RESET ROLE;
SET ROLE ro_auditor;
SELECT table_name, operation, row_key, subject, new_values FROM witness.log WHERE schema_name = 'ro' ORDER BY id;
RESET ROLE;
SET ROLE ro_admin;
SELECT table_name, new_values FROM witness.log WHERE schema_name = 'ro' AND table_name = 'cust' ORDER BY id;
RESET ROLE;
UPDATE ro.cust SET card = '4999', name = 'ada l.' WHERE id = 1;
SET ROLE ro_reader;
SELECT old_values, new_values FROM witness.log WHERE schema_name = 'ro' AND operation = 'UPDATE';
-- A role a DBA granted the view or the table directly (no pg_witness role) reads them: the functions
-- the view and the row-level security policies call are executable by everyone; the view masks.
RESET ROLE;
GRANT USAGE ON SCHEMA witness TO ro_public;
GRANT SELECT ON witness.log, witness.entry TO ro_public;
SET ROLE ro_public;
SELECT new_values FROM witness.log WHERE schema_name = 'ro' AND table_name = 'cust' AND operation = 'UPDATE';
SELECT count(*) > 0 AS reads_entry FROM witness.entry WHERE schema_name = 'ro';
RESET ROLE;
REVOKE SELECT ON witness.log, witness.entry FROM ro_public;
REVOKE USAGE ON SCHEMA witness FROM ro_public;
SET ROLE ro_reader;
-- ... and cannot get around it.
SELECT ro.err('SELECT new_values FROM witness.entry');
SELECT ro.err('SELECT witness.entry_payload_bytes(e) FROM witness.entry e');
SELECT ro.err($$SELECT witness.subject_export('ada', 'json', 'curious')$$);
SELECT ro.err('SET LOCAL row_security = off; SELECT count(*) FROM witness.log');
RESET ROLE;
-- A column tagged when the entry was captured and untagged since: the entry still says financial,
-- and with no classified column left to point at, all its values are masked.
CREATE TABLE ro.moved (id int PRIMARY KEY, iban text);
GRANT ALL ON ro.moved TO PUBLIC;
SELECT witness.track('ro.moved', column_tags => '{"iban": "financial"}');
INSERT INTO ro.moved VALUES (1, 'DE00');
SELECT witness.track('ro.moved');
SET ROLE ro_reader;
SELECT tags, new_values FROM witness.log WHERE schema_name = 'ro' AND table_name = 'moved' AND operation = 'INSERT';
RESET ROLE;

-- An entry is masked when its table's configuration masks something now, whatever tags the entry
-- itself carries (found by a review): an UPDATE of an unclassified column still names its row by a
-- classified key, and shows the classified subject; a column tagged after capture is masked in the
-- entries captured before. The display text and the anonymised export follow witness.log.
CREATE TABLE ro.keyed (email text PRIMARY KEY, ssn text, note text);
GRANT ALL ON ro.keyed TO PUBLIC;
SELECT witness.track('ro.keyed', column_tags => '{"email": "pii", "ssn": "pii"}', subject_column => 'email', encrypt => false);
INSERT INTO ro.keyed VALUES ('bob@example.com', '123-45-6789', 'n1');
UPDATE ro.keyed SET note = 'n2' WHERE email = 'bob@example.com';
CREATE TABLE ro.later (id int PRIMARY KEY, email text, note text);
GRANT ALL ON ro.later TO PUBLIC;
SELECT witness.track('ro.later');
INSERT INTO ro.later VALUES (1, 'carol@example.com', 'n1');
SELECT witness.track('ro.later', column_tags => '{"email": "pii"}');
SET ROLE ro_reader;
SELECT table_name, operation, tags, row_key, subject, old_values, new_values FROM witness.log
WHERE schema_name = 'ro' AND table_name IN ('keyed', 'later') AND operation <> 'TRUNCATE' ORDER BY id;
SELECT count(*) AS found_by_value FROM witness.search(since => :'ro_start', value_text => 'bob@example') s WHERE s.schema_name = 'ro';
SELECT count(*) AS found_by_value FROM witness.search(since => :'ro_start', value_text => 'carol@example') s WHERE s.schema_name = 'ro';
SELECT field, new_value FROM witness.changes WHERE schema_name = 'ro' AND table_name = 'later' ORDER BY field;
SELECT display_text FROM witness.search(target => 'ro.keyed') ORDER BY entry_id;
RESET ROLE;
-- The window holds them: a role that sees the values finds them by value.
SELECT count(*) AS superuser_finds_by_value FROM witness.search(since => :'ro_start', value_text => 'bob@example') s WHERE s.schema_name = 'ro';
SELECT row_key ->> 'email' LIKE 'anon:%' AS key_pseudonymised, subject LIKE 'anon:%' AS subject_pseudonymised
FROM (SELECT l::jsonb AS j FROM witness.export('jsonl', table_name => 'keyed', anonymise => true,
                                                pseudonym_key => decode(repeat('01', 32), 'hex')) l) x,
     LATERAL (SELECT (j -> 'row_key') AS row_key, j ->> 'subject' AS subject, j ->> 'operation' AS op) y
WHERE op = 'UPDATE';
SELECT witness.untrack('ro.keyed'), witness.untrack('ro.later');
DROP TABLE ro.keyed, ro.later;
-- An untagged subject column is masked wherever the subject is, and the subject wherever the
-- configuration masks a column: an attack review read the subject in clear in the values, beside
-- subject "***", of an entry tagged pii for another column; the review of the fix read it in the
-- subject of an UPDATE that touched no tagged column, beside its masked column.
CREATE TABLE ro.patients (id int PRIMARY KEY, customer text, email text);
GRANT ALL ON ro.patients TO PUBLIC;
SELECT witness.track('ro.patients', column_tags => '{"email": "pii"}', subject_column => 'customer', encrypt => false);
INSERT INTO ro.patients VALUES (1, 'carol', 'carol@example.com');
UPDATE ro.patients SET customer = 'dave' WHERE id = 1;
SET ROLE ro_reader;
SELECT operation, subject, row_key, old_values, new_values FROM witness.log
WHERE schema_name = 'ro' AND table_name = 'patients' ORDER BY id;
SELECT count(*) AS subject_in_changes FROM witness.changes WHERE schema_name = 'ro' AND table_name = 'patients'
AND 'carol' IN (old_value, new_value);
RESET ROLE;
SELECT witness.untrack('ro.patients');
DROP TABLE ro.patients;

-- Renames do not unmask (found by a review). Masking by column name follows the configuration that
-- describes an entry: the table tracked under the entry's name since before the entry was captured,
-- with no configured column renamed or dropped since (names_since). Entries captured before a column
-- was renamed, before their table was renamed, and those of a table whose name another table took,
-- are masked whole; the new table's entries by its own tags.
CREATE TABLE ro.pay (id int PRIMARY KEY, iban text, note text);
CREATE TABLE ro.tagged_later (id int PRIMARY KEY, ssn text);
CREATE TABLE ro.pk (email text PRIMARY KEY, card text);
GRANT ALL ON ro.pay, ro.tagged_later, ro.pk TO PUBLIC;
SELECT witness.track('ro.pay', column_tags => '{"iban": "financial"}'), witness.track('ro.tagged_later'),
       witness.track('ro.pk', column_tags => '{"email": "pii", "card": "financial"}');
INSERT INTO ro.pay VALUES (1, 'DE89', 'rent');
ALTER TABLE ro.pay RENAME COLUMN iban TO acct;
INSERT INTO ro.pay VALUES (2, 'DE77', 'food');
INSERT INTO ro.tagged_later VALUES (1, '123-45');
SELECT witness.track('ro.tagged_later', column_tags => '{"ssn": "pii"}');
ALTER TABLE ro.tagged_later RENAME TO tagged_renamed;
INSERT INTO ro.pk VALUES ('bob@example.com', '4111');
ALTER TABLE ro.pk RENAME TO pk_old;
CREATE TABLE ro.pk (email text PRIMARY KEY, name text);
GRANT ALL ON ro.pk TO PUBLIC;
SELECT witness.track('ro.pk', column_tags => '{"name": "pii"}');
INSERT INTO ro.pk VALUES ('new@example.com', 'Ann');
SELECT table_name, former_names FROM witness.tracked_table WHERE schema_name = 'ro' AND former_names <> '[]' ORDER BY 1;
SET ROLE ro_reader;
SELECT table_name, tags, row_key, new_values FROM witness.log
WHERE schema_name = 'ro' AND table_name IN ('pay', 'tagged_later', 'pk') AND operation = 'INSERT' ORDER BY id;
SELECT count(*) AS found_by_value FROM witness.search(since => :'ro_start', value_text => 'DE89') s WHERE s.schema_name = 'ro';
SELECT count(*) AS found_by_value FROM witness.search(since => :'ro_start', value_text => '123-45') s WHERE s.schema_name = 'ro';
SELECT display_text FROM witness.search(target => 'ro.pk') ORDER BY entry_id;
RESET ROLE;
-- A guessed key the reader would see masked is not looked for at all: the right guess reads the trail
-- no more than a wrong one (a review confirmed keys by counting index scans); a key it sees is found.
-- ro.history_scans(): what entity_history() finds for a key, and how many scans of pg_witness's
-- tables and indexes it took (pg_stat_get_xact_numscans counts the caller's own transaction).
CREATE FUNCTION ro.history_scans(s text, t text, k jsonb, OUT entries bigint, OUT scans bigint) LANGUAGE plpgsql
AS $$
DECLARE
	before bigint := (SELECT sum(pg_stat_get_xact_numscans(c.oid)) FROM pg_class c WHERE c.relnamespace = 'witness'::regnamespace);
BEGIN
	entries := (SELECT count(*) FROM witness.entity_history(s, t, k));
	scans := (SELECT sum(pg_stat_get_xact_numscans(c.oid)) FROM pg_class c WHERE c.relnamespace = 'witness'::regnamespace) - before;
END $$;
SET ROLE ro_reader;
SELECT r.entries AS right_guess, w.entries AS wrong_guess, r.scans = w.scans AS same_scans
FROM ro.history_scans('ro', 'pk', '{"email": "bob@example.com"}') r, ro.history_scans('ro', 'pk', '{"email": "eve@example.com"}') w;
SELECT (SELECT count(*) FROM witness.entity_history('ro', 'pk', '{"email": "new@example.com"}')) AS visible_key,
       (SELECT count(*) FROM witness.entity_history('ro', 'pay', '{"id": 1}')) AS before_column_rename,
       (SELECT count(*) FROM witness.entity_history('ro', 'pay', '{"id": 2}')) AS after_column_rename;
RESET ROLE;
SELECT count(*) AS admin_sees FROM witness.entity_history('ro', 'pk', '{"email": "bob@example.com"}');
-- A tagged column of a child, once the tracked table dropped its own (ALTER TABLE ONLY), cannot be
-- renamed: the configuration could not follow it and would drop the tag. Dropped, it leaves the
-- configuration, and the entries before are masked whole (found by a review).
CREATE TABLE ro.q (id int PRIMARY KEY, ssn text, card text);
CREATE TABLE ro.qc () INHERITS (ro.q);
GRANT ALL ON ro.q, ro.qc TO PUBLIC;
SELECT witness.track('ro.q', column_tags => '{"ssn": "pii", "card": "financial"}');
ALTER TABLE ONLY ro.q DROP COLUMN ssn;
INSERT INTO ro.qc VALUES (7, '777-77', '4777');
\set VERBOSITY terse
ALTER TABLE ro.qc RENAME COLUMN ssn TO ssn_legacy;
\set VERBOSITY default
ALTER TABLE ro.qc DROP COLUMN ssn;
SET ROLE ro_reader;
SELECT tags, new_values FROM witness.log WHERE schema_name = 'ro' AND table_name = 'q' AND operation = 'INSERT';
RESET ROLE;
-- Another key (track() again with key_columns) moves names_since too: a guessed old key is not looked
-- for (the same scan count as a wrong guess).
CREATE TABLE ro.k (id int PRIMARY KEY, email text UNIQUE);
GRANT ALL ON ro.k TO PUBLIC;
SELECT witness.track('ro.k', key_columns => '{email}');
INSERT INTO ro.k VALUES (1, 'alice@x.org');
SELECT witness.track('ro.k', column_tags => '{"email": "pii"}', key_columns => '{id}');
SET ROLE ro_reader;
SELECT r.entries AS right_guess, w.entries AS wrong_guess, r.scans = w.scans AS same_scans
FROM ro.history_scans('ro', 'k', '{"email": "alice@x.org"}') r, ro.history_scans('ro', 'k', '{"email": "nobody@x.org"}') w;
RESET ROLE;
-- A rename of the schema takes no lock on its tables: pg_witness takes SHARE locks on every tracked
-- table in it (and its children) until the rename commits, so that no writer captures under the old
-- names with an id the new configuration describes.
BEGIN;
ALTER SCHEMA ro RENAME TO ro_renamed;
SELECT c.relname, l.mode FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
WHERE l.pid = pg_backend_pid() AND c.relname IN ('q', 'qc', 'k') AND l.mode = 'ShareLock' ORDER BY 1;
ROLLBACK;
SELECT witness.untrack('ro.q'), witness.untrack('ro.k');
DROP TABLE ro.q, ro.qc, ro.k;

-- Untracked or dropped, a table's configuration is gone, but not its masking: an entry captured
-- before its column was tagged stays masked (witness.retired_masking).
CREATE TABLE ro.gone (id int PRIMARY KEY, ssn text);
GRANT ALL ON ro.gone TO PUBLIC;
SELECT witness.track('ro.gone');
INSERT INTO ro.gone VALUES (1, '555-55');
SELECT witness.track('ro.gone', column_tags => '{"ssn": "pii"}');
SELECT witness.untrack('ro.pay'), witness.untrack('ro.tagged_renamed'), witness.untrack('ro.pk'), witness.untrack('ro.pk_old');
DROP TABLE ro.pay, ro.tagged_renamed, ro.pk, ro.pk_old, ro.gone;
SELECT schema_name, table_name, masks, masks_subject FROM witness.retired_masking WHERE schema_name = 'ro' ORDER BY 1, 2;
SET ROLE ro_reader;
SELECT table_name, tags, row_key, new_values FROM witness.log
WHERE schema_name = 'ro' AND table_name IN ('pay', 'tagged_later', 'gone') AND operation = 'INSERT' ORDER BY id;
SELECT count(*) AS found_by_value FROM witness.search(since => :'ro_start', value_text => '555-55') s WHERE s.schema_name = 'ro';
RESET ROLE;
SELECT ro.err('DELETE FROM witness.retired_masking');
-- Dropping every classified column keeps their masking for the entries captured before: one captured
-- before the tag stays masked, one captured after the drop is shown (found by a review).
CREATE TABLE ro.cols_dropped (id int PRIMARY KEY, ssn text, note text);
GRANT ALL ON ro.cols_dropped TO PUBLIC;
SELECT witness.track('ro.cols_dropped');
INSERT INTO ro.cols_dropped VALUES (1, '666-66', 'before');
SELECT witness.track('ro.cols_dropped', column_tags => '{"ssn": "pii"}');
ALTER TABLE ro.cols_dropped DROP COLUMN ssn;
INSERT INTO ro.cols_dropped VALUES (2, 'after');
SET ROLE ro_reader;
SELECT tags, new_values FROM witness.log WHERE schema_name = 'ro' AND table_name = 'cols_dropped' AND operation = 'INSERT' ORDER BY id;
SELECT count(*) AS found_by_value FROM witness.search(since => :'ro_start', value_text => '666-66') s WHERE s.schema_name = 'ro';
SELECT (SELECT count(*) FROM witness.entity_history('ro', 'cols_dropped', '{"id": 1}')) AS before_drop,
       (SELECT count(*) FROM witness.entity_history('ro', 'cols_dropped', '{"id": 2}')) AS after_drop;
RESET ROLE;
SELECT witness.untrack('ro.cols_dropped');
DROP TABLE ro.cols_dropped;
DROP FUNCTION ro.history_scans(text, text, jsonb);

-- grant_auditor(): refusals.
SET ROLE ro_admin;
SELECT ro.err($$SELECT witness.grant_auditor('ro_target', now() - interval '1 second')$$);
SELECT ro.err($$SELECT witness.grant_auditor('ro_target', NULL)$$);
SELECT ro.err($$SELECT witness.grant_auditor('ro_target', now() + interval '1 hour', now(), now() - interval '1 day')$$);
SELECT ro.err($$SELECT witness.grant_auditor('postgres', now() + interval '1 hour')$$);
SELECT ro.err($$SELECT witness.grant_auditor('witness_admin', now() + interval '1 hour')$$);
-- Times the role's label cannot hold: 'infinity' (was 22007 from an internal statement) and a year BC
-- (its era was lost, the auditor seeing another period than the one recorded).
SELECT ro.err($$SELECT witness.grant_auditor('ro_target', 'infinity')$$);
SELECT ro.err($$SELECT witness.grant_auditor('ro_target', now() + interval '1 hour', since => '3000-01-01 BC')$$);
SELECT ro.err($$SELECT witness.revoke_auditor('ro_target')$$);
-- A role OID that names no role: said so, as grant_auditor() says it (it read "role <NULL>").
SELECT ro.err($$SELECT witness.revoke_auditor(0::oid::regrole)$$);
-- An admin cannot make itself, a role it belongs to, or another admin an auditor.
SELECT ro.err($$SELECT witness.grant_auditor('ro_admin', now() + interval '1 hour')$$);
RESET ROLE;
CREATE ROLE ro_admin2;
GRANT witness_admin TO ro_admin2;
GRANT ro_target TO ro_admin;
SET ROLE ro_admin;
SELECT ro.err($$SELECT witness.grant_auditor('ro_target', now() + interval '1 hour')$$);
SELECT ro.err($$SELECT witness.grant_auditor('ro_admin2', now() + interval '1 hour')$$);
RESET ROLE;
REVOKE ro_target FROM ro_admin;
DROP ROLE ro_admin2;
SET ROLE ro_admin;
RESET ROLE;
-- A role that merely holds EXECUTE (granted by a careless DBA) is still refused.
GRANT USAGE ON SCHEMA witness TO ro_public;
GRANT EXECUTE ON FUNCTION witness.grant_auditor(regrole, timestamptz, timestamptz, timestamptz) TO ro_public;
SET ROLE ro_public;
SELECT ro.err($$SELECT witness.grant_auditor('ro_public', now() + interval '1 hour')$$);
RESET ROLE;
REVOKE EXECUTE ON FUNCTION witness.grant_auditor(regrole, timestamptz, timestamptz, timestamptz) FROM ro_public;
REVOKE USAGE ON SCHEMA witness FROM ro_public;

-- An auditor whose time is up: every function, view and table it could reach refuses it, with no
-- scheduled job having run (only classifications(), tag_mask() and tag_names(), constants, answer).
CREATE ROLE ro_expired;
CREATE ROLE ro_elsewhere;
SET ROLE ro_admin;
SELECT witness.grant_auditor('ro_expired', clock_timestamp() + interval '2 seconds') > 0 AS granted;
SELECT witness.grant_auditor('ro_elsewhere', clock_timestamp() + interval '2 seconds') > 0 AS granted;
RESET ROLE;
-- The limits are labels on the roles (cluster-wide, like the membership they limit); nobody but
-- grant_auditor() and revoke_auditor() (and a superuser restoring a dump) sets them.
SELECT objoid::regrole AS role, regexp_replace(label, '\d{4}-\d\d-\d\dT[0-9:.]+Z', 'TIME', 'g') AS label
FROM pg_shseclabel WHERE provider = 'pg_witness' AND objoid IN ('ro_expired'::regrole, 'ro_granted'::regrole) ORDER BY objoid::regrole::text COLLATE "C";
CREATE ROLE ro_createrole CREATEROLE;
SET ROLE ro_createrole;
SELECT ro.err($$SECURITY LABEL FOR pg_witness ON ROLE ro_expired IS NULL$$);
RESET ROLE;
SET ROLE ro_admin;
SELECT ro.err($$SECURITY LABEL FOR pg_witness ON ROLE ro_expired IS 'until=2999-01-01T00:00:00Z since=- till=-'$$);
RESET ROLE;
SELECT ro.err($$SECURITY LABEL FOR pg_witness ON TABLE ro.cust IS 'x'$$);
SELECT ro.err($$SECURITY LABEL FOR pg_witness ON ROLE ro_target IS 'until=soon'$$);
DROP ROLE ro_createrole;
SET ROLE ro_expired;
SELECT count(*) > 0 AS reads_before FROM witness.log;
RESET ROLE;
SELECT pg_sleep(2.2);
SELECT pg_has_role('ro_expired', 'witness_auditor', 'MEMBER') AS still_a_member;
SELECT a.what, ro.try_as('ro_expired', a.statement) AS expired_auditor FROM ro.attempt a ORDER BY a.n;
-- Of what a valid auditor may do, the refusals name the expiry (all but the constants).
CREATE FUNCTION ro.err_as(r text, statement text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	result text;
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', r);
	result := ro.err(statement);
	RESET ROLE;
	RETURN result;
END
$$;
SELECT a.what, ro.err_as('ro_expired', a.statement) AS refused_with
FROM ro.attempt a
WHERE ro.try_as('ro_auditor', a.statement) = 'yes'
  AND ro.err_as('ro_expired', a.statement) IS DISTINCT FROM '42501: auditor access of role ro_expired expired at TIME'
ORDER BY a.n;
SET ROLE ro_expired;
SELECT ro.err('SELECT count(*) FROM witness.block');
SELECT ro.err('SELECT * FROM witness.verify()');
SELECT ro.err('SELECT count(*) FROM witness.log');
RESET ROLE;
-- Its members too, and a member that SETs ROLE to it.
CREATE ROLE ro_expired_member;
GRANT ro_expired TO ro_expired_member;
SET ROLE ro_expired_member;
SELECT ro.err('SELECT count(*) FROM witness.entry');
RESET ROLE;
-- Granted again, it reads again; revoked, it is no auditor at all.
SELECT witness.grant_auditor('ro_expired', now() + interval '1 hour') > 0 AS granted;
SET ROLE ro_expired;
SELECT count(*) > 0 AS reads_again FROM witness.log;
RESET ROLE;
SELECT witness.revoke_auditor('ro_expired');
SELECT pg_has_role('ro_expired', 'witness_auditor', 'MEMBER') AS still_a_member;
SET ROLE ro_expired;
SELECT ro.err('SELECT count(*) FROM witness.log');
RESET ROLE;
-- Every grant and revocation is an entry of the chain.
SELECT operation, new_values ->> 'role_name' AS role_name, new_values ->> 'event' AS event,
       new_values ->> 'granted_by' AS granted_by
FROM witness.log WHERE schema_name = 'witness' AND table_name = 'auditor_grant' ORDER BY id;
SELECT ro.err('UPDATE witness.auditor_grant SET until = now() + interval ''10 years''');
SELECT ro.err('DELETE FROM witness.auditor_grant');

-- A period-restricted auditor: sees only the entries captured in [since, till), through the views,
-- the table, proofs, exports and subject exports; verify() checks the whole chain and names no entry
-- outside the period.
-- A refusal just before the period, written to witness.activity (and so captured) within it; what
-- was queued before it is written first.
SELECT witness.flush_activity() >= 0 AS flushed;
SET ROLE ro_public;
SELECT count(*) FROM witness.entry WHERE new_values::text LIKE '%111-22-3333%';
RESET ROLE;
SELECT clock_timestamp() AS since \gset
INSERT INTO ro.plain VALUES (2, 'in period');
INSERT INTO ro.subj VALUES (2, 's1', 'in period');
SELECT witness.flush_activity() > 0 AS flushed;
SELECT clock_timestamp() AS till \gset
INSERT INTO ro.plain VALUES (3, 'after');
INSERT INTO ro.subj VALUES (3, 's1', 'after');
SELECT count(*) > 0 AS sealed FROM witness.seal();
SELECT id AS in_id FROM witness.entry WHERE table_name = 'plain' AND new_values::jsonb ->> 'id' = '2' \gset
CREATE ROLE ro_period;
-- Subject exports need the master keys of the encrypted entries earlier tests left (rotation.sql
-- ends with every payload under key b, a being the previous one).
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set,
       set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
SELECT witness.grant_auditor('ro_period', now() + interval '1 hour', :'since', :'till') > 0 AS granted;
SET ROLE ro_period;
SELECT table_name, new_values FROM witness.log ORDER BY id;
SELECT count(*) FROM witness.entry;
SELECT bool_or(id = :in_id) AS has_it, bool_and(stmt_time >= :'since' AND stmt_time < :'till') AS all_in_period FROM witness.entry;
-- verify() checks the whole chain (earlier tests leave tampered entries in it) and names no entry
-- outside the period.
SELECT count(*) FILTER (WHERE entry_id IS NOT NULL) AS named_entries,
       count(*) FILTER (WHERE detail = 'an entry outside the period this role may see') = count(*) FILTER (WHERE problem IS NOT NULL) AS all_unnamed
FROM witness.verify();
SELECT (witness.prove(:in_id)) ->> 'entry_id' = :'in_id' AS proved;
SELECT regexp_replace(ro.err('SELECT witness.prove(' || :first_id || ')'), 'entry \d+', 'entry N') AS outside;
SELECT witness.block_of(:first_id) IS NULL AS no_block_outside;
SELECT (witness.block_of(:in_id)).block_no IS NOT NULL AS block_inside;
SELECT count(*) FILTER (WHERE line::jsonb ->> 'type' = 'entry') AS exported_entries FROM witness.export_trail() AS line;
-- A condition of its own that leaks what it is given sees the period's rows only.
SET client_min_messages = notice;
SELECT count(*) FROM witness.log WHERE ro.leak(new_values::text);
SELECT count(*) FROM witness.entry WHERE ro.leak(new_values::text);
SET client_min_messages = warning;
SELECT line::jsonb ->> 'entries' AS subject_entries FROM witness.subject_export('s1', 'json', 'period test') AS line LIMIT 1;
SELECT count(DISTINCT split_part(line, ',', 1)) - 1 AS subject_csv_entries FROM witness.subject_export('s1', 'csv', 'period test') AS line;
-- What happened around the entries, its period's rows only (an attack review read a refused
-- statement of another time in witness.activity).
SELECT (SELECT count(*) FROM witness.activity WHERE happened_at < :'since' OR happened_at >= :'till') AS activity_outside,
       (SELECT count(*) FROM witness.alert WHERE raised_at < :'since' OR raised_at >= :'till') AS alerts_outside;
-- Nor through the entries that carry those rows: an activity entry is seen by its event's time, not
-- by when a drain captured it (a review read the refusal above, made before the period, in witness.log).
SELECT count(*) AS activity_entries_outside, COALESCE(bool_or(new_values ->> 'statement' LIKE '%111-22-3333%'), false) AS refusal_seen
FROM witness.log WHERE schema_name = 'witness' AND table_name = 'activity'
  AND ((new_values ->> 'happened_at')::timestamptz < :'since' OR (new_values ->> 'happened_at')::timestamptz >= :'till');
RESET ROLE;
-- The entry is there, captured within the period, its event before it.
SELECT count(*) AS captured_in_period_event_before FROM witness.entry
WHERE schema_name = 'witness' AND table_name = 'activity' AND stmt_time >= :'since' AND stmt_time < :'till'
  AND (new_values ->> 'happened_at')::timestamptz < :'since' AND new_values ->> 'statement' LIKE '%111-22-3333%';
SELECT (SELECT count(*) FROM witness.activity WHERE happened_at < :'since') > 0 AS activity_before,
       (SELECT count(*) FROM witness.alert WHERE raised_at < :'since') > 0 AS alerts_before;
-- Its views hand nothing on (an attack review granted a view over witness.entry that a time-limited
-- auditor owned to a role of no privileges, which read the whole trail, also after the grant expired):
-- a read of the trail through such a view or rule is refused; the auditor still reads its own view.
GRANT CREATE ON SCHEMA ro TO ro_period;
SET ROLE ro_period;
CREATE VIEW ro.period_entries AS SELECT id, new_values FROM witness.entry;
CREATE VIEW ro.period_log AS SELECT id, new_values FROM witness.log;
SELECT (SELECT count(*) FROM ro.period_entries) = (SELECT count(*) FROM witness.entry) AS own_view_reads;
GRANT SELECT ON ro.period_entries, ro.period_log TO ro_public, ro_auditor;
RESET ROLE;
SET ROLE ro_public;
SELECT ro.err('SELECT count(*) FROM ro.period_entries');
SELECT ro.err('SELECT count(*) FROM ro.period_log');
RESET ROLE;
SET ROLE ro_auditor;
SELECT ro.err('SELECT count(*) FROM ro.period_entries');
RESET ROLE;
SELECT (SELECT count(*) FROM ro.period_entries) = (SELECT count(*) FROM witness.entry) AS superuser_reads;
DROP VIEW ro.period_entries, ro.period_log;
REVOKE CREATE ON SCHEMA ro FROM ro_period;
SET ROLE ro_auditor;
SELECT line::jsonb ->> 'entries' AS subject_entries_unrestricted FROM witness.subject_export('s1', 'json', 'period test') AS line LIMIT 1;
RESET ROLE;
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
-- Tampering outside the period is reported to it, without naming the entry.
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET actor = 'forged' WHERE id = :first_id;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT bool_or(problem = 'value changed' AND entry_id = :first_id) AS superuser_sees_it FROM witness.verify();
SET ROLE ro_period;
SELECT count(*) FILTER (WHERE problem = 'value changed' AND entry_id IS NULL
                        AND detail = 'an entry outside the period this role may see') > 0 AS period_auditor_sees_it,
       count(*) FILTER (WHERE entry_id IS NOT NULL) AS named_entries
FROM witness.verify();
RESET ROLE;
SET session_replication_role = replica;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET actor = NULL WHERE id = :first_id;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
RESET session_replication_role;
SELECT count(*) FILTER (WHERE entry_id = :first_id) = 0 AS restored FROM witness.verify();

-- Owners of tracked tables: without witness_admin they cannot switch capture off; with it they can
-- untrack (and that is recorded), and still not disable or drop the trigger.
CREATE ROLE ro_owner;
CREATE TABLE ro.owned (id int PRIMARY KEY, v text);
ALTER TABLE ro.owned OWNER TO ro_owner;
SELECT witness.track('ro.owned');
SET ROLE ro_owner;
SELECT ro.err('SELECT witness.untrack(''ro.owned'')');
SELECT ro.err('ALTER TABLE ro.owned DISABLE TRIGGER witness_capture');
SELECT ro.err('ALTER TABLE ro.owned DISABLE TRIGGER ALL');
SELECT ro.err('DROP TRIGGER witness_capture ON ro.owned');
SELECT ro.err('ALTER TABLE ro.owned ENABLE REPLICA TRIGGER witness_capture');
RESET ROLE;
GRANT witness_admin TO ro_owner;
SET ROLE ro_owner;
SELECT ro.err('ALTER TABLE ro.owned DISABLE TRIGGER witness_capture');
SELECT ro.err('DROP TRIGGER witness_capture ON ro.owned');
SELECT witness.untrack('ro.owned');
RESET ROLE;
SELECT operation, old_values ->> 'relid' AS untracked, session_user_name, current_user_name
FROM witness.log WHERE table_name = 'tracked_table' AND operation = 'DELETE' ORDER BY id DESC LIMIT 1;
-- A DML-only role and a role with CREATE on the database reach nothing of pg_witness.
CREATE ROLE ro_creator;
GRANT CREATE ON DATABASE :"DBNAME" TO ro_creator;
SET ROLE ro_creator;
SELECT ro.err('SELECT count(*) FROM witness.log');
SELECT ro.err('SELECT witness.grant_auditor(''ro_creator'', now() + interval ''1 hour'')');
RESET ROLE;
REVOKE CREATE ON DATABASE :"DBNAME" FROM ro_creator;

-- Installing: a pre-existing role of one of these names that can log in, is a superuser, bypasses
-- row-level security or is a member of another role is refused; a second database reuses the roles,
-- and DROP EXTENSION leaves them.
\set regress_db :DBNAME
CREATE DATABASE regress_witness_roles;
\c regress_witness_roles
SET client_min_messages = warning;
\set VERBOSITY terse
ALTER ROLE witness_reader LOGIN;
CREATE EXTENSION pg_witness;
ALTER ROLE witness_reader NOLOGIN;
ALTER ROLE witness_auditor BYPASSRLS;
CREATE EXTENSION pg_witness;
ALTER ROLE witness_auditor NOBYPASSRLS;
GRANT pg_read_all_data TO witness_admin;
CREATE EXTENSION pg_witness;
REVOKE pg_read_all_data FROM witness_admin;
CREATE EXTENSION pg_witness;
SELECT has_table_privilege('witness_reader', 'witness.log', 'SELECT') AS reader_reads_log;
-- The auditor limited (and expired) in the other database is refused here too.
SET ROLE ro_elsewhere;
DO $$
BEGIN
	PERFORM count(*) FROM witness.log;
	RAISE NOTICE 'read the log';
EXCEPTION WHEN insufficient_privilege THEN
	RAISE WARNING 'refused: %', regexp_replace(SQLERRM, '\d{4}-\d\d-\d\d [0-9:.+-]+', 'TIME');
END
$$;
RESET ROLE;
-- Dropped in the transaction that changed a tracked table: the trail's own relations, kept open for
-- the transaction, are not "in use by active queries".
CREATE TABLE ro_dropped (id int PRIMARY KEY, v int);
SELECT FROM witness.track('ro_dropped');
BEGIN;
INSERT INTO ro_dropped VALUES (1, 1);
UPDATE ro_dropped SET v = 2;
DROP EXTENSION pg_witness CASCADE;
COMMIT;
SELECT count(*) AS extensions_left FROM pg_extension WHERE extname = 'pg_witness';
SELECT count(*) AS roles_left FROM pg_roles WHERE rolname IN ('witness_admin', 'witness_auditor', 'witness_reader');
\c :regress_db
SET client_min_messages = warning;
DROP DATABASE regress_witness_roles;

-- witness.log granted by a DBA to a role of none of pg_witness's: it reads, values masked (a review
-- found every read refused: tag_names() called classifications(), which only pg_witness's roles could).
GRANT USAGE ON SCHEMA witness TO ro_public;
GRANT SELECT ON witness.log TO ro_public;
SET ROLE ro_public;
SELECT count(*) > 0 AS reads, bool_and(tags IS NOT NULL) AS tags_named,
       bool_and(new_values::text NOT LIKE '%4111%') AS card_masked
FROM witness.log WHERE schema_name = 'ro' AND table_name = 'cust';
RESET ROLE;

-- Clean up.
SELECT witness.untrack(t) FROM unnest(ARRAY['ro.cust', 'ro.secret', 'ro.plain', 'ro.moved', 'ro.subj']::regclass[]) t;
DROP SCHEMA ro CASCADE;
DROP OWNED BY ro_admin, ro_auditor, ro_reader, ro_public, ro_target, ro_granted, ro_expired, ro_expired_member,
              ro_period, ro_owner, ro_creator, ro_elsewhere;
DROP ROLE ro_admin, ro_auditor, ro_reader, ro_public, ro_target, ro_granted, ro_expired, ro_expired_member, ro_period,
          ro_owner, ro_creator, ro_elsewhere;

-- Every function that runs as pg_witness's owner prints no plan, parse tree or rewritten tree of its
-- queries, nor do those it calls, whoever sets debug_print_* (an attack review read masked values and
-- another subject's decrypted values as constants of those plans).
SELECT p.oid::regprocedure AS prints_its_plans
FROM pg_proc p
WHERE p.pronamespace = 'witness'::regnamespace AND p.prokind = 'f' AND (p.prosecdef OR p.oid = 'witness._my_trail()'::regprocedure)
  AND NOT p.proconfig @> ARRAY['debug_print_plan=off', 'debug_print_parse=off', 'debug_print_rewritten=off']
ORDER BY 1;
