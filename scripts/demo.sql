-- pg_witness demo: track two tables, change them as two different application users, read the trail.
-- Run by scripts/demo.sh against a throw-away cluster (psql -v ON_ERROR_STOP=1 -f scripts/demo.sql).

\set ON_ERROR_STOP 1
\set QUIET 1
\pset pager off
\pset null '(null)'
\set ECHO queries

\echo
\echo '==== 1. Install the extension and create two application tables ===='
CREATE EXTENSION pg_witness;

CREATE TABLE customers (
    id          serial PRIMARY KEY,
    email       text NOT NULL,
    name        text NOT NULL,
    card_number text,
    ssn         text
);

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL,
    amount      numeric(12,2) NOT NULL,
    status      text NOT NULL
);

\echo
\echo '==== 2. Track them: classification, column tags, an excluded column, the data-subject column ===='
-- customers: personal data; card_number is also financial; ssn is never written to the trail;
-- each entry names its data subject by email. A table with a subject column is encrypted at rest:
-- its entries' values are sealed under a key derived for each subject from the master key
-- (witness.master_key_file, set by scripts/demo.sh).
SELECT witness.master_key_id();
SELECT witness.track('customers',
                     classification  => 'pii',
                     column_tags     => '{"card_number": "financial"}',
                     exclude_columns => '{ssn}',
                     subject_column  => 'email');
-- orders: financial data; the data subject is the customer id; kept in clear (encrypt => false).
SELECT witness.track('orders', 'financial', subject_column => 'customer_id', encrypt => false);

SELECT * FROM witness.tracked_tables ORDER BY table_name::text;

\echo
\echo '==== 3. Transaction 1: alice registers two customers and their orders ===='
-- SET LOCAL lasts until the end of the transaction, so it is safe behind a transaction-mode pooler.
BEGIN;
SET LOCAL witness.actor = 'alice@example.com';
SET LOCAL witness.reason = 'customer onboarding, ticket OPS-1042';
SET LOCAL witness.context = '{"session": "s-1", "ip": "203.0.113.7"}';
INSERT INTO customers (email, name, card_number, ssn) VALUES
    ('ada@example.org',   'Ada Lovelace', '4111111111111111', '078-05-1120'),
    ('grace@example.org', 'Grace Hopper', '5500005555555559', '219-09-9999');
INSERT INTO orders (customer_id, amount, status) VALUES
    (1, 120.50, 'new'),
    (1,  35.00, 'new'),
    (2, 999.99, 'new');
COMMIT;

\echo
\echo '==== 4. Transaction 2: bob corrects a name, ships an order and deletes a cancelled one ===='
BEGIN;
SET LOCAL witness.actor = 'bob@example.com';
SET LOCAL witness.reason = 'support request, ticket OPS-1057';
SET LOCAL witness.context = '{"session": "s-2", "ip": "198.51.100.23"}';
-- ssn changes too, but it is excluded: the entry shows the name change only.
UPDATE customers SET name = 'Ada King, Countess of Lovelace', ssn = '078-05-1121' WHERE id = 1;
UPDATE orders SET status = 'shipped' WHERE id = 1;
DELETE FROM orders WHERE id = 2;
COMMIT;

\echo
\echo '==== 5. The trail: one entry per changed row, with who, why, what and the leaf hash ===='
\echo 'customers is encrypted: its entries show no row key, subject or values here, only who, when and why'
\x on
SELECT id, operation, table_name, row_key, subject, tags, old_values, new_values,
       actor, reason, context, current_user_name, leaf_hash
  FROM witness.log
 ORDER BY id;
\x off

\echo
\echo '==== 6. The excluded column ssn appears nowhere in the trail (expect 0 and 0) ===='
SELECT count(*) FILTER (WHERE l.old_values ? 'ssn' OR l.new_values ? 'ssn' OR l.row_key ? 'ssn')
           AS entries_with_ssn_key,
       count(*) FILTER (WHERE l::text LIKE '%078-05-112%' OR l::text LIKE '%219-09-9999%')
           AS entries_with_ssn_value
  FROM witness.log l;

