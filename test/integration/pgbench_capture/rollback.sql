-- The same kind of changes as tpcb-like, with the marker delta 1000000007, then ROLLBACK:
-- nothing of it may reach the trail. nextval('it_tx_rollback') counts the transactions of this
-- script (it survives the ROLLBACK).
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
BEGIN;
SELECT set_config('witness.actor', 'client-' || :client_id, true), set_config('witness.context', json_build_object('script', 'rollback', 'txid', txid_current())::text, true), nextval('it_tx_rollback');
UPDATE pgbench_accounts SET abalance = abalance + 1000000007 WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + 1000000007 WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + 1000000007 WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler) VALUES (:tid, :bid, :aid, 1000000007, CURRENT_TIMESTAMP, 'rollback');
ROLLBACK;
