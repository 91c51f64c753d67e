-- Anomaly alerts (docs/alerts.md): each rule raised once just above its threshold and quiet at it,
-- evaluated over sealed blocks by witness.check_alerts(); what a table owner, a DML-only role, a role
-- with CREATE on the database, an admin and a superuser can do to suppress them.
SET client_min_messages = warning;
CREATE ROLE al_owner LOGIN;
CREATE ROLE al_dml LOGIN;
CREATE ROLE al_creator LOGIN;
CREATE ROLE al_admin LOGIN IN ROLE witness_admin;
CREATE ROLE al_auditor LOGIN IN ROLE witness_auditor;
CREATE ROLE al_plain;
RESET client_min_messages;
SELECT current_database() AS db \gset
GRANT CREATE ON DATABASE :"db" TO al_owner, al_creator;
CREATE TABLE al_acct (id int PRIMARY KEY, v int, customer text);
ALTER TABLE al_acct OWNER TO al_owner;
INSERT INTO al_acct SELECT g, g, 'c' || g || '@al.example' FROM generate_series(1, 40) g;
SELECT witness.track('al_acct', subject_column => 'customer', encrypt => false);
GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON al_acct TO al_dml;
CREATE TABLE al_other (id int PRIMARY KEY);

-- Seals what is committed and evaluates the rules; dates in summaries shown as DAY, and the counts
-- (and the first problem of a verification) of rules that depend on earlier tests as N.
CREATE FUNCTION al_check() RETURNS TABLE (rule text, severity text, summary text)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM count(*) FROM witness.seal();
	RETURN QUERY SELECT a.rule, a.severity,
	                    CASE WHEN a.rule IN ('denied_spike', 'verification_failed') OR a.summary ~ '(denied_spike|verification_failed)'
	                         THEN regexp_replace(regexp_replace(a.summary, '; the first: .*$', ''), '\d+', 'N', 'g')
	                         ELSE regexp_replace(a.summary, '\d{4}-\d\d-\d\d( \d\d:\d\d)?', 'DAY', 'g') END
	             FROM witness.check_alerts() a ORDER BY a.alert_id;
END
$$;
-- Whatever earlier tests left is evaluated first.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT count(*) >= 0 AS drained FROM al_check();

-- The rules as installed.
SELECT rule, enabled, severity, threshold, params FROM witness.alert_rules;

