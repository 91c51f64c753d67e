#!/usr/bin/env bash
# Integration test: the background sealer verifies the whole trail every witness.verify_interval
# (docs/verification.md, "Scheduled verification").
#
# A cluster of its own (witness.seal_interval = 1s, witness.verify_interval = 1s):
#   - a valid trail: witness.verification_status shows a valid result with the blocks and entries
#     checked, and each run is a row of witness.verification_run, itself captured into the trail;
#   - a superuser tampers with a sealed entry (the guard trigger disabled): the next scheduled
#     verification reports it tampered in witness.verification_status, as a row of
#     witness.verification_run and as a WARNING in the server log;
#   - nobody writes witness.verification_run but pg_witness (a DML-only role, a role with CREATE on
#     the database, the tables' owner, a superuser), and witness_reader does not read the status;
#   - the runs resume from the checkpoint the previous valid run recorded (witness.full_verify_interval
#     = 1h): a sealed entry of an old block tampered with goes unseen by them (docs/verification.md,
#     "Resuming from a checkpoint"), and with witness.full_verify_interval = 0 the next (full) run
#     finds it;
#   - witness.verify_interval = 0 stops the runs.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it); KEEP_LOG=FILE copies the cluster's server
# log there at exit. Runs as root (the cluster belongs to PG_OS_USER, postgres) or as the owner of
# the cluster. Takes about 15 s.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

own_cluster_setup scheduled_verification

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=vt
# q as another role, errors kept: prints the SQLSTATE of a refusal.
sqlstate_as() {
	local role=$1 sql=$2
	"$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -v VERBOSITY=verbose -c "SET ROLE $role" -c "$sql" 2>&1 |
		sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1
}

# ---------------------------------------------------------------------------------------------
say "a cluster of its own: witness.seal_interval = 1s, witness.verify_interval = 1s"

own_cluster_init "$WORK" "$PORT" "witness.record_activity = reads" "witness.seal_interval = '1s'" \
	"witness.verify_interval = '1s'" "witness.full_verify_interval = '1h'"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE vt" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE items (id int PRIMARY KEY, label text)" >/dev/null
q "SELECT witness.track('items')" >/dev/null
q "INSERT INTO items VALUES (1, 'first'), (2, 'second')" >/dev/null
ITEM="$(q "SELECT min(id) FROM witness.entry WHERE table_name = 'items'")"

# ---------------------------------------------------------------------------------------------
say "a valid trail: the status and the runs say so"

wait_for "a valid scheduled verification that saw the items" 30 \
	"SELECT last_status = 'valid' AND blocks_checked >= 1 AND entries_checked >= 2
	 FROM witness.verification_status" || true
check "witness.verification_status: on, valid, no problem" "on|valid|0||t|t" \
	"SELECT scheduled, last_status, problems, first_problem, duration >= '0', next_due_at > last_started_at
	 FROM witness.verification_status"
check "witness.verification_run: valid runs recorded" "t" \
	"SELECT count(*) >= 1 AND bool_and(status = 'valid' AND problems = 0 AND first_problem IS NULL)
	 FROM witness.verification_run"
wait_for "a run sealed into the trail" 30 \
	"SELECT count(*) >= 1 FROM witness.log WHERE table_name = 'verification_run' AND operation = 'INSERT'
	 AND new_values->>'status' = 'valid'" || true
check "each run is an entry of the trail" "t" \
	"SELECT count(*) >= 1 FROM witness.log WHERE table_name = 'verification_run' AND new_values->>'status' = 'valid'"
check "witness.verify() agrees" "valid" "SELECT DISTINCT status FROM witness.verify()"
# The same worker makes the partitions of witness.entry ahead of time (docs/scaling.md): up to two UTC
# months ahead (the current month's too, unless entries of it went to the default partition first).
# A first try that gave up on a lock (autovacuum of the default partition) is repeated 10 s later.
wait_for "the partitions of the coming months" 30 \
	"SELECT count(*) FILTER (WHERE now() + interval '2 months' >= range_start AND now() + interval '2 months' < range_end) > 0
	 FROM witness.partitions WHERE NOT is_default" || true
check "the sealer made the partitions of the coming months" "true|true" \
	"SELECT bool_or(now() + interval '1 month' >= range_start AND now() + interval '1 month' < range_end) || '|' ||
	        bool_or(now() + interval '2 months' >= range_start AND now() + interval '2 months' < range_end)
	 FROM witness.partitions WHERE NOT is_default"

# ---------------------------------------------------------------------------------------------
say "nobody writes witness.verification_run but pg_witness"

q "CREATE ROLE dml_only; GRANT SELECT, INSERT, UPDATE, DELETE ON items TO dml_only;
   CREATE ROLE creator; GRANT CREATE ON DATABASE vt TO creator;
   CREATE ROLE reader; GRANT witness_reader TO reader;
   CREATE ROLE auditor; GRANT witness_auditor TO auditor;
   CREATE ROLE admin; GRANT witness_admin TO admin" >/dev/null
OWNER="$(q "SELECT tableowner FROM pg_tables WHERE schemaname = 'witness' AND tablename = 'verification_run'")"
FORGE="INSERT INTO witness.verification_run (started_at, finished_at, status, problems, blocks_checked,
       entries_checked, entries_pending) VALUES (now(), now(), 'valid', 0, 0, 0, 0)"
check_ok "a DML-only role cannot insert a run (42501)" \
	"$([[ $(sqlstate_as dml_only "$FORGE") == 42501 ]] && echo ok || echo "got [$(sqlstate_as dml_only "$FORGE")]")"
