-- The same kind of changes as tpcb-like with the marker delta 1000000013, then ROLLBACK: nothing of
-- it may reach the trail or a block, although the sealer runs all the time.
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
BEGIN;
SELECT set_config('witness.actor', 'client-' || :client_id, true);
UPDATE pgbench_accounts SET abalance = abalance + 1000000013 WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + 1000000013 WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + 1000000013 WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler) VALUES (:tid, :bid, :aid, 1000000013, CURRENT_TIMESTAMP, 'marker');
ROLLBACK;
