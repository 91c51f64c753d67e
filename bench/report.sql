-- Summary of one bench/run.sh invocation, computed from its raw results (table bench_result,
-- loaded from the CSV). Medians over rounds; ratios are ratios of medians.
\set ON_ERROR_STOP on
\set QUIET on
\pset footer off
\pset null '-'

CREATE TEMP TABLE med AS
SELECT workload, clients, mode, unit,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY value) AS median,
       min(value) AS lo, max(value) AS hi, count(*) AS n,
       -- what the mode captured per transaction (tpcb) or per row (bulk): a sanity check
       sum(CASE mode WHEN 'b' THEN witness_entries WHEN 'e' THEN witness_entries WHEN 'c' THEN plpgsql_rows WHEN 'd' THEN pgaudit_lines
                     ELSE witness_entries + plpgsql_rows + pgaudit_lines END)::numeric
           / NULLIF(sum(units), 0) AS captured_per_unit
FROM bench_result
GROUP BY workload, clients, mode, unit;

CREATE TEMP TABLE wl AS
SELECT * FROM (VALUES
	(1, 'tpcb', 1, 'tpcb-like, 1 client', 'tps'),
	(1.5, 'tpcb', 4, 'tpcb-like, 4 clients', 'tps'),
	(2, 'tpcb', 16, 'tpcb-like, 16 clients', 'tps'),
	(2.5, 'tpcb', 64, 'tpcb-like, 64 clients', 'tps'),
	(3, 'bulk_insert', 1, 'bulk INSERT', 'rows/s'),
	(4, 'bulk_update', 1, 'bulk UPDATE', 'rows/s'),
	(5, 'bytes_per_entry', 1, 'bytes per entry (bulk I+U)', 'bytes')
) AS w(ord, workload, clients, label, unit);

CREATE TEMP TABLE piv AS
SELECT w.ord, w.label, w.unit, w.workload,
       max(m.median) FILTER (WHERE m.mode = 'a') AS a,
       max(m.median) FILTER (WHERE m.mode = 'b') AS b,
       max(m.median) FILTER (WHERE m.mode = 'c') AS c,
       max(m.median) FILTER (WHERE m.mode = 'd') AS d,
       max(m.median) FILTER (WHERE m.mode = 'e') AS e
FROM wl w JOIN med m ON m.workload = w.workload AND m.clients = w.clients
GROUP BY w.ord, w.label, w.unit, w.workload;

\echo
\echo 'Medians per mode: (a) untracked, (b) pg_witness, (c) PL/pgSQL audit trigger, (d) pgaudit log=write,'
\echo '(e) pg_witness with every table encrypted per subject (pgbench: account, teller, branch id; bulk: one subject per row)'
SELECT label AS workload, unit,
       round(a::numeric, 0) AS "(a) untracked",
       round(b::numeric, 0) AS "(b) pg_witness",
       round(c::numeric, 0) AS "(c) plpgsql",
       round(d::numeric, 0) AS "(d) pgaudit",
       round(e::numeric, 0) AS "(e) encrypted",
       CASE WHEN workload <> 'bytes_per_entry' THEN round((b / NULLIF(a, 0))::numeric, 3) END AS "b/a",
       CASE WHEN workload <> 'bytes_per_entry' THEN round((e / NULLIF(a, 0))::numeric, 3) END AS "e/a",
       CASE WHEN workload <> 'bytes_per_entry' THEN round((c / NULLIF(a, 0))::numeric, 3) END AS "c/a",
       CASE WHEN workload <> 'bytes_per_entry' THEN round((d / NULLIF(a, 0))::numeric, 3) END AS "d/a",
       round((b / NULLIF(c, 0))::numeric, 3) AS "b/c"
FROM piv ORDER BY ord;

SELECT count(*) FILTER (WHERE others_cpu_pct > 25) AS disturbed, count(*) AS runs,
       count(*) FILTER (WHERE others_cpu_pct > 25) > 0 AS any_disturbed
