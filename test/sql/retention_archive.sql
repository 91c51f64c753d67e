-- Archive instead of delete (docs/retention.md, "Archive instead of delete"): a rule that archives,
-- witness.archive_directory (superusers only), apply_retention() refusing to prune while it has nowhere
-- to write and when it cannot write, and writing a month's expired entries to a gzip file, named with
-- its SHA-256 in the run's record, before pruning them. A table owner, a DML-only role, a role with
-- CREATE on the database and witness_admin try to move the directory or switch archiving off.
\set SHOW_CONTEXT never
SET client_min_messages = warning;
CREATE ROLE ra_admin;
CREATE ROLE ra_owner;
CREATE ROLE ra_dml;
CREATE ROLE ra_creator;
RESET client_min_messages;
GRANT witness_admin TO ra_admin;
SELECT format('GRANT CREATE ON DATABASE %I TO ra_creator', current_database()) \gexec

-- Earlier tests' entries are held: this test prunes its own only. Every rule forever but this test's.
SELECT count(*) <= 1 AS sealed FROM witness.seal();
SELECT COALESCE(max(block_no), 0) AS base FROM witness.block \gset
SELECT now() AS t0 \gset
SELECT pg_sleep(0.01);
SELECT witness.hold('ra-earlier-tests', 'entries of the other regression tests', until => :'t0') IS NOT NULL AS held;
SELECT count(*) AS forever_set FROM unnest(witness.retention_classes()) c, witness.set_retention(c, NULL);

CREATE SCHEMA ra;
GRANT USAGE ON SCHEMA ra TO ra_dml, ra_owner;
CREATE TABLE ra.contract (id int PRIMARY KEY, party text);
CREATE TABLE ra.visitor (id int PRIMARY KEY, email text);
ALTER TABLE ra.contract OWNER TO ra_owner;
GRANT SELECT, INSERT, UPDATE, DELETE ON ra.contract, ra.visitor TO ra_dml;
SELECT witness.track('ra.contract', 'restricted', encrypt => false);
SELECT witness.track('ra.visitor', 'pii', encrypt => false);
INSERT INTO ra.contract VALUES (1, 'Acme'), (2, 'Globex');
INSERT INTO ra.visitor VALUES (1, 'ann@ra.example');
SELECT witness.seal() IS NOT NULL AS sealed;
INSERT INTO ra.contract VALUES (3, 'Initech');
SELECT witness.seal() IS NOT NULL AS sealed;
-- Pending: never archived nor pruned.
INSERT INTO ra.contract VALUES (4, 'Umbrella');
SELECT min(id) - 1 AS e0 FROM witness.entry WHERE schema_name = 'ra' \gset

-- Rules: restricted archived after a microsecond, pii deleted after a microsecond. The directory is
-- not set: a warning.
SET ROLE ra_admin;
SELECT witness.set_retention('restricted', '1 microsecond', archive => true) IS NOT NULL AS set;
SELECT witness.set_retention('pii', '1 microsecond') IS NOT NULL AS set;
RESET ROLE;
SELECT classification, keep, archive, set_by FROM witness.retention_rules WHERE classification IN ('restricted', 'pii');
-- The rule is in the chain, with its archive flag.
SELECT new_values ->> 'classification' AS classification, new_values ->> 'archive' AS archive
FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'retention_rule' ORDER BY id DESC LIMIT 2;
-- archive NULL is refused; the two-argument call still works and does not archive.
SELECT witness.set_retention('internal', NULL, NULL);
\echo :LAST_ERROR_SQLSTATE
SELECT pg_sleep(0.01);

-- Nowhere to write: the run refuses (55000) and prunes nothing, not even the pii entry.
SET ROLE ra_admin;
SELECT * FROM witness.apply_retention();
\echo :LAST_ERROR_SQLSTATE
RESET ROLE;
SELECT count(*) AS ra_entries FROM witness.entry WHERE schema_name = 'ra';

