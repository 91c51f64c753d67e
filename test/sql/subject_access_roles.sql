-- Per-subject access: a role bound to a data subject (witness.bind_subject()) reads through
-- witness.my_trail the entries about that subject, decrypted, and nothing else. Two customers, c1 and
-- c2, each bound to a subject with entries in an encrypted and in a clear table, try to read each
-- other's entries by every route: the view with filters and leaky functions, EXPLAIN, the trail's
-- tables, pg_witness's functions, SET ROLE, SECURITY DEFINER functions, error messages. Then a table
-- owner, a DML-only role, a role with CREATE on the database and a superuser try theirs.
\set SHOW_CONTEXT never
CREATE SCHEMA sb;
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) || set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false)) IS NOT NULL AS set;
CREATE TABLE sb.account (id int PRIMARY KEY, email text, plan text);
SELECT witness.track('sb.account', 'pii', subject_column => 'email');
CREATE TABLE sb.ticket (id int PRIMARY KEY, customer text, body text);
SELECT witness.track('sb.ticket', 'pii', subject_column => 'customer', encrypt => false);
SELECT table_name, encrypt FROM witness.tracked_tables WHERE table_name::text LIKE 'sb.%' ORDER BY 1;
SELECT witness._last_entry_id() AS e0 \gset
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
SELECT count(*) AS a0 FROM witness.subject_access \gset

INSERT INTO sb.account VALUES (1, 'c1@sb.example', 'basic'), (2, 'c2@sb.example', 'c2-secret-plan');
INSERT INTO sb.ticket VALUES (10, 'c1@sb.example', 'my parcel is late'), (11, 'c2@sb.example', 'c2-secret-ticket');
SELECT entry_count > 0 AS sealed FROM witness.seal();
UPDATE sb.account SET plan = CASE id WHEN 1 THEN 'pro' ELSE 'c2-secret-plan-2' END;
-- A row of c2's given to c1: its old subject (c2's address) must not reach c1.
INSERT INTO sb.ticket VALUES (12, 'c2@sb.example', 'moved');
UPDATE sb.ticket SET customer = 'c1@sb.example' WHERE id = 12;

-- The customers: LOGIN and nothing else, but what a DBA grants for my_trail.
CREATE ROLE c1 LOGIN;
CREATE ROLE c2 LOGIN;
GRANT USAGE ON SCHEMA witness TO c1, c2;
GRANT SELECT ON witness.my_trail TO c1, c2;

-- Binding needs a master key: the subject is kept sealed under it, never in clear.
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
SELECT witness.bind_subject('c1', 'c1@sb.example');
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) || set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false)) IS NOT NULL AS set;
-- Bad requests.
SELECT witness.bind_subject(NULL, 'c1@sb.example');
SELECT witness.bind_subject('c1', '');
SELECT witness.bind_subject('-', 'c1@sb.example');
SELECT witness.bind_subject('no_such_role', 'c1@sb.example');
SELECT count(*) AS bindings_so_far FROM witness.subject_binding;

-- A superuser binds each customer to their subject; binding again changes nothing.
SELECT witness.bind_subject('c1', 'c1@sb.example') AS c1_binding \gset
SELECT witness.bind_subject('c2', 'c2@sb.example') AS c2_binding \gset
SELECT witness.bind_subject('c1', 'c1@sb.example') = :c1_binding AS same_binding;
-- The record: role, salted digest, who bound; never the subject. Its sealed copy holds no plaintext.
SELECT binding_id - :c1_binding AS binding, event, ends_binding, role_name, role_oid = 'c1'::regrole AS c1_oid,
       length(subject_salt) AS salt_len, subject_digest = witness._subject_digest(subject_salt, 'c1@sb.example') AS digest_is_c1,
       erasure_id, recorded_by
