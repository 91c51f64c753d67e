#!/usr/bin/env bash
# Integration test: a row's entries keep the order of its changes when a BEFORE trigger changes, from
# inside the statement, a row the statement changed already, while many sessions do the same to the
# same rows (docs/capture.md, "Order inside nested statements").
#
# Table nest_acct has 10 parents and 990 children, each child under a parent. 8 pgbench clients each
# run, for a random child, one UPDATE of that child and its parent together; a BEFORE UPDATE trigger
# rolls the child's change up into its parent, an UPDATE of its own inside the statement. The
# parent's row version is locked first (lower id), so clients queue on it instead of deadlocking. The
# roll-up's statement fires its capture trigger before the outer statement fires its own for the
# parent: its entry is held and takes its id after the outer statement's. Then, for every row, the
# UPDATE entries in id order must chain (each old balance the previous new balance, from 0 to the
# final balance), every change must have its entry (as many as pgbench's transactions, per kind), and
# the sealed trail must verify. Before entries were held, parents' chains broke in nearly every
# transaction.
#
# Environment: PGHOST, PGPORT, PGUSER (as scripts/test.sh passes them); optional
#   WITNESS_NEST_DB        database to create and drop (default witness_it_nested_order)
#   WITNESS_NEST_SECONDS   pgbench duration (default 10)
# Prints one line per check and ends with "nested_order_pgbench: N checks passed".
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${WITNESS_NEST_DB:-witness_it_nested_order}"
MAINT_DB="${PGDATABASE:-postgres}"
[[ $MAINT_DB != "$DB" ]] || MAINT_DB=postgres
SECONDS_RUN="${WITNESS_NEST_SECONDS:-10}"
WORK="$(mktemp -d /tmp/nested_order.XXXXXX)"
DB_CREATED=0
cleanup() {
	local rc=$?
	set +e
	if ((DB_CREATED)); then
		"$PSQL" -X -q -d "$MAINT_DB" -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null ||
			echo "warning: could not drop database $DB" >&2
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

say "setup: database $DB, a tracked table of parents and children, a roll-up trigger"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$MAINT_DB" -c "SET client_min_messages = warning" \
	-c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" -c "CREATE DATABASE \"$DB\""
DB_CREATED=1
q "SET client_min_messages = warning;
   CREATE EXTENSION pg_witness;
   CREATE TABLE nest_acct (id int PRIMARY KEY, parent int, bal bigint NOT NULL DEFAULT 0);
   INSERT INTO nest_acct (id, parent) SELECT g, NULL FROM generate_series(1, 10) g;
   INSERT INTO nest_acct (id, parent) SELECT g, 1 + g % 10 FROM generate_series(11, 1000) g;
   SELECT witness.track('nest_acct');
   CREATE FUNCTION nest_rollup() RETURNS trigger LANGUAGE plpgsql AS \$\$
   BEGIN
     IF NEW.parent IS NOT NULL AND NEW.bal <> OLD.bal THEN
       UPDATE nest_acct SET bal = bal + (NEW.bal - OLD.bal) WHERE id = NEW.parent;
     END IF;
     RETURN NEW;
   END \$\$;
   CREATE TRIGGER nest_rollup BEFORE UPDATE ON nest_acct FOR EACH ROW EXECUTE FUNCTION nest_rollup();" >/dev/null
# The statement must reach the parent before the child (a child's roll-up into a parent the statement
# reaches later is refused by PostgreSQL): an index scan visits the ids in ascending order, a bitmap
# or sequential scan in the order of the row versions on disk.
q "ALTER DATABASE \"$DB\" SET enable_bitmapscan = off; ALTER DATABASE \"$DB\" SET enable_seqscan = off" >/dev/null
MAX0="$(q "SELECT coalesce(max(id), 0) FROM witness.entry")"
cat >"$WORK/rollup.sql" <<'SQL'
\set child random(11, 1000)
\set delta random(1, 1000)
UPDATE nest_acct SET bal = bal + :delta WHERE id IN (1 + :child % 10, :child);
SQL

say "pgbench: 8 clients for ${SECONDS_RUN}s, each UPDATE changing a parent, then its child, whose trigger changes the parent again"
"$PGBENCH" -n -c 8 -j 2 -T "$SECONDS_RUN" -f "$WORK/rollup.sql" "$DB" >"$WORK/pgbench.out" 2>&1 || {
	cat "$WORK/pgbench.out" >&2
	exit 1
}
grep -E '^(number of transactions actually|number of failed|tps)' "$WORK/pgbench.out" || true
TXNS="$(sed -n 's|^number of transactions actually processed: \([0-9]*\).*|\1|p' "$WORK/pgbench.out")"

check "pgbench: no failed transactions" 0 \
	"SELECT $(sed -n 's|^number of failed transactions: \([0-9]*\).*|\1|p' "$WORK/pgbench.out" | grep . || echo 0)"
check "at least 100 transactions ran" t "SELECT $TXNS >= 100"
# Per transaction: the child's change, the parent's own and the roll-up into the parent.
check "one child entry and two parent entries per transaction" t \
	"SELECT count(*) FILTER (WHERE (row_key->>'id')::int > 10) = $TXNS
	        AND count(*) FILTER (WHERE (row_key->>'id')::int <= 10) = 2 * $TXNS
	   FROM witness.entry WHERE id > $MAX0 AND table_name = 'nest_acct' AND op = 'U'"
CHAIN="WITH u AS (
         SELECT (row_key->>'id')::int AS acct, id, (old_values::jsonb->>'bal')::bigint AS old,
                (new_values::jsonb->>'bal')::bigint AS new,
                lag((new_values::jsonb->>'bal')::bigint, 1, 0::bigint) OVER (PARTITION BY (row_key->>'id')::int ORDER BY id) AS prev_new,
                row_number() OVER (PARTITION BY (row_key->>'id')::int ORDER BY id DESC) AS from_last
           FROM witness.entry WHERE table_name = 'nest_acct' AND op = 'U')
       SELECT u.*, a.bal AS final FROM u JOIN nest_acct a ON a.id = u.acct
        WHERE u.old <> u.prev_new OR (u.from_last = 1 AND u.new <> a.bal)"
check "every row's UPDATE entries in id order chain old = previous new, ending at its final balance" 0 \
	"SELECT count(*) FROM ($CHAIN) c" "$CHAIN"
check "each parent's balance is the sum of its children's" 0 \
	"SELECT count(*) FROM nest_acct p
	  WHERE p.parent IS NULL AND p.bal <> 2 * (SELECT coalesce(sum(c.bal), 0) FROM nest_acct c WHERE c.parent = p.id)"
check "no id handed out twice" t "SELECT count(*) = count(DISTINCT id) FROM witness.entry"

say "sealed, the trail verifies"
q "SELECT witness.seal()" >/dev/null
check "witness.verify(): valid" valid "SELECT status FROM witness.verify()"

finish "nested_order_pgbench"
