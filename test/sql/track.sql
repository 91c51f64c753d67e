-- witness.track() and witness.untrack(): configuration and its validation.
SET client_min_messages = warning;
DROP ROLE IF EXISTS witness_app;
RESET client_min_messages;
CREATE TABLE customers (id int PRIMARY KEY, email text, name text, iban text, ssn text, note text);
CREATE SCHEMA "Mixed Case";
CREATE TABLE "Mixed Case"."Odd Table" (" key" int PRIMARY KEY, "Val" text);
CREATE TABLE app_log (at timestamptz, msg text);   -- no primary key
CREATE VIEW customers_v AS SELECT * FROM customers;
CREATE MATERIALIZED VIEW customers_mv AS SELECT * FROM customers;
CREATE TEMP TABLE scratch (id int);
CREATE FOREIGN DATA WRAPPER dummy_fdw;
CREATE SERVER dummy_server FOREIGN DATA WRAPPER dummy_fdw;
CREATE FOREIGN TABLE remote_t (id int) SERVER dummy_server;
CREATE TABLE parted (id int, region text, PRIMARY KEY (id, region)) PARTITION BY LIST (region);
CREATE TABLE parted_eu PARTITION OF parted FOR VALUES IN ('eu');

SELECT witness.track('customers', 'pii',
                     column_tags => '{"iban": ["financial", "pii"], "note": "confidential"}',
                     exclude_columns => '{ssn}', subject_column => 'email', encrypt => false);
SELECT witness.track('"Mixed Case"."Odd Table"', 'restricted');
SELECT witness.track('app_log');   -- NOTICE: no key
SELECT witness.track('app_log', key_columns => '{at}');
-- A unique index on a column that may be NULL does not make it a key: NULL rows share {"k": null}.
CREATE TABLE nullable_key (k int, v text);
CREATE UNIQUE INDEX ON nullable_key (k);
SELECT witness.track('nullable_key', key_columns => '{k}');
CREATE TABLE nulls_not_distinct (k int, v text);
CREATE UNIQUE INDEX ON nulls_not_distinct (k) NULLS NOT DISTINCT;
SELECT witness.track('nulls_not_distinct', key_columns => '{k}');
SELECT witness.untrack('nullable_key'), witness.untrack('nulls_not_distinct');
DROP TABLE nullable_key, nulls_not_distinct;
SELECT table_name, classification, column_tags, exclude_columns, subject_column, key_columns, key_is_primary_key, tracked_by
FROM witness.tracked_tables WHERE table_name <> 'witness.tracked_table'::regclass ORDER BY table_name::text;

-- Calling track() again reconfigures the table.
SELECT witness.track('customers', 'pii', column_tags => '{"iban": "financial"}', exclude_columns => '{ssn,note}',
                     subject_column => 'email', encrypt => false);
SELECT table_name, classification, column_tags, exclude_columns FROM witness.tracked_tables WHERE table_name = 'customers'::regclass;

-- Triggers installed: row and TRUNCATE triggers, enabled ALWAYS.
SELECT tgrelid::regclass, tgname, tgenabled FROM pg_trigger
WHERE tgname LIKE 'witness_capture%' AND tgrelid <> 'witness.tracked_table'::regclass ORDER BY tgrelid::regclass::text, tgname;

