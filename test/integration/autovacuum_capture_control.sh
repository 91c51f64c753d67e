#!/usr/bin/env bash
# Integration test: capture switched off from inside an autovacuum worker is recorded
# (docs/activity.md, "Capture control").
#
# Auto-analyze runs a table owner's code as that owner: the function of an expression index is
# evaluated over the sampled rows. A superuser's function run that way (an attack review) set
# session_replication_role = replica, disabled the capture trigger of a tracked table, changed a row
# and enabled the trigger again; pg_witness recorded nothing, because it recorded activity in client
# sessions and background workers only. This test does the same in a cluster of its own (autovacuum
# every second) and checks that the two trigger changes are capture control activity, that
# capture_off raises an alert, and that the change itself, made where capture was off, has no entry.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it); runs as root (the cluster belongs to
# PG_OS_USER, postgres) or as the cluster's owner. Takes about 10 seconds.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

own_cluster_setup autovacuum_capture_control
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "autovacuum_naptime = 1s"
own_cluster_start "$WORK"
DB=av
Q_HOST=$WORK
Q_PORT=$PORT
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null

say "a superuser's index function that switches capture off when auto-analyze runs it"

"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" >/dev/null <<'SQL'
CREATE EXTENSION pg_witness;
CREATE TABLE public.acct (id int PRIMARY KEY, balance int);
SELECT witness.track('public.acct', 'financial');
INSERT INTO public.acct VALUES (1, 100);
CREATE FUNCTION public.av_work() RETURNS void LANGUAGE plpgsql VOLATILE AS $$
BEGIN
	PERFORM pg_catalog.set_config('session_replication_role', 'replica', true);
	ALTER TABLE public.acct DISABLE TRIGGER witness_capture;
	UPDATE public.acct SET balance = 999999 WHERE id = 1;
	ALTER TABLE public.acct ENABLE ALWAYS TRIGGER witness_capture;
	PERFORM pg_catalog.set_config('session_replication_role', 'origin', true);
END $$;
CREATE FUNCTION public.av_hook(x int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$
BEGIN
	IF current_setting('av.done', true) IS DISTINCT FROM '1'
	   AND (SELECT backend_type FROM pg_catalog.pg_stat_activity WHERE pid = pg_catalog.pg_backend_pid()) = 'autovacuum worker' THEN
		PERFORM pg_catalog.set_config('av.done', '1', true);
		PERFORM public.av_work();
	END IF;
	RETURN x;
END $$;
CREATE TABLE public.av_helper (x int) WITH (autovacuum_analyze_threshold = 0, autovacuum_analyze_scale_factor = 0);
CREATE INDEX ON public.av_helper (public.av_hook(x));
INSERT INTO public.av_helper SELECT generate_series(1, 100);
SELECT witness.flush_activity();
SQL
START="$(q "SELECT COALESCE(max(activity_id), 0) FROM witness.activity")"
if wait_for "auto-analyze runs the function" 90 "SELECT balance = 999999 FROM public.acct WHERE id = 1"; then
	check_ok "auto-analyze ran the function: the row changed" ok
else
	check_ok "auto-analyze ran the function" "balance $(q "SELECT balance FROM public.acct")"
	finish autovacuum_capture_control
fi
q "SELECT witness.flush_activity()" >/dev/null
check "the change made while capture was off has no entry" 1 \
	"SELECT count(*) FROM witness.entry WHERE table_name = 'acct'"
check "the trigger disabled and enabled again: two capture control rows, by the superuser in the autovacuum worker" \
	"capture control|trigger witness_capture on public.acct|postgres|2" \
	"SELECT kind || '|' || min(object_name) || '|' || min(current_user_name) || '|' || count(*) FROM witness.activity
	  WHERE activity_id > $START AND kind = 'capture control' GROUP BY kind" \
	"SELECT activity_id, kind, object_name, current_user_name, message, statement FROM witness.activity WHERE activity_id > $START"
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "SELECT count(*) FROM witness.check_alerts()" >/dev/null
check "capture_off is raised" t "SELECT count(*) > 0 FROM witness.alert WHERE rule = 'capture_off'" \
	"SELECT rule, summary FROM witness.alert"
check "verify(): valid (the activity rows are entries of the chain)" valid "SELECT DISTINCT status FROM witness.verify()"

finish autovacuum_capture_control
