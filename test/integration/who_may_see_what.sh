#!/usr/bin/env bash
# Integration test: who may see what (docs/access.md, docs/activity.md, docs/personal-data.md
# "Per-subject access"). In a cluster of its own, five login roles each try what they must not be
# able to do, over TCP, each attempt in a session of its own:
#   - app_writer: the application (DML on the shop's tables, nothing of pg_witness);
#   - shop_reader: a member of witness_reader (the views, classified values masked);
#   - ext_auditor: an external auditor whose witness.grant_auditor() has expired;
#   - cust_ann, cust_bob: customers bound to their own data subject (witness.bind_subject()).
# Every attempt must be refused, and must be recorded as denied activity naming the role; what each
# may do works (and reads of the tables tracked with capture_reads are recorded). At the end the
# trail verifies.
#
# Environment: PG_BINDIR, REPO (as scripts/test.sh passes them); the test runs its own cluster.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/who_may_see_what.XXXXXX)"
PORT="$(free_port)"
DB=witness_access
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres

cleanup() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 20 lines of the server log ----"
		tail -n 20 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK" "$WORK/data" fast
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "a cluster of its own with a master key; the shop's tables, tracked"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "witness.master_key_file = '$WORK/master.key'"
as_pg sh -c "umask 077 && openssl rand -hex 32 >'$WORK/master.key'"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE customer (id int PRIMARY KEY, email text NOT NULL, name text, card text)" >/dev/null
q "CREATE TABLE note (id int PRIMARY KEY, author text, body text)" >/dev/null
q "SELECT witness.track('customer', 'pii', column_tags => '{\"card\": \"financial\"}', subject_column => 'email',
                        capture_reads => true)" >/dev/null
q "SELECT witness.track('note', 'internal')" >/dev/null
for r in app_writer shop_reader ext_auditor cust_ann cust_bob; do
	q "CREATE ROLE $r LOGIN" >/dev/null
done
q "GRANT SELECT, INSERT, UPDATE, DELETE ON customer, note TO app_writer" >/dev/null
q "GRANT witness_reader TO shop_reader" >/dev/null
q "SELECT witness.grant_auditor('ext_auditor', now() + interval '2 seconds')" >/dev/null
q "GRANT USAGE ON SCHEMA witness TO cust_ann, cust_bob" >/dev/null
q "GRANT SELECT ON witness.my_trail TO cust_ann, cust_bob" >/dev/null
q "SELECT witness.bind_subject('cust_ann', 'ann@shop.example'), witness.bind_subject('cust_bob', 'bob@shop.example')" >/dev/null

