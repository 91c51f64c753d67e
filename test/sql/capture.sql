-- What an entry records for INSERT, UPDATE, DELETE and TRUNCATE, and who it names.
CREATE TABLE accounts (id int PRIMARY KEY, owner_email text, balance numeric(12,2), pin text, memo text);
SELECT witness.track('accounts', 'financial', column_tags => '{"owner_email": "pii"}', exclude_columns => '{pin}',
                     subject_column => 'owner_email', encrypt => false);
CREATE VIEW trail AS
	SELECT operation, row_key, subject, tags, old_values, new_values
	FROM witness.log WHERE table_name = 'accounts' ORDER BY id;

INSERT INTO accounts VALUES (1, 'ann@example.com', 100.00, '1234', NULL), (2, 'bob@example.com', 5.50, '9999', 'vip');
-- UPDATE records only changed columns, old and new, plus the key.
UPDATE accounts SET balance = balance - 10 WHERE id = 1;
-- An UPDATE that changes no captured column records nothing: same value, or only an excluded column.
UPDATE accounts SET balance = balance WHERE id = 1;
UPDATE accounts SET pin = '0000' WHERE id = 2;
-- A NULL becoming a value and back is a change.
UPDATE accounts SET memo = 'note' WHERE id = 1;
UPDATE accounts SET memo = NULL WHERE id = 1;
-- Changing the key: the entry carries the new key, old and new key values.
UPDATE accounts SET id = 3 WHERE id = 2;
DELETE FROM accounts WHERE id = 3;
SELECT * FROM trail;

-- Excluded columns never appear anywhere in the trail.
SELECT count(*) AS entries_mentioning_pin FROM witness.entry e
WHERE e.table_name = 'accounts'
  AND (concat_ws(' ', row_key, subject, old_values, new_values, context) ~ '1234|9999|0000'
       OR old_values::jsonb ? 'pin' OR new_values::jsonb ? 'pin');

-- TRUNCATE is one entry with no values.
TRUNCATE accounts;
SELECT operation, row_key, old_values, new_values, tags FROM witness.log WHERE table_name = 'accounts' AND operation = 'TRUNCATE';

-- Rolled-back work leaves nothing; committed work always an entry.
SELECT count(*) AS before FROM witness.entry WHERE table_name = 'accounts' \gset
BEGIN;
INSERT INTO accounts VALUES (10, 'rolled@back', 1, 'x', NULL);
ROLLBACK;
BEGIN;
INSERT INTO accounts VALUES (11, 'kept@example.com', 1, 'x', NULL);
SAVEPOINT s1;
UPDATE accounts SET balance = 999 WHERE id = 11;
INSERT INTO accounts VALUES (12, 'undone@example.com', 1, 'x', NULL);
ROLLBACK TO SAVEPOINT s1;
UPDATE accounts SET balance = 2 WHERE id = 11;
COMMIT;
SELECT operation, row_key, old_values, new_values FROM witness.log
WHERE table_name = 'accounts' ORDER BY id OFFSET :before;

-- A failing statement leaves nothing either.
INSERT INTO accounts VALUES (13, 'a@b', 1, 'x', NULL), (11, 'dup@key', 1, 'x', NULL);
SELECT count(*) = :before + 2 AS nothing_from_failed_statement FROM witness.entry WHERE table_name = 'accounts';

-- Attribution: users, application name, and what the application says with SET LOCAL.
SET client_min_messages = warning;
DROP ROLE IF EXISTS teller;
RESET client_min_messages;
CREATE ROLE teller NOLOGIN;
GRANT ALL ON accounts TO teller;
SET application_name = 'branch-app';
BEGIN;
SET LOCAL ROLE teller;
SET LOCAL witness.actor = 'alice@bank.example';
SET LOCAL witness.reason = 'ticket 42: correct balance';
SET LOCAL witness.context = '{"session": "s-1", "ip": "203.0.113.7", "mfa": true, "n": 1.50}';
UPDATE accounts SET balance = 3 WHERE id = 11;
COMMIT;
-- SET LOCAL ends with the transaction: the next change carries none of it.
UPDATE accounts SET balance = 4 WHERE id = 11;
RESET application_name;
SELECT session_user_name, current_user_name, application_name, client_addr, client_port,
       backend_pid = pg_backend_pid() AS pid_ok, actor, reason, context
