#!/usr/bin/env bash
# Integration test: a central audit database (docs/central.md).
#
# Three clusters of its own on this machine: two sources (wal_level = logical, witness.seal_interval =
# 500ms) and a central one (witness.seal_interval = 1s, witness.verify_interval = 1s). Each source
# publishes its trail (witness.publish_trail()); the central cluster has one collector database per
# source (witness.become_collector(), then CREATE SUBSCRIPTION).
#   - a data subject erased on s2 before the subscription arrives erased with the initial copy;
#   - pgbench writes on both sources while their sealers run, and a data subject is erased on s1;
#   - once the central side has caught up (the sources' slots confirmed past their WAL position), both
#     trails verify on the central side with the sources' counts, blocks and erasures, the scheduled
#     verification there says valid, and a signed digest of a source checks against the central copy;
#   - the collector sealed nothing and captured nothing of its own (its activity is recorded unchained);
#   - its lookup table and daily summary fill from the shipped blocks: entity_history() and search() by
#     table name and daily_summary give there what they give on the source;
#   - an entry altered on the central copy (a superuser, guard triggers disabled) is named by verify()
#     there and by the scheduled verification; the source still verifies;
#   - an entry altered on a source after it was shipped: the source's verify() names it, the central
#     copy stays valid (updates are not published) and keeps receiving;
#   - a source superuser who makes the publication ship updates: the collector refuses the update at
#     apply, the subscription stops with the error in the log, the central copy stays valid.
#
# Environment: PG_BINDIR (as scripts/test.sh passes it). Runs as root (the clusters belong to
# PG_OS_USER, postgres) or as their owner. Takes about a minute.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

WORK="$(mktemp -d /tmp/central_collector.XXXXXX)"
chmod 755 "$WORK"
[[ $EUID -ne 0 ]] || chown "$PG_OS_USER:" "$WORK"
mkdir -p "$WORK/s1" "$WORK/s2" "$WORK/c"
P1="$(free_port)"
P2="$(free_port)"
while [[ $P2 == "$P1" ]]; do P2="$(free_port)"; done
PC="$(free_port)"
while [[ $PC == "$P1" || $PC == "$P2" ]]; do PC="$(free_port)"; done
PGBENCH_PIDS=()