FROM witness.subject_binding ORDER BY binding_id;
SELECT count(*) AS bindings_in_force, bool_and(position('sb.example'::bytea IN sealed_subject) = 0) AS no_plaintext,
       bool_and(witness._open_bound_subject(sealed_subject, binding_id) LIKE 'c_@sb.example') AS opens
FROM witness.bound_subject;
-- Each binding is an entry of the chain, and that entry holds no subject either.
SELECT count(*) AS binding_entries, bool_and(new_values::text NOT LIKE '%sb.example%') AS no_subject_in_entries
FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'subject_binding';

-- c1 reads its trail: its own entries only, decrypted (sb.account is encrypted), oldest first, with
-- status; the old value naming c2 withheld.
SET ROLE c1;
SELECT entry_id - :e0 AS entry, table_name, operation, row_key, changes, status, verified, problem,
       proof IS NOT NULL AS has_proof, subject, "time" IS NOT NULL AS has_time
FROM witness.my_trail;
SELECT count(*) FILTER (WHERE t::text LIKE '%c2@%' OR t::text LIKE '%c2-secret%') AS rows_naming_c2, count(*) AS rows FROM witness.my_trail t;
RESET ROLE;
SET ROLE c2;
SELECT entry_id - :e0 AS entry, table_name, operation, changes, status, subject FROM witness.my_trail;
RESET ROLE;
-- Every read was recorded, one row per subject read, committed by a transaction of its own.
SELECT format, reason, role_name, subject_digest = witness._subject_digest(subject_salt, 'c1@sb.example') AS c1
FROM witness.subject_access ORDER BY access_id OFFSET :a0;

-- ... also when the reader rolls back, or reads in part through a cursor.
SELECT count(*) AS a1 FROM witness.subject_access \gset
BEGIN;
SET LOCAL ROLE c1;
SELECT count(*) AS rows FROM witness.my_trail;
ROLLBACK;
BEGIN;
SET LOCAL ROLE c1;
DECLARE cur CURSOR FOR SELECT entry_id - :e0 AS entry, table_name, status FROM witness.my_trail;
FETCH 1 FROM cur;
ROLLBACK;
SELECT count(*) - :a1 AS recorded_reads FROM witness.subject_access;
-- In a read-only transaction the read cannot be recorded: refused before anything is read.
BEGIN READ ONLY;
SET LOCAL ROLE c1;
SELECT count(*) FROM witness.my_trail;
ROLLBACK;

-- c1 tries for c2's entries.
SET ROLE c1;
-- Filters on the view: nothing of c2 is in it to find.
SELECT count(*) AS c2_rows FROM witness.my_trail WHERE subject = 'c2@sb.example' OR changes::text LIKE '%c2-secret%';
SELECT count(*) AS rows FROM witness.my_trail WHERE entry_id IN (SELECT id FROM witness.entry);
-- The trail's tables and views.
SELECT count(*) FROM witness.entry;
SELECT count(*) FROM witness.log;
SELECT count(*) FROM witness.subject_binding;
SELECT count(*) FROM witness.bound_subject;
SELECT count(*) FROM witness.subject_access;
SELECT count(*) FROM sb.account;
-- pg_witness's functions: the ones that read a subject's entries, decrypt, or name the role.
SELECT witness.subject_export('c2@sb.example', 'json', 'curious');
SELECT witness._subject_export_lines('c2@sb.example', 'json', 1, now());
SELECT witness._lookup_pseudonyms('c2@sb.example');
SELECT witness._entry_payload(NULL::witness.entry);
SELECT witness.entry_payload_bytes(x.e) FROM (SELECT NULL::witness.entry AS e OFFSET 0) x;
SELECT witness._seal_bound_subject('c2@sb.example', 1);
SELECT witness._subject_pseudonyms('c2@sb.example');
SELECT witness._my_trail_rows('c2'::regrole);
SELECT witness._bound_subjects('c2'::regrole);
SELECT witness._open_bound_subject('\x00', 1);
SELECT witness._record_subject_access('c2@sb.example', 'my_trail', 'curious');
SELECT witness.bind_subject('c1', 'c2@sb.example');
SELECT witness.unbind_subject('c2', 'c2@sb.example');
-- witness._my_trail(), which the view calls, takes no argument: it reads the caller's own trail.
SELECT count(*) AS rows, count(DISTINCT subject) AS subjects, min(subject) AS subject FROM witness._my_trail();
-- c2's data through an error message: only c1's own values can be made to appear.
SELECT subject::int FROM witness.my_trail;
SELECT (changes -> 0 ->> 'new')::int FROM witness.my_trail WHERE table_name = 'sb.ticket' AND operation = 'UPDATE';
RESET ROLE;