-- mass_change: more than threshold rows of one table updated or deleted by one transaction.
SELECT witness.set_alert_rule('mass_change', threshold => 5) > 0 AS set;
SET ROLE al_dml;
UPDATE al_acct SET v = v + 1 WHERE id <= 5;                       -- 5: at the threshold
BEGIN;
DELETE FROM al_acct WHERE id BETWEEN 6 AND 8;
UPDATE al_acct SET v = 0 WHERE id BETWEEN 9 AND 11;               -- 6 in one transaction
COMMIT;
RESET ROLE;
SELECT * FROM al_check();
-- Evaluated once: nothing new.
SELECT * FROM al_check();
-- One table under several names (renamed or moved to another schema within the transaction) is one
-- table: an attack review deleted half the rows, renamed the table, deleted the rest, and no alert
-- was raised.
CREATE TABLE al_ren (id int PRIMARY KEY, v int);
INSERT INTO al_ren SELECT g, g FROM generate_series(1, 9) g;
ALTER TABLE al_ren OWNER TO al_owner;
SELECT witness.track('al_ren') IS NOT NULL AS tracked;
CREATE SCHEMA al_ren_s AUTHORIZATION al_owner;
GRANT CREATE ON SCHEMA public TO al_owner;
SET ROLE al_owner;
BEGIN;
DELETE FROM al_ren WHERE id <= 3;
ALTER TABLE al_ren RENAME TO al_ren_tmp;
DELETE FROM al_ren_tmp WHERE id BETWEEN 4 AND 6;
ALTER TABLE al_ren_tmp SET SCHEMA al_ren_s;
UPDATE al_ren_s.al_ren_tmp SET v = 0 WHERE id BETWEEN 7 AND 8;
ALTER TABLE al_ren_s.al_ren_tmp RENAME TO al_ren;
ALTER TABLE al_ren_s.al_ren SET SCHEMA public;
COMMIT;
RESET ROLE;
SELECT * FROM al_check();
REVOKE CREATE ON SCHEMA public FROM al_owner;
SELECT witness.untrack('al_ren') IS NOT NULL AS untracked;
DROP TABLE al_ren;
DROP SCHEMA al_ren_s;
SELECT count(*) >= 0 AS flushed FROM al_check();
-- The names are joined through the transaction's own renames, not the catalog at evaluation (the
-- review of the first fix): a freed name taken by another table in the transaction, or an old name
-- of another table, does not split the count; two tables renamed after the transaction are not merged.
CREATE TABLE al_ra (id int PRIMARY KEY, v int);
CREATE TABLE al_rc (id int PRIMARY KEY);
CREATE TABLE al_rx (id int PRIMARY KEY);
INSERT INTO al_ra SELECT g, g FROM generate_series(1, 20) g;
ALTER TABLE al_ra OWNER TO al_owner;
ALTER TABLE al_rc OWNER TO al_owner;
ALTER TABLE al_rx OWNER TO al_owner;
SELECT witness.track('al_ra') IS NOT NULL AND witness.track('al_rc') IS NOT NULL AND witness.track('al_rx') IS NOT NULL AS tracked;
ALTER TABLE al_rx RENAME TO al_rx_now;
GRANT CREATE ON SCHEMA public TO al_owner;
SELECT * FROM al_check();
SET ROLE al_owner;
BEGIN;
DELETE FROM al_ra WHERE id <= 4;
ALTER TABLE al_ra RENAME TO al_rb;
DELETE FROM al_rb WHERE id BETWEEN 5 AND 8;
ALTER TABLE al_rc RENAME TO al_ra;
COMMIT;
BEGIN;
DELETE FROM al_rb WHERE id BETWEEN 9 AND 11;
ALTER TABLE al_rb RENAME TO al_rx;
DELETE FROM al_rx WHERE id BETWEEN 12 AND 14;
COMMIT;
BEGIN;
DELETE FROM al_rx WHERE id BETWEEN 15 AND 17;
DELETE FROM al_ra WHERE id < 0;
DELETE FROM al_rx_now WHERE id < 0;
COMMIT;
RESET ROLE;
INSERT INTO al_ra VALUES (1), (2), (3);
BEGIN;
DELETE FROM al_rx WHERE id BETWEEN 18 AND 20;
DELETE FROM al_ra;
COMMIT;
ALTER TABLE al_rx RENAME TO al_rx_old;
ALTER TABLE al_ra RENAME TO al_rx;
SELECT * FROM al_check();
REVOKE CREATE ON SCHEMA public FROM al_owner;
SELECT witness.untrack('al_rx_old') IS NOT NULL AND witness.untrack('al_rx') IS NOT NULL AND witness.untrack('al_rx_now') IS NOT NULL AS untracked;
DROP TABLE al_rx_old, al_rx, al_rx_now;
SELECT count(*) >= 0 AS flushed FROM al_check();
-- Over 100 renames in one transaction count all its tables as one, and the evaluation stays small:
-- a review renamed a table 4,200 times in one transaction, the rule's walk over the renames grew with
-- their square, and the window's own entries (each rename's tracked_table row with every former name)
-- passed 1 GB, so that no rule was evaluated again.
CREATE TABLE al_many (id int PRIMARY KEY);
INSERT INTO al_many SELECT g FROM generate_series(1, 12) g;
ALTER TABLE al_many OWNER TO al_owner;
SELECT witness.track('al_many') IS NOT NULL AS tracked;
SELECT count(*) >= 0 AS flushed FROM al_check();
GRANT CREATE ON SCHEMA public TO al_owner;
SET ROLE al_owner;
BEGIN;
DELETE FROM al_many WHERE id <= 3;
DO $$ BEGIN
	ALTER TABLE al_many RENAME TO al_many_0;
	FOR i IN 0 .. 149 LOOP
		EXECUTE format('ALTER TABLE al_many_%s RENAME TO al_many_%s', i, i + 1);
		IF i % 25 = 0 THEN
			EXECUTE format('DELETE FROM al_many_%s WHERE id = %s', i + 1, 4 + i / 25);
		END IF;
	END LOOP;
	ALTER TABLE al_many_150 RENAME TO al_many;
