-- Daily summaries, actor activity and the monitoring view (docs/monitoring.md): witness.daily_count is
-- counted from sealed blocks by witness.refresh_summary() (the background sealer calls the same after
-- each pass; the regression cluster runs with witness.seal_interval = 0, so it is called here), never
-- twice for one block; who may read the views and who may write the counts.
\set VERBOSITY terse

-- Every column of the views and tables is commented, and every function.
SELECT c.relname, a.attname FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
WHERE a.attrelid IN ('witness.daily_summary'::regclass, 'witness.actor_activity'::regclass, 'witness.stats'::regclass,
                     'witness.daily_count'::regclass, 'witness.summary_state'::regclass)
  AND a.attnum > 0 AND NOT a.attisdropped AND col_description(a.attrelid, a.attnum) IS NULL;
SELECT p.oid::regprocedure FROM pg_proc p
WHERE p.oid IN ('witness.refresh_summary()'::regprocedure, 'witness._refresh_summary(boolean, bigint)'::regprocedure,
                'witness._visible_days()'::regprocedure)
  AND obj_description(p.oid, 'pg_proc') IS NULL;

-- Whatever earlier tests left in the trail: sealed and counted first, so that what follows counts
-- this test's entries only.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT count(*) >= 0 AS sealed FROM witness.seal();
SELECT witness.refresh_summary() >= 0 AS counted;
SELECT witness.refresh_summary() AS counted_again;
SELECT summary_block_no = last_block_no AS summary_up_to_date, entries_pending FROM witness.stats;

CREATE ROLE sm_owner;
CREATE ROLE sm_dml;
CREATE ROLE sm_creator;
CREATE ROLE sm_reader IN ROLE witness_reader;
CREATE ROLE sm_auditor IN ROLE witness_auditor;
CREATE ROLE sm_admin IN ROLE witness_admin;
CREATE ROLE sm_period;
DO $$ BEGIN EXECUTE format('GRANT CREATE ON DATABASE %I TO sm_creator, sm_owner', current_database()); END $$;
CREATE SCHEMA sm AUTHORIZATION sm_owner;
SET ROLE sm_owner;
CREATE TABLE sm.acct (id int PRIMARY KEY, owner text, balance numeric);
GRANT USAGE ON SCHEMA sm TO sm_dml;
GRANT SELECT, INSERT, UPDATE, DELETE ON sm.acct TO sm_dml;
RESET ROLE;
SELECT witness.track('sm.acct', 'financial');

-- Changes as three actors, one of them through the DML-only role, one as the table's owner.
BEGIN;
SET LOCAL witness.actor = 'alice@example.com';
INSERT INTO sm.acct SELECT g, 'o' || g, 100 FROM generate_series(1, 6) g;
COMMIT;
BEGIN;
SET LOCAL ROLE sm_dml;
SET LOCAL witness.actor = 'bob@example.com';
UPDATE sm.acct SET balance = balance + 1 WHERE id <= 3;
DELETE FROM sm.acct WHERE id = 6;
COMMIT;
BEGIN;
SET LOCAL ROLE sm_owner;
UPDATE sm.acct SET owner = 'x' WHERE id = 1;
COMMIT;

-- Not counted before the seal: pending entries appear after the next seal and count.
SELECT witness.refresh_summary() AS counted_while_pending;
SELECT count(*) AS sm_rows FROM witness.daily_summary WHERE schema_name = 'sm';
SELECT entries_pending >= 11 AS pending_seen, seal_lag IS NOT NULL AS seal_lag_seen FROM witness.stats;

SELECT entry_count >= 11 AS sealed FROM witness.seal();
SELECT witness.refresh_summary() >= 11 AS counted;
SELECT day = (now() AT TIME ZONE 'UTC')::date AS today, table_name, operation, actor, db_user, outcome, entries,
       first_at <= last_at AS times_ordered
FROM witness.daily_summary WHERE schema_name = 'sm' ORDER BY operation, actor NULLS LAST;
SELECT day = (now() AT TIME ZONE 'UTC')::date AS today, actor, db_user, table_name, operation, changes
FROM witness.actor_activity WHERE table_name = 'sm.acct' ORDER BY actor NULLS LAST, operation;

-- The counts match the trail, group by group.
SELECT count(*) AS mismatches FROM (
	SELECT operation, actor, sum(entries) AS n FROM witness.daily_summary WHERE schema_name = 'sm' GROUP BY 1, 2
) s FULL JOIN (
	SELECT operation, actor, count(*) AS n FROM witness.log WHERE schema_name = 'sm' GROUP BY 1, 2
) l ON l.operation = s.operation AND l.actor IS NOT DISTINCT FROM s.actor
WHERE s.n IS DISTINCT FROM l.n;

