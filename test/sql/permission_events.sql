-- Schema and permission changes recorded in the chain (docs/capture.md, "Schema and permission
-- changes"): DDL on tracked tables, GRANT and REVOKE on them, role commands and changes of witness.*
-- settings, each a row of witness.ddl_event and so an entry of the trail, tried by a table owner, a
-- DML-only role, a role with CREATE on the database, a role with CREATEROLE and a superuser.
SET client_min_messages = warning;
DROP ROLE IF EXISTS pe_owner;
DROP ROLE IF EXISTS pe_dml;
DROP ROLE IF EXISTS pe_creator;
DROP ROLE IF EXISTS pe_admin;
DROP ROLE IF EXISTS pe_new;
DROP ROLE IF EXISTS pe_renamed;
DROP ROLE IF EXISTS pe_definer;
DROP ROLE IF EXISTS pe_rolled_back;
DROP ROLE IF EXISTS pe_quiet;
RESET client_min_messages;
-- Blocks from here on hold this test's entries only (earlier tests tamper with the trail on purpose).
SELECT count(*) >= 0 AS sealed_before FROM witness.seal();
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
-- The pg_witness roles, unless the extension made them already.
DO $$
DECLARE
	r text;
BEGIN
	FOREACH r IN ARRAY ARRAY['witness_admin', 'witness_auditor', 'witness_reader'] LOOP
		IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = r) THEN
			EXECUTE format('CREATE ROLE %I NOLOGIN', r);
		END IF;
	END LOOP;
END
$$;
CREATE ROLE pe_owner;
CREATE ROLE pe_dml;
CREATE ROLE pe_creator;
CREATE ROLE pe_admin CREATEROLE;
GRANT CREATE ON DATABASE contrib_regression TO pe_creator, pe_owner;
CREATE SCHEMA pe AUTHORIZATION pe_owner;
CREATE SCHEMA pe_moved AUTHORIZATION pe_owner;
GRANT USAGE ON SCHEMA pe TO pe_dml, pe_creator;
CREATE TABLE pe.accounts (id int PRIMARY KEY, owner_name text, balance numeric);
ALTER TABLE pe.accounts OWNER TO pe_owner;
CREATE TABLE pe.ledger (id int, region text) PARTITION BY LIST (region);
CREATE TABLE pe.ledger_eu PARTITION OF pe.ledger FOR VALUES IN ('eu');
ALTER TABLE pe.ledger OWNER TO pe_owner;
ALTER TABLE pe.ledger_eu OWNER TO pe_owner;
SELECT witness.track('pe.accounts', 'financial');
SELECT witness.track('pe.ledger', 'financial');
GRANT SELECT, INSERT, UPDATE, DELETE ON pe.accounts TO pe_dml;

-- Events since the last call, without ids and times.
CREATE TEMP TABLE shown_events (event_id bigint);
INSERT INTO shown_events SELECT event_id FROM witness.ddl_event;
CREATE FUNCTION pg_temp.events()
RETURNS TABLE (command_tag text, action text, tbl text, tracked_table text, role_name text, has_statement boolean, detail jsonb)
LANGUAGE plpgsql AS $$
BEGIN
	RETURN QUERY
	SELECT e.command_tag, e.action, e.schema_name || '.' || e.table_name, e.tracked_table, e.role_name, e.statement IS NOT NULL,
	       e.detail - 'acl' - 'column_acl'
	FROM witness.ddl_event e WHERE e.event_id NOT IN (SELECT s.event_id FROM shown_events s)
	ORDER BY e.event_id;
	INSERT INTO shown_events SELECT e.event_id FROM witness.ddl_event e WHERE e.event_id NOT IN (SELECT s.event_id FROM shown_events s);
END
$$;

