-- A cancel while witness.seal() fills the lookup table after its block cancels the seal: the step
-- runs in a subtransaction so that its failure leaves the block, but a cancel (statement_timeout
-- here, while another session holds the lookup table's lock) is no failure of the step. It used to
-- become a WARNING, and the block was committed after the timeout (found by a concurrency review).
\set VERBOSITY terse
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS dblink;
CREATE TABLE seal_cancel (id int PRIMARY KEY);
SELECT witness.track('seal_cancel');
RESET client_min_messages;
SELECT count(*) >= 0 AS sealed_before FROM witness.seal();
INSERT INTO seal_cancel VALUES (1);
SELECT max(block_no) AS blocks_before FROM witness.block \gset
SELECT dblink_connect('lookup_holder', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                              split_part(current_setting('unix_socket_directories'), ',', 1)));
SELECT dblink_exec('lookup_holder', 'BEGIN');
SELECT * FROM dblink('lookup_holder', 'SELECT witness._take_mutex(''entry_lookup'')::text') AS t(held text);
SET statement_timeout = '1s';
SELECT count(*) FROM witness.seal();
RESET statement_timeout;
SELECT count(*) AS blocks_committed FROM witness.block WHERE block_no > :blocks_before;
SELECT dblink_exec('lookup_holder', 'COMMIT');
SELECT dblink_disconnect('lookup_holder');
-- Once the lock is free, the entry is sealed and its lookup row added.
SELECT count(*) AS sealed_now FROM witness.seal();
SELECT count(*) AS lookup_rows FROM witness.entry_lookup k JOIN witness.entry e ON e.id = k.id WHERE e.table_name = 'seal_cancel';
SET client_min_messages = warning;
SELECT witness.untrack('seal_cancel');
DROP TABLE seal_cancel;
