#!/usr/bin/env bash
# Integration test: a daily export scheduled with pg_cron (docs/exports.md, "Scheduling with
# pg_cron"), with the job and the function exactly as the documentation gives them.
#
# A cluster of its own with shared_preload_libraries = 'pg_witness,pg_cron' (Debian's
# postgresql-15-cron), jobs run by background workers. The daily export function of the docs is
# scheduled every minute (pg_cron 1.4 has no finer schedule) for today instead of yesterday; once
# the job has run, its file holds one JSON line per entry of the day, ids and leaf hashes those of
# the trail, and the job's run is "succeeded" in cron.job_run_details. An encrypted variant, its
# passphrase read from a file by the server, is decrypted with the openssl command line. The monthly
# report job of the docs (the previous month's: a report of a month not over is refused, report.md)
# stores the signed HTML report in its table.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it). Runs as root (the cluster belongs to
# PG_OS_USER, postgres) or as the owner of the cluster. Takes about a minute (the next whole minute).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

own_cluster_setup pg_cron_export

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=postgres

[[ -f "$("$PG_BINDIR/pg_config" --pkglibdir 2>/dev/null || echo /usr/lib/postgresql/15/lib)/pg_cron.so" ]] ||
	[[ -f "$(dirname "$PG_BINDIR")/lib/pg_cron.so" ]] || { echo "pg_cron not installed (Debian package postgresql-15-cron)"; exit 1; }

# ---------------------------------------------------------------------------------------------
say "a cluster of its own: shared_preload_libraries = 'pg_witness,pg_cron'"

own_cluster_init "$WORK" "$PORT" "shared_preload_libraries = 'pg_witness,pg_cron'" "witness.seal_interval = '1s'" \
	"cron.database_name = 'postgres'" "cron.use_background_workers = on" "max_worker_processes = 32" \
	"cron.timezone = 'UTC'"
own_cluster_start "$WORK"
mkdir -p "$WORK/exports"
chmod 700 "$WORK/exports"
[[ $EUID -ne 0 ]] || chown "$PG_OS_USER:" "$WORK/exports"
# The passphrase of the encrypted export, in a file only the server's user reads; the HMAC key the
# monthly report is signed with (docs/report.md).
as_pg sh -c "umask 077; printf 'correct horse battery\n' > '$WORK/exports/passphrase'; openssl rand -hex 32 > '$WORK/exports/hmac.key'"
q "ALTER SYSTEM SET witness.hmac_key_file = '$WORK/exports/hmac.key'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null

q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE EXTENSION pg_cron" >/dev/null
q "CREATE TABLE invoice (id int PRIMARY KEY, amount numeric, customer text)" >/dev/null
q "SELECT witness.track('invoice', column_tags => '{\"customer\": \"pii\"}')" >/dev/null
q "INSERT INTO invoice SELECT g, g * 10, 'c' || g FROM generate_series(1, 5) g" >/dev/null
q "UPDATE invoice SET amount = amount + 1 WHERE id <= 2" >/dev/null

# ---------------------------------------------------------------------------------------------
say "the daily export function of docs/exports.md, scheduled every minute for today"

# Verbatim from docs/exports.md ("Scheduling with pg_cron").
q "$(sed -n '/^-- BEGIN witness_daily_export/,/^-- END witness_daily_export/p' "$HERE/../../docs/exports.md" | sed '1d;$d')" >/dev/null
q "$(sed -n '/^-- BEGIN witness_monthly_report/,/^-- END witness_monthly_report/p' "$HERE/../../docs/exports.md" | sed '1d;$d')" >/dev/null
check "the documented functions exist" "t|t" \
	"SELECT to_regprocedure('public.witness_daily_export(text, date, text)') IS NOT NULL,
	        to_regprocedure('public.witness_monthly_report(date)') IS NOT NULL"
q "SELECT cron.schedule('witness-export-test', '* * * * *',
     \$\$SELECT public.witness_daily_export('$WORK/exports', (now() AT TIME ZONE 'UTC')::date)\$\$)" >/dev/null
q "SELECT cron.schedule('witness-export-test-enc', '* * * * *',
     \$\$SELECT public.witness_daily_export('$WORK/exports', (now() AT TIME ZONE 'UTC')::date,
                                           btrim(pg_read_file('$WORK/exports/passphrase'), E'\\n'))\$\$)" >/dev/null