-- Run twice, nothing more is counted.
SELECT witness.refresh_summary() AS counted_again;
SELECT sum(entries) AS sm_entries FROM witness.daily_summary WHERE schema_name = 'sm';

-- Several passes: three blocks, counted one block per call (max_entries 1, as the sealer counts a
-- million per pass), then nothing left; no block counted twice.
INSERT INTO sm.acct VALUES (10, 'a', 1);
SELECT entry_count FROM witness.seal();
INSERT INTO sm.acct VALUES (11, 'b', 1), (12, 'c', 1);
SELECT entry_count FROM witness.seal();
DELETE FROM sm.acct WHERE id >= 10;
SELECT entry_count FROM witness.seal();
SELECT witness._refresh_summary(true, 1) AS pass_1;
SELECT witness._refresh_summary(true, 1) AS pass_2;
SELECT witness._refresh_summary(true, 1) AS pass_3;
SELECT witness._refresh_summary(true, 1) AS pass_4;
SELECT operation, sum(entries) FROM witness.daily_summary WHERE schema_name = 'sm' AND actor IS NULL AND db_user = current_user
GROUP BY 1 ORDER BY 1;

-- The stats after the last count: nothing pending, the summary at the newest block.
SELECT entries_per_second >= 0 AS rate_ok, entries_pending, seal_lag, last_block_no = (SELECT max(block_no) FROM witness.block) AS newest_block,
       last_sealed_at = (SELECT max(sealed_at) FROM witness.block) AS sealed_at_ok, background_sealing,
       entries_estimate >= 0 AS estimate_ok, trail_bytes > 0 AS size_ok,
       summary_block_no = last_block_no AS summary_up_to_date, entries_summarized > 0 AS summarized_ok
FROM witness.stats;
-- A recorded verification shows in the stats.
SELECT recorded_run IS NOT NULL AS recorded FROM witness.verify_and_checkpoint(false);
SELECT (last_verified_at, last_verification_status, last_verification_problems)
       = (SELECT r.finished_at, r.status, r.problems FROM witness.verification_run r ORDER BY r.run_id DESC LIMIT 1) AS newest_run
FROM witness.stats;

-- Activity carries an outcome, and its kind as the operation: a refused read is counted as denied.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT count(*) >= 0 AS sealed FROM witness.seal();
SELECT witness.refresh_summary() >= 0 AS counted;
SELECT COALESCE(sum(entries), 0) AS denied_before FROM witness.daily_summary
WHERE schema_name = 'witness' AND table_name = 'activity' AND operation = 'denied' AND outcome = 'denied' \gset
SET ROLE sm_dml;
SELECT count(*) FROM witness.daily_count;
RESET ROLE;
SELECT witness.flush_activity() >= 1 AS flushed;
SELECT count(*) >= 0 AS sealed FROM witness.seal();
SELECT witness.refresh_summary() >= 1 AS counted;
SELECT sum(entries) - :denied_before AS denied_now FROM witness.daily_summary
WHERE schema_name = 'witness' AND table_name = 'activity' AND operation = 'denied' AND outcome = 'denied';
-- Activity is no row change: not in actor_activity.
SELECT count(*) AS activity_rows FROM witness.actor_activity WHERE table_name = 'witness.activity';