-- The others try to move the directory, or to switch archiving off: 42501 each. witness_admin sets
-- rules (recorded in the chain), but not the directory.
CREATE FUNCTION ra.attempt(who text, stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
	outcome text := 'allowed';
BEGIN
	EXECUTE format('SET LOCAL ROLE %I', who);
	BEGIN
		EXECUTE stmt;
	EXCEPTION WHEN OTHERS THEN
		outcome := SQLSTATE;
	END;
	RESET ROLE;
	RETURN outcome;
END
$$;
GRANT EXECUTE ON FUNCTION ra.attempt(text, text) TO PUBLIC;
SELECT who, stmt, ra.attempt(who, stmt) AS outcome
FROM unnest(ARRAY['ra_owner', 'ra_dml', 'ra_creator', 'ra_admin']) who,
     unnest(ARRAY['SET witness.archive_directory = ''/tmp''',
                  'SELECT set_config(''witness.archive_directory'', ''/tmp'', false)',
                  format('ALTER DATABASE %I SET witness.archive_directory = ''/tmp''', current_database()),
                  'ALTER ROLE CURRENT_USER SET witness.archive_directory = ''/tmp''',
                  'SELECT witness.set_retention(''restricted'', ''1 microsecond'', false)',
                  'SELECT witness._write_archive_file(''x.jsonl.gz'', ''{}'', ''{}'', ''{}'')']) stmt
WHERE who <> 'ra_admin' OR stmt NOT LIKE '%set_retention%'
ORDER BY who, stmt;
SELECT rule_id IS NOT NULL AS unchanged, archive FROM witness.retention_rules WHERE classification = 'restricted';

-- A superuser: a relative path is refused (22023).
SET witness.archive_directory = 'archives';
\echo :LAST_ERROR_SQLSTATE

-- A directory that cannot be written: the run fails and prunes nothing.
SET witness.archive_directory = '/nonexistent/pg_witness_archive';
\set VERBOSITY sqlstate
SELECT * FROM witness.apply_retention();
-- An archive file name too long, or of other characters than letters, digits, "_", "." and "-":
-- 22023 (a robustness review: a 300-byte name failed as an internal error).
SELECT witness._write_archive_file(repeat('a', 300), '{}', '{1}', '{1}');
SELECT witness._write_archive_file(E'a\nb.jsonl.gz', '{}', '{1}', '{1}');
\set VERBOSITY default
SELECT count(*) AS ra_entries FROM witness.entry WHERE schema_name = 'ra';

-- A fresh directory in the data directory, made through COPY TO PROGRAM (superuser).
SELECT current_setting('data_directory') || '/pg_witness_archive_test' AS adir \gset
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', format('rm -rf %1$s && mkdir %1$s',
                           current_setting('data_directory') || '/pg_witness_archive_test')); END $$;
SELECT set_config('witness.archive_directory', :'adir', false) IS NOT NULL AS set;