---------------------------------------------------------------------------------------------------
-- 1. Every DDL on a tracked table, one event per command and table, by its owner.
---------------------------------------------------------------------------------------------------
SET ROLE pe_owner;
ALTER TABLE pe.accounts ADD COLUMN note text;
ALTER TABLE pe.accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE pe.accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY own_rows ON pe.accounts USING (owner_name = current_user);
ALTER POLICY own_rows ON pe.accounts USING (true);
DROP POLICY own_rows ON pe.accounts;
ALTER TABLE pe.accounts DISABLE ROW LEVEL SECURITY, NO FORCE ROW LEVEL SECURITY;
CREATE RULE no_delete AS ON DELETE TO pe.accounts DO INSTEAD NOTHING;
DROP RULE no_delete ON pe.accounts;
CREATE FUNCTION pe.noop() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN RETURN NULL; END$$;
CREATE TRIGGER skip_it BEFORE UPDATE ON pe.accounts FOR EACH ROW EXECUTE FUNCTION pe.noop();
ALTER TABLE pe.accounts DISABLE TRIGGER skip_it;
DROP TRIGGER skip_it ON pe.accounts;
ALTER TABLE pe.ledger_eu ADD CONSTRAINT positive CHECK (id > 0);   -- on a partition
ALTER TABLE pe.ledger DETACH PARTITION pe.ledger_eu;
ALTER TABLE pe.ledger ATTACH PARTITION pe.ledger_eu FOR VALUES IN ('eu');
RESET ROLE;
SELECT * FROM pg_temp.events();
-- OWNER TO and SET SCHEMA, by a superuser and the owner.
ALTER TABLE pe.accounts OWNER TO pe_creator;
ALTER TABLE pe.accounts OWNER TO pe_owner;
SET ROLE pe_owner;
ALTER TABLE pe.accounts SET SCHEMA pe_moved;
ALTER TABLE pe_moved.accounts SET SCHEMA pe;
RESET ROLE;
SELECT * FROM pg_temp.events();

---------------------------------------------------------------------------------------------------
-- 2. GRANT and REVOKE on tracked tables: grantees, privileges (with columns) and grantor.
---------------------------------------------------------------------------------------------------
SET ROLE pe_owner;
GRANT SELECT (id, balance), UPDATE (balance) ON pe.accounts TO pe_creator WITH GRANT OPTION;
REVOKE UPDATE (balance) ON pe.accounts FROM pe_creator CASCADE;
GRANT ALL ON ALL TABLES IN SCHEMA pe TO pe_dml;
REVOKE TRUNCATE ON pe.ledger_eu FROM pe_dml;   -- a partition: read and written directly
RESET ROLE;
SELECT * FROM pg_temp.events();
-- The acl before and after, as PostgreSQL stores it.
SELECT action, table_name, detail -> 'acl' AS acl, detail -> 'column_acl' AS column_acl
FROM witness.ddl_event WHERE action LIKE 'privileges%' AND table_name = 'accounts' ORDER BY event_id DESC LIMIT 2;
-- A grant by a role with a grant option, naming its grantor; a role without one gets a warning and
-- nothing, and its attempt is recorded too.
SET ROLE pe_creator;
GRANT SELECT (id) ON pe.accounts TO pe_dml;
RESET ROLE;
SET ROLE pe_dml;
GRANT SELECT ON pe.accounts TO pe_creator;
RESET ROLE;
SELECT * FROM pg_temp.events();
-- Grants on pg_witness's own tables and on untracked tables.
GRANT SELECT ON witness.entry TO witness_reader;
REVOKE SELECT ON witness.entry FROM witness_reader;
CREATE TABLE pe.untracked (id int);
GRANT SELECT ON pe.untracked TO pe_dml;
SELECT * FROM pg_temp.events();
-- Grants on pg_witness's functions, its schema and its settings: one row per command, naming each object.
GRANT EXECUTE ON FUNCTION witness.verify(bigint, bigint), witness.prove(bigint) TO witness_reader;
GRANT USAGE ON SCHEMA witness TO pe_creator, pe_dml;
REVOKE USAGE ON SCHEMA witness FROM pe_dml;
GRANT ALTER SYSTEM ON PARAMETER witness.digest_interval TO pe_admin;
GRANT EXECUTE ON FUNCTION pe.noop() TO pe_dml;   -- not pg_witness's: not recorded
SELECT detail -> 'acl' -> 'witness' -> 'new' AS schema_acl_after FROM witness.ddl_event
WHERE detail ->> 'object_type' = 'schema' AND event_id NOT IN (SELECT event_id FROM shown_events) ORDER BY event_id;
SELECT * FROM pg_temp.events();
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA witness TO pe_dml;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA witness FROM pe_dml;
SELECT command_tag, action, jsonb_array_length(detail -> 'objects') = (SELECT count(*) FROM pg_proc WHERE pronamespace = 'witness'::regnamespace) AS every_function, detail -> 'objects' ? 'witness.seal()' AS names_seal
FROM pg_temp.events();
-- A role granted ALTER SYSTEM on a pg_witness setting uses it: recorded as that role.
SET ROLE pe_admin;
ALTER SYSTEM SET witness.digest_interval = '2min';
ALTER SYSTEM RESET witness.digest_interval;
RESET ROLE;
REVOKE ALTER SYSTEM ON PARAMETER witness.digest_interval FROM pe_admin;
SELECT * FROM pg_temp.events();
-- The settings that can switch capture off in other hands, granted and set for a role: under
-- session_replication_role = replica a table owner disables the capture trigger unrefused (an attack
-- review found the grant left no record). Another setting's grant is not recorded.
GRANT SET ON PARAMETER session_replication_role TO pe_dml;
ALTER ROLE pe_dml SET session_replication_role = replica;
ALTER ROLE pe_dml RESET session_replication_role;
REVOKE SET ON PARAMETER session_replication_role FROM pe_dml;
GRANT SET ON PARAMETER work_mem TO pe_dml;
REVOKE SET ON PARAMETER work_mem FROM pe_dml;
SELECT command_tag, action, detail -> 'objects' AS objects, detail ->> 'setting' AS setting, detail ->> 'value' AS value
FROM pg_temp.events();
REVOKE USAGE ON SCHEMA witness FROM pe_creator;
REVOKE EXECUTE ON FUNCTION witness.verify(bigint, bigint), witness.prove(bigint) FROM witness_reader;
SELECT count(*) FROM pg_temp.events();

