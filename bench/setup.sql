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
	IF to_regclass('witness.entry_id_seq') IS NOT NULL THEN
		SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO w FROM witness.entry_id_seq;
	END IF;
	SELECT CASE WHEN is_called THEN last_value ELSE 0 END INTO p FROM bench_audit.log_id_seq;
	RETURN w || '|' || p;
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
