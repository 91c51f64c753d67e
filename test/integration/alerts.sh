#!/usr/bin/env bash
# Integration test: anomaly alerts raised by the background sealer after its passes (docs/alerts.md).
#
# A cluster of its own (witness.seal_interval = 1s, witness.verify_interval = 1s), with a session
# listening on channel witness_alert:
#   - a mass deletion above the threshold raises mass_change, one at the threshold does not; the
#     NOTIFY payload carries the alert id, rule, severity and summary;
#   - a role that came through the Unix socket, then over TCP from 127.0.0.1, raises
#     new_client_address once for its login and change; a second change over TCP, a new
#     role's first address, and another role setting witness.actor to its name, do not;
#   - failed logins above the threshold raise denied_spike;
#   - valid scheduled verifications raise nothing; a superuser tampers with a sealed entry and the
#     next scheduled verification raises verification_failed (after its WARNING in the server log);
#   - every alert is an entry of the chain, and witness.verify() still finds only the tampering;
#   - switching background sealing off (witness.seal_interval = 0) raises capture_off in one last pass,
#     also when it was switched off while the launcher was not running, or the trail was busy.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it). Runs as root (the cluster belongs to
# PG_OS_USER, postgres) or as the owner of the cluster. Takes about 30 s.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

LISTENER=
stop_listener() { [[ -z $LISTENER ]] || kill "$LISTENER" 2>/dev/null; }
own_cluster_setup alerts stop_listener

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=al
# Runs SQL over TCP (client address 127.0.0.1).
q_tcp() { q_on 127.0.0.1 "$PORT" "$DB" "$1"; }

say "a cluster of its own: witness.seal_interval = 1s, witness.verify_interval = 1s"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = '1s'" "witness.verify_interval = '1s'" \
	"witness.full_verify_interval = 0"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE al" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE items (id int PRIMARY KEY, label text)" >/dev/null
q "SELECT witness.track('items')" >/dev/null
q "INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 100) g" >/dev/null
q "SELECT witness.set_alert_rule('mass_change', threshold => 3)" >/dev/null
q "SELECT witness.set_alert_rule('denied_spike', threshold => 2)" >/dev/null

# A session that listens for 25 s; psql prints the notifications it received after its next command.
{
	echo "LISTEN witness_alert;"
	sleep 25
	echo "SELECT 'listened';"
} | "$PSQL" -X -h "$WORK" -p "$PORT" -d "$DB" >"$WORK/listen.out" 2>&1 &
LISTENER=$!
sleep 1

# ---------------------------------------------------------------------------------------------
say "mass_change: 3 rows deleted at once are quiet, 4 raise it"
q "DELETE FROM items WHERE id <= 3" >/dev/null
q "DELETE FROM items WHERE id BETWEEN 11 AND 14" >/dev/null
wait_for "a mass_change alert" 30 "SELECT count(*) >= 1 FROM witness.alert WHERE rule = 'mass_change'" || true
check "one mass_change alert, for the 4 rows" "1|postgres changed 4 rows of public.items in one transaction (0 updated, 4 deleted; threshold 3)" \
	"SELECT count(*) || '|' || min(summary) FROM witness.alert WHERE rule = 'mass_change'"

# ---------------------------------------------------------------------------------------------
say "new_client_address: the socket first, then TCP, by role"
q "CREATE ROLE clerk LOGIN; CREATE ROLE newbie LOGIN; GRANT SELECT, UPDATE ON items TO clerk, newbie" >/dev/null
PGUSER=clerk q "UPDATE items SET label = 'a' WHERE id = 50" >/dev/null
wait_for "clerk's change sealed and evaluated" 30 \
	"SELECT EXISTS (SELECT FROM witness.alert_address WHERE role_name = 'clerk' AND client_addr = 'local')" || true