check_ok "a role with CREATE on the database cannot insert a run (42501)" \
	"$([[ $(sqlstate_as creator "$FORGE") == 42501 ]] && echo ok || echo "got [$(sqlstate_as creator "$FORGE")]")"
check_ok "witness_admin cannot insert a run (42501)" \
	"$([[ $(sqlstate_as admin "$FORGE") == 42501 ]] && echo ok || echo "got [$(sqlstate_as admin "$FORGE")]")"
check_ok "the tables' owner ($OWNER) cannot insert a run (42501)" \
	"$([[ $(sqlstate_as "$OWNER" "$FORGE") == 42501 ]] && echo ok || echo "got [$(sqlstate_as "$OWNER" "$FORGE")]")"
check_ok "a superuser cannot delete a run (42501)" \
	"$([[ $(sqlstate_as postgres "DELETE FROM witness.verification_run") == 42501 ]] && echo ok || echo refused-not)"
check_ok "witness_reader cannot read witness.verification_status (42501)" \
	"$([[ $(sqlstate_as reader "SELECT * FROM witness.verification_status") == 42501 ]] && echo ok || echo readable)"
check_ok "witness_auditor reads witness.verification_status" \
	"$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -c "SET ROLE auditor" \
		-c "SELECT last_status FROM witness.verification_status" 2>&1 | grep -qx valid && echo ok || echo refused)"
check_ok "witness_admin reads witness.verification_status and witness.verification_run" \
	"$("$PSQL" -X -q -A -t -h "$WORK" -p "$PORT" -d "$DB" -c "SET ROLE admin" \
		-c "SELECT last_status FROM witness.verification_status" \
		-c "SELECT count(*) > 0 FROM witness.verification_run" 2>&1 | tr '\n' ' ' | grep -qx 'valid t ' && echo ok || echo refused)"

# ---------------------------------------------------------------------------------------------
say "the runs resume from the checkpoint: an old entry tampered with goes unseen until a full run"

wait_for "a scheduled run resumed from a checkpoint" 30 \
	"SELECT count(*) >= 1 FROM witness.verification_run WHERE resumed_from_block IS NOT NULL AND status = 'valid'" || true
check "the first run was full, later ones resumed, each valid one a checkpoint" "t|t|t" \
	"SELECT (SELECT resumed_from_block IS NULL FROM witness.verification_run ORDER BY run_id LIMIT 1),
	        count(*) FILTER (WHERE resumed_from_block IS NOT NULL) >= 1,
	        bool_and(checkpoint_block IS NOT NULL) FROM witness.verification_run WHERE status = 'valid'"
q "BEGIN; ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
   UPDATE witness.entry SET leaf_hash = sha256('forged') WHERE id = $ITEM; COMMIT" >/dev/null
RUNS="$(q "SELECT max(run_id) FROM witness.verification_run")"
wait_for "two more resumed runs" 30 \
	"SELECT count(*) >= 2 FROM witness.verification_run WHERE run_id > $RUNS AND resumed_from_block IS NOT NULL" || true
check "resumed runs do not see the old entry (valid)" "valid" \
	"SELECT string_agg(DISTINCT status, ',') FROM witness.verification_run WHERE run_id > $RUNS"

# ---------------------------------------------------------------------------------------------
say "a superuser tampers with a sealed entry: the next (full) scheduled verification is loud"

q "ALTER SYSTEM SET witness.full_verify_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "a tampered scheduled verification" 30 \
	"SELECT last_status = 'tampered' FROM witness.verification_status" || true
check "witness.verification_status: tampered, the entry named" "tampered|t|t" \
	"SELECT last_status, problems >= 1, first_problem LIKE '%entry $ITEM)%' FROM witness.verification_status"
check "witness.verification_run: the tampered run recorded" "t" \
	"SELECT count(*) >= 1 FROM witness.verification_run WHERE status = 'tampered' AND problems >= 1
	 AND first_problem LIKE '%entry $ITEM)%'"
# An auditor limited to a period that holds none of it reads the kind of problem, not the entry (a
# review read an entry id of another period here).
q "CREATE ROLE vt_period; SELECT witness.grant_auditor('vt_period', now() + interval '1 hour', now(), now() + interval '1 hour')" >/dev/null
check "a period-restricted auditor: the problem's kind, no entry named" "tampered|true|false" \
	"SET ROLE vt_period; SELECT last_status || '|' || (first_problem LIKE '%details withheld%') || '|' || (first_problem LIKE '%entry $ITEM)%')
	 FROM witness.verification_status"
WARNINGS="$(grep -c 'WARNING:  pg_witness: scheduled verification of database "vt" found the trail tampered' "$WORK/server.log" || true)"
check_ok "a WARNING in the server log" "$( ((WARNINGS >= 1)) && echo ok || echo "none found")"
DETAILS="$(grep -c "DETAIL:  [0-9]* problems\{0,1\}; the first: .*entry $ITEM)" "$WORK/server.log" || true)"
check_ok "its DETAIL names the problem" "$( ((DETAILS >= 1)) && echo ok || echo "none found")"

# ---------------------------------------------------------------------------------------------
say "witness.verify_interval = 0 stops the runs"

q "ALTER SYSTEM SET witness.verify_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 2
BEFORE="$(q "SELECT count(*) FROM witness.verification_run")"
sleep 3
check "no run after witness.verify_interval = 0" "$BEFORE" "SELECT count(*) FROM witness.verification_run"
check "witness.verification_status says off" "off" "SELECT scheduled FROM witness.verification_status"

finish "scheduled_verification"