-- SET ROLE and SET SESSION AUTHORIZATION to c2, from a session of c1's own.
\c - c1
SET ROLE c2;
SET SESSION AUTHORIZATION c2;
SELECT current_user, session_user;
\c - postgres
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) || set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false)) IS NOT NULL AS set;

-- A leaky function in the WHERE clause: it sees c1's rows only, whatever its cost tells the planner.
CREATE FUNCTION public.sb_leak(t text) RETURNS boolean LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
	RAISE NOTICE 'leak: %', t;
	RETURN true;
END
$$;
SET ROLE c1;
SELECT count(*) AS rows FROM witness.my_trail WHERE sb_leak(subject || ' ' || changes::text) AND table_name = 'sb.account';
-- EXPLAIN ANALYZE VERBOSE: the plan, its output columns, the row count; no value of anyone. (Query
-- identifiers, which VERBOSE shows and which depend on OIDs, are switched off for a stable output.)
RESET ROLE;
SET compute_query_id = off;
SET ROLE c1;
EXPLAIN (ANALYZE, VERBOSE, COSTS OFF, TIMING OFF, SUMMARY OFF) SELECT * FROM witness.my_trail WHERE subject = 'c2@sb.example';
RESET ROLE;
RESET compute_query_id;

-- A SECURITY DEFINER function of c1's, called by c2: it runs as c1, and my_trail takes the current
-- user, so it sees c1's trail, never its caller's. (A role with CREATE on the database can write one.)
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO c1', current_database()); END $$;
SET ROLE c1;
CREATE SCHEMA c1_trap;
CREATE TABLE c1_trap.loot (read_as name, subject text, changes text);
CREATE FUNCTION c1_trap.peek() RETURNS bigint LANGUAGE sql SECURITY DEFINER AS $$
	INSERT INTO c1_trap.loot SELECT current_user, subject, changes::text FROM witness.my_trail;
	SELECT count(*) FROM c1_trap.loot;
$$;
GRANT USAGE ON SCHEMA c1_trap TO c2;
GRANT EXECUTE ON FUNCTION c1_trap.peek() TO c2;
RESET ROLE;
SET ROLE c2;
SELECT c1_trap.peek() AS looted_rows;
RESET ROLE;
SELECT read_as, subject, count(*) AS rows, bool_and(changes NOT LIKE '%c2-secret%') AS nothing_of_c2 FROM c1_trap.loot GROUP BY 1, 2;
-- Its own schema planted first in search_path changes nothing: every name pg_witness uses is qualified.
SET ROLE c1;
CREATE FUNCTION c1_trap._my_trail_rows(reader oid) RETURNS SETOF witness.my_trail LANGUAGE sql AS $$ SELECT NULL::witness.my_trail $$;
SET search_path = c1_trap, public;
SELECT count(*) AS rows, min(subject) AS subject FROM witness.my_trail;
RESET search_path;
DROP SCHEMA c1_trap CASCADE;
RESET ROLE;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM c1', current_database()); END $$;

