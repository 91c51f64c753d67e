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
-- each entry names its data subject by email.
SELECT witness.track('customers',
                     classification  => 'pii',
                     column_tags     => '{"card_number": "financial"}',
                     exclude_columns => '{ssn}',
                     subject_column  => 'email');
-- orders: financial data; the data subject is the customer id.
SELECT witness.track('orders', 'financial', subject_column => 'customer_id');

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
\echo '==== 7. Every stored leaf hash matches its recomputation from the stored content ===='
SELECT count(*) FILTER (WHERE leaf_hash = witness.entry_leaf_hash(e)) AS hashes_ok,
       count(*) AS entries
  FROM witness.entry e;