FROM witness.log WHERE table_name = 'accounts' ORDER BY id DESC LIMIT 2;

-- Entries of one transaction share its top-level transaction id, even from a subtransaction.
BEGIN;
INSERT INTO accounts VALUES (20, 'x@y', 1, 'p', NULL);
SAVEPOINT a;
INSERT INTO accounts VALUES (21, 'x@y', 1, 'p', NULL);
RELEASE SAVEPOINT a;
SELECT pg_current_xact_id() AS xid \gset
COMMIT;
SELECT row_key, xid = :'xid'::xid8 AS same_xid FROM witness.log WHERE table_name = 'accounts' ORDER BY id DESC LIMIT 2;
-- Also when the transaction's first change is made two savepoints deep: the row's xmin is the
-- subtransaction's own id, the entry records the top-level one (pg_current_xact_id()).
BEGIN;
SAVEPOINT a;
SAVEPOINT b;
INSERT INTO accounts VALUES (22, 'x@y', 1, 'p', NULL);
SELECT pg_current_xact_id() AS top_xid, xmin AS row_xmin FROM accounts WHERE id = 22 \gset
RELEASE SAVEPOINT a;
COMMIT;
SELECT row_key, xid = :'top_xid'::xid8 AS top_level_xid,
       (xid::text::bigint % 4294967296)::text <> :'row_xmin' AS not_the_subtransaction_xid
FROM witness.log WHERE table_name = 'accounts' AND row_key ->> 'id' = '22';

-- witness.context must be a JSON object.
SET witness.context = 'not json';
SET witness.context = 'null';
SET witness.context = '[1, 2]';
SET witness.context = '';
-- A keyless table is tracked; its entries carry no key.
CREATE TABLE events (at date, what text);
SELECT witness.track('events');
INSERT INTO events VALUES ('2024-01-01', 'x');
SELECT operation, row_key, new_values FROM witness.log WHERE table_name = 'events';

-- Every way of writing a row is captured: MERGE with each of its actions, INSERT ... ON CONFLICT
-- (its update, and DO NOTHING which changes nothing), and data-modifying CTEs, in the order made.
CREATE TABLE stock (sku int PRIMARY KEY, qty int);
SELECT witness.track('stock');
SELECT count(*) AS before FROM witness.entry WHERE table_name = 'stock' \gset
INSERT INTO stock VALUES (1, 10), (2, 20), (3, 30);
MERGE INTO stock s USING (VALUES (1, 11), (2, NULL), (4, 40)) AS v(sku, qty) ON s.sku = v.sku
WHEN MATCHED AND v.qty IS NULL THEN DELETE
WHEN MATCHED THEN UPDATE SET qty = v.qty
WHEN NOT MATCHED THEN INSERT VALUES (v.sku, v.qty);
INSERT INTO stock VALUES (3, 33), (5, 50) ON CONFLICT (sku) DO UPDATE SET qty = excluded.qty;
INSERT INTO stock VALUES (3, 99) ON CONFLICT DO NOTHING;
WITH gone AS (DELETE FROM stock WHERE sku = 4 RETURNING sku, qty)
INSERT INTO stock SELECT sku + 100, qty FROM gone;
SELECT operation, row_key, old_values, new_values FROM witness.log
WHERE table_name = 'stock' ORDER BY id OFFSET :before;

-- Every entry's stored leaf hash matches the hash recomputed from its stored content.
SELECT count(*) FILTER (WHERE leaf_hash <> substring(witness.entry_leaf_hash(e) FOR 8)) AS mismatches, count(*) > 0 AS some
FROM witness.entry e;

DROP OWNED BY teller;
DROP ROLE teller;