-- A table owner, a DML-only role and a role without a binding get nothing from my_trail.
CREATE ROLE sb_owner;
CREATE ROLE sb_dml;
ALTER TABLE sb.ticket OWNER TO sb_owner;
GRANT USAGE ON SCHEMA sb TO sb_dml;
GRANT SELECT, INSERT, UPDATE ON sb.ticket TO sb_dml;
GRANT USAGE ON SCHEMA witness TO sb_owner, sb_dml;
GRANT SELECT ON witness.my_trail TO sb_owner, sb_dml;
SET ROLE sb_owner;
SELECT count(*) FROM witness.my_trail;
SELECT count(*) FROM witness.entry;
SELECT witness.bind_subject('sb_owner', 'c2@sb.example');
RESET ROLE;
SET ROLE sb_dml;
SELECT count(*) FROM witness.my_trail;
SELECT witness.subject_export('c2@sb.example', 'json', 'curious');
-- What a DML-only role writes about c2 goes into c2's trail, for c2 to see.
INSERT INTO sb.ticket VALUES (13, 'c2@sb.example', 'written by sb_dml');
RESET ROLE;
SET ROLE c2;
SELECT entry_id - :e0 AS entry, table_name, operation, changes FROM witness.my_trail WHERE row_key = '{"id": 13}';
RESET ROLE;
-- Membership does not carry bindings: a role granted c2's privileges still reads only its own trail
-- (here: none) until it SETs ROLE c2, which its membership allows anyway.
GRANT c2 TO sb_dml;
SET ROLE sb_dml;
SELECT count(*) FROM witness.my_trail;
SET ROLE c2;
SELECT count(*) AS rows_as_c2 FROM witness.my_trail;
RESET ROLE;
REVOKE c2 FROM sb_dml;

-- A superuser reads nothing through my_trail unless bound either.
SELECT count(*) FROM witness.my_trail;

-- A role bound to two subjects reads both, oldest first across them; each read recorded per subject.
SELECT witness.bind_subject('c1', 'c1-other@sb.example') AS c1_other \gset
INSERT INTO sb.ticket VALUES (20, 'c1-other@sb.example', 'second identity');
SELECT count(*) AS a2 FROM witness.subject_access \gset
SET ROLE c1;
SELECT entry_id - :e0 AS entry, table_name, subject FROM witness.my_trail;
RESET ROLE;
SELECT count(*) - :a2 AS recorded_reads FROM witness.subject_access;
-- A subject without any entry: bound, and reads as no rows.
SELECT witness.bind_subject('c2', 'nothing-yet@sb.example') > 0 AS bound;
SET ROLE c2;
SELECT count(*) FILTER (WHERE subject = 'nothing-yet@sb.example') AS rows_of_empty_subject, count(*) AS rows FROM witness.my_trail;
RESET ROLE;

-- Unbinding: the binding ends, recorded; the sealed subject is deleted; the role reads nothing more.
SELECT witness.unbind_subject('c2', 'nothing-yet@sb.example') > 0 AS unbound;
SELECT witness.unbind_subject('c2', 'nothing-yet@sb.example');
SELECT witness.unbind_subject('c2', 'c1@sb.example');
SELECT witness.unbind_subject('c1', 'c1-other@sb.example') = :c1_other AS unbound;
SELECT event, ends_binding - :c1_binding AS ends, role_name, erasure_id FROM witness.subject_binding WHERE event = 'unbound' ORDER BY binding_id;
SELECT count(*) AS bindings_in_force FROM witness.bound_subject;
SET ROLE c1;
SELECT count(*) AS rows, count(*) FILTER (WHERE subject <> 'c1@sb.example') AS other_subjects FROM witness.my_trail;
RESET ROLE;

