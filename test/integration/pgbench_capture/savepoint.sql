-- Changes with the marker delta 1000000009 inside a savepoint that is rolled back, then a
-- committed tpcb-like change: the account update at top level, the rest inside a savepoint
-- that is released. Only the committed change may reach the trail, under the top-level xid.
-- nextval('it_tx_savepoint') counts the transactions of this script.
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
\set maid random(1, 100000 * :scale)
\set mbid random(1, 1 * :scale)
\set mtid random(1, 10 * :scale)
BEGIN;
SELECT set_config('witness.actor', 'client-' || :client_id, true), set_config('witness.context', json_build_object('script', 'savepoint', 'txid', txid_current())::text, true), nextval('it_tx_savepoint');
SAVEPOINT marker;
UPDATE pgbench_accounts SET abalance = abalance + 1000000009 WHERE aid = :maid;
UPDATE pgbench_tellers SET tbalance = tbalance + 1000000009 WHERE tid = :mtid;
UPDATE pgbench_branches SET bbalance = bbalance + 1000000009 WHERE bid = :mbid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler) VALUES (:mtid, :mbid, :maid, 1000000009, CURRENT_TIMESTAMP, 'marker');
ROLLBACK TO SAVEPOINT marker;
RELEASE SAVEPOINT marker;
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SAVEPOINT committed;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP, 'savepoint');
RELEASE SAVEPOINT committed;
END;
