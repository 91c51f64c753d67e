#!/usr/bin/env bash
# Integration test: the trail on a streaming-replication hot standby.
#
# Starts a primary of its own (wal_level = replica, replication from 127.0.0.1 and the local socket
# trusted), creates a database with pg_witness and tracked pgbench tables, takes a base backup
# (pg_basebackup -R) into a second data directory and starts it as a hot standby on another port
# (pg_witness preloaded there too, witness.seal_interval = 200ms: the background sealer must stay
# away while the server is in recovery). Then on the primary: pgbench for a few seconds while
# witness.seal() runs every half second, a final seal, and three more changes left pending.
# Once the standby has replayed everything (pg_last_wal_replay_lsn >= the primary's
# pg_current_wal_lsn), on the standby:
#   - witness.verify() is valid with the primary's counts (blocks, entries, pending);
#   - export_trail() is byte-identical to the primary's (same system identifier and database name);
#   - the trail recomputes outside the database (lib/trail_check.py) and every leaf hash inside it;
#   - witness.verify_period() and witness.prove() work; proofs equal the primary's and verify
#     outside the database (lib/proof_check.py, RFC 9162 audit paths); prove() of a pending entry
#     says it is not sealed yet;
#   - witness.search() and witness.entity_history() find what the primary's find: the standby has no
#     copy of the unlogged lookup table and reads the trail; witness.verify_lookup() is refused;
#   - witness.seal() fails with an error (printed: what it says and its SQLSTATE) and changes nothing;
#   - the standby's log has no error from pg_witness's background workers.
#
# Environment: optional WITNESS_REPLICA_PGBENCH_SECONDS (default 8). Runs as root (clusters owned by
# PG_OS_USER, postgres) or as the clusters' owner.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

LOAD_SECONDS="${WITNESS_REPLICA_PGBENCH_SECONDS:-8}"
DB=witness_replica
WORK="$(mktemp -d /tmp/streaming_replica.XXXXXX)"
chmod 755 "$WORK"
PRIMARY="$WORK/primary"
STANDBY="$WORK/standby"
mkdir -p "$PRIMARY" "$STANDBY"
P_PORT="$(free_port)"
S_PORT="$(free_port)"
while [[ $S_PORT == "$P_PORT" ]]; do S_PORT="$(free_port)"; done
BENCH_PID=

cleanup() {
	local rc=$?
	set +e
	if [[ -n $BENCH_PID ]]; then
		kill "$BENCH_PID" 2>/dev/null
		wait "$BENCH_PID" 2>/dev/null
	fi
	if ((rc != 0)); then
		for f in "$PRIMARY/server.log" "$STANDBY/server.log"; do
			[[ -f $f ]] || continue
			echo "---- last 25 lines of $f ----"
			tail -n 25 "$f"
		done
	fi
	own_cluster_stop "$STANDBY" "$STANDBY/data" fast
	own_cluster_stop "$PRIMARY" "$PRIMARY/data" fast
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

on_primary() { Q_HOST="$PRIMARY" Q_PORT="$P_PORT" "$@"; }
on_standby() { Q_HOST="$STANDBY" Q_PORT="$S_PORT" "$@"; }
qp() { q_on "$PRIMARY" "$P_PORT" "$DB" "$1"; }
qs() { q_on "$STANDBY" "$S_PORT" "$DB" "$1"; }

# ---------------------------------------------------------------------------------------------
say "primary on 127.0.0.1:$P_PORT: database $DB, pg_witness, tracked pgbench tables"

own_cluster_init "$PRIMARY" "$P_PORT" "wal_level = replica" "max_wal_senders = 5" "witness.seal_interval = 0"
{
	echo "local replication all trust"
	echo "host replication all 127.0.0.1/32 trust"
} >>"$PRIMARY/data/pg_hba.conf"
own_cluster_start "$PRIMARY"
q_on "$PRIMARY" "$P_PORT" postgres "CREATE DATABASE $DB" >/dev/null
qp "CREATE EXTENSION pg_witness" >/dev/null
"$PGBENCH" -h "$PRIMARY" -p "$P_PORT" -i -q -s 1 "$DB" >"$WORK/init.out" 2>&1 || {
	cat "$WORK/init.out" >&2
	exit 1
}
qp "SELECT witness.track('pgbench_accounts', 'financial'), witness.track('pgbench_tellers', 'financial'),
           witness.track('pgbench_branches', 'financial'), witness.track('pgbench_history', 'financial')" >/dev/null 2>"$WORK/track.err" || {
	cat "$WORK/track.err" >&2
	exit 1
}
# Its reads are recorded (docs/activity.md): a standby, which cannot record them, refuses them.
qp "CREATE TABLE sr_secret (id int PRIMARY KEY, v text)" >/dev/null
qp "INSERT INTO sr_secret VALUES (1, 'classified')" >/dev/null
qp "SELECT witness.track('sr_secret', 'restricted', capture_reads => true)" >/dev/null
qp "SELECT count(*) FROM witness.seal()" >/dev/null