cleanup() {
	local rc=$?
	set +e
	for p in "${PGBENCH_PIDS[@]}"; do kill "$p" 2>/dev/null; done
	if ((rc != 0)); then
		for d in s1 s2 c; do
			[[ -f $WORK/$d/server.log ]] || continue
			echo "---- last 20 lines of the server log of $d ----"
			tail -n 20 "$WORK/$d/server.log"
		done
	fi
	own_cluster_stop "$WORK/c"
	own_cluster_stop "$WORK/s1"
	own_cluster_stop "$WORK/s2"
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

export PGUSER=postgres
DB=shop
on_s1() { Q_HOST=$WORK/s1 Q_PORT=$P1 DB=shop "$@"; }
on_s2() { Q_HOST=$WORK/s2 Q_PORT=$P2 DB=shop "$@"; }
on_c1() { Q_HOST=$WORK/c Q_PORT=$PC DB=from_s1 "$@"; }
on_c2() { Q_HOST=$WORK/c Q_PORT=$PC DB=from_s2 "$@"; }
# The SQLSTATE of a refusal, as superuser (or after SET ROLE when given).
sqlstate_on() {
	local host=$1 port=$2 db=$3 sql=$4
	"$PSQL" -X -q -A -t -h "$host" -p "$port" -d "$db" -v VERBOSITY=verbose -c "$sql" 2>&1 |
		sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' | head -n 1
}

# ---------------------------------------------------------------------------------------------
say "three clusters: sources s1 (port $P1) and s2 (port $P2), central c (port $PC)"

as_pg sh -c "umask 077; openssl rand -hex 32 > '$WORK/hmac.key'"
for s in s1 s2; do
	port=$P1
	[[ $s == s2 ]] && port=$P2
	own_cluster_init "$WORK/$s" "$port" "wal_level = logical" "witness.seal_interval = '500ms'" \
		"witness.record_activity = reads" "witness.hmac_key_file = '$WORK/hmac.key'"
	own_cluster_start "$WORK/$s"
	q_on "$WORK/$s" "$port" postgres "CREATE DATABASE shop" >/dev/null
	q_on "$WORK/$s" "$port" shop "CREATE EXTENSION pg_witness" >/dev/null
	"$PGBENCH" -i -s 1 -q -h "$WORK/$s" -p "$port" shop >/dev/null 2>&1
	q_on "$WORK/$s" "$port" shop "
		CREATE TABLE customers (id int PRIMARY KEY, email text NOT NULL, plan text);
		SELECT witness.track('pgbench_accounts', 'financial');
		SELECT witness.track('pgbench_tellers', 'financial');
		SELECT witness.track('pgbench_branches', 'financial');
		SELECT witness.track('pgbench_history', 'financial');
		SELECT witness.track('customers', 'pii', subject_column => 'email', encrypt => false);
		INSERT INTO customers VALUES (1, 'ann@example.com', 'basic'), (2, 'bob@example.com', 'basic');
		UPDATE customers SET plan = 'pro' WHERE id = 1;" >/dev/null
done
# An erasure before the subscription: it arrives applied, through the initial copy.
q_on "$WORK/s2" "$P2" shop "SELECT witness.erase_subject('bob@example.com', 'GDPR Art. 17 request #3')" >/dev/null
DB=shop Q_HOST=$WORK/s1 Q_PORT=$P1 q "SELECT witness.publish_trail()" >/dev/null
DB=shop Q_HOST=$WORK/s2 Q_PORT=$P2 q "SELECT witness.publish_trail()" >/dev/null
on_s1 check "s1: the publication holds witness.entry, witness.block and witness.era, inserts only, through the root" "block,entry,era|t|f|f|f|t" \
	"SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'witness_trail'),
	        pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot FROM pg_publication WHERE pubname = 'witness_trail'"
# A restore, or DROP and CREATE EXTENSION, leaves the publication without its tables; a superuser
# may have given it a row filter: publish_trail() again sets it right (a review found the
# emptied publication shipping nothing, and publish_trail() refusing to mend it).
on_s1 q "ALTER PUBLICATION witness_trail SET TABLE witness.entry WHERE (id > 5), witness.era" >/dev/null
on_s1 check "s1: altered: witness.block left out, a row filter on witness.entry" "entry,era|1" \
	"SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'witness_trail'),
	        (SELECT count(*) FROM pg_publication_rel pr WHERE pr.prpubid = p.oid AND pr.prqual IS NOT NULL)
	 FROM pg_publication p WHERE pubname = 'witness_trail'"
on_s1 check "s1: publish_trail() again returns the publication's name" witness_trail \
	"SET client_min_messages = warning; SELECT witness.publish_trail()"
on_s1 check "s1: ... and has set it right: its three tables, inserts only, through the root, no row filter" "block,entry,era|t|f|f|f|t|0" \
	"SELECT (SELECT string_agg(tablename, ',' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'witness_trail'),
	        pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot,
	        (SELECT count(*) FROM pg_publication_rel pr WHERE pr.prpubid = p.oid AND pr.prqual IS NOT NULL)
	 FROM pg_publication p WHERE pubname = 'witness_trail'"
on_s1 check "s1: become_collector() on a source with a trail is refused (55000)" 55000 \
	"SELECT '$(sqlstate_on "$WORK/s1" "$P1" shop "SELECT witness.become_collector('x')")'"

own_cluster_init "$WORK/c" "$PC" "witness.seal_interval = '1s'" "witness.verify_interval = '1s'" \
	"witness.hmac_key_file = '$WORK/hmac.key'" "max_worker_processes = 16" "max_logical_replication_workers = 8"
own_cluster_start "$WORK/c"
for s in s1 s2; do
	port=$P1
	[[ $s == s2 ]] && port=$P2
	source_id="$(q_on "$WORK/$s" "$port" shop "SELECT witness.database_id()")"
	q_on "$WORK/c" "$PC" postgres "CREATE DATABASE from_$s" >/dev/null
	# One transaction: a login recorded in between would be an entry of the collector's own.
	q_on "$WORK/c" "$PC" "from_$s" "BEGIN; CREATE EXTENSION pg_witness; SELECT witness.become_collector('$source_id'); COMMIT" >/dev/null
	q_on "$WORK/c" "$PC" "from_$s" "CREATE SUBSCRIPTION witness_trail_$s
		CONNECTION 'host=$WORK/$s port=$port dbname=shop user=postgres' PUBLICATION witness_trail" >/dev/null 2>&1
done
# A collector made for s1 but subscribed to s2 (by mistake, or by a superuser of the central side): a
# review's verified as valid, naming s1. The trail names its database (witness.trail_publication).
q_on "$WORK/c" "$PC" postgres "CREATE DATABASE from_wrong" >/dev/null
q_on "$WORK/c" "$PC" from_wrong "BEGIN; CREATE EXTENSION pg_witness;
	SELECT witness.become_collector('$(q_on "$WORK/s1" "$P1" shop "SELECT witness.database_id()")'); COMMIT" >/dev/null
q_on "$WORK/c" "$PC" from_wrong "CREATE SUBSCRIPTION witness_trail_wrong
	CONNECTION 'host=$WORK/s2 port=$P2 dbname=shop user=postgres' PUBLICATION witness_trail" >/dev/null 2>&1
Q_HOST=$WORK/c Q_PORT=$PC DB=from_wrong wait_for "from_wrong copied" 60 \
	"SELECT copied AND published_as IS NOT NULL FROM witness.collector_status" || true
Q_HOST=$WORK/c Q_PORT=$PC DB=from_wrong check "c/from_wrong: collector_status says the trail of s2 arrives, not the source's" \
	"t|f" "SELECT published_as = '$(q_on "$WORK/s2" "$P2" shop "SELECT witness.database_id()")', source_matches FROM witness.collector_status"
check_ok "c: the server log has the collector's WARNING" \
	"$(grep -q 'this collector of .* receives the trail of' "$WORK/c/server.log" && echo ok || echo 'no warning')"
q_on "$WORK/c" "$PC" from_wrong "DROP SUBSCRIPTION witness_trail_wrong" >/dev/null
on_c1 check "c/from_s1: witness.collector names the source" t \
	"SELECT source = '$(q_on "$WORK/s1" "$P1" shop "SELECT witness.database_id()")' FROM witness.collector"
on_c1 check "c/from_s1: track() is refused in a collector (55000)" 55000 \
	"SELECT '$(sqlstate_on "$WORK/c" "$PC" from_s1 "CREATE TABLE t (id int PRIMARY KEY); SELECT witness.track('t')")'"
on_c1 check "c/from_s1: witness.seal() is refused in a collector (55000)" 55000 \
	"SELECT '$(sqlstate_on "$WORK/c" "$PC" from_s1 "SELECT * FROM witness.seal()")'"

# ---------------------------------------------------------------------------------------------
say "pgbench on both sources (4 clients each, 12 s) while their sealers run; an erasure on s1"

# s1's transaction ids first go 30,000 ahead of the collector's (subtransactions, each with an id of
# its own): s1's blocks then carry snapshots the collector's cluster has not reached.
on_s1 q "CREATE TEMP TABLE burn (i int); DO \$\$ BEGIN FOR i IN 1..30000 LOOP BEGIN INSERT INTO burn VALUES (i); EXCEPTION WHEN OTHERS THEN NULL; END; END LOOP; END \$\$" >/dev/null
"$PGBENCH" -n -c 4 -j 2 -T 12 -h "$WORK/s1" -p "$P1" shop >"$WORK/pgbench1.out" 2>&1 &
PGBENCH_PIDS+=($!)
"$PGBENCH" -n -c 4 -j 2 -T 12 -h "$WORK/s2" -p "$P2" shop >"$WORK/pgbench2.out" 2>&1 &
PGBENCH_PIDS+=($!)
sleep 4
on_s1 check "s1: erase_subject() during the load erases ann's two entries" 2 \
	"SELECT witness.erase_subject('ann@example.com', 'GDPR Art. 17 request #7')"
on_c1 check "c/from_s1: entries arrive while pgbench runs" t \
	"SELECT count(*) > 0 FROM witness.entry"
wait "${PGBENCH_PIDS[@]}"
PGBENCH_PIDS=()
grep -E '^number of transactions actually processed' "$WORK/pgbench1.out" "$WORK/pgbench2.out" | indent

# Caught up: every entry sealed on the source, and the source's slot confirmed past its WAL position.
catch_up() {
	local s=$1 port=$2 lsn
	Q_HOST=$WORK/$s Q_PORT=$port DB=shop wait_for "$s sealed everything" 60 \
		"SELECT entries_pending = 0 FROM witness.seal_status"
	lsn="$(q_on "$WORK/$s" "$port" shop "SELECT pg_current_wal_lsn()")"
	Q_HOST=$WORK/$s Q_PORT=$port DB=shop wait_for "the collector of $s confirmed $lsn" 60 \
		"SELECT confirmed_flush_lsn >= '$lsn' FROM pg_replication_slots WHERE slot_name = 'witness_trail_$s'"
}
catch_up s1 "$P1"
catch_up s2 "$P2"

# A review: the walsender streaming s1's trail to the collector runs START_REPLICATION for as long as
# it is connected, and every report with an end on s1 waited for it for good.
start=$SECONDS
rc=0
report_ok="$(timeout 60 "$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$WORK/s1" -p "$P1" -d shop \
	-c "SELECT length(witness.audit_report(NULL, clock_timestamp())) > 0" 2>&1)" || rc=$?
check_ok "s1: a report with an end does not wait for the streaming walsender ($((SECONDS - start)) s)" \
	"$([[ $rc == 0 && $report_ok == t && $((SECONDS - start)) -lt 20 ]] && echo ok || echo "exit $rc: $report_ok")"

# ---------------------------------------------------------------------------------------------
say "the central side verifies both trails, as the sources do"

for s in s1 s2; do
	port=$P1
	[[ $s == s2 ]] && port=$P2
	src="$(q_on "$WORK/$s" "$port" shop "SELECT status, blocks_checked, entries_checked, entries_pending, entries_erased FROM witness.verify()")"
	counts="$(q_on "$WORK/$s" "$port" shop "SELECT (SELECT count(*) FROM witness.entry), (SELECT max(block_no) FROM witness.block), (SELECT block_hash FROM witness.block ORDER BY block_no DESC LIMIT 1)")"
	note "$s: verify() $src; entries|blocks|newest hash $counts"
	Q_HOST=$WORK/c Q_PORT=$PC DB=from_$s check "c/from_$s: verify() valid with the source's counts" "$src" \
		"SELECT status, blocks_checked, entries_checked, entries_pending, entries_erased FROM witness.verify()"
	Q_HOST=$WORK/c Q_PORT=$PC DB=from_$s check "c/from_$s: the same entries and blocks as the source, none of its own" "$counts" \
		"SELECT (SELECT count(*) FROM witness.entry), (SELECT max(block_no) FROM witness.block), (SELECT block_hash FROM witness.block ORDER BY block_no DESC LIMIT 1)"
	# The blocks carry the source cluster's snapshots, which the collector's own transaction ids need
	# not reach: a collector seals nothing, and no era is ever due there.
	Q_HOST=$WORK/c Q_PORT=$PC DB=from_$s check "c/from_$s: no transaction-id era is due in a collector (its cluster's next xid against the source's newest block: $(q_on "$WORK/c" "$PC" "from_$s" "SELECT pg_current_xact_id() < (SELECT pg_snapshot_xmax(snapshot) FROM witness.block ORDER BY block_no DESC LIMIT 1)"), t meaning behind)" t \
		"SELECT witness._due_era_first_id() IS NULL"
	Q_HOST=$WORK/c Q_PORT=$PC DB=from_$s check "c/from_$s: pgbench entries arrived" t \
		"SELECT count(*) > 1000 FROM witness.entry WHERE table_name = 'pgbench_history'"
	check_trail "c/from_$s" "$WORK/c" "$PC" "from_$s"
	Q_HOST=$WORK/c Q_PORT=$PC DB=from_$s wait_for "scheduled verification of from_$s" 30 \
		"SELECT last_status = 'valid' AND blocks_checked = $(cut -d'|' -f2 <<<"$src") FROM witness.verification_status" || true
	Q_HOST=$WORK/c Q_PORT=$PC DB=from_$s check "c/from_$s: the scheduled verification says valid for all the source's blocks" "valid|$(cut -d'|' -f2 <<<"$src")" \
		"SELECT last_status, blocks_checked FROM witness.verification_status"
done
on_c1 check "c/from_s1: the erasure shipped as its entry and was applied: ann's entries hold no payload" "2|0" \
	"SELECT count(*), count(*) FILTER (WHERE subject IS NOT NULL OR new_values IS NOT NULL) FROM witness.entry WHERE erasure_id IS NOT NULL"
on_c1 check "c/from_s1: bob's entry keeps its payload" 1 \
	"SELECT count(*) FROM witness.entry WHERE subject = 'bob@example.com'"
on_c2 check "c/from_s2: an erasure made before the subscription arrived applied (bob's entry, no payload)" "1|0|0" \
	"SELECT count(*) FILTER (WHERE erasure_id IS NOT NULL), count(*) FILTER (WHERE erasure_id IS NOT NULL AND new_values IS NOT NULL),
	        count(*) FILTER (WHERE subject = 'bob@example.com') FROM witness.entry"
on_c1 check "c/from_s1: collector_status shows the subscription receiving, its copy done, the newest block and its age" "witness_trail_s1|t|t|t|t" \
	"SELECT subscription, receiving, copied, last_block_no = (SELECT max(block_no) FROM witness.block), newest_block_age < interval '5 minutes' FROM witness.collector_status"
on_c1 check "c/from_s1: the trail names the database it comes from: the source, and its encoding, the collector's" "t|t|UTF8|t" \
	"SELECT source_matches, published_as = source, source_encoding, encoding_matches FROM witness.collector_status"
# (s1's own activity ships: the publication altered above is capture control there.)
on_c1 check "c/from_s1: activity here is recorded, unchained (no entry of the collector's own)" t \
	"SELECT (SELECT count(*) FROM witness.activity) > 0 AND NOT EXISTS (SELECT 1 FROM witness.entry WHERE schema_name = 'witness' AND table_name = 'activity'
	                                                                     AND new_values::jsonb ->> 'database_name' IS DISTINCT FROM 'shop')"