-- A superuser who alters witness.bound_subject (not a record table) cannot rebind quietly: a row is
-- trusted only when it matches its recorded binding, and a sealed subject opens only on its own row.
UPDATE witness.bound_subject SET role_oid = 'c1'::regrole WHERE binding_id = :c2_binding;
SET ROLE c1;
SELECT count(*) FROM witness.my_trail;
RESET ROLE;
UPDATE witness.bound_subject SET role_oid = 'c2'::regrole WHERE binding_id = :c2_binding;
UPDATE witness.bound_subject SET sealed_subject = (SELECT sealed_subject FROM witness.bound_subject WHERE binding_id = :c2_binding)
WHERE binding_id = :c1_binding;
SET ROLE c1;
SELECT count(*) FROM witness.my_trail;
RESET ROLE;
UPDATE witness.bound_subject SET sealed_subject = witness._seal_bound_subject('c1@sb.example', :c1_binding) WHERE binding_id = :c1_binding;
SET ROLE c1;
SELECT count(*) AS rows FROM witness.my_trail;
RESET ROLE;
-- The record table itself is append-only, even for its owner.
INSERT INTO witness.subject_binding (event, role_oid, role_name, subject_salt, subject_digest, recorded_by)
VALUES ('bound', 'c1'::regrole, 'c1', '\x00', '\x00', 'me');
UPDATE witness.subject_binding SET role_oid = 'c1'::regrole;
DELETE FROM witness.subject_binding;

-- Erasure of a bound subject ends its bindings (recorded, naming the erasure) and deletes the sealed
-- subject: the erased person's identifier is not kept for a binding either.
-- Bindings are matched by their recorded salted digest, not by opening the sealed subjects: another
-- binding whose sealed subject cannot be opened does not hold the erasure up.
UPDATE witness.bound_subject SET sealed_subject = '\x00' WHERE binding_id = :c1_binding;
SELECT witness.erase_subject('c2@sb.example', 'GDPR Art. 17 request #9') AS erased;
UPDATE witness.bound_subject SET sealed_subject = witness._seal_bound_subject('c1@sb.example', :c1_binding) WHERE binding_id = :c1_binding;
SELECT event, ends_binding = :c2_binding AS ends_c2, role_name, erasure_id = (SELECT max(erasure_id) FROM witness.erasure) AS by_the_erasure
FROM witness.subject_binding ORDER BY binding_id DESC LIMIT 1;
SELECT count(*) AS c2_bindings_in_force FROM witness.bound_subject WHERE role_oid = 'c2'::regrole;
SET ROLE c2;
SELECT count(*) FROM witness.my_trail;
RESET ROLE;
-- c1's binding and trail are untouched; the entry c2 gave to c1 stays c1's.
SET ROLE c1;
SELECT count(*) AS rows FROM witness.my_trail;
RESET ROLE;
-- Bound again after the erasure, c2 sees that its entries were erased: headers only, no values.
SELECT witness.bind_subject('c2', 'c2@sb.example') > 0 AS rebound;
SET ROLE c2;
SELECT entry_id - :e0 AS entry, table_name, operation, row_key, changes, status, verified, erasure IS NOT NULL AS has_erasure FROM witness.my_trail;
RESET ROLE;

-- A rotation of the master key seals the bound subjects again under the new key: they open once the
-- old key file is gone.
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;
SELECT set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
CALL witness.rotate_master_key();
SELECT count(*) AS bindings, bool_and(encode(substring(sealed_subject, 2, 8), 'hex') = witness.master_key_id()) AS under_new_key
FROM witness.bound_subject;
RESET witness.previous_master_key_file;
SET ROLE c1;
SELECT count(*) AS rows, min(subject) AS subject FROM witness.my_trail;
RESET ROLE;
-- Without any master key, my_trail refuses rather than showing less.
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
SET ROLE c1;
SELECT count(*) FROM witness.my_trail;
RESET ROLE;
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;

