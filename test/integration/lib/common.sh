# shellcheck shell=bash
# Helpers sourced by the integration scripts of test/integration/*.sh (not a test itself).
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
#
# Connection: psql takes PGHOST/PGPORT/PGUSER from the environment (scripts/test.sh exports them);
# q, check and friends run in database $DB, on $Q_HOST/$Q_PORT when those are set (for scripts
# that start clusters of their own), else on PGHOST/PGPORT.
#
# Functions:
#   say TITLE                       a heading
#   q SQL                           run SQL in $DB, unaligned tuples-only output, stops on error
#   q_on HOST PORT DB SQL           the same against another server or database
#   check NAME EXPECTED SQL [DETAIL_SQL]
#                                   SQL must print exactly EXPECTED; otherwise print the query and
#                                   the first rows of DETAIL_SQL, and count a failure
#   check_ok NAME CONDITION_TEXT    count a passed (CONDITION_TEXT = "ok") or failed check
#   finish NAME                     print the summary line and exit non-zero if a check failed
#   wait_for NAME TIMEOUT_S SQL     poll SQL (every 0.2 s) until it prints t; false on timeout
#   free_port                       print a free TCP port of 127.0.0.1 (55000-59999)
#   as_pg CMD...                    run CMD as the OS user that owns the clusters
#   own_cluster_init DIR PORT [CONF_LINE...]   initdb DIR/data as that user, listen on 127.0.0.1:PORT
#                                   and a socket in DIR, preload pg_witness, extra conf lines last
#   own_cluster_start DIR / own_cluster_stop DIR [MODE]
#   check_blocks NAME               SQL checks of the blocks in $DB: every entry in exactly one block
#                                   (membership recomputed from the stored snapshots), block
#                                   entry_count / first / last id = members, numbers consecutive,
#                                   prev_hash links, sealed_at ascending; nothing may be pending
#   check_trail NAME HOST PORT DB   independent check of witness.export_trail() (lib/trail_check.py)
#                                   and of every leaf hash (witness.entry_leaf_hash)

set -euo pipefail

PG_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/15/bin}"
export PATH="$PG_BINDIR:$PATH"
PSQL="$PG_BINDIR/psql"
# shellcheck disable=SC2034 # used by the scripts that source this file
PGBENCH="$PG_BINDIR/pgbench"
IT_LIB="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -z ${PG_OS_USER:-} ]]; then
	if [[ $EUID -eq 0 ]]; then PG_OS_USER=postgres; else PG_OS_USER="$(id -un)"; fi
fi

unset PGAPPNAME PGOPTIONS PGDATESTYLE PGTZ PGHOSTADDR PGSERVICE PGSERVICEFILE

# A script stopped by a signal (scripts/test.sh's timeout sends SIGTERM) still runs its EXIT trap,
# which stops its clusters and restores shared settings.
trap 'exit 130' INT
trap 'exit 143' TERM

say() { printf '\n== %s\n' "$*"; }
note() { printf '      %s\n' "$*"; }
# indent: copy stdin to stdout, indented like the details of a check.
indent() { sed 's/^/      /'; }

q_on() {
	"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -h "$1" -p "$2" -d "$3" -c "$4"
}
q() {
	q_on "${Q_HOST:-${PGHOST:-127.0.0.1}}" "${Q_PORT:-${PGPORT:-5432}}" "$DB" "$1"
}
# qt SQL: q with aligned output (for printing rows to the reader).
qt() {
	"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "${Q_HOST:-${PGHOST:-127.0.0.1}}" -p "${Q_PORT:-${PGPORT:-5432}}" -d "$DB" -c "$1"
}

PASSED=0
FAILED=0
check() {
	local name=$1 expected=$2 sql=$3 detail=${4:-} got rc=0
	got="$(q "$sql" 2>&1)" || rc=$?
	if ((rc == 0)) && [[ $got == "$expected" ]]; then
		PASSED=$((PASSED + 1))
		printf 'ok    %-80s %s\n' "$name" "$got"
	else
		FAILED=$((FAILED + 1))
		printf 'FAIL  %s: got [%s], expected [%s]\n' "$name" "$got" "$expected"
		printf '      query: %s\n' "$sql"
		if [[ -n $detail ]]; then
			echo "      offending rows (first 10):"
			qt "SELECT * FROM ($detail) d LIMIT 10" 2>&1 | sed 's/^/      /' || true
		fi
	fi
}
check_ok() {
	local name=$1 result=$2
	if [[ $result == ok ]]; then
		PASSED=$((PASSED + 1))
		printf 'ok    %s\n' "$name"
	else
		FAILED=$((FAILED + 1))
		printf 'FAIL  %s: %s\n' "$name" "$result"
	fi
}
finish() {
	echo
	local total=$((PASSED + FAILED))
	if ((FAILED > 0)); then
		echo "$1: $FAILED of $total checks FAILED"
		exit 1
	fi
	echo "$1: $PASSED checks passed"
}