digest="$(q_on "$WORK/s1" "$P1" shop "SELECT witness.digest()")"
on_c1 check "c/from_s1: a signed digest of s1 checks against the central copy (another database)" "valid|f" \
	"SELECT status, same_database FROM witness.verify_digest('$digest'::jsonb)"

# ---------------------------------------------------------------------------------------------
say "the central side answers lookups about the sources' tables, by name (they do not exist there)"

# The collector's maintainer fills its lookup table and daily summary from the shipped blocks.
for s in s1 s2; do
	port=$P1
	[[ $s == s2 ]] && port=$P2
	Q_HOST=$WORK/$s Q_PORT=$port DB=shop wait_for "$s: lookup table and summary hold every block" 60 \
		"SELECT (SELECT block_no FROM witness.lookup_state) = max(block_no) AND (SELECT last_block_no FROM witness.summary_state) = max(block_no) FROM witness.block"
	Q_HOST=$WORK/c Q_PORT=$PC DB=from_$s wait_for "c/from_$s: lookup table and summary hold every block" 60 \
		"SELECT (SELECT block_no FROM witness.lookup_state) = max(block_no) AND (SELECT last_block_no FROM witness.summary_state) = max(block_no) FROM witness.block"
done
# Filled after the initial copy of every table (witness._trail_syncing()): no block's rows are missing.
# A subscription whose tables are not copied yet (created disabled, in a scratch database) counts as
# syncing; the collectors, in step, do not.
q_on "$WORK/c" "$PC" postgres "CREATE DATABASE sync_probe" >/dev/null
q_on "$WORK/c" "$PC" sync_probe "CREATE EXTENSION pg_witness" >/dev/null
q_on "$WORK/c" "$PC" sync_probe "CREATE SUBSCRIPTION sync_probe CONNECTION 'host=$WORK/s1 port=$P1 dbname=shop user=postgres'
	PUBLICATION witness_trail WITH (enabled = false, create_slot = false, slot_name = NONE)" >/dev/null 2>&1