# ---------------------------------------------------------------------------------------------
say "standby: pg_basebackup -R, hot standby on 127.0.0.1:$S_PORT"

chmod 755 "$STANDBY"
[[ $EUID -ne 0 ]] || chown "$PG_OS_USER:" "$STANDBY"
(cd "$STANDBY" && as_pg "$PG_BINDIR/pg_basebackup" -h 127.0.0.1 -p "$P_PORT" -U postgres -D "$STANDBY/data" -R -X stream -c fast) \
	>"$WORK/basebackup.out" 2>&1 || {
	cat "$WORK/basebackup.out" >&2
	exit 1
}
{
	echo
	echo "# ---- standby (test/integration/streaming_replica.sh) ----"
	echo "port = $S_PORT"
	echo "unix_socket_directories = '$STANDBY'"
	echo "hot_standby = on"
	echo "witness.seal_interval = 200ms"
} >>"$STANDBY/data/postgresql.conf"
own_cluster_start "$STANDBY"
on_standby check "standby: pg_is_in_recovery(), primary_conninfo set" "true|true" \
	"SELECT pg_is_in_recovery() || '|' || (current_setting('primary_conninfo') <> '')"
on_primary check "primary: one streaming standby" "1|streaming" \
	"SELECT count(*) || '|' || string_agg(state, ',') FROM pg_stat_replication"

# ---------------------------------------------------------------------------------------------
say "primary: pgbench (4 clients) for ${LOAD_SECONDS}s, witness.seal() every 0.5 s, then 3 changes left pending"

"$PGBENCH" -n -h 127.0.0.1 -p "$P_PORT" -c 4 -j 2 -T "$LOAD_SECONDS" -b tpcb-like "$DB" >"$WORK/pgbench.out" 2>&1 &
BENCH_PID=$!
seals=0
while kill -0 "$BENCH_PID" 2>/dev/null; do
	n="$(qp "SELECT count(*) FROM witness.seal()")"
	seals=$((seals + n))
	sleep 0.5
done
rc=0
wait "$BENCH_PID" || rc=$?
BENCH_PID=
grep -E '^(number of transactions actually|tps)' "$WORK/pgbench.out" || true
on_primary check "pgbench exit status" 0 "SELECT $rc"
qp "SELECT count(*) FROM witness.seal()" >/dev/null
for i in 1 2 3; do
	"$PSQL" -X -q -h "$PRIMARY" -p "$P_PORT" -d "$DB" -c "SET witness.actor = 'pending-$i'" \
		-c "UPDATE pgbench_accounts SET abalance = abalance + $i WHERE aid = $i" >/dev/null
done
echo "primary: $seals blocks sealed during the run; $(qp "SELECT count(*) FROM witness.block") blocks, $(qp "SELECT count(*) FROM witness.entry") entries"
on_primary check "primary: witness.verify() valid, 3 pending" "1|valid|3" \
	"SELECT count(*), string_agg(DISTINCT status, ','), sum(entries_pending) FROM witness.verify()" "SELECT * FROM witness.verify()"