-- The run, as witness_admin: the three sealed contract entries archived then pruned, the visitor's
-- pruned without archive, the pending one kept.
SET ROLE ra_admin;
SELECT entries_pruned, blocks_wholly_pruned, blocks_partly_pruned FROM witness.apply_retention();
RESET ROLE;
SELECT id - :e0 AS entry, table_name FROM witness.entry WHERE schema_name = 'ra' ORDER BY id;
SELECT regexp_replace(a ->> 'file', '^pg_witness-[0-9]+_', 'pg_witness-SYSID_') = format('pg_witness-SYSID_%s-%s-run%s.jsonl.gz',
           current_database(), to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM'), r.run_id) AS file_named,
       a ->> 'month' = to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM') AS this_month,
       a ->> 'entries' AS entries, a ->> 'blocks' AS blocks, length(a ->> 'sha256') AS sha_digits
FROM witness.retention_run r, jsonb_array_elements(r.archives) a WHERE r.run_id = (SELECT max(run_id) FROM witness.retention_run);
SELECT r.archives -> 0 ->> 'file' AS afile, r.archives -> 0 ->> 'sha256' AS asha
FROM witness.retention_run r ORDER BY run_id DESC LIMIT 1 \gset

-- The file's SHA-256 is the one the record names; its lines are the header, the blocks, their leaf
-- lists and the archived entries only (not the visitor's: deleted under a rule that does not archive).
SELECT encode(sha256(pg_read_binary_file(:'adir' || '/' || :'afile')), 'hex') = :'asha' AS sha_matches;
CREATE TEMP TABLE archive_line (n serial, line text);
SELECT set_config('ra.afile', :'adir' || '/' || :'afile', false) IS NOT NULL AS set;
DO $$ BEGIN EXECUTE format($c$COPY archive_line (line) FROM PROGRAM %L WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')$c$,
                           'gunzip -c ' || current_setting('ra.afile')); END $$;
SELECT line::jsonb ->> 'type' AS type, count(*) FROM archive_line GROUP BY 1 ORDER BY min(n);
SELECT (line::jsonb ->> 'id')::bigint - :e0 AS entry, line::jsonb ->> 'table_name' AS table_name,
       line::jsonb -> 'new_values' AS new_values
FROM archive_line WHERE line::jsonb ->> 'type' = 'entry' ORDER BY n;
SELECT (SELECT line::jsonb ->> 'entries' FROM archive_line WHERE n = 1) AS header_entries,
       (SELECT line::jsonb ->> 'run_id' FROM archive_line WHERE n = 1)::bigint = max(run_id) AS header_run
FROM witness.retention_run;

-- The trail verifies, the archived entries counted as pruned.
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT status, entries_pruned, problem FROM witness.verify(:base + 1);

-- The pending entry, sealed now, goes with the next run, into a file of its own; after it nothing is
-- left to archive, and a run writes no file.
SELECT entries_pruned FROM witness.apply_retention();
SELECT jsonb_array_length(archives) AS files, archives -> 0 ->> 'entries' AS entries
FROM witness.retention_run ORDER BY run_id DESC LIMIT 1;
SELECT entries_pruned FROM witness.apply_retention();
SELECT archives FROM witness.retention_run ORDER BY run_id DESC LIMIT 1;

-- witness_admin switches archiving off: allowed, and in the chain, who and when.
SET ROLE ra_admin;
SELECT witness.set_retention('restricted', '1 microsecond', false) IS NOT NULL AS set;
RESET ROLE;
SELECT new_values ->> 'archive' AS archive, new_values ->> 'set_by' AS set_by
FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'retention_rule' ORDER BY id DESC LIMIT 1;

-- Clean up: rules forever, the hold released, the directory gone.
SELECT count(*) AS forever_set FROM unnest(witness.retention_classes()) c, witness.set_retention(c, NULL);
SELECT witness.release_hold('ra-earlier-tests', 'test done') IS NOT NULL AS released;
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'rm -rf ' || current_setting('data_directory') || '/pg_witness_archive_test'); END $$;
RESET witness.archive_directory;
SELECT witness.untrack('ra.contract');
SELECT witness.untrack('ra.visitor');
DROP SCHEMA ra CASCADE;
SELECT format('REVOKE CREATE ON DATABASE %I FROM ra_creator', current_database()) \gexec
DROP ROLE ra_admin;
DROP ROLE ra_owner;
DROP ROLE ra_dml;
DROP ROLE ra_creator;

-- A partition that leaves whole (docs/retention.md, "Dropping whole partitions"): its entries are
-- in the archive before the partition is dropped. In a database of its own, as retention_partitions.
SELECT current_database() AS original_db \gset
CREATE DATABASE witness_retention_archive;
\c witness_retention_archive
SET client_min_messages = warning;
CREATE EXTENSION pg_witness;
RESET client_min_messages;
CREATE TABLE contract (id int PRIMARY KEY, party text);
SELECT witness.track('contract', 'restricted', encrypt => false);
-- A partition that ends in six seconds, "old", and one for everything after, "new" (six: the
-- statements up to the sleep below must all start before then, on a loaded CI machine too).
SELECT clock_timestamp() AS t_from, clock_timestamp() + interval '6 s' AS cut \gset
CREATE TABLE witness.entry_old (LIKE witness.entry);
SELECT witness._guard_entry_partition('witness.entry_old');
SELECT format('ALTER TABLE witness.entry ATTACH PARTITION witness.entry_old FOR VALUES FROM (%L) TO (%L)', :'t_from', :'cut') \gset at_old_
CREATE TABLE witness.entry_new (LIKE witness.entry);
SELECT witness._guard_entry_partition('witness.entry_new');
SELECT format('ALTER TABLE witness.entry ATTACH PARTITION witness.entry_new FOR VALUES FROM (%L) TO (MAXVALUE)', :'cut') \gset at_new_
:at_old_format;
:at_new_format;
INSERT INTO contract SELECT g, 'old ' || g FROM generate_series(1, 10) g;
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT pg_sleep(greatest(0, extract(epoch FROM :'cut'::timestamptz - clock_timestamp()) + 1));
INSERT INTO contract VALUES (11, 'new 11');
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT set_config('witness.archive_directory', current_setting('data_directory') || '/pg_witness_archive_test', false) IS NOT NULL AS set;
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', format('rm -rf %1$s && mkdir %1$s', current_setting('witness.archive_directory'))); END $$;
-- restricted is kept for as long as has passed since the cut, and archived: the old partition's
-- entries expire, the new one's do not.
SELECT witness.set_retention('restricted', now() - :'cut', archive => true) IS NOT NULL AS rule_set;
-- A run that rolls back removes the file it wrote, and so does one in a subtransaction that rolls
-- back (docs/retention.md, "A run that does not commit").
BEGIN;
SELECT entries_pruned FROM witness.apply_retention();
SELECT count(*) AS files_written FROM pg_ls_dir(current_setting('witness.archive_directory')) f;
ROLLBACK;
SELECT count(*) AS files_left FROM pg_ls_dir(current_setting('witness.archive_directory')) f;
DO $$ BEGIN PERFORM witness.apply_retention(); RAISE EXCEPTION 'rolled back'; EXCEPTION WHEN raise_exception THEN NULL; END $$;
SELECT count(*) AS files_left FROM pg_ls_dir(current_setting('witness.archive_directory')) f;
SELECT entries_pruned, blocks_wholly_pruned FROM witness.apply_retention();
SELECT count(*) AS old_partitions FROM witness.partitions WHERE partition::text = 'witness.entry_old';
SELECT archives -> 0 ->> 'entries' AS archived FROM witness.retention_run ORDER BY run_id DESC LIMIT 1;
SELECT set_config('ra.afile', current_setting('witness.archive_directory') || '/' ||
                  (SELECT archives -> 0 ->> 'file' FROM witness.retention_run ORDER BY run_id DESC LIMIT 1), false) IS NOT NULL AS set;
CREATE TEMP TABLE archive_line (n serial, line text);
DO $$ BEGIN EXECUTE format($c$COPY archive_line (line) FROM PROGRAM %L WITH (FORMAT csv, QUOTE E'\x01', DELIMITER E'\x02')$c$,
                           'gunzip -c ' || current_setting('ra.afile')); END $$;
SELECT line::jsonb -> 'new_values' ->> 'party' AS party FROM archive_line WHERE line::jsonb ->> 'type' = 'entry' ORDER BY n;
SELECT witness.seal() IS NOT NULL AS sealed;
SELECT status, entries_pruned, problem FROM witness.verify();
-- An erasure cannot reach what the archive file keeps of pruned entries: it says so (an attack review
-- found a pruned subject's data kept by a collector while the source erased 0 entries).
SELECT witness.erase_subject('nobody@ra.example', 'erasure after an archiving run') AS erased;
DO $$ BEGIN EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', 'rm -rf ' || current_setting('witness.archive_directory')); END $$;
\c :original_db
DROP DATABASE witness_retention_archive;