Q_HOST=$WORK/c Q_PORT=$PC DB=sync_probe check "c: a subscription that has not copied the trail's tables yet counts as syncing" "t" \
	"SELECT witness._trail_syncing()"
q_on "$WORK/c" "$PC" sync_probe "DROP SUBSCRIPTION sync_probe" >/dev/null
q_on "$WORK/c" "$PC" postgres "DROP DATABASE sync_probe" >/dev/null
on_c1 check "c/from_s1: a collector in step with its source is not syncing" f "SELECT witness._trail_syncing()"
on_c1 check "c/from_s1: verify_lookup() finds every block's lookup rows" "0|0|0" \
	"SELECT COALESCE(sum(missing), 0) || '|' || COALESCE(sum(altered), 0) || '|' || COALESCE(sum(extra), 0) FROM witness.verify_lookup()"
on_c2 check "c/from_s2: verify_lookup() finds every block's lookup rows" "0|0|0" \
	"SELECT COALESCE(sum(missing), 0) || '|' || COALESCE(sum(altered), 0) || '|' || COALESCE(sum(extra), 0) FROM witness.verify_lookup()"
on_c1 check "c/from_s1: the daily summary counts every shipped entry" t \
	"SELECT (SELECT sum(entries) FROM witness.daily_count) = (SELECT sum(entry_count) FROM witness.block WHERE block_no <= (SELECT last_block_no FROM witness.summary_state))"