PGUSER=clerk q_tcp "UPDATE items SET label = 'b' WHERE id = 51" >/dev/null
# witness.actor is anyone's to set: newbie naming itself clerk raises nothing about clerk.
PGUSER=newbie q_tcp "SET witness.actor = 'clerk'; UPDATE items SET label = 'c' WHERE id = 52" >/dev/null
wait_for "a new_client_address alert" 30 "SELECT count(*) >= 1 FROM witness.alert WHERE rule = 'new_client_address'" || true
PGUSER=clerk q_tcp "UPDATE items SET label = 'd' WHERE id = 53" >/dev/null
wait_for "the second TCP change evaluated" 30 \
	"SELECT (SELECT last_block FROM witness.alert_state) >= (SELECT max(b.block_no) FROM witness.block b
	        WHERE b.last_entry_id >= (SELECT max(id) FROM witness.entry WHERE table_name = 'items'))" || true
check "clerk from 127.0.0.1 alerted once (its login and its change); newbie's first address quiet" \
	"role clerk came from client address 127.0.0.1, never seen for it before" \
	"SELECT string_agg(summary, '|' ORDER BY summary) FROM witness.alert WHERE rule = 'new_client_address'"
check "both addresses of clerk and newbie's are known" "clerk:127.0.0.1,clerk:local,newbie:127.0.0.1" \
	"SELECT string_agg(role_name || ':' || client_addr, ',' ORDER BY role_name, client_addr) FROM witness.alert_address
	 WHERE role_name IN ('clerk', 'newbie')"

# ---------------------------------------------------------------------------------------------
say "denied_spike: failed logins over TCP"
for i in 1 2 3; do
	"$PSQL" -X -h 127.0.0.1 -p "$PORT" -U "nobody_$i" -d "$DB" -c "SELECT 1" >/dev/null 2>&1 || true
done
wait_for "a denied_spike alert" 30 "SELECT count(*) >= 1 FROM witness.alert WHERE rule = 'denied_spike'" || true
check "one denied_spike alert" "1" "SELECT count(*) FROM witness.alert WHERE rule = 'denied_spike'"

# ---------------------------------------------------------------------------------------------
say "verification_failed: quiet while valid, raised by a tampered trail"
wait_for "a valid scheduled verification" 30 "SELECT count(*) >= 1 FROM witness.verification_run WHERE status = 'valid'" || true
check "no verification_failed alert while the trail is valid" "0" \
	"SELECT count(*) FROM witness.alert WHERE rule = 'verification_failed'"
ITEM="$(q "SELECT min(id) FROM witness.entry WHERE table_name = 'items' AND op = 'D'")"
q "BEGIN; ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
   UPDATE witness.entry SET leaf_hash = sha256('forged') WHERE id = $ITEM;
   ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only; COMMIT" >/dev/null
wait_for "a verification_failed alert" 30 "SELECT count(*) >= 1 FROM witness.alert WHERE rule = 'verification_failed'" || true
check "verification_failed raised, critical, naming the entry" "critical|t" \
	"SELECT min(severity), bool_and(summary LIKE '%entry $ITEM)%') FROM witness.alert WHERE rule = 'verification_failed'"
WARNINGS="$(grep -c 'WARNING:  pg_witness: scheduled verification of database "al" found the trail tampered' "$WORK/server.log" || true)"
check_ok "the WARNING in the server log is still there" "$( ((WARNINGS >= 1)) && echo ok || echo "none found")"
sleep 3
check "one alert for the finding, not one per run that finds it again" "1|true" \
	"SELECT (SELECT count(*) FROM witness.alert WHERE rule = 'verification_failed') || '|' ||
	        (count(*) >= 2) FROM witness.verification_run WHERE status = 'tampered'"

# ---------------------------------------------------------------------------------------------
say "alerts are in the chain and were notified"
wait_for "every alert sealed" 30 \
	"SELECT count(*) = (SELECT count(*) FROM witness.alert) FROM witness.log
	 WHERE table_name = 'alert' AND operation = 'INSERT'" || true
check "every alert is an entry of the chain" "t" \
	"SELECT count(*) = (SELECT count(*) FROM witness.alert) AND count(*) >= 4 FROM witness.log
	 WHERE table_name = 'alert' AND operation = 'INSERT'"
check "witness.verify() finds the tampered entry only" "$ITEM" \
	"SELECT string_agg(DISTINCT entry_id::text, ',') FROM witness.verify() WHERE status <> 'valid'"
