-- Seal lag of the entries one sealing-on run of bench/seal.sh wrote, read after every one of them
-- is sealed. psql variables: :xid0 (a transaction id taken just before the run: the run's entries
-- are those with xid >= it) and :block0 (the newest block before the run).
--
-- An entry belongs to the first block whose snapshot sees its transaction (what witness.block_of()
-- computes, here once per transaction instead of once per entry). Its lag is that block's sealed_at
-- minus the entry's stmt_time: stmt_time is the start of the statement, before the commit, and
-- sealed_at is taken by the sealer before it inserts and commits the block, so the lag is an upper
-- bound on commit-to-sealed_at (it includes the statement and the commit itself).
--
-- Prints two lines:
--   LAG <entries> <unsealed> <p50 s> <p95 s> <p99 s> <max s> <min s>
--   BLOCKS <blocks sealed since :block0> <entries in them> <mean seconds between their sealed_at>
\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset format unaligned
\pset tuples_only on
\pset fieldsep ' '

WITH run AS (
	SELECT e.xid, e.stmt_time FROM witness.entry e WHERE e.xid >= :'xid0'::xid8
), xact AS (
	SELECT x.xid,
	       (SELECT b.sealed_at FROM witness.block b
	        WHERE b.block_no > :block0 AND pg_visible_in_snapshot(x.xid, b.snapshot)
	        ORDER BY b.block_no LIMIT 1) AS sealed_at
	FROM (SELECT DISTINCT run.xid FROM run) AS x
), lag AS (
	SELECT extract(epoch FROM xact.sealed_at - run.stmt_time)::float8 AS s
	FROM run JOIN xact USING (xid)
)
SELECT 'LAG', count(*), count(*) - count(s),
       round(percentile_cont(0.50) WITHIN GROUP (ORDER BY s)::numeric, 3),
       round(percentile_cont(0.95) WITHIN GROUP (ORDER BY s)::numeric, 3),
       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY s)::numeric, 3),
       round(max(s)::numeric, 3), round(min(s)::numeric, 3)
FROM lag;

SELECT 'BLOCKS', count(*), COALESCE(sum(entry_count), 0),
       COALESCE(round((extract(epoch FROM max(sealed_at) - min(sealed_at)) / NULLIF(count(*) - 1, 0))::numeric, 3), 0)
FROM witness.block WHERE block_no > :block0;