wait_for() {
	local name=$1 timeout=$2 sql=$3 start=$SECONDS got
	while :; do
		got="$(q "$sql" 2>/dev/null || true)"
		[[ $got == t ]] && return 0
		if ((SECONDS - start >= timeout)); then
			echo "      timed out after ${timeout}s waiting for: $name (last answer [$got])"
			return 1
		fi
		sleep 0.2
	done
}

_port_in_use() {
	if command -v ss >/dev/null 2>&1; then
		[[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}
free_port() {
	local i p
	for ((i = 0; i < 50; i++)); do
		p=$((55000 + RANDOM % 5000))
		if ! _port_in_use "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "no free port found" >&2
	return 1
}

as_pg() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u "$PG_OS_USER" -- "$@"
	else
		"$@"
	fi
}

# own_cluster_init DIR PORT [CONF_LINE...]: DIR must exist; the cluster goes to DIR/data, its log
# to DIR/server.log.
own_cluster_init() {
	local dir=$1 port=$2
	shift 2
	chmod 755 "$dir"
	[[ $EUID -ne 0 ]] || chown "$PG_OS_USER:" "$dir"
	if ! (cd "$dir" && as_pg "$PG_BINDIR/initdb" -D "$dir/data" --auth=trust -U postgres \
		--encoding=UTF8 --locale=C.UTF-8 --no-instructions --no-sync) >"$dir/initdb.log" 2>&1; then
		cat "$dir/initdb.log" >&2
		return 1
	fi
	{
		echo
		echo "# ---- pg_witness integration test cluster (test/integration/lib/common.sh) ----"
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$dir'"
		echo "shared_preload_libraries = 'pg_witness'"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] %q%u@%d/%a '"
		echo "fsync = on"
		if (($# > 0)); then printf '%s\n' "$@"; fi
	} >>"$dir/data/postgresql.conf"
}
own_cluster_start() {
	local dir=$1 datadir=${2:-$1/data} log=${3:-$1/server.log}
	if ! (cd "$dir" && as_pg "$PG_BINDIR/pg_ctl" -D "$datadir" -l "$log" -w -t 120 start) >/dev/null; then
		echo "---- server log $log ----" >&2
		tail -n 40 "$log" >&2 || true
		return 1
	fi
}
own_cluster_stop() {
	local dir=$1 datadir=${2:-$1/data} mode=${3:-fast}
	[[ -f $datadir/postmaster.pid ]] || return 0
	if ! (cd "$dir" && as_pg "$PG_BINDIR/pg_ctl" -D "$datadir" -m "$mode" -w -t 60 stop) >/dev/null 2>&1; then
		(cd "$dir" && as_pg "$PG_BINDIR/pg_ctl" -D "$datadir" -m immediate -w -t 60 stop) >/dev/null 2>&1 || true
	fi
}

# own_cluster_setup NAME [HOOK]: for a script with a cluster of its own, WORK (a fresh directory
# /tmp/NAME.XXXXXX) and PORT (a free port), and an EXIT trap that calls HOOK first (a function that
# stops the script's own helpers), prints the end of the server log when the script failed, stops the
# cluster, copies its log to KEEP_LOG when that is set, removes WORK and exits with the script's status.
own_cluster_setup() {
	WORK="$(mktemp -d "/tmp/$1.XXXXXX")"
	PORT="$(free_port)"
	_OWN_CLUSTER_HOOK=${2:-}
	trap _own_cluster_cleanup EXIT
}
_own_cluster_cleanup() {
	local rc=$?
	set +e
	[[ -z $_OWN_CLUSTER_HOOK ]] || "$_OWN_CLUSTER_HOOK"
	if ((rc != 0)) && [[ -f $WORK/server.log ]]; then
		echo "---- last 30 lines of the server log ----"
		tail -n 30 "$WORK/server.log"
	fi
	own_cluster_stop "$WORK"
	[[ -z ${KEEP_LOG:-} || ! -f $WORK/server.log ]] || cp "$WORK/server.log" "$KEEP_LOG"
	rm -rf "$WORK"
	exit "$rc"
}

# An entry whose stored leaf hash is not what capture stores of the hash its content gives: all 32
# bytes for format 1, the first 8 since (docs/hashing.md, "How entries store their leaf hash").
LEAF_MISMATCH="octet_length(e.leaf_hash) IS DISTINCT FROM CASE e.format WHEN 1 THEN 32 ELSE 8 END
               OR e.leaf_hash IS DISTINCT FROM substring(witness.entry_leaf_hash(e) FOR octet_length(e.leaf_hash))"

# check_trail NAME HOST PORT DB: recompute the chain from witness.export_trail() outside the database
# (block membership from the stored snapshots, Merkle roots, block hashes, prev_hash links, block
# numbers, entry counts and id ranges, every entry in exactly one block or pending), and every leaf
# hash with witness.entry_leaf_hash() inside it. Prints the checker's summary.
check_trail() {
	local name=$1 host=$2 port=$3 db=$4 out rc=0 bad
	# COPY, not psql's printer, which drops Unicode noncharacters (docs/verification.md).
	out="$("$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -d "$db" -c '\copy (SELECT * FROM witness.export_trail()) TO STDOUT' |
		python3 "$IT_LIB/trail_check.py" --copy-text 2>&1)" || rc=$?
	if ((rc == 0)); then
		check_ok "$name: export_trail() recomputed outside the database ($out)" ok
	else
		check_ok "$name: export_trail() recomputed outside the database" "$out"
	fi
	bad="$(q_on "$host" "$port" "$db" "SELECT count(*) FROM witness.entry e WHERE $LEAF_MISMATCH")"
	if [[ $bad == 0 ]]; then
		check_ok "$name: every leaf_hash = witness.entry_leaf_hash(e)" ok
	else
		check_ok "$name: every leaf_hash = witness.entry_leaf_hash(e)" "$bad entries differ"
	fi
}

# Block membership from the stored snapshots: block k = the entries whose xid is visible in
# snapshot k and not in snapshot k-1. The xid bounds only help the index (xid < xmin(k-1) implies
# visible in k-1; xid >= xmax(k) implies not visible in k).
MEMBERS_CTE="WITH bp AS (SELECT block_no, snapshot AS s, lag(snapshot) OVER (ORDER BY block_no) AS p, sealed_at FROM witness.block),
  m AS (SELECT e.id, e.xid, e.stmt_time, bp.block_no, bp.sealed_at
          FROM bp JOIN witness.entry e
            ON e.xid >= coalesce(pg_snapshot_xmin(bp.p), '0'::xid8) AND e.xid < pg_snapshot_xmax(bp.s)
           AND pg_visible_in_snapshot(e.xid, bp.s) AND (bp.p IS NULL OR NOT pg_visible_in_snapshot(e.xid, bp.p)))"
# Offending blocks of the chain: numbers not 1..n, prev_hash not the previous block_hash (zeros for
# block 1), sealed_at going back, hashes not 32 bytes.
CHAIN_BAD_SQL="SELECT block_no, rn, entry_count, sealed_at, prev_sealed_at, prev_hash = ph AS linked FROM (
  SELECT b.*, row_number() OVER w AS rn,
         lag(block_hash, 1, '\\x0000000000000000000000000000000000000000000000000000000000000000'::bytea) OVER w AS ph,
         lag(sealed_at) OVER w AS prev_sealed_at
    FROM witness.block b WINDOW w AS (ORDER BY block_no)) x
 WHERE block_no <> rn OR prev_hash <> ph OR sealed_at < prev_sealed_at
    OR octet_length(block_hash) <> 32 OR octet_length(merkle_root) <> 32"

