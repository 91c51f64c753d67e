-- The signed audit report (docs/report.md): who may make it, and what it says about a period.
SELECT witness.flush_activity() >= 0 AS flushed;
SELECT pg_catalog.clock_timestamp() AS t0 \gset
SET client_min_messages = warning;
CREATE ROLE ar_owner LOGIN;
CREATE ROLE ar_dml LOGIN;
CREATE ROLE ar_creator LOGIN;
CREATE ROLE ar_admin LOGIN IN ROLE witness_admin;
CREATE ROLE ar_auditor LOGIN IN ROLE witness_auditor;
RESET client_min_messages;
GRANT CREATE ON DATABASE contrib_regression TO ar_creator;
CREATE SCHEMA ar AUTHORIZATION ar_owner;
GRANT USAGE ON SCHEMA ar TO ar_dml;

SET ROLE ar_owner;
CREATE TABLE ar.ledger (id int PRIMARY KEY, memo text);
GRANT SELECT, INSERT, UPDATE, DELETE ON ar.ledger TO ar_dml;
RESET ROLE;
SELECT witness.track('ar.ledger', 'financial');
SET ROLE ar_dml;
SET witness.actor = '<script>alert(1)</script>';
INSERT INTO ar.ledger VALUES (1, 'a'), (2, 'b');
UPDATE ar.ledger SET memo = 'c' WHERE id = 1;
RESET witness.actor;
DELETE FROM ar.ledger WHERE id = 2;
RESET ROLE;

-- No key configured: the report cannot be signed, and is not made.
\set VERBOSITY default
SELECT witness.audit_report(:'t0', NULL);
\set VERBOSITY terse
COPY (SELECT 'b3f1c0ffee0ddba11cafe5eed00dfacade0fb0a7ca7f00d5eaf00d1deadbeef1') TO '/tmp/pg_witness_regress_report.key';
SET witness.hmac_key_file = '/tmp/pg_witness_regress_report.key';
-- Infinite bounds are open only on their own side: since infinity, or until -infinity, is an empty
-- period, refused.
SELECT witness.audit_report('infinity', NULL);
SELECT witness.audit_report('2030-01-01', '-infinity');
-- The report states verify()'s figures, pruned entries included.
SELECT substring(witness.audit_report(NULL, NULL) FROM '<th>entries pruned</th><td class="n">([0-9]+)</td>')::bigint
       = (SELECT max(entries_pruned) FROM witness.verify()) AS pruned_as_verify;
-- Entries of the period pruned later are named in the summary (an attack review emptied a period's
-- refused attempts with a retention run, and its signed report said nothing of it): over the whole
-- trail, every pruned entry.
SELECT substring(witness.audit_report(NULL, NULL) FROM 'id="pruned-in-period">([0-9]+)</td>')::bigint
       = (SELECT max(entries_pruned) FROM witness.verify()) AS pruned_named;

