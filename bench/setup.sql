-- Objects bench/run.sh needs in the benchmark database (run once, after pgbench -i).
\set ON_ERROR_STOP on
SET client_min_messages = warning;

CREATE EXTENSION IF NOT EXISTS pg_witness;
CREATE EXTENSION IF NOT EXISTS pgaudit;

-- Mode (c): the PL/pgSQL audit trigger and its table.
\ir plpgsql_audit.sql

-- Counters read before and after every measured run, to check that the mode under test really
-- captured something (and that the other modes did not): "witness entries|plpgsql audit rows".
-- Both are sequence positions, so reading them costs nothing even when the tables are large.
CREATE OR REPLACE FUNCTION public.bench_counters() RETURNS text
LANGUAGE plpgsql
AS $$
DECLARE
	w bigint := 0;
	p bigint := 0;
BEGIN
	-- The last entry id handed out (the sequence itself reserves ids in runs of 1024 since 0.2).
	IF to_regprocedure('witness._last_entry_id()') IS NOT NULL THEN
		w := coalesce(witness._last_entry_id(), 0);
	ELSIF to_regclass('witness.entry_id_seq') IS NOT NULL THEN
		SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO w FROM witness.entry_id_seq;
	END IF;
	SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO p FROM bench_audit.log_id_seq;
	RETURN w || '|' || p;
END
$$;

-- Waits until pg_witness's work after commit has caught up with everything written so far: nothing
-- pending, and the lookup table, the daily summary and the alert rules have taken in every sealed
-- block. Called before every measured run of every mode, so that no run pays for the sealing of the
-- run before it (that cost is measured on its own by bench/seal.sh). Gives up after 120 s; returns
-- the seconds it waited.
CREATE OR REPLACE FUNCTION public.bench_settle() RETURNS numeric
LANGUAGE plpgsql
AS $$
DECLARE
	t0 timestamptz := clock_timestamp();
	last_block bigint;
BEGIN
	LOOP
		SELECT COALESCE(max(b.block_no), 0) INTO last_block FROM witness.block b;
		EXIT WHEN (SELECT s.entries_pending FROM witness.stats s) = 0
		      AND (SELECT COALESCE(max(l.block_no), 0) FROM witness.lookup_state l) >= last_block
		      AND (SELECT COALESCE(max(m.last_block_no), 0) FROM witness.summary_state m) >= last_block
		      AND (SELECT COALESCE(max(a.last_block), 0) FROM witness.alert_state a) >= last_block;
		IF clock_timestamp() - t0 > interval '120 seconds' THEN
			RAISE WARNING 'pg_witness has not caught up after 120 s; measuring anyway';
			EXIT;
		END IF;
		PERFORM pg_sleep(0.1);
	END LOOP;
	RETURN round(extract(epoch FROM clock_timestamp() - t0)::numeric, 1);
END
$$;

-- A fresh table for one bulk measurement.
CREATE OR REPLACE FUNCTION public.bench_new_bulk_table() RETURNS void
LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
	DROP TABLE IF EXISTS public.bench_bulk;
	CREATE TABLE public.bench_bulk (
		id bigint PRIMARY KEY,
		a int,
		b text,
		c numeric,
		d timestamptz
	);
END
$$;
