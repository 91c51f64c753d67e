-- Baseline (c) of bench/run.sh: the classic PL/pgSQL audit trigger, the approach of
-- supa_audit and of the PostgreSQL wiki's audit-trigger: one AFTER ROW trigger per table that
-- writes the whole old and new row as jsonb into one audit table.
--
-- Idempotent; bench/run.sh loads it once per database. Switch it on and off per table with
--   SELECT bench_audit.enable('t');   SELECT bench_audit.disable('t');

CREATE SCHEMA IF NOT EXISTS bench_audit;

CREATE TABLE IF NOT EXISTS bench_audit.log (
	id bigserial PRIMARY KEY,
	table_name text NOT NULL,
	op text NOT NULL,
	changed_at timestamptz NOT NULL DEFAULT now(),
	db_user text NOT NULL DEFAULT current_user,
	old_row jsonb,
	new_row jsonb
);

CREATE OR REPLACE FUNCTION bench_audit.log_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
	INSERT INTO bench_audit.log (table_name, op, old_row, new_row)
	VALUES (TG_TABLE_SCHEMA || '.' || TG_TABLE_NAME,
	        TG_OP,
	        CASE WHEN TG_OP IN ('UPDATE', 'DELETE') THEN to_jsonb(OLD) END,
	        CASE WHEN TG_OP IN ('INSERT', 'UPDATE') THEN to_jsonb(NEW) END);
	RETURN NULL; -- AFTER trigger: the result is ignored
END
$$;

CREATE OR REPLACE FUNCTION bench_audit.enable(target regclass) RETURNS void
LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
	EXECUTE format('DROP TRIGGER IF EXISTS bench_audit_log ON %s', target);
	EXECUTE format('CREATE TRIGGER bench_audit_log AFTER INSERT OR UPDATE OR DELETE ON %s '
	               'FOR EACH ROW EXECUTE FUNCTION bench_audit.log_change()', target);
END
$$;

CREATE OR REPLACE FUNCTION bench_audit.disable(target regclass) RETURNS void
LANGUAGE plpgsql SET client_min_messages = warning
AS $$
BEGIN
	EXECUTE format('DROP TRIGGER IF EXISTS bench_audit_log ON %s', target);
END
$$;