aid="$(q_on "$WORK/s1" "$P1" shop "SELECT aid FROM pgbench_history ORDER BY mtime DESC LIMIT 1")"
history_s1="$(q_on "$WORK/s1" "$P1" shop "SELECT string_agg(entry_id || ' ' || operation, ',' ORDER BY entry_id)
	FROM witness.entity_history('pgbench_accounts', '{\"aid\": $aid}')")"
note "s1: entity_history of account $aid: $history_s1"
on_c1 check "c/from_s1: entity_history('public', 'pgbench_accounts', key) gives the source's entries of that account" "$history_s1" \
	"SELECT string_agg(entry_id || ' ' || operation, ',' ORDER BY entry_id)
	 FROM witness.entity_history('public', 'pgbench_accounts', '{\"aid\": $aid}')"
newest_s2="$(q_on "$WORK/s2" "$P2" shop "SELECT string_agg(entry_id::text, ',') FROM witness.search(target => 'pgbench_history', max_rows => 5)")"
on_c2 check "c/from_s2: search(table_name => 'pgbench_history') gives the source's newest entries of that table" "$newest_s2" \
	"SELECT string_agg(entry_id::text, ',') FROM witness.search(table_name => 'pgbench_history', max_rows => 5)"
counts_s2="$(q_on "$WORK/s2" "$P2" shop "SELECT string_agg(table_name || ' ' || operation || ' ' || entries, ',' ORDER BY table_name, operation)
	FROM (SELECT table_name, operation, sum(entries) AS entries FROM witness.daily_summary WHERE schema_name = 'public' GROUP BY 1, 2) d")"
