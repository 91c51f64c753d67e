#!/usr/bin/env bash
# Integration test: entries of prepared transactions (two-phase commit).
#
# Capture queues entries and writes them at the end of each statement, and at the latest when the
# transaction prepares (docs/capture.md, "Batched writes"; in plain SQL the statements' own writes
# always come first, so the write at PREPARE is a safety net this test does not reach on its own).
# It runs a cluster of its own with max_prepared_transactions = 4 and checks that:
#   - a prepared transaction's entries, batches of several statements and a released savepoint
#     included, are invisible until COMMIT PREPARED and complete after it;
#   - ROLLBACK PREPARED leaves none, and a prepared transaction whose savepoint rolled back keeps
#     only the changes that survived;
#   - a transaction prepared before a server restart (fast shutdown) keeps its entries across it
#     and commits them with COMMIT PREPARED afterwards;
#   - the trail then seals and verifies, and export_trail() recomputes outside the database.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them; not used: the test starts
# its own cluster). Runs as root (the cluster belongs to PG_OS_USER, postgres) or as its owner.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/two_phase_commit.XXXXXX)"
PORT="$(free_port)"
DB=witness_2pc
Q_HOST=$WORK
Q_PORT=$PORT
export PGUSER=postgres # the own cluster's superuser (initdb -U postgres)

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

say "own cluster on 127.0.0.1:$PORT with max_prepared_transactions = 4"
own_cluster_init "$WORK" "$PORT" "witness.seal_interval = 0" "max_prepared_transactions = 4"
own_cluster_start "$WORK"
q_on "$WORK" "$PORT" postgres "CREATE DATABASE $DB" >/dev/null
q "CREATE EXTENSION pg_witness" >/dev/null
q "CREATE TABLE orders (id int PRIMARY KEY, amount numeric NOT NULL)" >/dev/null
q "SET client_min_messages = warning; SELECT witness.track('orders', 'financial')" >/dev/null

entries() { echo "SELECT count(*) FROM witness.entry WHERE table_name = 'orders' $1"; }

say "a prepared transaction: several batches and a released savepoint"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" >/dev/null <<'SQL'
BEGIN;
INSERT INTO orders SELECT g, g FROM generate_series(1, 2500) g;
SAVEPOINT s;
UPDATE orders SET amount = amount + 1 WHERE id <= 10;
RELEASE SAVEPOINT s;
PREPARE TRANSACTION 'tx_commit';
SQL
check "before COMMIT PREPARED: none of its entries is visible" 0 "$(entries "")"
q "COMMIT PREPARED 'tx_commit'" >/dev/null
check "after COMMIT PREPARED: 2500 INSERT and 10 UPDATE entries" "2500|10" \
	"SELECT count(*) FILTER (WHERE op = 'I') || '|' || count(*) FILTER (WHERE op = 'U') FROM witness.entry WHERE table_name = 'orders'"

say "ROLLBACK PREPARED, and a prepared transaction with a rolled-back savepoint"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" >/dev/null <<'SQL'
BEGIN;
INSERT INTO orders SELECT g, g FROM generate_series(3001, 4500) g;
PREPARE TRANSACTION 'tx_rollback';
ROLLBACK PREPARED 'tx_rollback';
BEGIN;
INSERT INTO orders SELECT g, g FROM generate_series(5001, 5100) g;
SAVEPOINT s;
INSERT INTO orders SELECT g, g FROM generate_series(6001, 7500) g;
ROLLBACK TO SAVEPOINT s;
PREPARE TRANSACTION 'tx_partial';
COMMIT PREPARED 'tx_partial';
SQL
check "nothing of ROLLBACK PREPARED" 0 "$(entries "AND (row_key->>'id')::int BETWEEN 3001 AND 4500")"
check "of the partly rolled-back transaction, exactly the surviving 100 rows" "100|0" \
	"SELECT count(*) FILTER (WHERE (row_key->>'id')::int BETWEEN 5001 AND 5100) || '|' || count(*) FILTER (WHERE (row_key->>'id')::int BETWEEN 6001 AND 7500) FROM witness.entry WHERE table_name = 'orders'"

say "a transaction prepared before a server restart"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" >/dev/null <<'SQL'
BEGIN;
INSERT INTO orders SELECT g, g FROM generate_series(8001, 9200) g;
DELETE FROM orders WHERE id BETWEEN 1 AND 5;
PREPARE TRANSACTION 'tx_restart';
SQL
own_cluster_stop "$WORK" "$WORK/data" fast
own_cluster_start "$WORK"
check "after the restart the transaction is still prepared" 1 "SELECT count(*) FROM pg_prepared_xacts WHERE gid = 'tx_restart'"
q "COMMIT PREPARED 'tx_restart'" >/dev/null
check "its 1200 INSERT and 5 DELETE entries are there" "1200|5" \
	"SELECT count(*) FILTER (WHERE op = 'I' AND (row_key->>'id')::int > 8000) || '|' || count(*) FILTER (WHERE op = 'D') FROM witness.entry WHERE table_name = 'orders'"
check "entries = committed changes (rows of orders + DELETEs = INSERT entries)" t \
	"SELECT (SELECT count(*) FROM orders) + 5 = (SELECT count(*) FROM witness.entry WHERE table_name = 'orders' AND op = 'I')"

say "the trail seals and verifies"
check "witness.seal() seals every entry" t "SELECT entry_count = (SELECT count(*) FROM witness.entry) FROM witness.seal()"
check "witness.verify(): valid, nothing pending" "valid|0" "SELECT status || '|' || entries_pending FROM witness.verify()"
check "every leaf_hash = witness.entry_leaf_hash(e)" 0 "SELECT count(*) FROM witness.entry e WHERE $LEAF_MISMATCH"
check_trail "two-phase commit" "$WORK" "$PORT" "$DB"

finish two_phase_commit