-- Bad input: clear errors, nothing changes.
\set VERBOSITY default
SELECT witness.track('customers_v');
SELECT witness.track('customers_mv');
SELECT witness.track('remote_t');
SELECT witness.track('scratch');
SELECT witness.track('pg_class');
SELECT witness.track('information_schema.sql_features');
SELECT witness.track('witness.entry');
SELECT witness.track('parted_eu');
SELECT witness.track('no_such_table');
SELECT witness.track(NULL);
SELECT witness.track('customers', 'secret');
SELECT witness.track('customers', NULL);
\set VERBOSITY sqlstate
SELECT witness.track('customers', NULL);
\set VERBOSITY default
SELECT witness.track('customers', column_tags => '{"nope": "pii"}');
SELECT witness.track('customers', column_tags => '{"email": "gossip"}');
SELECT witness.track('customers', column_tags => '{"email": 5}');
SELECT witness.track('customers', column_tags => '["email"]');
SELECT witness.track('customers', exclude_columns => '{nope}');
SELECT witness.track('customers', exclude_columns => '{NULL}');
-- A column named twice (0.1 stored the list as given).
SELECT witness.track('customers', exclude_columns => '{note,note}');
SELECT witness.track('customers', key_columns => '{id,email,id}');
SELECT witness.track('customers', subject_column => 'nope', encrypt => false);
SELECT witness.track('customers', key_columns => '{nope}');
SELECT witness.track('customers', key_columns => '{}');
-- A matrix of names: refused before anything else (was a late 22000 after warnings).
SELECT witness.track('customers', key_columns => '{{id},{email}}');
SELECT witness.track('customers', exclude_columns => '{{note}}');
SELECT witness.track('customers', exclude_columns => '{id}');
SELECT witness.track('customers', key_columns => '{email}', exclude_columns => '{email}');
SELECT witness.track('customers', subject_column => 'ssn', exclude_columns => '{ssn}');
SELECT witness.track('customers', column_tags => '{"ssn": "pii"}', exclude_columns => '{ssn}');
-- A subject column whose values the subject's exact text would miss (padding, several ways to write
-- one number, case-insensitive text): refused, with the way out; also behind a domain.
CREATE DOMAIN padded_email AS character(40);
CREATE TABLE subject_types (id int PRIMARY KEY, padded character(20), padded_domain padded_email, amount numeric, score float8, doc jsonb);
SELECT witness.track('subject_types', subject_column => 'padded', encrypt => false);
SELECT witness.track('subject_types', subject_column => 'padded_domain', encrypt => false);
SELECT witness.track('subject_types', subject_column => 'amount', encrypt => false);
SELECT witness.track('subject_types', subject_column => 'score', encrypt => false);
SELECT witness.track('subject_types', subject_column => 'doc', encrypt => false);
SELECT count(*) AS tracked FROM witness.tracked_tables WHERE table_name = 'subject_types'::regclass;
-- Nor can the subject column be retyped so afterwards (an attack review: the table's owner made it
-- character(30), and an erasure of the subject then passed over the later entries, padded).
CREATE ROLE track_owner;
CREATE COLLATION track_ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false);
CREATE TABLE subject_later (id int PRIMARY KEY, email text);
ALTER TABLE subject_later OWNER TO track_owner;
SELECT witness.track('subject_later', subject_column => 'email', encrypt => false);
SET ROLE track_owner;
ALTER TABLE subject_later ALTER COLUMN email TYPE character(30);
-- Nor to a type whose text is not what the application wrote (an attack review: bytea, whose text
-- literals the application still wrote, captured the hex form; text[] and name were taken too).
ALTER TABLE subject_later ALTER COLUMN email TYPE bytea USING convert_to(email, 'UTF8');
ALTER TABLE subject_later ALTER COLUMN email TYPE text[] USING ARRAY[email];
ALTER TABLE subject_later ALTER COLUMN email TYPE name;
-- Nor a nondeterministic collation, which makes text behave as citext (the review of the allowlist).
ALTER TABLE subject_later ALTER COLUMN email TYPE text COLLATE track_ci;
ALTER TABLE subject_later ALTER COLUMN email TYPE varchar(200);
RESET ROLE;
SELECT format_type(atttypid, atttypmod) AS email_type FROM pg_attribute WHERE attrelid = 'subject_later'::regclass AND attname = 'email';
SELECT witness.untrack('subject_later');
DROP TABLE subject_later;
CREATE TABLE subject_ci (id int PRIMARY KEY, email text COLLATE track_ci);
SELECT witness.track('subject_ci', subject_column => 'email', encrypt => false);
DROP TABLE subject_ci;
DROP COLLATION track_ci;
DROP ROLE track_owner;
DROP TABLE subject_types;
DROP DOMAIN padded_email;
SELECT witness.untrack('customers_v');
SELECT witness.untrack('parted');
\set VERBOSITY terse

-- The configuration survived the failed calls.
SELECT table_name, classification, column_tags, exclude_columns, subject_column FROM witness.tracked_tables
WHERE table_name = 'customers'::regclass;

-- A non-superuser may not change tracking.
CREATE ROLE witness_app LOGIN;
GRANT ALL ON customers TO witness_app;
SET ROLE witness_app;
SELECT witness.track('customers');
SELECT witness.untrack('customers');
SELECT count(*) FROM witness.entry;
-- ... but its changes to a tracked table are captured, attributed to it.
INSERT INTO customers VALUES (99, 'app@example.com', 'App', NULL, 'x', 'y');
RESET ROLE;
SELECT operation, current_user_name, new_values FROM witness.log WHERE table_name = 'customers' ORDER BY id;

-- untrack() removes the triggers and the configuration, not the entries.
SELECT witness.untrack('"Mixed Case"."Odd Table"');
SELECT count(*) FROM pg_trigger WHERE tgrelid = '"Mixed Case"."Odd Table"'::regclass AND tgname LIKE 'witness%';
SELECT table_name FROM witness.tracked_tables ORDER BY table_name::text;

-- Changes to the configuration are themselves in the trail.
SELECT operation, row_key, old_values ? 'exclude_columns' AS old_has_excludes, new_values -> 'exclude_columns' AS new_excludes
FROM witness.log WHERE table_name = 'tracked_table' AND row_key ->> 'relid' = 'public.customers' ORDER BY id;
SELECT operation, row_key FROM witness.log WHERE table_name = 'tracked_table' AND operation = 'DELETE' ORDER BY id;

DROP OWNED BY witness_app;
DROP ROLE witness_app;

-- track() sets the whole configuration: a call that repeats only one setting of a tracked table
-- resets the others, and says what protection that takes away (docs/capture.md).
CREATE TABLE retrack (id int PRIMARY KEY, email text, ssn text, plan text);
SELECT witness.track('retrack', 'pii', column_tags => '{"plan": ["financial"]}', exclude_columns => '{ssn}',
                     subject_column => 'email', encrypt => false, capture_reads => true);
SELECT witness.track('retrack', 'pii', column_tags => '{"plan": ["financial"]}', exclude_columns => '{ssn}',
                     subject_column => 'email', encrypt => false, capture_reads => true);   -- the same: quiet
\set VERBOSITY default
SELECT witness.track('retrack', capture_reads => true);
\set VERBOSITY terse
SELECT witness.track('retrack', 'pii', column_tags => '{"plan": ["financial", "confidential"]}', exclude_columns => '{ssn}',
                     subject_column => 'email', encrypt => false);   -- stronger, but reads no longer recorded
SELECT witness.untrack('retrack');
DROP TABLE retrack;