on_c2 check "c/from_s2: daily_summary counts what the source's does, per table and operation" "$counts_s2" \
	"SELECT string_agg(table_name || ' ' || operation || ' ' || entries, ',' ORDER BY table_name, operation)
	 FROM (SELECT table_name, operation, sum(entries) AS entries FROM witness.daily_summary WHERE schema_name = 'public' GROUP BY 1, 2) d"

# ---------------------------------------------------------------------------------------------
say "attempts on the central copy"

victim="$(q_on "$WORK/c" "$PC" from_s2 "SELECT min(id) FROM witness.entry WHERE table_name = 'pgbench_accounts'")"
on_c2 check "c/from_s2: a superuser's UPDATE of an entry is refused (42501)" 42501 \
	"SELECT '$(sqlstate_on "$WORK/c" "$PC" from_s2 "UPDATE witness.entry SET actor = 'mallory' WHERE id = $victim")'"
on_c2 check "c/from_s2: ... with the statement guard disabled, the collector's row guard refuses (42501)" 42501 \
	"SELECT '$(sqlstate_on "$WORK/c" "$PC" from_s2 "BEGIN; ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only; UPDATE witness.entry SET actor = 'mallory' WHERE id = $victim; COMMIT")'"
on_c2 check "c/from_s2: a superuser's DELETE of a block is refused (42501)" 42501 \
	"SELECT '$(sqlstate_on "$WORK/c" "$PC" from_s2 "DELETE FROM witness.block WHERE block_no = 1")'"