wait "$LISTENER" || true
LISTENER=
for rule in mass_change new_client_address denied_spike verification_failed; do
	ID="$(q "SELECT min(alert_id) FROM witness.alert WHERE rule = '$rule'")"
	check_ok "NOTIFY witness_alert for $rule (alert $ID)" \
		"$(grep -q "Asynchronous notification \"witness_alert\" with payload \"{\"rule\": \"$rule\", \"summary\": .*\"alert_id\": $ID, \"severity\": " "$WORK/listen.out" && echo ok || { echo "not in:"; cat "$WORK/listen.out"; })"
done

# ---------------------------------------------------------------------------------------------
say "the audit report of a period just over waits for the sealer to write its activity"
# A review's refused attempt, made just before a period's end, was still queued when the report was
# made and was then dated in the next period: in no report. The report now waits for the sealer.
openssl rand -hex 32 >"$WORK/hmac.key"
if [[ $(id -u) -eq 0 ]]; then chown "${PG_OS_USER:-postgres}" "$WORK/hmac.key"; fi
chmod 600 "$WORK/hmac.key"
q "DROP ROLE IF EXISTS al_prober; CREATE ROLE al_prober LOGIN" >/dev/null
R0="$(q "SELECT clock_timestamp()")"
"$PSQL" -X -q -h "$WORK" -p "$PORT" -d "$DB" -U al_prober -c "SELECT * FROM items" >/dev/null 2>&1 || true
R1="$(q "SELECT clock_timestamp()")"
REPORT="$("$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" \
	-c "SET witness.hmac_key_file = '$WORK/hmac.key'" -c "SELECT witness.audit_report('$R0', '$R1')")"
check_ok "the report made at once lists the refused attempt, and leaves nothing out" \
	"$([[ $REPORT == *'<td>al_prober</td><td>42501</td>'* && $REPORT != *activity-queued* ]] && echo ok || echo 'not listed, or events left out')"
q "DROP ROLE al_prober" >/dev/null

# ---------------------------------------------------------------------------------------------
say "capture_off: switching background sealing off seals and alerts the change in one last pass"
q "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the capture_off alert for witness.seal_interval" 30 \
	"SELECT count(*) >= 1 FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%witness.seal_interval%'" || true
check "capture_off raised for the change that switched sealing off" "1" \
	"SELECT count(*) FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%changed witness.seal_interval (ALTER SYSTEM)'"
check "background sealing is off" "off" "SELECT background_sealing FROM witness.stats"
say "... also when the launcher starts again after the switch (terminated)"
q "ALTER SYSTEM SET witness.seal_interval = '1s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "sealing on again, its change alerted" 30 \
	"SELECT count(*) = 2 FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%changed witness.seal_interval (ALTER SYSTEM)'" || true
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE backend_type = 'pg_witness launcher'" >/dev/null
q "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "the capture_off alert for switching it off again" 30 \
	"SELECT count(*) = 3 FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%changed witness.seal_interval (ALTER SYSTEM)'" || true
check "capture_off raised for the second switch, made while no launcher ran" "3" \
	"SELECT count(*) FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%changed witness.seal_interval (ALTER SYSTEM)'"
say "... also when the trail is busy as the last pass runs (witness.block locked for a few seconds)"
q "ALTER SYSTEM SET witness.seal_interval = '1s'" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "sealing on again, its change alerted" 30 \
	"SELECT count(*) = 4 FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%changed witness.seal_interval (ALTER SYSTEM)'" || true
q "BEGIN; LOCK TABLE witness.block IN SHARE ROW EXCLUSIVE MODE; SELECT pg_sleep(5); COMMIT" >/dev/null &
LOCKER=$!
sleep 1
q "ALTER SYSTEM SET witness.seal_interval = 0" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait "$LOCKER"
wait_for "the capture_off alert once the lock is gone" 30 \
	"SELECT count(*) = 5 FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%changed witness.seal_interval (ALTER SYSTEM)'" || true
check "capture_off raised for a switch whose last pass first found the trail busy" "5" \
	"SELECT count(*) FROM witness.alert WHERE rule = 'capture_off' AND summary LIKE '%changed witness.seal_interval (ALTER SYSTEM)'"

finish "alerts"
