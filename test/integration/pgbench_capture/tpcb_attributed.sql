-- pgbench's builtin tpcb-like transaction, attributed to the pgbench client that runs it.
-- witness.actor names the client; witness.context names the script and the top-level
-- transaction id, which the test compares with the xid pg_witness records. Differences from the
-- builtin: the history row's filler names the script, and nextval('it_tx_tpcb') counts the
-- transactions this script ran (sequences are not transactional; pgbench's own per-script counts
-- are not exact with several threads).
\set aid random(1, 100000 * :scale)
\set bid random(1, 1 * :scale)
\set tid random(1, 10 * :scale)
\set delta random(-5000, 5000)
BEGIN;
SELECT set_config('witness.actor', 'client-' || :client_id, true), set_config('witness.context', json_build_object('script', 'tpcb', 'txid', txid_current())::text, true), nextval('it_tx_tpcb');
UPDATE pgbench_accounts SET abalance = abalance + :delta WHERE aid = :aid;
SELECT abalance FROM pgbench_accounts WHERE aid = :aid;
UPDATE pgbench_tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
UPDATE pgbench_branches SET bbalance = bbalance + :delta WHERE bid = :bid;
INSERT INTO pgbench_history (tid, bid, aid, delta, mtime, filler) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP, 'tpcb');
END;