---------------------------------------------------------------------------------------------------
-- 3. Role commands, by a superuser and by a non-superuser with CREATEROLE.
---------------------------------------------------------------------------------------------------
SET ROLE pe_admin;
CREATE ROLE pe_new LOGIN CONNECTION LIMIT 3 IN ROLE witness_reader;
ALTER ROLE pe_new CREATEROLE NOLOGIN;
ALTER ROLE pe_new RENAME TO pe_renamed;
GRANT witness_auditor TO pe_renamed WITH ADMIN OPTION;
REVOKE ADMIN OPTION FOR witness_auditor FROM pe_renamed;
REVOKE witness_reader FROM pe_renamed;
RESET ROLE;
SELECT * FROM pg_temp.events();
SET ROLE pe_admin;
-- CREATEROLE is not enough for SUPERUSER, BYPASSRLS or REPLICATION: refused (42501), nothing recorded.
\set VERBOSITY sqlstate
ALTER ROLE pe_renamed SUPERUSER;
ALTER ROLE pe_renamed BYPASSRLS;
CREATE ROLE pe_quiet REPLICATION;
\set VERBOSITY default
RESET ROLE;
SELECT count(*) AS recorded FROM pg_temp.events();
-- A superuser gives and takes the privileged attributes: old and new values named.
ALTER ROLE pe_renamed SUPERUSER BYPASSRLS REPLICATION LOGIN;
ALTER ROLE pe_renamed NOSUPERUSER NOBYPASSRLS;
ALTER ROLE pe_renamed VALID UNTIL 'infinity';
ALTER ROLE pe_renamed NOREPLICATION NOLOGIN VALID UNTIL 'infinity';   -- same expiry: only what changed
SELECT * FROM pg_temp.events();
-- A password: recorded as set, changed; neither it nor the statement that holds it is stored.
ALTER ROLE pe_renamed PASSWORD 'correct horse battery staple';
ALTER ROLE pe_renamed PASSWORD NULL;
CREATE ROLE pe_quiet LOGIN PASSWORD 'md5 is not a secret here';
SELECT * FROM pg_temp.events();
-- ... also when another permission command comes in the same query string, before or after it (an
-- attack review read the password in the statement of the GRANT sent with it).
CREATE ROLE pe_sibling LOGIN PASSWORD 'sent with a sibling' \; GRANT witness_reader TO pe_sibling;
GRANT witness_auditor TO pe_sibling \; ALTER ROLE pe_sibling PASSWORD 'sibling before it';
SELECT e.action, e.statement IS NULL AS statement_withheld FROM witness.ddl_event e
WHERE e.detail::text LIKE '%pe_sibling%' ORDER BY e.event_id;
SELECT count(*) AS password_anywhere FROM witness.ddl_event e
WHERE e::text LIKE '%correct horse%' OR e::text LIKE '%md5 is not%' OR e::text LIKE '%sibling before%' OR e::text LIKE '%sent with a%';
SELECT count(*) AS password_in_trail FROM witness.entry e
WHERE e::text LIKE '%correct horse%' OR e::text LIKE '%md5 is not%' OR e::text LIKE '%sibling before%' OR e::text LIKE '%sent with a%';
REVOKE witness_reader, witness_auditor FROM pe_sibling;
DROP ROLE pe_sibling;
SELECT count(*) AS sibling_events FROM pg_temp.events();
DROP ROLE pe_quiet;
-- Membership through ALTER GROUP and GRANT ... GRANTED BY.
ALTER GROUP witness_admin ADD USER pe_renamed;
REVOKE witness_admin FROM pe_renamed GRANTED BY postgres;
SELECT * FROM pg_temp.events();