on_c2 check "c/from_s2: removing the collector row is refused (42501)" 42501 \
	"SELECT '$(sqlstate_on "$WORK/c" "$PC" from_s2 "DELETE FROM witness.collector")'"
q_on "$WORK/c" "$PC" from_s2 "BEGIN;
	ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only, DISABLE TRIGGER witness_collector_append_only;
	UPDATE witness.entry SET actor = 'mallory' WHERE id = $victim;
	ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only, ENABLE ALWAYS TRIGGER witness_collector_append_only;
	COMMIT" >/dev/null
on_c2 check "c/from_s2: an entry altered on the central copy (both guards disabled): verify() names it" "tampered|value changed|$victim" \
	"SELECT status, problem, entry_id FROM witness.verify() WHERE problem IS NOT NULL"
on_c2 wait_for "the scheduled verification of from_s2 reports it" 30 \
	"SELECT last_status = 'tampered' AND first_problem LIKE '%$victim%' FROM witness.verification_status" || true
on_c2 check "c/from_s2: ... and so does the scheduled verification" "tampered|1" \
	"SELECT last_status, problems FROM witness.verification_status"
on_s2 check "s2: the source still verifies" valid "SELECT status FROM witness.verify()"

# ---------------------------------------------------------------------------------------------
say "an entry altered on s1 after it was shipped: the two sides disagree"

victim="$(q_on "$WORK/s1" "$P1" shop "SELECT min(id) FROM witness.entry WHERE table_name = 'pgbench_tellers'")"
q_on "$WORK/s1" "$P1" shop "BEGIN;
	ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
	UPDATE witness.entry SET new_values = replace(new_values::text, '\"tbalance\"', '\"tbalance_\"')::json WHERE id = $victim;
	ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
	COMMIT" >/dev/null
on_s1 check "s1: verify() on the source names the altered entry (its payload no longer matches its commitment)" "tampered|payload changed|$victim" \
	"SELECT status, problem, entry_id FROM witness.verify() WHERE problem = 'payload changed'"
# Its leaf hash cannot be recomputed either (docs/hashing.md, "How entries store their leaf hash").
on_s1 check "s1: ... and nothing else is named" "$victim" \
	"SELECT string_agg(DISTINCT entry_id::text, ',') FROM witness.verify() WHERE problem IS NOT NULL"
q_on "$WORK/s1" "$P1" shop "INSERT INTO customers VALUES (3, 'cid@example.com', 'basic')" >/dev/null
catch_up s1 "$P1"
on_c1 check "c/from_s1: the central copy still verifies: the update was never shipped" valid \
	"SELECT status FROM witness.verify()"
on_c1 check "c/from_s1: ... it holds the entry as sealed, and kept receiving (cid's entry arrived)" "t|1" \
	"SELECT (SELECT new_values::text LIKE '%\"tbalance\"%' FROM witness.entry WHERE id = $victim),
	        (SELECT count(*) FROM witness.entry WHERE subject = 'cid@example.com')"

# ---------------------------------------------------------------------------------------------
say "a source superuser makes the publication ship updates: refused at apply"

q_on "$WORK/s1" "$P1" shop "ALTER PUBLICATION witness_trail SET (publish = 'insert, update')" >/dev/null
on_s1 check "s1: with updates published, an UPDATE of witness.entry fails without a replica identity (55000)" 55000 \
	"SELECT '$(sqlstate_on "$WORK/s1" "$P1" shop "BEGIN; ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only; UPDATE witness.entry SET actor = 'x' WHERE id = $victim; COMMIT")'"