# ---------------------------------------------------------------------------------------------
say "standby: replay"

MAXID="$(qp "SELECT max(id) FROM witness.entry")"
TARGET="$(qp "SELECT pg_current_wal_lsn()")"
t_replay=$SECONDS
if on_standby wait_for "standby replayed up to $TARGET" 60 "SELECT pg_last_wal_replay_lsn() >= '$TARGET'::pg_lsn"; then
	check_ok "standby replayed up to the primary's $TARGET within $((SECONDS - t_replay)) s" ok
else
	check_ok "standby replayed up to the primary's $TARGET within 60 s" "replayed only $(qs "SELECT pg_last_wal_replay_lsn()")"
	finish streaming_replica
fi

# ---------------------------------------------------------------------------------------------
say "standby: verification, export, proofs"

VERIFY_COUNTS="SELECT count(*) || '|' || string_agg(status, ',') || '|' || sum(blocks_checked) || '|' || sum(entries_checked) || '|' || sum(entries_pending)
                 FROM witness.verify()"
P_COUNTS="$(qp "$VERIFY_COUNTS")"
echo "primary: rows|status|blocks|entries|pending = $P_COUNTS"
on_standby check "standby: witness.verify() = primary's (rows|status|blocks|entries|pending)" "$P_COUNTS" "$VERIFY_COUNTS" \
	"SELECT * FROM witness.verify()"
[[ $P_COUNTS == 1\|valid\|* ]] || check_ok "primary's verify() is valid (precondition)" "$P_COUNTS"
on_standby check "standby: witness.verify_period() over the last hour = primary's blocks" \
	"valid|$(qp "SELECT count(*) FROM witness.block WHERE sealed_at >= now() - interval '1 hour'")" \
	"SELECT status || '|' || blocks_checked FROM witness.verify_period(now() - interval '1 hour', now() + interval '1 minute')"

qp "SELECT * FROM witness.export_trail()" >"$WORK/primary.trail"
qs "SELECT * FROM witness.export_trail()" >"$WORK/standby.trail"
if cmp -s "$WORK/primary.trail" "$WORK/standby.trail"; then
	check_ok "standby: export_trail() byte-identical to the primary's ($(wc -l <"$WORK/standby.trail") lines)" ok
else
	check_ok "standby: export_trail() byte-identical to the primary's" "$(diff "$WORK/primary.trail" "$WORK/standby.trail" | head -10)"
fi
out=""
rc=0
out="$(python3 "$IT_LIB/trail_check.py" --allow-pending <"$WORK/standby.trail" 2>&1)" || rc=$?
if ((rc == 0)) && [[ $out == *", 3 pending,"* ]]; then
	check_ok "standby: export recomputed outside the database ($out)" ok
else
	check_ok "standby: export recomputed outside the database, 3 pending" "$out"
fi
on_standby check "standby: every leaf_hash = witness.entry_leaf_hash(e)" 0 \
	"SELECT count(*) FROM witness.entry e WHERE $LEAF_MISMATCH"

# Proofs of the first, a middle and the last sealed entry, and of a few in the newest block.
# Sealed = visible in the newest block's snapshot (block snapshots only grow): one check per entry,
# where witness.block_of() per entry took minutes on this trail.
IDS="$(qp "WITH last AS (SELECT snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1),
                 s AS (SELECT e.id FROM witness.entry e, last WHERE pg_visible_in_snapshot(e.xid, last.snapshot))
            SELECT string_agg(id::text, ' ') FROM (
              SELECT min(id) AS id FROM s UNION SELECT max(id) FROM s
              UNION SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY id) FROM s
              UNION (SELECT id FROM s ORDER BY id DESC LIMIT 4 OFFSET 1)) x")"
echo "proving entries $IDS"
: >"$WORK/standby.proofs"
proof_diff=0
for id in $IDS; do
	ps="$(qs "SELECT witness.prove($id)")"
	pp="$(qp "SELECT witness.prove($id)")"
	[[ $ps == "$pp" ]] || proof_diff=$((proof_diff + 1))
	echo "$ps" >>"$WORK/standby.proofs"