---------------------------------------------------------------------------------------------------
-- 4. witness.* settings: ALTER ROLE ... SET, ALTER DATABASE ... SET, ALTER SYSTEM.
---------------------------------------------------------------------------------------------------
ALTER ROLE pe_renamed SET witness.actor = 'batch job';
ALTER ROLE pe_renamed IN DATABASE contrib_regression SET witness.reason = 'nightly';
ALTER ROLE pe_renamed RESET witness.actor;
ALTER ROLE pe_renamed RESET ALL;
ALTER ROLE pe_renamed SET work_mem = '8MB';   -- not a pg_witness setting: not recorded
ALTER ROLE ALL IN DATABASE contrib_regression SET witness.reason = 'everyone';
ALTER ROLE ALL IN DATABASE contrib_regression RESET witness.reason;
ALTER DATABASE contrib_regression SET witness.context = '{"job": "x"}';
ALTER DATABASE contrib_regression RESET witness.context;
ALTER SYSTEM SET witness.digest_interval = '5min';
ALTER SYSTEM RESET witness.digest_interval;
ALTER SYSTEM SET "WITNESS.digest_interval" = '3min';   -- setting names are case-insensitive: recorded too
ALTER SYSTEM RESET "Witness.Digest_Interval";
ALTER SYSTEM SET work_mem = '4MB';   -- not recorded
ALTER SYSTEM RESET work_mem;
SELECT * FROM pg_temp.events();
-- A role may set witness.actor for itself; recorded, as itself.
SET ROLE pe_dml;
ALTER ROLE pe_dml SET witness.actor = 'me';
ALTER ROLE pe_dml RESET witness.actor;
RESET ROLE;
SELECT * FROM pg_temp.events();
-- ALTER SYSTEM writes its file whatever happens next: in a read-only transaction, where no record can
-- be written, it is refused.
SET default_transaction_read_only = on;
\set VERBOSITY sqlstate
ALTER SYSTEM SET witness.digest_interval = '1min';
\set VERBOSITY default
RESET default_transaction_read_only;
SELECT count(*) AS recorded FROM pg_temp.events();

---------------------------------------------------------------------------------------------------
-- 5. A rolled-back or failed command leaves no record; a SECURITY DEFINER function's command is
--    recorded with the caller as role_name and the function's owner as current_user.
---------------------------------------------------------------------------------------------------
BEGIN;
CREATE ROLE pe_rolled_back;
GRANT SELECT ON pe.accounts TO pe_rolled_back;
ALTER TABLE pe.accounts ADD COLUMN gone int;
ROLLBACK;
BEGIN;
SAVEPOINT s;
CREATE ROLE pe_rolled_back;
ROLLBACK TO SAVEPOINT s;
ALTER ROLE pe_renamed CONNECTION LIMIT 5;
COMMIT;
SELECT * FROM pg_temp.events();
\set VERBOSITY sqlstate
GRANT SELECT ON pe.accounts TO no_such_role;
DROP ROLE no_such_role;
\set VERBOSITY default
DROP ROLE IF EXISTS no_such_role;
SELECT count(*) AS recorded FROM pg_temp.events();