-- Who reads what: the three roles read the summaries (counts, no values); the auditor and the
-- admin read the stats (they show the last verification's result); the admin refreshes.
SET ROLE sm_reader;
SELECT sum(entries) AS reader_sees FROM witness.daily_summary WHERE schema_name = 'sm';
SELECT sum(changes) AS reader_sees FROM witness.actor_activity WHERE table_name = 'sm.acct';
SELECT entries_pending FROM witness.stats;
SELECT witness.refresh_summary();
SELECT count(*) FROM witness.daily_count;
RESET ROLE;
SET ROLE sm_auditor;
SELECT sum(entries) AS auditor_sees FROM witness.daily_summary WHERE schema_name = 'sm';
SELECT entries_pending FROM witness.stats;
SELECT witness.refresh_summary();
RESET ROLE;
SET ROLE sm_admin;
SELECT sum(changes) AS admin_sees FROM witness.actor_activity WHERE table_name = 'sm.acct';
SELECT entries_pending FROM witness.stats;
SELECT witness.refresh_summary() AS admin_refresh;
SELECT witness._refresh_summary(true, NULL);
RESET ROLE;

-- The table's owner, a DML-only role and a role with CREATE on the database read nothing, refresh
-- nothing and write no count.
SET ROLE sm_owner;
SELECT count(*) FROM witness.daily_summary;
SELECT count(*) FROM witness.actor_activity;
SELECT count(*) FROM witness.stats;
SELECT witness.refresh_summary();
UPDATE witness.daily_count SET entries = 0;
RESET ROLE;
SET ROLE sm_dml;
SELECT count(*) FROM witness.daily_summary;
SELECT witness._refresh_summary(true, NULL);
INSERT INTO witness.daily_count VALUES (current_date, 'sm', 'acct', 'DELETE', 'x', 'x', NULL, 1, now(), now());
DELETE FROM witness.summary_state;
RESET ROLE;
SET ROLE sm_creator;
SELECT count(*) FROM witness.actor_activity;
SELECT * FROM witness._visible_days();
-- Its own objects do not stand in for pg_witness's: the functions pin search_path.
CREATE SCHEMA sm_shadow;
CREATE FUNCTION sm_shadow.pg_visible_in_snapshot(xid8, pg_snapshot) RETURNS boolean LANGUAGE sql AS 'SELECT true';
CREATE FUNCTION sm_shadow.count(anyelement) RETURNS bigint LANGUAGE sql AS 'SELECT 1000::bigint';
RESET ROLE;
SET search_path = sm_shadow, public;
INSERT INTO sm.acct VALUES (20, 'd', 1);
SELECT entry_count FROM witness.seal();
SET ROLE sm_admin;
SELECT witness.refresh_summary() AS admin_refresh_with_shadows;
RESET ROLE;
RESET search_path;
SELECT sum(entries) AS sm_inserts FROM witness.daily_summary WHERE schema_name = 'sm' AND operation = 'INSERT';
DROP SCHEMA sm_shadow CASCADE;

-- Not even a superuser rewrites the counts (also in replica mode): only the sealer and
-- refresh_summary() write them. Past the guard only with pg_witness's internal mark set by hand, a call
-- that is recorded; the trail itself, which witness.verify() checks, still says what happened.
UPDATE witness.daily_count SET entries = 0 WHERE schema_name = 'sm';
DELETE FROM witness.daily_count;
TRUNCATE witness.summary_state;
INSERT INTO witness.daily_count VALUES (current_date, 'sm', 'acct', 'DELETE', 'x', 'x', NULL, 1, now(), now());
SET session_replication_role = replica;
UPDATE witness.summary_state SET last_block_no = 0;
RESET session_replication_role;
BEGIN;
SELECT count(*) AS sm_marked FROM witness._begin_internal_ddl();
UPDATE witness.daily_count SET entries = 0 WHERE schema_name = 'sm';
SELECT sum(entries) AS rewritten FROM witness.daily_summary WHERE schema_name = 'sm';
SELECT count(*) AS in_the_trail FROM witness.log WHERE schema_name = 'sm';
SELECT witness.flush_activity() >= 1 AS flushed;
SELECT kind, outcome, object_name, statement FROM witness.activity
WHERE object_name = 'witness._begin_internal_ddl' AND statement LIKE '%sm_marked%';
ROLLBACK;

-- A time-limited auditor sees the days wholly inside its period: not today when its period starts
-- after midnight (UTC), today when it starts at midnight; once expired, nothing (42501).
SELECT witness.grant_auditor('sm_period', now() + interval '1 hour',
                             since => date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 second') > 0 AS granted;
SET ROLE sm_period;
SELECT count(*) AS days_seen FROM witness.daily_summary WHERE schema_name = 'sm';
SELECT first_day = (now() AT TIME ZONE 'UTC')::date + 1 AS starts_tomorrow, end_day FROM witness._visible_days();
RESET ROLE;
SELECT witness.revoke_auditor('sm_period');
SELECT witness.grant_auditor('sm_period', now() + interval '1 second',
                             since => date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC',
                             till => date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' + interval '1 day') > 0 AS granted;
SET ROLE sm_period;
SELECT sum(entries) AS today_seen FROM witness.daily_summary WHERE schema_name = 'sm';
SELECT first_day = (now() AT TIME ZONE 'UTC')::date AS from_today, end_day = (now() AT TIME ZONE 'UTC')::date + 1 AS to_tomorrow
FROM witness._visible_days();
RESET ROLE;
SELECT pg_sleep(1.2);
\set VERBOSITY sqlstate
SET ROLE sm_period;
SELECT count(*) FROM witness.daily_summary;
SELECT count(*) FROM witness.actor_activity;
RESET ROLE;
\set VERBOSITY terse
SELECT witness.revoke_auditor('sm_period');

SELECT witness.untrack('sm.acct');
DROP SCHEMA sm CASCADE;
DO $$ BEGIN EXECUTE format('REVOKE CREATE ON DATABASE %I FROM sm_creator, sm_owner', current_database()); END $$;
DROP ROLE sm_owner, sm_dml, sm_creator, sm_reader, sm_auditor, sm_admin, sm_period;