q_on "$WORK/s1" "$P1" shop "BEGIN;
	ALTER TABLE witness.entry REPLICA IDENTITY FULL;
	-- witness.entry is partitioned (docs/scaling.md): a row's replica identity is its partition's.
	DO \$do\$ DECLARE p regclass; BEGIN
		FOR p IN SELECT inhrelid::regclass FROM pg_inherits WHERE inhparent = 'witness.entry'::regclass LOOP
			EXECUTE format('ALTER TABLE %s REPLICA IDENTITY FULL', p);
		END LOOP;
	END \$do\$;
	ALTER TABLE witness.entry DISABLE TRIGGER witness_append_only;
	UPDATE witness.entry SET actor = 'eve' WHERE id = $((victim + 1));
	ALTER TABLE witness.entry ENABLE ALWAYS TRIGGER witness_append_only;
	COMMIT" >/dev/null 2>&1 || note "(the source refused REPLICA IDENTITY FULL on witness.entry)"
sleep 3
on_c1 check "c/from_s1: the shipped update was refused: the central copy holds no 'eve'" 0 \
	"SELECT count(*) FROM witness.entry WHERE actor = 'eve'"
on_c1 check "c/from_s1: and still verifies" valid "SELECT status FROM witness.verify()"
if as_pg grep -q "cannot update witness.entry in a pg_witness collector" "$WORK/c/server.log"; then
	check_ok "c: the apply worker's error names the refusal in the server log" ok
else
	check_ok "c: the apply worker's error names the refusal in the server log" "not found in $WORK/c/server.log"
fi

# ---------------------------------------------------------------------------------------------
say "s2's pg_witness dropped and created again: its new trail is refused by the collector"

# A review: the new trail numbers its entries from 1 again; published, its entries were applied among
# the old trail's, and an erasure in it erased the old trail's entry of the same id; both verified.
before="$(on_c2 q "SELECT count(*) FILTER (WHERE erasure_id IS NOT NULL) || '/' || count(*) FROM witness.entry")"
# What verify() says there (the entry altered on the central copy above), to be said again after.
verdict="SELECT status || ': ' || coalesce(string_agg(DISTINCT problem || ' ' || entry_id, ', '), '') FROM witness.verify() GROUP BY status"
verified="$(on_c2 q "$verdict")"
q_on "$WORK/s2" "$P2" shop "DROP EXTENSION pg_witness CASCADE" >/dev/null 2>&1
q_on "$WORK/s2" "$P2" shop "CREATE EXTENSION pg_witness" >/dev/null
published="$(q_on "$WORK/s2" "$P2" shop "SELECT witness.publish_trail()" 2>&1)"
check_ok "s2: publish_trail() warns that the publication is older than the new trail" \
	"$(grep -q 'is older than this trail' <<<"$published" && echo ok || echo "$published")"
q_on "$WORK/s2" "$P2" shop "
	SELECT witness.track('customers', 'pii', subject_column => 'email', encrypt => false);
	INSERT INTO customers VALUES (10, 'zed@example.com', 'basic'), (11, 'zoe@example.com', 'basic');" >/dev/null
for subject in zed@example.com zoe@example.com; do
	q_on "$WORK/s2" "$P2" shop "SELECT witness.erase_subject('$subject', 'GDPR Art. 17 request #9')" >/dev/null
done
refused='pg_witness collector (holds entry [0-9]+ already|of .* refuses another trail)'
for _ in $(seq 1 150); do
	as_pg grep -q -E "$refused" "$WORK/c/server.log" && break
	sleep 0.2
done
if as_pg grep -q -E "$refused" "$WORK/c/server.log"; then
	check_ok "c: the apply worker's error names the refusal in the server log" ok
else
	check_ok "c: the apply worker's error names the refusal in the server log" "not found in $WORK/c/server.log"
fi
on_c2 check "c/from_s2: nothing of the new trail was applied, no old entry erased" "$before|0" \
	"SELECT count(*) FILTER (WHERE erasure_id IS NOT NULL) || '/' || count(*),
	        count(*) FILTER (WHERE subject IN ('zed@example.com', 'zoe@example.com')) FROM witness.entry"
on_c2 check "c/from_s2: verify() there says what it said before" "$verified" "$verdict"

finish central_collector