CREATE ROLE pe_definer CREATEROLE;
GRANT USAGE, CREATE ON SCHEMA pe TO pe_definer;
GRANT SELECT ON pe.accounts TO pe_definer WITH GRANT OPTION;
SET ROLE pe_definer;
CREATE FUNCTION pe.hire(who text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
	EXECUTE format('CREATE ROLE %I', who);
	EXECUTE format('GRANT SELECT ON pe.accounts TO %I', who);
	EXECUTE format('DROP ROLE %I', who || '_never') ;
EXCEPTION WHEN undefined_object THEN
	NULL;   -- the DROP failed: its subtransaction rolled back the CREATE and GRANT too
END
$$;
CREATE FUNCTION pe.hire2(who text) RETURNS void LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
	EXECUTE format('CREATE ROLE %I', who);
	EXECUTE format('GRANT SELECT ON pe.accounts TO %I', who);
END
$$;
GRANT EXECUTE ON FUNCTION pe.hire(text), pe.hire2(text) TO pe_dml;
RESET ROLE;
SELECT * FROM pg_temp.events();
SET ROLE pe_dml;
SELECT pe.hire('pe_rolled_back');
SELECT pe.hire2('pe_quiet');
RESET ROLE;
SELECT * FROM pg_temp.events();

---------------------------------------------------------------------------------------------------
-- 6. No role can write or forge a record, nor reach the functions that write them.
---------------------------------------------------------------------------------------------------
\set VERBOSITY sqlstate
SET ROLE pe_creator;
SELECT witness._record_permission_event('GRANT', '{"kind": "setting"}', '{}');
SELECT witness._permission_state('{"kind": "role", "targets": ["postgres"]}');
INSERT INTO witness.ddl_event (command_tag, action, role_name) VALUES ('GRANT', 'privileges granted', 'nobody');
-- Nor plant a function in schema witness for the hook to call.
CREATE FUNCTION witness._record_permission_event(text, jsonb, jsonb) RETURNS integer LANGUAGE sql AS 'SELECT 0';
RESET ROLE;
SET ROLE pe_owner;
SELECT witness._record_permission_row('GRANT', 'privileges granted', NULL, '{}', false);
RESET ROLE;
\set VERBOSITY default
SELECT count(*) AS recorded FROM pg_temp.events();

---------------------------------------------------------------------------------------------------
-- REASSIGN OWNED and DROP OWNED on tracked tables, then clean up (recorded as well).
---------------------------------------------------------------------------------------------------
REASSIGN OWNED BY pe_owner TO pe_creator;
DROP OWNED BY pe_dml;
SELECT command_tag, action, table_name, detail -> 'owner' AS owner, detail -> 'roles' AS roles FROM witness.ddl_event
WHERE event_id NOT IN (SELECT event_id FROM shown_events) AND table_name IS NOT NULL ORDER BY event_id;
SELECT count(*) FROM pg_temp.events();

DROP SCHEMA pe, pe_moved CASCADE;
REVOKE CREATE ON DATABASE contrib_regression FROM pe_creator, pe_owner;
DROP OWNED BY pe_definer, pe_quiet;
DROP ROLE pe_owner, pe_dml, pe_creator, pe_admin, pe_renamed, pe_definer, pe_quiet;
SELECT command_tag, action, detail ->> 'role' AS role, detail -> 'privileged' AS privileged FROM pg_temp.events()
WHERE action LIKE 'role%' ORDER BY role;

-- Every record is an entry of the chain, with its attribution, and the chain verifies.
SELECT count(*) AS events_not_in_trail FROM witness.ddl_event d
WHERE NOT EXISTS (SELECT FROM witness.log l WHERE l.table_name = 'ddl_event' AND l.operation = 'INSERT'
                  AND (l.new_values ->> 'event_id')::bigint = d.event_id);
SELECT DISTINCT l.session_user_name, l.current_user_name FROM witness.log l
WHERE l.table_name = 'ddl_event' AND l.new_values ->> 'action' = 'role created' AND l.new_values ->> 'role_name' = 'pe_admin';
SELECT count(*) > 0 AS sealed FROM witness.seal();
SELECT status FROM witness.verify(:base + 1);

-- A role with CREATE on a database without pg_witness makes a schema witness with functions named like
-- pg_witness's: a superuser's role command there calls none of them (they belong to no extension).
CREATE ROLE pe_planter;
CREATE DATABASE pe_elsewhere;
GRANT CREATE ON DATABASE pe_elsewhere TO pe_planter;
\c pe_elsewhere
SET ROLE pe_planter;
CREATE SCHEMA witness;
CREATE FUNCTION witness._permission_state(summary jsonb) RETURNS jsonb LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'planted function called by %', current_user; END $$;
CREATE FUNCTION witness._record_permission_event(tag text, summary jsonb, before jsonb) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'planted function called by %', current_user; END $$;
GRANT USAGE ON SCHEMA witness TO PUBLIC;
RESET ROLE;
CREATE ROLE pe_elsewhere_role;
DROP ROLE pe_elsewhere_role;
\c contrib_regression
DROP DATABASE pe_elsewhere;
DROP ROLE pe_planter;
