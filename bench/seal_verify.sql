-- One timed witness.verify() of the whole trail, for bench/seal.sh. The time is taken inside the
-- session with clock_timestamp(), so it excludes connecting.
-- Prints two lines:
--   RESULT <seconds> <result rows> <statuses> <blocks checked> <entries checked> <entries pending>
--   PROBLEMS <problem: detail; ...> (- when there is none)
\set ON_ERROR_STOP on
\set QUIET on

SELECT clock_timestamp() AS t0 \gset
WITH v AS (SELECT * FROM witness.verify())
SELECT count(*) AS v_rows, COALESCE(string_agg(DISTINCT v.status, ','), '-') AS v_status,
       COALESCE(max(v.blocks_checked), 0) AS v_blocks, COALESCE(max(v.entries_checked), 0) AS v_checked,
       COALESCE(max(v.entries_pending), 0) AS v_pending,
       COALESCE(string_agg(v.problem || ': ' || COALESCE(v.detail, ''), '; '), '-') AS v_problems
FROM v \gset
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS v_s \gset

\echo RESULT :v_s :v_rows :v_status :v_blocks :v_checked :v_pending
\echo PROBLEMS :v_problems
