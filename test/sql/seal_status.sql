-- witness.seal_status and witness.verify() show how far sealing is behind: how many committed
-- entries wait for a block and how long the oldest has waited. Background sealing is off in the
-- regression cluster (witness.seal_interval = 0), so nothing is sealed unless this test seals it.
CREATE TABLE waiting (id int PRIMARY KEY, v text);
SELECT witness.track('waiting');
SELECT count(*) >= 0 AS sealed_earlier_entries FROM witness.seal();
-- At least two blocks, for the range check below.
INSERT INTO waiting VALUES (0, 'zero');
SELECT entry_count FROM witness.seal();

-- Nothing pending: no oldest entry, no age; the newest block is the one just sealed.
SELECT background, entries_pending, oldest_pending_since, oldest_pending_age,
       last_block_no = (SELECT max(block_no) FROM witness.block) AS last_block_is_newest,
       last_sealed_at = (SELECT sealed_at FROM witness.block ORDER BY block_no DESC LIMIT 1) AS last_sealed_at_is_its,
       last_pass_at, last_pass_result, last_error, last_error_at
FROM witness.seal_status;
SELECT status, entries_pending, oldest_pending_age FROM witness.verify();

-- Two committed changes wait; the age is counted from the older one's statement.
INSERT INTO waiting VALUES (1, 'first');
SELECT pg_sleep(0.2);
INSERT INTO waiting VALUES (2, 'second');
SELECT entries_pending,
       oldest_pending_since = (SELECT stmt_time FROM witness.entry WHERE table_name = 'waiting' AND new_values ->> 'v' = 'first')
           AS since_the_first,
       oldest_pending_age >= interval '0.2 s' AS waited_at_least_the_sleep,
       oldest_pending_age < interval '1 hour' AS counted_from_now
FROM witness.seal_status;
SELECT status, entries_pending, oldest_pending_age >= interval '0.2 s' AS waited_at_least_the_sleep,
       oldest_pending_age < interval '1 hour' AS counted_from_now
FROM witness.verify();
-- A range that ends before the newest block counts no pending entries, and gives no age.
SELECT max(block_no) AS newest FROM witness.block \gset
SELECT status, entries_pending, oldest_pending_age FROM witness.verify(:newest - 1, :newest - 1);
SELECT status, entries_pending, oldest_pending_age IS NOT NULL AS has_age
FROM witness.verify_period(now() - interval '1 hour', now() + interval '1 hour');

-- Another session's open transaction: its entry is not committed, so it is not counted.
CREATE EXTENSION dblink;
SELECT dblink_connect('open', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                     split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('open', 'BEGIN');
SELECT dblink_exec('open', 'INSERT INTO waiting VALUES (3, ''open'')');
SELECT entries_pending AS pending_while_open FROM witness.seal_status;
SELECT dblink_exec('open', 'COMMIT');
SELECT entries_pending AS pending_once_committed FROM witness.seal_status;
SELECT dblink_disconnect('open');
DROP EXTENSION dblink;

-- Sealed: nothing waits any more.
SELECT entry_count AS sealed FROM witness.seal();
SELECT entries_pending, oldest_pending_since, oldest_pending_age,
       last_block_no = (SELECT max(block_no) FROM witness.block) AS last_block_is_newest
FROM witness.seal_status;
SELECT status, entries_pending, oldest_pending_age FROM witness.verify();

-- Like the rest of pg_witness, the view gives PUBLIC nothing. A monitoring role granted the view and
-- its function reads it without any access to the trail's tables.
SELECT has_table_privilege('public', 'witness.seal_status', 'SELECT') AS public_may_select,
       has_function_privilege('public', 'witness._seal_status()', 'EXECUTE') AS public_may_execute,
       has_function_privilege('public', 'witness._wake_sealer()', 'EXECUTE') AS public_may_wake;
CREATE ROLE seal_monitor;
GRANT USAGE ON SCHEMA witness TO seal_monitor;
GRANT SELECT ON witness.seal_status TO seal_monitor;
GRANT EXECUTE ON FUNCTION witness._seal_status() TO seal_monitor;
INSERT INTO waiting VALUES (4, 'for the monitor');
SET ROLE seal_monitor;
SELECT entries_pending, oldest_pending_age IS NOT NULL AS has_age FROM witness.seal_status;
SELECT count(*) FROM witness.entry;
RESET ROLE;
REVOKE ALL ON witness.seal_status FROM seal_monitor;
REVOKE ALL ON FUNCTION witness._seal_status() FROM seal_monitor;
REVOKE ALL ON SCHEMA witness FROM seal_monitor;
DROP ROLE seal_monitor;

SELECT count(*) >= 1 AS sealed FROM witness.seal();
DROP TABLE waiting;