\echo
\echo '==== 6b. What an encrypted entry stores: a keyed pseudonym of its subject and sealed bytes, no plaintext ===='
SELECT id, op, subject, new_values, encode(subject_pseudonym, 'hex') AS subject_pseudonym,
       length(sealed_payload) AS sealed_bytes, position('Ada'::bytea IN sealed_payload) AS ada_found_at
  FROM witness.entry WHERE table_name = 'customers' ORDER BY id;

\echo
\echo '==== 7. Every stored leaf hash (its first 8 bytes) matches its recomputation from the stored content ===='
SELECT count(*) FILTER (WHERE leaf_hash = substring(witness.entry_leaf_hash(e) FOR octet_length(leaf_hash))) AS hashes_ok,
       count(*) AS entries
  FROM witness.entry e;

\echo
\echo '==== 8. The owner of a tracked table cannot switch capture off; a schema change that rewrites data is recorded ===='
CREATE ROLE demo_owner;
ALTER TABLE orders OWNER TO demo_owner;
SET ROLE demo_owner;
DO $$
BEGIN
    ALTER TABLE orders DISABLE TRIGGER witness_capture;
EXCEPTION WHEN object_in_use THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END
$$;
-- Retyping with USING changes every amount without a row trigger firing: pg_witness records the DDL.
ALTER TABLE orders ALTER COLUMN amount TYPE numeric(12,0) USING round(amount);
RESET ROLE;
SELECT command_tag, action, table_name, role_name, statement FROM witness.ddl_event ORDER BY event_id;

\echo
\echo '==== 9. Seal: committed entries become a block of the hash chain (the background sealer does this every second) ===='
SELECT block_no, entry_count, first_entry_id, last_entry_id, encode(merkle_root, 'hex') AS merkle_root,
       encode(block_hash, 'hex') AS block_hash
  FROM witness.seal();

\echo
\echo '==== 10. Verify: every hash, block membership, Merkle root and chain link is recomputed ===='
SELECT status, blocks_checked, entries_checked, entries_pending, problem FROM witness.verify();

\echo
\echo '==== 11. An inclusion proof for one entry, checkable with SHA-256 alone (docs/verification.md) ===='
SELECT jsonb_pretty(witness.prove(2));

\echo
\echo '==== 11b. Ada asks what the trail holds about her (GDPR Art. 15): decrypted, with proofs, and recorded ===='
SELECT line FROM witness.subject_export('ada@example.org', 'csv', 'GDPR Art. 15 request, ticket DPO-6') AS line;
SELECT access_id, format, reason, role_name FROM witness.subject_access;

\echo
\echo '==== 12. Grace asks to be forgotten (GDPR Art. 17): her payloads go, the chain stays valid ===='
SELECT witness.erase_subject('grace@example.org', 'GDPR Art. 17 request, ticket DPO-7') AS entries_erased;
SELECT id, operation, table_name, subject, new_values, erasure_id FROM witness.log
 WHERE table_name IN ('customers', 'erasure') ORDER BY id;
SELECT count(*) AS blocks_sealed FROM witness.seal();
SELECT status, blocks_checked, entries_checked, entries_erased, problem FROM witness.verify();

\echo
\echo '==== 12b. Who looked: every read of orders is recorded, and so is a refused attempt, whatever their transactions did ===='
SELECT witness.track('orders', 'financial', subject_column => 'customer_id', encrypt => false, capture_reads => true);
BEGIN READ ONLY;
SELECT id, amount FROM orders WHERE customer_id = 1 ORDER BY id;
ROLLBACK;
CREATE ROLE demo_clerk;
SET ROLE demo_clerk;
DO $$
BEGIN
    PERFORM * FROM orders;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'refused: %', SQLERRM;