-- A rotation with no payload left to re-encrypt still seals again a bound subject under another key.
SELECT (set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) || set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false)) IS NOT NULL AS set;
UPDATE witness.bound_subject SET sealed_subject = witness._seal_bound_subject('c1@sb.example', :c1_binding) WHERE binding_id = :c1_binding;
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;
SELECT set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
CALL witness.rotate_master_key();
SELECT event, payloads FROM witness.key_rotation ORDER BY rotation_id DESC LIMIT 2;
SELECT bool_and(encode(substring(sealed_subject, 2, 8), 'hex') = witness.master_key_id()) AS all_under_new_key FROM witness.bound_subject;
RESET witness.previous_master_key_file;

-- A role renamed after it was bound reads nothing until bound again under its new name: a binding
-- holds for the OID and the name it was made for, so that no other role inherits it (a role created
-- under a reused OID, or a cluster restored from a dump, where OIDs differ).
ALTER ROLE c1 RENAME TO c1_renamed;
SET ROLE c1_renamed;
SELECT count(*) FROM witness.my_trail;
RESET ROLE;
SELECT witness.bind_subject('c1_renamed', 'c1@sb.example') > :c1_binding AS bound_anew;
SELECT event, role_name FROM witness.subject_binding ORDER BY binding_id DESC LIMIT 2;
SET ROLE c1_renamed;
SELECT count(*) AS rows FROM witness.my_trail;
RESET ROLE;
ALTER ROLE c1_renamed RENAME TO c1;
SELECT witness.bind_subject('c1', 'c1@sb.example') > :c1_binding AS bound_anew;

-- A dropped role's bindings can still be ended, by its OID.
CREATE ROLE c3;
SELECT witness.bind_subject('c3', 'c3@sb.example') > 0 AS bound;
SELECT 'c3'::regrole::oid AS c3_oid \gset
DROP ROLE c3;
SELECT witness.unbind_subject(:'c3_oid', 'c3@sb.example') > 0 AS unbound;
SELECT role_name FROM witness.subject_binding ORDER BY binding_id DESC LIMIT 1;

-- Separation of duties: an admin does not read decrypted values. It binds neither itself nor a role
-- it is a member of, nor any member of witness_admin; and a bound role made an admin later is refused
-- by witness.my_trail (before this, an admin bound itself and read through witness._my_trail()).
CREATE ROLE sb_admin;
CREATE ROLE sb_alias;
GRANT witness_admin TO sb_admin;
GRANT sb_alias TO sb_admin;
SET ROLE sb_admin;
SELECT witness.bind_subject('sb_admin', 'c1@sb.example');
SELECT witness.bind_subject('sb_alias', 'c1@sb.example');
SELECT count(*) AS rows FROM witness._my_trail();
RESET ROLE;
SELECT witness.bind_subject('sb_admin', 'c1@sb.example');
GRANT witness_admin TO c2;
SET ROLE c2;
SELECT count(*) AS rows FROM witness.my_trail;
RESET ROLE;
REVOKE witness_admin FROM c2;
SET ROLE c2;
SELECT count(*) > 0 AS reads_again FROM witness.my_trail;
RESET ROLE;
REVOKE witness_admin FROM sb_admin;
DROP ROLE sb_admin, sb_alias;

-- The chain verifies, bindings and reads included.
SELECT entry_count > 0 AS sealed FROM witness.seal();
SELECT status, problem FROM witness.verify(:base + 1);

-- Clean up: untrack, unbind, drop the roles.
SELECT witness.unbind_subject('c1', 'c1@sb.example') > 0 AS unbound;
SELECT witness.unbind_subject('c2', 'c2@sb.example') > 0 AS unbound;
SELECT witness.untrack('sb.account');
SELECT witness.untrack('sb.ticket');
DROP FUNCTION public.sb_leak(text);
REVOKE ALL ON SCHEMA witness FROM c1, c2, sb_owner, sb_dml;
REVOKE ALL ON witness.my_trail FROM c1, c2, sb_owner, sb_dml;
DROP SCHEMA sb CASCADE;
DROP ROLE c1, c2, sb_owner, sb_dml;
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