done
on_standby check "standby: witness.prove() of $(wc -w <<<"$IDS") entries = the primary's" 0 "SELECT $proof_diff"
rc=0
out="$(python3 "$IT_LIB/proof_check.py" <"$WORK/standby.proofs" 2>&1)" || rc=$?
indent <<<"$out"
if ((rc == 0)); then
	check_ok "standby: the proofs verify outside the database (RFC 9162 audit paths, block hashes)" ok
else
	check_ok "standby: the proofs verify outside the database" "$(grep -v verified <<<"$out")"
fi
# Lookups: the lookup table is unlogged (docs/views.md, "Speed"), so a standby has no copy of it and
# reads the trail; it must find what the primary finds through its lookup table.
LOOKUPS="SELECT md5(q.t) || ' over ' || length(q.t) || ' characters' FROM (SELECT (SELECT string_agg(s.entry_id::text, ',' ORDER BY s.entry_id) FROM witness.search(target => 'pgbench_branches', max_rows => 100000) s WHERE s.entry_id <= $MAXID)
         || '/' || (SELECT string_agg(h.entry_id::text, ',' ORDER BY h.entry_id) FROM witness.entity_history('pgbench_accounts'::regclass, '{\"aid\": 1}') h WHERE h.entry_id <= $MAXID)
         || '/' || (SELECT count(*) FROM witness.search(table_name => 'pgbench_tellers', max_rows => 100000) s WHERE s.entry_id <= $MAXID)) q(t)"
P_LOOKUPS="$(qp "$LOOKUPS")"
echo "primary: lookups found $P_LOOKUPS"
on_standby check "standby: witness.search() and witness.entity_history() find what the primary's find" "$P_LOOKUPS" "$LOOKUPS"
PENDING_ID="$(qs "SELECT id FROM witness.entry WHERE actor = 'pending-1'")"
# The standby's log up to here: nothing may have gone wrong (errors on purpose follow).
LOG_LINES=$(wc -l <"$STANDBY/server.log")
out="$("$PSQL" -X -q -A -t -h "$STANDBY" -p "$S_PORT" -d "$DB" -v VERBOSITY=verbose -c "SELECT witness.prove($PENDING_ID)" 2>&1 || true)"
if [[ $out == *"is not sealed yet"* ]]; then
	check_ok "standby: prove() of a pending entry: $(head -n 1 <<<"$out")" ok
else
	check_ok "standby: prove() of a pending entry says it is not sealed yet" "$out"
fi

# ---------------------------------------------------------------------------------------------
say "standby: witness.seal() must fail"

BLOCKS_BEFORE="$(qs "SELECT count(*) FROM witness.block")"
rc=0
out="$("$PSQL" -X -q -A -t -h "$STANDBY" -p "$S_PORT" -d "$DB" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "SELECT * FROM witness.seal()" 2>&1)" || rc=$?
echo "witness.seal() on the standby said:"
indent <<<"$out"
if ((rc != 0)) && grep -q '^ERROR:' <<<"$out"; then
	check_ok "standby: witness.seal() fails with an ERROR (SQLSTATE $(sed -n 's/^ERROR:  \([0-9A-Z]\{5\}\):.*/\1/p' <<<"$out" | head -n 1))" ok
else
	check_ok "standby: witness.seal() fails with an ERROR" "exit status $rc, output: $out"
fi
if grep -qiE 'recovery|standby|read-only' <<<"$out"; then
	check_ok "standby: the error says why (recovery / standby / read-only)" ok
else
	check_ok "standby: the error says why (recovery / standby / read-only)" "$out"
fi
on_standby check "standby: no block made" "$BLOCKS_BEFORE" "SELECT count(*) FROM witness.block"
rc=0
out="$("$PSQL" -X -q -A -t -h "$STANDBY" -p "$S_PORT" -d "$DB" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose -c "SELECT * FROM witness.verify_lookup()" 2>&1)" || rc=$?
if ((rc != 0)) && grep -q '^ERROR:  55000: witness.entry_lookup cannot be checked on a hot standby' <<<"$out"; then
	check_ok "standby: witness.verify_lookup() refused (SQLSTATE 55000: no lookup table on a standby)" ok
