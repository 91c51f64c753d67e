-- witness.verification_status and witness.verification_run without the background sealer: the
-- regression cluster runs with witness.seal_interval = 0, so no scheduled verification runs here
-- (test/integration/scheduled_verification.sh waits for real runs). Tested here: the view's row
-- when nothing ran, the setting, who may read the status, and that nobody but pg_witness writes
-- witness.verification_run (docs/verification.md, "Scheduled verification").
SELECT scheduled, last_started_at, last_verified_at, last_status, problems, first_problem,
       blocks_checked, entries_checked, entries_pending, duration, next_due_at
FROM witness.verification_status;
SELECT current_setting('witness.verify_interval') AS verify_interval;
SELECT count(*) AS runs FROM witness.verification_run;
-- Every column of the view and of the table is commented.
SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attrelid IN ('witness.verification_status'::regclass, 'witness.verification_run'::regclass)
  AND a.attnum > 0 AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL;

-- The setting is changed in postgresql.conf (or ALTER SYSTEM) and a reload, by no session.
SET witness.verify_interval = 0;

CREATE ROLE vs_reader IN ROLE witness_reader;
CREATE ROLE vs_auditor IN ROLE witness_auditor;
CREATE ROLE vs_admin IN ROLE witness_admin;
CREATE ROLE vs_dml;
CREATE ROLE vs_creator;
CREATE TABLE vs_items (id int PRIMARY KEY);
GRANT SELECT, INSERT, UPDATE, DELETE ON vs_items TO vs_dml;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO vs_creator', current_database()); END $$;

-- Who reads the status: the auditor and the admin; not a reader, nor any other role.
SET ROLE vs_auditor;
SELECT scheduled, last_status FROM witness.verification_status;
RESET ROLE;
SET ROLE vs_admin;
SELECT scheduled, last_status FROM witness.verification_status;
SELECT count(*) AS runs FROM witness.verification_run;
RESET ROLE;
SET ROLE vs_reader;
SELECT scheduled FROM witness.verification_status;
SELECT * FROM witness._verification_status();
RESET ROLE;
SET ROLE vs_dml;
SELECT scheduled FROM witness.verification_status;
RESET ROLE;

-- Nobody forges or removes a run: a DML-only role, a role with CREATE on the database, the admin,
-- the tables' owner and a superuser (the guard triggers).
SET ROLE vs_dml;
INSERT INTO witness.verification_run (started_at, finished_at, status, problems, blocks_checked, entries_checked, entries_pending)
VALUES (now(), now(), 'valid', 0, 0, 0, 0);
RESET ROLE;
SET ROLE vs_creator;
INSERT INTO witness.verification_run (started_at, finished_at, status, problems, blocks_checked, entries_checked, entries_pending)
VALUES (now(), now(), 'valid', 0, 0, 0, 0);
RESET ROLE;
SET ROLE vs_admin;
INSERT INTO witness.verification_run (started_at, finished_at, status, problems, blocks_checked, entries_checked, entries_pending)
VALUES (now(), now(), 'valid', 0, 0, 0, 0);
RESET ROLE;
SELECT pg_get_userbyid(relowner) = current_user AS owner_is_this_superuser FROM pg_class WHERE oid = 'witness.verification_run'::regclass;
INSERT INTO witness.verification_run (started_at, finished_at, status, problems, blocks_checked, entries_checked, entries_pending)
VALUES (now(), now(), 'valid', 0, 0, 0, 0);
UPDATE witness.verification_run SET status = 'valid';
DELETE FROM witness.verification_run;
TRUNCATE witness.verification_run;
SELECT count(*) AS runs FROM witness.verification_run;

DROP TABLE vs_items;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM vs_creator', current_database()); END $$;
DROP ROLE vs_reader, vs_auditor, vs_admin, vs_dml, vs_creator;