-- Attacker: the DML-only role, the table's owner, a role with CREATE on the database and
-- witness_admin (which may not read the trail's entries) are all refused with 42501.
\set VERBOSITY sqlstate
SET ROLE ar_dml;
SELECT witness.audit_report(NULL, NULL);
RESET ROLE;
SET ROLE ar_owner;
SELECT witness.audit_report(NULL, NULL);
RESET ROLE;
SET ROLE ar_creator;
SELECT witness.audit_report(NULL, NULL);
-- nor can it reach the C function under a name of its own
CREATE SCHEMA ar_evil;
CREATE FUNCTION ar_evil.report(timestamptz, timestamptz) RETURNS text AS '$libdir/pg_witness', 'witness_audit_report' LANGUAGE C;
DROP SCHEMA ar_evil;
RESET ROLE;
SET ROLE ar_admin;
SELECT witness.audit_report(NULL, NULL);
RESET ROLE;
\set VERBOSITY terse
SELECT witness.flush_activity() > 0 AS flushed;
SELECT count(*) > 0 AS sealed FROM witness.seal();

-- The auditor's report of the period since t0.
SET ROLE ar_auditor;
SELECT witness.audit_report(:'t0', NULL) AS r \gset
RESET ROLE;
CREATE TEMP TABLE rep AS SELECT :'r'::text AS r;
SELECT substring(r FROM '<td class="n" id="entries">([0-9]+)</td>')::int >= 10 AS entries,
       substring(r FROM '<tr><td>ar.ledger</td><td>financial</td>((<td class="n">[0-9]+</td>)+)</tr>') AS ledger,
       substring(r FROM '<tr><td>witness.activity</td><td>confidential</td>((<td class="n">[0-9]+</td>)+)</tr>') IS NOT NULL AS activity_counted,
       r LIKE '%<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td>ar_dml</td><td class="n">3</td>%' AS actor_escaped,
       r LIKE '%<td>postgres</td><td>ar_dml</td><td class="n">1</td>%' AS dml_role_counted,
       position('<script' IN r) AS raw_script,
       substring(r FROM '<td id="verification" class="[a-z]+">([a-z]+)</td>') = (SELECT min(status) FROM witness.verify()) AS verification_stated,
       substring(r FROM '<td id="block-range">([^<]*)</td>') ~ '^[0-9]+ \([0-9]+ to [0-9]+\)$' AS block_range,
       r LIKE '%No erasures.%' AS no_erasures, r LIKE '%No alerts.%' AS no_alerts,
       substring(r FROM '<span id="denied">([0-9]+)</span>')::int >= 4 AS refusals_counted,
       r LIKE '%<td>ar_dml</td><td>42501</td><td>permission denied for schema witness</td><td class="n">1</td>%' AS dml_refusal_listed,
       r LIKE '%<td>CREATE ROLE</td><td>role created</td><td>postgres</td>%' AS permission_change_listed,
       r ~ E'\n<!-- witness-signature -->\n<section class="signature">\n<h2>Signatures</h2>\n<pre id="witness-signatures">\nhmac_sha256 [0-9a-f]{64}\n</pre>' AS signed
FROM rep;
-- Activity counts by when it happened, each event of a row that groups a session's statements by its
-- own time (a review's refused attempt, made just before a period's end, waited for the sealer's next
-- pass and was then counted in the next period: in no report of its own; the review of the fix found
-- a group counted at its first event's time). Two refusals of one session, one on each side of t1,
-- written by one drain into one row.
SET ROLE ar_creator;
\set VERBOSITY sqlstate
SELECT * FROM ar.ledger;
RESET ROLE;
SELECT pg_catalog.clock_timestamp() AS t1 \gset
SELECT pg_catalog.pg_sleep(0.01);
SET ROLE ar_creator;
SELECT * FROM ar.ledger;
RESET ROLE;
SELECT pg_catalog.clock_timestamp() AS t2 \gset
\set VERBOSITY terse
-- While they wait in the queue, the report of a period they belong to says that it leaves them out:
-- no background sealer runs here to wait for (with one, the report waits until it wrote them). The
-- report does not write them itself: an auditor holding its transaction open kept them from every
-- other drain, in the review of the version that did.
SET ROLE ar_auditor;
SELECT witness.audit_report(:'t0', :'t1') AS r0 \gset
RESET ROLE;
SELECT substring(:'r0' FROM '<td id="activity-queued" class="n tampered">([0-9]+)</td>')::int >= 1 AS queued_stated,
       position('<td>ar_creator</td><td>42501</td><td>permission denied for schema ar</td>' IN :'r0') AS listed;
SELECT witness.flush_activity() > 0 AS flushed;
SELECT statement_count, cardinality(statement_times) AS times FROM witness.activity
WHERE kind = 'denied' AND current_user_name = 'ar_creator' AND message LIKE '%schema ar' AND happened_at >= :'t0';
SET ROLE ar_auditor;
SELECT witness.audit_report(:'t0', :'t1') AS r1 \gset
SELECT witness.audit_report(:'t1', :'t2') AS r2 \gset
RESET ROLE;
SELECT substring(:'r1' FROM '<tr><td>ar_creator</td><td>42501</td><td>permission denied for schema ar</td><td class="n">([0-9]+)</td></tr>') AS attempts_before_t1,
       substring(:'r2' FROM '<tr><td>ar_creator</td><td>42501</td><td>permission denied for schema ar</td><td class="n">([0-9]+)</td></tr>') AS attempts_after_t1;
-- An auditor restricted to a period (witness.grant_auditor) counts the entries of its period only:
-- none here, where the whole trail's report counts them.
SET client_min_messages = warning;
CREATE ROLE ar_period;
RESET client_min_messages;
SELECT witness.grant_auditor('ar_period', now() + interval '1 hour', '2000-01-01', '2000-01-02') > 0 AS granted;
-- Its report says so in its header (an attack review got a signed "valid" report that did not).
SET ROLE ar_period;
SELECT witness.audit_report(NULL, NULL) AS rp \gset
RESET ROLE;
SELECT substring(:'rp' FROM '<td class="n" id="entries">([0-9]+)</td>') AS entries_of_its_period,
       substring(:'rp' FROM '<td id="restriction" class="tampered">([^<]*)</td>') AS restricted_to;
SELECT substring(witness.audit_report(NULL, NULL) FROM '<td class="n" id="entries">([0-9]+)</td>')::int > 10 AS entries_of_the_trail,
       position('id="restriction"' IN witness.audit_report(NULL, NULL)) AS restriction_stated;
SELECT witness.revoke_auditor('ar_period');
-- A superuser may make it too.
SELECT length(witness.audit_report(:'t0', NULL)) > 1000 AS superuser_report;
-- A period with nothing in it.
SELECT substring(witness.audit_report('2000-01-01', '2000-01-02') FROM '<td class="n" id="entries">([0-9]+)</td>') AS entries;
SELECT witness.audit_report('2000-01-02', '2000-01-01');
-- A period that is not over is refused: its report would read as complete (an attack review's report
-- of a future year said "no entries in the period", valid). An open end is now. Bounds near the end of
-- timestamptz's range are refused as such, not as "until must be after since" (the conversion to Unix
-- time overflowed).
SELECT witness.audit_report('1900-01-01', '294276-12-31');
SELECT witness.audit_report('294276-12-30', NULL);
SELECT witness.audit_report(now() - interval '1 day', now() + interval '1 hour');
SELECT witness.audit_report(now() + interval '1 hour', NULL);
SELECT substring(witness.audit_report('4713-11-24 00:00:00+00 BC', :'t2') FROM '<td class="n" id="entries">([0-9]+)</td>')::int > 10 AS far_since;

RESET witness.hmac_key_file;
SELECT witness.untrack('ar.ledger');
DROP SCHEMA ar CASCADE;
REVOKE CREATE ON DATABASE contrib_regression FROM ar_creator;
DROP ROLE ar_owner, ar_dml, ar_creator, ar_admin, ar_auditor, ar_period;