END
$$;
RESET ROLE;
-- The background sealer writes the activity queue every second; flush_activity() does it now.
SELECT witness.flush_activity() >= 0 AS written;
SELECT kind, outcome, current_user_name, object_name, row_count, left(statement, 50) AS statement
  FROM witness.activity WHERE kind IN ('read', 'denied') ORDER BY activity_id;

\echo
\echo '==== 12c. Who may see what: a reader sees classified values masked, Ada sees her own entries only, an auditor for an hour ===='
CREATE ROLE demo_support;
GRANT witness_reader TO demo_support;
SET ROLE demo_support;
SELECT id, table_name, operation, new_values FROM witness.log WHERE table_name = 'orders' ORDER BY id LIMIT 3;
RESET ROLE;
CREATE ROLE demo_ada;
GRANT USAGE ON SCHEMA witness TO demo_ada;
GRANT SELECT ON witness.my_trail TO demo_ada;
SELECT witness.bind_subject('demo_ada', 'ada@example.org') AS binding;
SET ROLE demo_ada;
SELECT entry_id, table_name, operation, changes, status FROM witness.my_trail;
RESET ROLE;
CREATE ROLE demo_external_auditor;
SELECT witness.grant_auditor('demo_external_auditor', now() + interval '1 hour');
SELECT role_name, event, until > now() AS in_force FROM witness.auditor_grant;

\echo
\echo '==== 12d. Keeping and pruning: a legal hold, retention rules, the monthly partitions, a checkpoint to resume from ===='
SELECT witness.hold('demo-dispute', 'payment dispute over order 1', "table" => 'orders', row_key => '{"id": 1}') IS NOT NULL AS held;
SELECT name, in_force, table_name, row_key FROM witness.holds;
SELECT witness.set_retention('internal', interval '90 days') IS NOT NULL AS rule_set;
SELECT witness.set_retention('financial', interval '10 years') IS NOT NULL AS rule_set;
SELECT classification, keep FROM witness.retention_rules WHERE keep IS NOT NULL ORDER BY classification;
SELECT entries_pruned, held_kept FROM witness.apply_retention();
-- The months the sealer made ahead. This month's entries, the install's own records among them, were
-- captured before its first pass and stay in the default partition (docs/scaling.md).
SELECT partition, range_start, range_end FROM witness.partitions ORDER BY range_start NULLS LAST;
SELECT status, blocks_checked, entries_pruned FROM witness.verify_and_checkpoint(resume => false);

\echo
\echo '==== 13. The signed audit report an auditor receives (docs/report.md): a few of its figures ===='
-- Signed with the digest keys; the demo makes an HMAC key for it.
COPY (SELECT encode(sha256(gen_random_uuid()::text::bytea), 'hex')) TO '/tmp/pg_witness_demo_report_hmac.key';
SET witness.hmac_key_file = '/tmp/pg_witness_demo_report_hmac.key';
SELECT substring(r FROM '<td class="n" id="entries">([0-9]+)</td>') AS entries_today,
       substring(r FROM '<td id="verification" class="[a-z]+">([a-z]+)</td>') AS verification,
       substring(r FROM '<td id="block-range">([^<]*)</td>') AS blocks_sealed_today,
       substring(r FROM '<tr><td>public.orders</td><td>[a-z, ]*</td>((<td class="n">[0-9]+</td>)+)</tr>') IS NOT NULL AS orders_counted,
       substring(r FROM E'\nhmac_sha256 ([0-9a-f]{16})') || '...' AS signature,
       length(r) AS html_bytes
FROM (SELECT witness.audit_report(date_trunc('day', now()), NULL) AS r) s;
RESET witness.hmac_key_file;