END $$;
COMMIT;
RESET ROLE;
REVOKE CREATE ON SCHEMA public FROM al_owner;
SELECT * FROM al_check();
SELECT witness.untrack('al_many') IS NOT NULL AS untracked;
DROP TABLE al_many;
SELECT count(*) >= 0 AS flushed FROM al_check();
-- Settings that stop signed digests or full verification, or under which event triggers do not
-- fire, are capture_off's too (an attack review found them recorded and not alerted).
ALTER SYSTEM SET witness.full_verify_interval = -1;
ALTER SYSTEM RESET witness.full_verify_interval;
ALTER SYSTEM SET witness.digest_interval = 0;
ALTER SYSTEM RESET witness.digest_interval;
ALTER ROLE al_plain SET session_replication_role = replica;
ALTER ROLE al_plain RESET session_replication_role;
ALTER ROLE al_plain SET work_mem = '8MB';
ALTER ROLE al_plain RESET ALL;
SELECT * FROM al_check();
-- DDL by the owner that removes or rewrites captured rows without a row trigger firing: a partition
-- dropped (its rows as the planner last counted them), every row rewritten by a type change. Adding a
-- partition, or a column with a constant default (no rewrite), is quiet.
CREATE TABLE al_part (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE al_part_1 PARTITION OF al_part FOR VALUES FROM (0) TO (100);
CREATE TABLE al_part_2 PARTITION OF al_part FOR VALUES FROM (100) TO (200);
ALTER TABLE al_part OWNER TO al_owner;
ALTER TABLE al_part_1 OWNER TO al_owner;
ALTER TABLE al_part_2 OWNER TO al_owner;
SELECT witness.track('al_part', key_columns => '{id}');
INSERT INTO al_part SELECT g, g FROM generate_series(0, 199) g;
ANALYZE al_part_1;
SET ROLE al_owner;
ALTER TABLE al_part ADD COLUMN note text DEFAULT 'x';
RESET ROLE;
SELECT * FROM al_check();
SET ROLE al_owner;
DROP TABLE al_part_1;
ALTER TABLE al_part ALTER COLUMN v TYPE bigint USING 0;
RESET ROLE;
SELECT action, table_name, tracked_table, detail FROM witness.ddl_event WHERE table_name LIKE 'al\_part%' ORDER BY event_id;
SELECT * FROM al_check();
-- Below the threshold in counted rows: quiet. The tracked table dropped with its partitions: one
-- capture_off alert, none per partition.
CREATE TABLE al_part_3 PARTITION OF al_part FOR VALUES FROM (200) TO (300);
CREATE TABLE al_part_4 PARTITION OF al_part FOR VALUES FROM (300) TO (400);
INSERT INTO al_part SELECT g, g FROM generate_series(200, 204) g;
ANALYZE al_part_3;
ANALYZE al_part_4;
SELECT * FROM al_check();
DROP TABLE al_part_3;
SELECT * FROM al_check();
-- A partition that goes with a function its partition key uses (DROP FUNCTION ... CASCADE) is
-- recorded with its tracked table too; what the drop is recorded as cannot be forged through a
-- setting, nor through the function that keeps it (not executable by the owner).
CREATE FUNCTION al_key(int) RETURNS int LANGUAGE sql IMMUTABLE AS 'SELECT $1 % 2';
ALTER FUNCTION al_key(int) OWNER TO al_owner;
CREATE TABLE al_part_5 PARTITION OF al_part FOR VALUES FROM (500) TO (600) PARTITION BY LIST (al_key(id));
CREATE TABLE al_part_5a PARTITION OF al_part_5 FOR VALUES IN (0, 1);
ALTER TABLE al_part_5 OWNER TO al_owner;
ALTER TABLE al_part_5a OWNER TO al_owner;
INSERT INTO al_part SELECT g, g FROM generate_series(500, 519) g;
SET ROLE al_owner;
SELECT set_config('pg_witness.drop_tree', '{"1": {"root": 1259, "tracked": "nothing.here", "rows": 0}}', false) IS NOT NULL AS set;
SELECT witness._keep_drop_tree('{}');
DROP FUNCTION al_key(int) CASCADE;
RESET ROLE;
SELECT action, table_name, tracked_table, detail - 'rows_estimate' AS detail FROM witness.ddl_event
WHERE table_name LIKE 'al\_part\_5%' AND action = 'dropped' ORDER BY table_name;
SELECT * FROM al_check();
DROP TABLE al_part;
SELECT action, table_name, detail - 'rows_estimate' AS detail FROM witness.ddl_event
WHERE table_name LIKE 'al\_part%' AND action = 'dropped' ORDER BY event_id;
SELECT * FROM al_check();

-- off_hours: off by default; quiet inside business hours (every day, all day), raised outside them
-- (no business day at all), once per role and day.
SELECT witness.set_alert_rule('off_hours', enabled => true,
       params => '{"from": "00:00", "to": "24:00", "days": [1, 2, 3, 4, 5, 6, 7]}') > 0 AS set;
UPDATE al_acct SET v = v + 1 WHERE id = 20;
SELECT * FROM al_check();
SELECT witness.set_alert_rule('off_hours', params => '{"days": []}') > 0 AS set;
UPDATE al_acct SET v = v + 1 WHERE id = 20;
UPDATE al_acct SET v = v + 1 WHERE id = 21;
SELECT * FROM al_check();
SELECT witness.set_alert_rule('off_hours', enabled => false) > 0 AS set;
SELECT * FROM al_check();

-- new_client_address: a role's first address is learned silently; one never seen for it alerts. By
-- session user: witness.actor, anyone's to set, neither names another role in an alert nor hides one
-- under a fresh name (an attack review did both). (pg_regress connects through a socket, "local";
-- test/integration/alerts.sh uses TCP.)
CREATE ROLE al_traveller;
GRANT SELECT, UPDATE ON al_acct TO al_traveller;
SET SESSION AUTHORIZATION al_traveller;
SET witness.actor = 'al_newbie';
UPDATE al_acct SET v = v + 1 WHERE id = 22;
RESET witness.actor;
RESET SESSION AUTHORIZATION;
SELECT * FROM al_check();
SELECT role_name, client_addr FROM witness.alert_address WHERE role_name IN ('al_traveller', 'al_newbie');
BEGIN;
SELECT witness._begin_internal_ddl();
DELETE FROM witness.alert_address WHERE role_name = 'al_traveller';
INSERT INTO witness.alert_address VALUES ('al_traveller', '203.0.113.9', now());
COMMIT;
SET SESSION AUTHORIZATION al_traveller;
SET witness.actor = 'someone_else';
UPDATE al_acct SET v = v + 1 WHERE id = 23;
RESET witness.actor;
RESET SESSION AUTHORIZATION;
SELECT * FROM al_check();
SELECT detail ->> 'role_name' AS role_name, detail ->> 'actor' AS actor, detail -> 'known_addresses' AS known
FROM witness.alert WHERE rule = 'new_client_address' ORDER BY alert_id DESC LIMIT 1;
SET SESSION AUTHORIZATION al_traveller;
UPDATE al_acct SET v = v + 1 WHERE id = 24;
RESET SESSION AUTHORIZATION;
SELECT * FROM al_check();
REVOKE ALL ON al_acct FROM al_traveller;

-- capture_off: tracking a table is quiet; untracking one alerts.
SELECT witness.track('al_other');
SELECT * FROM al_check();
SELECT witness.untrack('al_other');
SELECT * FROM al_check();
-- Rows that leave a tracked table (a partition detached) are no longer captured.
CREATE TABLE al_parts (id int, v int) PARTITION BY RANGE (id);
CREATE TABLE al_part1 PARTITION OF al_parts FOR VALUES FROM (0) TO (10);
SELECT witness.track('al_parts');
INSERT INTO al_parts VALUES (1, 1);
SELECT * FROM al_check();
ALTER TABLE al_parts DETACH PARTITION al_part1;
SELECT * FROM al_check();
SELECT witness.untrack('al_parts');
DROP TABLE al_parts, al_part1;
SELECT count(*) >= 0 AS drained FROM al_check();
-- A guard of the trail disabled by a superuser and a system catalog written directly: capture
-- control activity, recorded although both transactions rolled back.
BEGIN;
ALTER TABLE witness.entry_default DISABLE TRIGGER witness_append_only;
ROLLBACK;
BEGIN;
UPDATE pg_catalog.pg_class SET relhastriggers = false WHERE oid = 'al_other'::regclass;
ROLLBACK;
-- So is a column added to a tracked table where the event triggers stand aside: a constant default is
-- every row's new value, no row rewritten (an attack review).
BEGIN;
SET LOCAL session_replication_role = replica;
ALTER TABLE al_acct ADD COLUMN planted int DEFAULT 5;
ROLLBACK;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM al_check();
-- A captured table without its capture triggers as pg_witness installs them is named whatever made
-- it so (a restore without its post-data section makes none and runs no command that could be
-- recorded: an attack review); here a superuser in replica mode, whose commands are recorded too: a
-- trigger disabled, one replaced by a WHEN (false) twin, an inheritance child's dropped (the review of
-- the check). pg_witness's own tables, captured on origin only, are not named (it named sixteen).
SELECT count(*) AS own_tables_named FROM witness.alert WHERE summary LIKE 'capture triggers missing or altered%' AND detail ->> 'tracked_table' LIKE 'witness.%';
CREATE TABLE al_kid () INHERITS (al_acct);
CREATE TABLE al_pt (id int PRIMARY KEY) PARTITION BY RANGE (id);
CREATE TABLE al_pt1 PARTITION OF al_pt FOR VALUES FROM (0) TO (10);
SELECT witness.track('al_pt') IS NOT NULL AS tracked;
SET session_replication_role = replica;
ALTER TABLE al_pt1 DISABLE TRIGGER witness_capture;
ALTER TABLE al_acct DISABLE TRIGGER witness_capture;
DROP TRIGGER witness_capture_truncate ON al_acct;
CREATE TRIGGER witness_capture_truncate AFTER TRUNCATE ON al_acct FOR EACH STATEMENT WHEN (false) EXECUTE FUNCTION witness.capture_truncate();
ALTER TABLE al_acct ENABLE ALWAYS TRIGGER witness_capture_truncate;
DROP TRIGGER witness_capture ON al_kid;
RESET session_replication_role;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM al_check() WHERE summary LIKE 'capture triggers missing or altered%';
SET session_replication_role = replica;
DROP TABLE al_kid;
ALTER TABLE al_pt1 ENABLE ALWAYS TRIGGER witness_capture;
ALTER TABLE al_acct ENABLE ALWAYS TRIGGER witness_capture;
DROP TRIGGER witness_capture_truncate ON al_acct;
CREATE TRIGGER witness_capture_truncate AFTER TRUNCATE ON al_acct FOR EACH STATEMENT EXECUTE FUNCTION witness.capture_truncate();
ALTER TABLE al_acct ENABLE ALWAYS TRIGGER witness_capture_truncate;
RESET session_replication_role;
SELECT witness.untrack('al_pt') IS NOT NULL AS untracked;
DROP TABLE al_pt;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT count(*) >= 0 AS drained FROM al_check();