FROM bench_result WHERE others_cpu_pct IS NOT NULL \gset
\if :any_disturbed
\echo
\echo 'WARNING:' :disturbed 'of' :runs 'measured runs shared the machine with other processes that used more than 25% of its CPU'
\echo 'time (last table, column "CPU used by others"): ratios involving those runs are unreliable.'
\echo
\endif
\echo 'Targets'
WITH r AS (SELECT ord, workload, b / NULLIF(a, 0) AS b_a, b / NULLIF(c, 0) AS b_c, e / NULLIF(a, 0) AS e_a, e FROM piv),
t AS (
	SELECT 1 AS ord, 'tpcb-like 16 clients: pg_witness / untracked' AS target, (SELECT b_a FROM r WHERE ord = 2) AS measured, '>= 0.85' AS required, 0.85 AS lim, true AS at_least
	UNION ALL SELECT 2, 'tpcb-like 1 client: pg_witness / untracked', (SELECT b_a FROM r WHERE ord = 1), '>= 0.80', 0.80, true
	UNION ALL SELECT 3, 'bulk INSERT: pg_witness / untracked', (SELECT b_a FROM r WHERE workload = 'bulk_insert'), '>= 0.40', 0.40, true
	UNION ALL SELECT 4, 'bulk INSERT: pg_witness / plpgsql', (SELECT b_c FROM r WHERE workload = 'bulk_insert'), '>= 2.00', 2.0, true
	UNION ALL SELECT 5, 'bulk UPDATE: pg_witness / untracked', (SELECT b_a FROM r WHERE workload = 'bulk_update'), '>= 0.40', 0.40, true
	UNION ALL SELECT 6, 'bulk UPDATE: pg_witness / plpgsql', (SELECT b_c FROM r WHERE workload = 'bulk_update'), '>= 2.00', 2.0, true
	UNION ALL SELECT 7, 'bytes per entry: pg_witness / plpgsql', (SELECT b_c FROM r WHERE workload = 'bytes_per_entry'), '<= 1.00', 1.0, false
	UNION ALL SELECT 8, 'encrypted, tpcb-like 16 clients: / untracked', (SELECT e_a FROM r WHERE ord = 2), '>= 0.85', 0.85, true
	UNION ALL SELECT 9, 'encrypted, bulk INSERT, a subject per row: / untracked', (SELECT e_a FROM r WHERE workload = 'bulk_insert'), '>= 0.35', 0.35, true
	UNION ALL SELECT 10, 'encrypted, bytes per entry (bulk I+U)', (SELECT e FROM r WHERE workload = 'bytes_per_entry'), '<= 300', 300, false
)
SELECT target, round(measured::numeric, 3) AS measured, required,
       CASE WHEN measured IS NULL THEN 'n/a'
            WHEN (at_least AND measured >= lim) OR (NOT at_least AND measured <= lim) THEN 'PASS'
            ELSE 'FAIL' END AS result
FROM t ORDER BY ord;

\echo 'Spread over rounds; per-round ratio to (a) of the same round; what each mode captured per transaction or row'
\echo '(captured: pg_witness entries, PL/pgSQL audit rows, pgaudit log lines; expected 4 per tpcb-like transaction, 1 per bulk row)'
\echo '(CPU used by others: share of the machine''s CPU time (nproc x wall time) that processes outside the benchmark used during the run, per round)'
WITH per_round AS (
	SELECT r.workload, r.clients, r.mode,
	       string_agg(to_char(r.value / NULLIF(a.value, 0), 'FM990.00'), ' ' ORDER BY r.round) AS ratios,
	       string_agg(to_char(r.others_cpu_pct, 'FM990') || '%', ' ' ORDER BY r.round) AS others
	FROM bench_result r
	JOIN bench_result a ON a.round = r.round AND a.workload = r.workload AND a.clients = r.clients AND a.mode = 'a'
	GROUP BY r.workload, r.clients, r.mode
)
SELECT w.label AS workload, m.mode, m.n AS rounds, round(m.median::numeric, 1) AS median,
       round(m.lo::numeric, 1) AS min, round(m.hi::numeric, 1) AS max,
       p.ratios AS "ratio to (a) per round",
       round(m.captured_per_unit, 2) AS captured,
       p.others AS "CPU used by others"
FROM med m JOIN wl w ON w.workload = m.workload AND w.clients = m.clients
LEFT JOIN per_round p ON p.workload = m.workload AND p.clients = m.clients AND p.mode = m.mode
ORDER BY w.ord, m.mode;