\echo
\echo '==== 14. Archive instead of delete: expired entries written to a verifiable gzip file, then pruned ===='
-- A superuser names the directory (postgresql.conf in production; the demo's data directory here).
SELECT set_config('witness.archive_directory', current_setting('data_directory'), false) IS NOT NULL AS directory_set;
CREATE TABLE visits (id int PRIMARY KEY, door text);
SELECT witness.track('visits', 'restricted');
INSERT INTO visits VALUES (1, 'north'), (2, 'south');
SELECT count(*) >= 1 AS sealed FROM witness.seal();
SELECT witness.set_retention('restricted', interval '1 microsecond', archive => true) IS NOT NULL AS rule_set;
SELECT entries_pruned FROM witness.apply_retention();
SELECT a ->> 'file' AS file, a ->> 'entries' AS entries, left(a ->> 'sha256', 16) || '…' AS sha256
FROM witness.retention_run r, jsonb_array_elements(r.archives) a WHERE r.run_id = (SELECT max(run_id) FROM witness.retention_run);
\echo 'Check it outside the database: witness-verify archive <data directory>/<file>'

\echo
\echo '==== 15. For DBAs and BI tools: the daily summary, actor activity and witness.stats (docs/monitoring.md) ===='
-- The sealer counts sealed blocks after each pass; seal and count now rather than wait for it.
SELECT count(*) >= 0 AS sealed FROM witness.seal();
SELECT witness.refresh_summary() >= 0 AS counted;
SELECT schema_name, table_name, operation, actor, sum(entries) AS entries
FROM witness.daily_summary WHERE schema_name <> 'witness' GROUP BY 1, 2, 3, 4 ORDER BY 1, 2, 3, 4;
SELECT actor, table_name, operation, changes FROM witness.actor_activity WHERE actor IS NOT NULL ORDER BY 1, 2, 3;
SELECT entries_pending, last_block_no - summary_block_no AS summary_blocks_behind, last_verification_status,
       pg_size_pretty(trail_bytes) AS trail_size
FROM witness.stats;

\echo
\echo '==== 16. Exports for other systems (docs/exports.md): an order as a syslog line for a SIEM, then anonymised as CSV ===='
SELECT witness.export('syslog', table_name => 'orders', operation => 'INSERT') AS syslog_line LIMIT 1;
-- orders is classified financial: every value and the subject become keyed pseudonyms (key derived from the master key).
SELECT witness.export('csv', table_name => 'orders', operation => 'INSERT', anonymise => true) AS anonymised_csv LIMIT 2;

\echo
\echo '==== 17. Looking things up: the newest changes of orders, one row''s history, one field''s changes (docs/views.md) ===='
-- The line of text never shows a value of a classified column: orders is financial, its keys read ***.
SELECT stmt_time::time(0) AS at, display_text FROM witness.search(target => 'orders', max_rows => 5);
SELECT operation, actor, fields, new_values FROM witness.entity_history('orders', '{"id": 1}');
SELECT entry_id, row_key, field, old_value, new_value, actor FROM witness.changes
 WHERE table_name = 'orders' AND operation = 'UPDATE' ORDER BY entry_id, field LIMIT 5;

\echo
\echo '==== 18. A superuser rewrites history: alice''s order of 120.50 becomes 12.50, guards disabled ===='
BEGIN;
ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
UPDATE witness.entry
   SET new_values = jsonb_set(new_values::jsonb, '{amount}', '12.50')::json
 WHERE table_name = 'orders' AND op = 'I' AND new_values ->> 'id' = '1';
ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
COMMIT;

\echo
\echo '==== 19. Verification names the altered entry ===='
SELECT status, problem, block_no, entry_id, detail FROM witness.verify();

\echo
\echo '==== 20. Anomaly alerts: what the rules noticed in this demo, each an entry of the chain and a NOTIFY witness_alert (docs/alerts.md) ===='
-- A recorded verification finds the entry rewritten in step 18: the rule verification_failed fires.
SELECT DISTINCT status FROM witness.verify_and_checkpoint(resume => false);
SELECT count(*) >= 0 AS sealed FROM witness.seal();
SELECT count(*) >= 0 AS evaluated FROM witness.check_alerts();
SELECT alert_id, rule, severity, left(summary, 100) AS summary FROM witness.alert ORDER BY alert_id;
