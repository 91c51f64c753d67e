-- One bulk measurement on a fresh public.bench_bulk, in one session (psql variable :rows).
-- Each statement commits on its own (autocommit), so the clock_timestamp() read by the next
-- statement includes the AFTER ROW triggers (they fire at the end of the statement) and the commit.
-- Prints one line: RESULT <insert seconds> <update seconds> <counters after insert> <counters after update>
\set ON_ERROR_STOP on
\set QUIET on

SELECT public.bench_settle() AS settle_insert \gset
CHECKPOINT;
SELECT clock_timestamp() AS t0 \gset
INSERT INTO public.bench_bulk (id, a, b, c, d)
SELECT g, g % 1000, 'row ' || g, g * 1.25, timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second'
FROM generate_series(1, :rows) AS g;
SELECT extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) AS insert_s \gset
SELECT public.bench_counters() AS counters_insert \gset

SELECT public.bench_settle() AS settle_update \gset
CHECKPOINT;
SELECT clock_timestamp() AS t1 \gset
UPDATE public.bench_bulk SET b = b || ' updated', c = c + 1;
SELECT extract(epoch FROM clock_timestamp() - :'t1'::timestamptz) AS update_s \gset
SELECT public.bench_counters() AS counters_update \gset

\echo RESULT :insert_s :update_s :counters_insert :counters_update