q "SELECT cron.schedule('witness-report-test', '* * * * *',
     \$\$SELECT public.witness_monthly_report()\$\$)" >/dev/null
DAY="$(q "SELECT (now() AT TIME ZONE 'UTC')::date")"
note "waiting for the next minute (pg_cron runs the jobs at second 0)"
wait_for "the three jobs succeeded" 100 \
	"SELECT count(DISTINCT d.jobid) = 3 FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE (j.jobname LIKE 'witness-export-test%' OR j.jobname = 'witness-report-test') AND d.status = 'succeeded'" || true
qt "SELECT j.jobname, d.status, left(d.return_message, 60) AS message FROM cron.job_run_details d JOIN cron.job j USING (jobid) ORDER BY d.runid" | indent
check "the jobs' runs succeeded" "t" \
	"SELECT count(DISTINCT d.jobid) = 3 AND bool_and(d.status = 'succeeded') FROM cron.job_run_details d JOIN cron.job j USING (jobid)
	 WHERE j.jobname LIKE 'witness-export-test%' OR j.jobname = 'witness-report-test'"
q "SELECT cron.unschedule('witness-export-test')" >/dev/null
q "SELECT cron.unschedule('witness-export-test-enc')" >/dev/null
q "SELECT cron.unschedule('witness-report-test')" >/dev/null

# ---------------------------------------------------------------------------------------------
say "the files: one JSON line per entry of the day, as the trail has them"

FILE="$WORK/exports/trail-$DAY.jsonl"
as_pg cat "$FILE" >"$WORK/export.jsonl"
q "SELECT l.id || ' ' || encode(l.leaf_hash, 'hex') FROM witness.log l
   WHERE l.stmt_time >= '$DAY'::timestamp AT TIME ZONE 'UTC' AND l.stmt_time < ('$DAY'::date + 1)::timestamp AT TIME ZONE 'UTC'
   ORDER BY l.id" >"$WORK/trail.txt"
# The trail goes on (the jobs' own activity and runs are entries too): the file holds what existed
# when the job ran, which starts with the invoice entries.
check_ok "every line is JSON whose id and leaf hash are the trail's" "$(python3 - "$WORK/export.jsonl" "$WORK/trail.txt" <<'PY'
import json, sys
trail = dict(l.split() for l in open(sys.argv[2]))
lines = open(sys.argv[1], encoding='utf-8').read().split('\n')
assert lines[-1] == '', 'no final line break'
docs = [json.loads(l) for l in lines[:-1]]
bad = [d['entry_id'] for d in docs if trail.get(str(d['entry_id'])) != d['leaf_hash']]
invoices = [d for d in docs if d['table_name'] == 'invoice']
ids = [d['entry_id'] for d in docs]
print('ok' if not bad and len(invoices) == 7 and ids == sorted(ids) else
      'bad %s, %d invoice lines, sorted %s' % (bad, len(invoices), ids == sorted(ids)))
PY
)"
as_pg cat "$WORK/exports/trail-$DAY.jsonl.enc" >"$WORK/export.enc"
as_pg cat "$WORK/exports/passphrase" >"$WORK/pass"
if openssl enc -d -a -aes-256-cbc -pbkdf2 -iter 100000 -md sha256 -pass "file:$WORK/pass" \
	-in "$WORK/export.enc" -out "$WORK/decrypted.jsonl" 2>"$WORK/openssl.err"; then
	check_ok "openssl decrypts the encrypted file into the day's JSON lines" "$(python3 - "$WORK/decrypted.jsonl" <<'PY'
import json, sys
docs = [json.loads(l) for l in open(sys.argv[1], encoding='utf-8')]
print('ok' if sum(d['table_name'] == 'invoice' for d in docs) == 7 else 'got %d lines' % len(docs))
PY
)"
else
	check_ok "openssl decrypts the encrypted file" "$(cat "$WORK/openssl.err")"
fi

# ---------------------------------------------------------------------------------------------
say "the monthly report: the signed HTML report of the month in its table"

check "one report, of the previous month, HTML, signed with the HMAC key" "1|t|t|t" \
	"SELECT count(*), bool_and(month = (date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month')::date),
	        bool_and(html LIKE '%<html%' AND html LIKE '%</html>%'), bool_and(html ~ 'hmac_sha256 [0-9a-f]{64}')
	 FROM public.witness_monthly_report"

finish pg_cron_export
