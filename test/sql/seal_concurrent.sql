-- Sealing while another transaction is open: its entries wait for a later block, and a rolled-back
-- savepoint leaves nothing behind, in the trail, in any block or in verification.
CREATE TABLE pending_demo (id int PRIMARY KEY, v text);
SELECT witness.track('pending_demo');
SELECT count(*) >= 0 AS sealed_earlier_entries FROM witness.seal();
CREATE EXTENSION dblink;
SELECT dblink_connect('open', format('dbname=%s port=%s host=%s', current_database(), current_setting('port'),
                                     split_part(current_setting('unix_socket_directories'), ',', 1)));

-- The other session writes, and rolls back a savepoint, in a transaction it keeps open.
SELECT dblink_exec('open', 'BEGIN');
SELECT dblink_exec('open', 'INSERT INTO pending_demo VALUES (1, ''kept'')');
SELECT dblink_exec('open', 'SAVEPOINT s');
SELECT dblink_exec('open', 'INSERT INTO pending_demo VALUES (2, ''rolled back'')');
SELECT dblink_exec('open', 'ROLLBACK TO SAVEPOINT s');
-- This session commits a change meanwhile.
INSERT INTO pending_demo VALUES (3, 'committed first');

-- The seal takes this session's entry only; the open transaction's entry is not in any block.
SELECT entry_count AS sealed_now FROM witness.seal();
SELECT status FROM witness.verify();

-- The other transaction commits: the next seal takes exactly its one surviving entry.
SELECT dblink_exec('open', 'COMMIT');
SELECT entry_count AS sealed_after_commit FROM witness.seal();
-- The entry written first, in the transaction committed last, is in the later block.
SELECT (witness.block_of(k.id)).block_no - (witness.block_of(c.id)).block_no AS kept_sealed_blocks_later
FROM witness.entry k, witness.entry c
WHERE k.table_name = 'pending_demo' AND k.new_values ->> 'v' = 'kept'
  AND c.table_name = 'pending_demo' AND c.new_values ->> 'v' = 'committed first';
SELECT string_agg(new_values ->> 'v', ', ' ORDER BY id) AS entries FROM witness.entry WHERE table_name = 'pending_demo';
SELECT count(*) AS rolled_back_entries FROM witness.entry WHERE new_values ->> 'v' = 'rolled back';
SELECT status, entries_pending FROM witness.verify();
SELECT (SELECT sum(entry_count) FROM witness.block) = (SELECT count(*) FROM witness.entry) AS every_entry_sealed_once;

-- A seal inside a writing transaction (a review): the transaction writes, in a savepoint too, seals,
-- another commits, it seals again and writes more. Its own entries, before and after either seal,
-- wait for the first block sealed after it commits, and none is left in no block.
SELECT dblink_exec('open', 'BEGIN');
SELECT dblink_exec('open', 'INSERT INTO pending_demo VALUES (4, ''before the seal'')');
SELECT dblink_exec('open', 'SAVEPOINT s');
SELECT dblink_exec('open', 'INSERT INTO pending_demo VALUES (5, ''in a savepoint'')');
SELECT * FROM dblink('open', 'SELECT count(*) FROM witness.seal()') AS t(blocks bigint);
INSERT INTO pending_demo VALUES (6, 'committed meanwhile');
SELECT * FROM dblink('open', 'SELECT entry_count FROM witness.seal()') AS t(sealed_inside bigint);
SELECT dblink_exec('open', 'UPDATE pending_demo SET v = ''after the seal'' WHERE id = 5');
SELECT dblink_exec('open', 'RELEASE SAVEPOINT s');
SELECT dblink_exec('open', 'INSERT INTO pending_demo VALUES (7, ''after the seal too'')');
SELECT dblink_exec('open', 'COMMIT');
SELECT entry_count AS sealed_after_commit FROM witness.seal();
SELECT status, entries_pending FROM witness.verify();
SELECT (SELECT sum(entry_count) FROM witness.block) = (SELECT count(*) FROM witness.entry) AS every_entry_sealed_once;
SELECT count(*) FILTER (WHERE witness.block_of(id) IS NULL) AS entries_in_no_block FROM witness.entry;

-- Nor can such a transaction be prepared: it would hold every sealer's lock until COMMIT PREPARED
-- (a review: a forgotten one stopped sealing while verify() said valid).
BEGIN;
SELECT count(*) >= 0 AS sealed FROM witness.seal();
PREPARE TRANSACTION 'sealed_then_prepared';
SELECT count(*) AS prepared FROM pg_prepared_xacts WHERE gid = 'sealed_then_prepared';

SELECT dblink_disconnect('open');
DROP EXTENSION dblink;
DROP TABLE pending_demo;