# as ROLE SQL: run SQL as ROLE over TCP in a session of its own; prints the result, fails with psql.
as() { "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U "$1" -d "$DB" -c "$2"; }

say "the application writes; its reads of customer are recorded"
as app_writer "INSERT INTO customer VALUES (1, 'ann@shop.example', 'Ann', '4111'), (2, 'bob@shop.example', 'Bob', '5500')" >/dev/null
as app_writer "UPDATE customer SET name = 'Ann B.' WHERE id = 1" >/dev/null
as app_writer "INSERT INTO note VALUES (1, 'app', 'welcome')" >/dev/null
check "app_writer reads customer" "Ann B." "SELECT name FROM customer WHERE id = 1"
as app_writer "SELECT name FROM customer WHERE id = 2" >/dev/null

# attempt ROLE SQL: must fail; remembered, to be found as denied activity at the end.
ATTEMPTS=()
attempt() {
	local role=$1 sql=$2 rc=0 err
	err="$(as "$role" "$sql" 2>&1 >/dev/null)" || rc=$?
	if ((rc != 0)); then
		check_ok "$role refused: $sql" ok
		note "${err%%$'\n'*}"
	else
		check_ok "$role refused: $sql" "it succeeded"
	fi
	ATTEMPTS+=("$role"$'\t'"$sql")
}

say "app_writer tries to read or switch off the trail"
attempt app_writer "SELECT * FROM witness.entry"
attempt app_writer "SELECT * FROM witness.log"
attempt app_writer "SELECT witness.untrack('customer')"
attempt app_writer "ALTER TABLE customer DISABLE TRIGGER witness_capture"
attempt app_writer "SELECT * FROM witness.verify()"
attempt app_writer "DELETE FROM witness.activity"

say "shop_reader reads the views, masked, and nothing else"
check "shop_reader sees witness.log, the card number masked" t \
	"SELECT bool_and(new_values->>'card' IS DISTINCT FROM '4111') FROM witness.log WHERE table_name = 'customer'"
got="$(as shop_reader "SELECT count(*) FROM witness.log WHERE table_name = 'customer' AND new_values::text LIKE '%4111%'")"
check_ok "shop_reader: no card number in witness.log ($got rows with it)" "$([[ $got == 0 ]] && echo ok || echo "$got rows")"
q "SELECT witness.flush_activity()" >/dev/null
check "the activity entries name app_writer's statements (as a superuser sees them)" t \
	"SELECT count(*) > 0 FROM witness.log WHERE table_name = 'activity' AND new_values::text LIKE '%app_writer%'"
got="$(as shop_reader "SELECT count(*) FROM witness.log WHERE table_name = 'activity' AND new_values::text LIKE '%app_writer%'")"
check_ok "shop_reader: activity entries masked in witness.log (statement texts hold literals; $got rows show them)" \
	"$([[ $got == 0 ]] && echo ok || echo "$got rows")"
attempt shop_reader "SELECT * FROM witness.entry"
attempt shop_reader "SELECT witness.subject_export('ann@shop.example', 'json', 'curious')"
attempt shop_reader "SELECT witness.entry_payload_bytes(e) FROM witness.entry e"
attempt shop_reader "SELECT witness.erase_subject('ann@shop.example', 'because')"
attempt shop_reader "SELECT * FROM customer"

say "ext_auditor, whose grant expired"
sleep 3
attempt ext_auditor "SELECT * FROM witness.verify()"
attempt ext_auditor "SELECT count(*) FROM witness.entry"
attempt ext_auditor "SELECT count(*) FROM witness.log"
attempt ext_auditor "SELECT witness.subject_export('bob@shop.example', 'json', 'audit')"

say "two customers, each bound to one subject"
got="$(as cust_ann "SELECT string_agg(DISTINCT subject, ',') FROM witness.my_trail")"
check_ok "cust_ann's my_trail: ann only ($got)" "$([[ $got == ann@shop.example ]] && echo ok || echo "got [$got]")"
got="$(as cust_bob "SELECT count(*) FROM witness.my_trail WHERE subject = 'ann@shop.example'")"
check_ok "cust_bob's my_trail has nothing of ann ($got rows)" "$([[ $got == 0 ]] && echo ok || echo "$got rows")"
attempt cust_ann "SELECT * FROM witness.entry"
attempt cust_ann "SELECT * FROM witness.log"
attempt cust_ann "SELECT witness.subject_export('bob@shop.example', 'json', 'neighbour')"
attempt cust_ann "SELECT * FROM witness._my_trail_rows('cust_bob'::regrole)"
attempt cust_bob "SELECT * FROM customer"
attempt cust_bob "SET ROLE cust_ann"
attempt cust_bob "SELECT witness.bind_subject('cust_bob', 'ann@shop.example')"

say "every attempt recorded, the trail valid"
q "SELECT witness.flush_activity()" >/dev/null
for a in "${ATTEMPTS[@]}"; do
	role=${a%%$'\t'*}
	sql=${a#*$'\t'}
	# A statement that may name a data subject is recorded without its text (docs/activity.md).
	kept=$sql
	if grep -qiE 'subject_export|erase_subject|bind_subject|my_trail' <<<"$sql"; then
		kept='(withheld: the statement may name a data subject)'
	fi
	check "recorded as denied: $role: $sql" t \
		"SELECT EXISTS (SELECT FROM witness.activity WHERE kind = 'denied' AND outcome = 'denied'
		                  AND session_user_name = '$role' AND statement = \$s\$$kept\$s\$)"
done
check "app_writer's two reads of customer recorded" t \
	"SELECT sum(statement_count) >= 2 FROM witness.activity WHERE kind = 'read' AND current_user_name = 'app_writer'"
check "every login of the five roles recorded" t \
	"SELECT count(DISTINCT session_user_name) = 5 FROM witness.activity WHERE kind = 'login' AND outcome = 'success'
	   AND session_user_name IN ('app_writer', 'shop_reader', 'ext_auditor', 'cust_ann', 'cust_bob')"
check "every activity row is an entry" t \
	"SELECT (SELECT count(*) FROM witness.activity) = (SELECT count(*) FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'activity')"
q "SELECT count(*) FROM witness.seal()" >/dev/null
check "witness.verify() is valid" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

finish who_may_see_what