# The entries the newest block's snapshot covers: a background sealer keeps writing activity (the
# checks' own logins among it), so entries committed after the newest block are not compared.
SEALED_SQL="pg_visible_in_snapshot(e.xid, (SELECT snapshot FROM witness.block ORDER BY block_no DESC LIMIT 1))"
check_blocks() {
	local name=$1
	local not_once="$MEMBERS_CTE
	  SELECT e.id, e.xid, e.stmt_time, c.n, c.blocks FROM witness.entry e
	    LEFT JOIN (SELECT id, count(*) AS n, array_agg(block_no) AS blocks FROM m GROUP BY id) c USING (id)
	   WHERE coalesce(c.n, 0) <> 1 AND (c.n IS NOT NULL OR $SEALED_SQL)"
	check "$name: entries not in exactly one block (from the snapshots)" 0 \
		"SELECT count(*) FROM ($not_once) x" "$not_once"
	check "$name: sum(block.entry_count) = count(*) of the sealed entries of witness.entry" t \
		"SELECT coalesce((SELECT sum(entry_count) FROM witness.block), 0) = (SELECT count(*) FROM witness.entry e WHERE $SEALED_SQL)"
	local block_bad="$MEMBERS_CTE
	  SELECT b.block_no, b.entry_count, c.n, b.first_entry_id, c.first_id, b.last_entry_id, c.last_id
	    FROM witness.block b LEFT JOIN (SELECT block_no, count(*) AS n, min(id) AS first_id, max(id) AS last_id
	                                      FROM m GROUP BY block_no) c USING (block_no)
	   WHERE (b.entry_count, b.first_entry_id, b.last_entry_id) IS DISTINCT FROM (coalesce(c.n, 0), c.first_id, c.last_id)"
	check "$name: blocks whose entry_count / first / last entry id differ from their members" 0 \
		"SELECT count(*) FROM ($block_bad) x" "$block_bad"
	check "$name: block numbers 1..n, prev_hash = previous block_hash, sealed_at ascending" 0 \
		"SELECT count(*) FROM ($CHAIN_BAD_SQL) x" "$CHAIN_BAD_SQL"
}