-- permission_escalation: a plain role, a grant on an untracked table: quiet.
CREATE ROLE al_quiet LOGIN CREATEDB;
GRANT SELECT ON al_other TO al_plain;
SELECT * FROM al_check();
ALTER ROLE al_plain SUPERUSER;
GRANT witness_auditor TO al_plain;
GRANT SELECT ON al_acct TO al_plain;
SELECT * FROM al_check();
ALTER ROLE al_plain NOSUPERUSER;
DROP ROLE al_quiet;

-- denied_spike: refused attempts per hour; threshold three above what this hour counted so far.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT count(*) >= 0 AS drained FROM al_check();
SELECT COALESCE((SELECT count FROM witness.alert_counter
                 WHERE rule = 'denied_spike' AND bucket = date_trunc('hour', now(), 'UTC')::text), 0) + 3 AS t \gset
SELECT witness.set_alert_rule('denied_spike', threshold => :t) > 0 AS set;
SET ROLE al_dml;
SELECT count(*) FROM witness.entry;
SELECT count(*) FROM witness.alert;
SELECT witness.set_alert_rule('mass_change', enabled => false);
RESET ROLE;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM al_check();
SET ROLE al_dml;
SELECT witness.check_alerts();
RESET ROLE;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM al_check();

-- mass_export: more than threshold subjects exported by one role in a day.
SELECT witness.set_alert_rule('mass_export', threshold => 2) > 0 AS set;
-- The keys earlier tests encrypted entries under (the export needs them to find a subject's entries).
SELECT set_config('witness.master_key_file', current_setting('data_directory') || '/regress_witness_b.key', false) IS NOT NULL AS set;
SELECT set_config('witness.previous_master_key_file', current_setting('data_directory') || '/regress_witness_a.key', false) IS NOT NULL AS set;
SET ROLE al_auditor;
SELECT count(*) > 0 AS exported FROM witness.subject_export('c1@al.example', 'json', 'request 1');
SELECT count(*) > 0 AS exported FROM witness.subject_export('c2@al.example', 'json', 'request 2');
RESET ROLE;
SELECT * FROM al_check();
SET ROLE al_auditor;
SELECT count(*) > 0 AS exported FROM witness.subject_export('c3@al.example', 'csv', 'request 3');
RESET ROLE;
RESET witness.master_key_file;
RESET witness.previous_master_key_file;
SELECT * FROM al_check();

-- mass_export, params.entries: more than that many rows of the trail read by one role in a day.
SELECT witness.set_alert_rule('mass_export', params => '{"entries": 3}') > 0 AS set;
SET ROLE al_admin;
SELECT id > 0 AS row_read FROM witness.log LIMIT 3;
RESET ROLE;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM al_check();
SET ROLE al_admin;
SELECT id > 0 AS row_read FROM witness.log LIMIT 1;
RESET ROLE;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT * FROM al_check();
SELECT witness.set_alert_rule('mass_export', params => '{"entries": -1}');
SELECT witness.set_alert_rule('mass_export', params => '{"entries": null}');
SELECT witness.set_alert_rule('mass_export', params => '{"rows": 5}');
SELECT witness.set_alert_rule('off_hours', params => '[1]');
-- Days outside 1 to 7, a day that is not a number, a zone 99 hours off: refused (they were accepted,
-- and alerted on every change).
SELECT witness.set_alert_rule('off_hours', params => '{"days": [0, 8, -1]}');
SELECT witness.set_alert_rule('off_hours', params => '{"days": [null]}');
SELECT witness.set_alert_rule('off_hours', params => '{"days": 1}');
SELECT witness.set_alert_rule('off_hours', params => '{"time_zone": "+99"}');
SELECT witness.set_alert_rule('off_hours', params => '{"from": "08:00", "to": "08:00"}');
SELECT witness.set_alert_rule('off_hours', params => '{"from": "24:00", "to": "08:00"}');
SELECT witness.set_alert_rule('off_hours', params => '{"days": [1, 1, 2]}');

-- verification_failed: more problems than the threshold. Earlier tests left the trail with problems
-- of their own (P, 0 when this test runs alone): at P problems, quiet; an entry a superuser rewrote
-- makes P + 1, and alerts (the entry is then put back).
SELECT count(*) FILTER (WHERE status <> 'valid') AS p FROM witness.verify() \gset
SELECT witness.set_alert_rule('verification_failed', threshold => :p) > 0 AS set;
SELECT count(*) FILTER (WHERE status <> 'valid') = :p AS p_problems FROM witness.verify_and_checkpoint(resume => false);
SELECT * FROM al_check();
SELECT id AS tampered_id, new_values AS original FROM witness.entry
WHERE table_name = 'al_acct' AND op = 'U' ORDER BY id LIMIT 1 \gset
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = jsonb_set(new_values::jsonb, '{v}', '999')::json WHERE id = :tampered_id;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
COMMIT;
SELECT count(*) FILTER (WHERE status <> 'valid') > :p AS more_problems FROM witness.verify_and_checkpoint(resume => false);
SELECT * FROM al_check();
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry SET new_values = :'original' WHERE id = :tampered_id;
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
COMMIT;
SELECT count(*) FILTER (WHERE status <> 'valid') = :p AS p_problems FROM witness.verify_and_checkpoint(resume => false);
SELECT * FROM al_check();

-- Each alert is an entry of the chain.
SELECT count(*) = (SELECT count(*) FROM witness.alert) AS every_alert_in_the_chain
FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'alert';

-- A TRUNCATE of a tracked table is a mass deletion; of an untracked one, nothing. (NOTIFY
-- witness_alert is tested in test/integration/alerts.sh: psql prints the notifying backend's pid.)
TRUNCATE al_other;
TRUNCATE al_acct;
SELECT * FROM al_check();

-- A block of more entries than a window is read in slices of consecutive ids, so that the arrays the
-- rules read stay bounded however large a block is (witness._alert_windows(); check_alerts() uses
-- windows of 131,072 entries, here 16): at the first ids of its chunks (witness.block_chunk), or
-- every 16 ids without them. The slices cover each member once. mass_change, which counts per
-- transaction, reads a sliced block whole, in one query, once: 40 updates above a threshold of 30
-- alert once, 20 do not, and no counter is left behind.
SELECT witness.set_alert_rule('mass_change', threshold => 30) > 0 AS set;
CREATE TABLE al_big (id int PRIMARY KEY, v int);
SELECT witness.track('public.al_big');
SELECT count(*) >= 0 AS drained FROM al_check();
SELECT max(block_no) AS big_from FROM witness.block \gset
INSERT INTO al_big SELECT g, 0 FROM generate_series(1, 100) g;
UPDATE al_big SET v = 1 WHERE id <= 40;
UPDATE al_big SET v = 2 WHERE id > 80;
SET witness.proof_chunk_size = 8;
SELECT count(*) > 0 AS sealed FROM witness.seal();
INSERT INTO al_big SELECT g, 0 FROM generate_series(101, 150) g;
UPDATE al_big SET v = 3 WHERE id > 100 AND id <= 135;
SET witness.proof_chunk_size = 0;
SELECT count(*) > 0 AS sealed FROM witness.seal();
RESET witness.proof_chunk_size;
SELECT max(block_no) AS big_to FROM witness.block \gset
SELECT b.block_no - :big_from AS block, b.entry_count >= 85 AS large, count(*) >= b.entry_count / 16 AS windows,
       bool_and(w.sliced) AS sliced, bool_and(w.to_id - w.from_id < 16) AS slices_within_window,
       sum((SELECT count(*) FROM witness._alert_members(b, w.from_id, w.to_id)))
       = (SELECT count(*) FROM witness._alert_members(b, NULL, NULL) m WHERE (m.entry).id IS NOT NULL OR (m.own).id IS NOT NULL)
       AND (SELECT count(*) FROM witness._alert_members(b, NULL, NULL)) >= 85 AS each_member_once
FROM witness._alert_windows(:big_from, :big_to, 16) w JOIN witness.block b ON b.block_no = w.first_block
GROUP BY b.block_no, b.entry_count ORDER BY b.block_no;
-- A window of no entries is refused: it never advanced, and looped until cancelled (a robustness review).
SELECT count(*) FROM witness._alert_windows(:big_from, :big_to, 0);
SELECT a.rule, a.summary FROM witness._check_alerts(16) a ORDER BY a.alert_id;
SELECT count(*) AS counters_left FROM witness.alert_counter WHERE rule = 'mass_change';

-- pg_witness's own entries are read with long values cut (witness._alert_own()): a statement text is
-- the client's whole query string and a setting's value any text (an attack sent five ALTER TABLE
-- commands in one query of 220 MB: the window's own entries passed 1 GB, every evaluation failed, and
-- no rule raised anything again). The rules still see what they need: capture_off raises.
SELECT repeat('x', 200000) AS pad \gset
SELECT max(block_no) AS pad_from FROM witness.block \gset
SELECT length(:'pad') AS padded \; ALTER ROLE al_plain SET session_replication_role = replica;
ALTER ROLE al_plain RESET session_replication_role;
SELECT count(*) > 0 AS sealed FROM witness.seal();
SELECT (m.own).new_values ->> 'action' AS action, (m.own).new_values -> 'detail' ->> 'setting' AS setting,
       length((m.own).new_values ->> 'statement') AS statement_read,
       length(e.new_values ->> 'statement') AS statement_kept
FROM witness.block b CROSS JOIN LATERAL witness._alert_members(b, NULL, NULL) m JOIN witness.entry e ON e.id = (m.own).id
WHERE b.block_no > :pad_from AND (m.own).table_name = 'ddl_event' ORDER BY (m.own).id;
SELECT * FROM al_check();
SELECT json_array_length(witness._alert_trim(to_json(array_fill(1, ARRAY[150])), 3)) AS array_read,
       length(witness._alert_trim(json_build_object('value', repeat('y', 5000)), 3) ->> 'value') AS string_read,
       witness._alert_trim('{"a": {"b": {"c": [1, 2]}}}', 2) AS two_levels;
-- A window, or a rule over it, that cannot be evaluated is named in an evaluation_failed alert, and
-- the evaluation goes on past it: before, a window that failed was read again at every pass, and
-- failed again. The alert cannot be disabled.
SELECT witness._alert_failed((SELECT jsonb_object_agg(r.rule, to_jsonb(r)) FROM witness.alert_rules r), 7, 9, 100, 199,
                             NULL, '54000', 'array size exceeds the maximum allowed (1073741823)');
SELECT witness._alert_failed((SELECT jsonb_object_agg(r.rule, to_jsonb(r)) FROM witness.alert_rules r), 7, 9, NULL, NULL,
                             'mass_change', '22003', 'value out of range');
SELECT rule, severity, summary, detail ->> 'sqlstate' AS sqlstate FROM witness.alert WHERE rule = 'evaluation_failed' ORDER BY alert_id;
SELECT witness.set_alert_rule('mass_change', threshold => 5) > 0 AS set;
SELECT witness.untrack('public.al_big');
DROP TABLE al_big;
SELECT count(*) >= 0 AS drained FROM al_check();

-- Attackers. The DML-only role, the table owner and a role with CREATE on the database cannot read
-- alerts, delete them, change or disable rules, or evaluate.
SET ROLE al_dml;
DELETE FROM witness.alert;
SELECT witness.set_alert_rule('mass_change', threshold => 1000000);
RESET ROLE;
SET ROLE al_owner;
DELETE FROM witness.alert;
SELECT witness.set_alert_rule('mass_change', enabled => false);
ALTER TABLE witness.alert DISABLE TRIGGER witness_append_only;
RESET ROLE;
SET ROLE al_creator;
UPDATE witness.alert_state SET last_block = 1000000;
SELECT witness.check_alerts();
CREATE SCHEMA al_fake;
CREATE TABLE al_fake.alert_rules AS SELECT 'mass_change'::text AS rule, false AS enabled;
DROP SCHEMA al_fake CASCADE;
RESET ROLE;
-- The admin sets rules (each change in the chain and alerted) but cannot delete alerts, skip blocks
-- or disable the alert that reports rule changes; an auditor reads alerts and changes nothing.
SET ROLE al_admin;
SELECT witness.set_alert_rule('mass_change', enabled => false) > 0 AS disabled;
SELECT witness.set_alert_rule('alert_rule_changed', enabled => false);
SELECT witness.set_alert_rule('evaluation_failed', enabled => false);
SELECT witness.set_alert_rule('mass_change', severity => 'fatal');
SELECT witness.set_alert_rule('capture_off', threshold => 3);
SELECT witness.set_alert_rule('no_such_rule', enabled => false);
DELETE FROM witness.alert;
UPDATE witness.alert_state SET last_block = 1000000;
SELECT count(*) > 0 AS admin_reads_alerts FROM witness.alert;
RESET ROLE;
SELECT * FROM al_check();
SELECT rule, enabled, set_by FROM witness.alert_rule ORDER BY change_id DESC LIMIT 1;
SELECT count(*) AS rule_changes_in_chain FROM witness.entry
WHERE schema_name = 'witness' AND table_name = 'alert_rule' AND new_values ->> 'rule' = 'mass_change';
SET ROLE al_auditor;
SELECT count(*) > 0 AS auditor_reads_alerts FROM witness.alert;
SELECT rule, enabled FROM witness.alert_rules WHERE rule = 'mass_change';
SELECT witness.set_alert_rule('mass_change', enabled => true);
RESET ROLE;
-- A superuser meets the guards too (with them disabled, as for the rest of the trail, it can do
-- anything: docs/alerts.md).
DELETE FROM witness.alert;
UPDATE witness.alert SET severity = 'info';
TRUNCATE witness.alert_state;
DELETE FROM witness.alert_address;
SET session_replication_role = replica;
UPDATE witness.alert_state SET last_block = 1000000;
RESET session_replication_role;

SELECT witness.set_alert_rule('mass_change', enabled => true, threshold => 1000) > 0 AS restored;
SELECT witness.set_alert_rule('denied_spike', threshold => 20) > 0 AS restored;
SELECT witness.set_alert_rule('mass_export', threshold => 50, params => '{"entries": 100000}') > 0 AS restored;
SELECT witness.set_alert_rule('verification_failed', threshold => 0) > 0 AS restored;
SELECT count(*) >= 0 AS drained FROM al_check();
REVOKE CREATE ON DATABASE :"db" FROM al_owner, al_creator;
DROP TABLE al_acct, al_other;
DROP FUNCTION al_check();
DROP ROLE al_owner, al_dml, al_creator, al_admin, al_auditor, al_plain, al_traveller;