else
	check_ok "standby: witness.verify_lookup() refused (SQLSTATE 55000)" "exit status $rc: $(head -n 1 <<<"$out")"
fi

say "standby: witness.subject_export() is refused, with no line (its record could not be written)"
rc=0
"$PSQL" -X -q -A -t -h "$STANDBY" -p "$S_PORT" -d "$DB" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
	-c "SELECT witness.subject_export('pending-1', 'json', 'on the standby')" >"$WORK/standby_export.out" 2>"$WORK/standby_export.err" || rc=$?
indent <"$WORK/standby_export.err"
if ((rc != 0)) && grep -q '^ERROR:  25006: ' "$WORK/standby_export.err"; then
	check_ok "standby: subject_export() refused (SQLSTATE 25006)" ok
else
	check_ok "standby: subject_export() refused (SQLSTATE 25006)" "exit status $rc: $(head -n 1 "$WORK/standby_export.err")"
fi
on_standby check "standby: the refused export printed no line" 0 "SELECT $(grep -c . "$WORK/standby_export.out" || true)"
on_standby check "standby: no pg_witness background worker runs during recovery" 0 \
	"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'pg_witness%'"
ERRS="$(head -n "$LOG_LINES" "$STANDBY/server.log" | grep -E 'ERROR|FATAL|PANIC' || true)"
if [[ -z $ERRS ]]; then
	check_ok "standby: its log has no ERROR, FATAL or PANIC from startup to the first deliberate error" ok
else
	check_ok "standby: its log has no ERROR, FATAL or PANIC from startup to the first deliberate error" "$(head -n 5 <<<"$ERRS")"
fi

say "standby: a read of a table tracked with capture_reads is refused (it could not be recorded)"
rc=0
"$PSQL" -X -q -A -t -h "$STANDBY" -p "$S_PORT" -d "$DB" -v ON_ERROR_STOP=1 -v VERBOSITY=verbose \
	-c "SELECT v FROM sr_secret" >"$WORK/standby_read.out" 2>"$WORK/standby_read.err" || rc=$?
indent <"$WORK/standby_read.err"
if ((rc != 0)) && grep -q '^ERROR:  25006: cannot read public.sr_secret on a standby' "$WORK/standby_read.err"; then
	check_ok "standby: the read refused (SQLSTATE 25006)" ok
else
	check_ok "standby: the read refused (SQLSTATE 25006)" "exit status $rc: $(head -n 1 "$WORK/standby_read.err")"
fi
on_standby check "standby: the refused read printed no row" 0 "SELECT $(grep -c . "$WORK/standby_read.out" || true)"
on_standby check "standby: a table tracked without capture_reads reads as usual" 1 "SELECT count(*) FROM pgbench_branches"

# ---------------------------------------------------------------------------------------------
say "primary seals the pending entries; the standby follows"

on_primary check "primary: witness.seal() seals the 3 pending entries" 3 "SELECT entry_count FROM witness.seal()"
TARGET="$(qp "SELECT pg_current_wal_lsn()")"
on_standby wait_for "standby replayed up to $TARGET" 60 "SELECT pg_last_wal_replay_lsn() >= '$TARGET'::pg_lsn" || true
P_COUNTS="$(qp "$VERIFY_COUNTS")"
on_standby check "standby: witness.verify() = primary's again ($P_COUNTS)" "$P_COUNTS" "$VERIFY_COUNTS" "SELECT * FROM witness.verify()"
on_standby check "standby: the formerly pending entry is sealed in the newest block" \
	"$(qp "SELECT max(block_no) FROM witness.block")" "SELECT (witness.prove($PENDING_ID))->>'block_no'"
echo "primary and standby: $(qs "SELECT count(*) FROM witness.block") blocks, $(qs "SELECT count(*) FROM witness.entry") entries"

finish streaming_replica