# own_cluster_kill9 DATADIR: SIGKILL the postmaster of DATADIR and every process of its cluster, as a
# power loss would leave it. The postmaster is frozen first (SIGSTOP) so that it forks nothing while
# its children are listed; the children do not carry the data directory on their command line, so
# they are found as the postmaster's children.
own_cluster_kill9() {
	local datadir=$1 pm children p i alive
	pm="$(head -n 1 "$datadir/postmaster.pid")"
	[[ $pm =~ ^[0-9]+$ ]] || {
		echo "no postmaster pid in $datadir/postmaster.pid" >&2
		return 1
	}
	kill -STOP "$pm"
	children="$(pgrep -P "$pm" || true)"
	kill -9 "$pm"
	pkill -9 -u "$PG_OS_USER" -f -- "postgres -D $datadir\$" || true
	for p in $children; do
		kill -9 "$p" 2>/dev/null || true
	done
	echo "killed postmaster $pm and its $(wc -w <<<"$children") children with SIGKILL"
	for ((i = 0; i < 100; i++)); do
		alive=0
		for p in $pm $children; do
			if kill -0 "$p" 2>/dev/null; then alive=1; fi
		done
		((alive)) || return 0
		sleep 0.1
	done
	echo "processes of the killed cluster still alive after 10 s" >&2
	return 1
}

# pgbench_tracked WORKDIR: in $DB, pg_witness, pgbench -i -s 1 (through $PGBENCH), and the four
# pgbench tables tracked.
pgbench_tracked() {
	q "CREATE EXTENSION pg_witness" >/dev/null
	"$PGBENCH" -i -q -s 1 "$DB" >"$1/init.out" 2>&1 || {
		cat "$1/init.out" >&2
		exit 1
	}
	q "SET client_min_messages = warning;
	   SELECT witness.track('pgbench_accounts'), witness.track('pgbench_tellers'), witness.track('pgbench_branches'),
	          witness.track('pgbench_history')" >/dev/null
}

# check_pgbench_run OUTFILE MAX0: the tpcb-like run whose output is OUTFILE failed no transaction, and
# each transaction it processed left one pgbench_history entry above id MAX0 (an UPDATE whose delta is
# 0 changes nothing and has no entry; the INSERT always has one).
check_pgbench_run() {
	check "pgbench: no failed transactions" 0 \
		"SELECT $(sed -n 's|^number of failed transactions: \([0-9]*\).*|\1|p' "$1" | grep . || echo 0)"
	check "history entries of the run: one per transaction" t \
		"SELECT count(*) = $(sed -n 's|^number of transactions actually processed: \([0-9]*\).*|\1|p' "$1")
		   FROM witness.entry WHERE id > $2 AND table_name = 'pgbench_history'"
}

# check_balance_chains: on pgbench tables tracked by pg_witness, every teller's and branch's UPDATE
# entries, in id order, chain old balance = previous new balance, from 0 to the final balance: the
# ids kept the order in which the row's changes were made.
check_balance_chains() {
	local spec t k col chain
	for spec in tellers:tid:tbalance branches:bid:bbalance; do
		IFS=: read -r t k col <<<"$spec"
		chain="WITH u AS (
		         SELECT (row_key->>'$k')::int AS $k, id, (old_values::jsonb->>'$col')::bigint AS old,
		                (new_values::jsonb->>'$col')::bigint AS new,
		                lag((new_values::jsonb->>'$col')::bigint, 1, 0::bigint) OVER (PARTITION BY (row_key->>'$k')::int ORDER BY id) AS prev_new,
		                row_number() OVER (PARTITION BY (row_key->>'$k')::int ORDER BY id DESC) AS from_last
		           FROM witness.entry WHERE table_name = 'pgbench_$t' AND op = 'U')
		       SELECT u.*, r.$col AS final FROM u JOIN pgbench_$t r USING ($k)
		        WHERE u.old <> u.prev_new OR (u.from_last = 1 AND u.new <> r.$col)"
		check "$t: UPDATE entries in id order chain old = previous new, ending at the final $col" 0 \
			"SELECT count(*) FROM ($chain) c" "$chain"
	done
}
