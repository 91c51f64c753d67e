# shellcheck shell=bash
# Helpers sourced by scripts/demo.sh, scripts/test.sh and the benchmark scripts.
#
#   source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# Functions: install_deps, build_ext, build_unit, build_all, start_cluster, stop_cluster,
# show_server_log, as_pg, as_root, on_exit, log, section, warn, die.
#
# Environment variables read (all optional):
#   WITNESS_PRELOAD        shared_preload_libraries of the test cluster (default: pg_witness;
#                          set it to the empty string to start a cluster without the extension)
#   WITNESS_PG_CONF        extra postgresql.conf lines, newline-separated (start_cluster also takes
#                          extra lines as arguments); they come last, so they override the defaults
#   WITNESS_JOBS           parallel build jobs (default: 2)
#   WITNESS_KEEP_CLUSTER=1 leave the cluster running and its directory in place at exit
#   WITNESS_LOG_ON_FAILURE=0  do not print the server log's tail when the script fails
#   PG_CONFIG              pg_config to build against (default: PostgreSQL 15's)
#   PG_BINDIR              PostgreSQL 15 binaries to run (default: Debian's); with PG_CONFIG, lets a
#                          developer test against a private copy of the installation

if [[ -n ${_WITNESS_LIB_LOADED:-} ]]; then
	return 0
fi
_WITNESS_LIB_LOADED=1

set -euo pipefail

REPO="${REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
export REPO

PG_MAJOR=15
PG_BINDIR="${PG_BINDIR:-/usr/lib/postgresql/$PG_MAJOR/bin}"
export PG_CONFIG="${PG_CONFIG:-$PG_BINDIR/pg_config}"
# psql, pg_ctl, pgbench, ... of PostgreSQL 15 first, whatever else is installed.
export PATH="$PG_BINDIR:$PATH"

WITNESS_PRELOAD="${WITNESS_PRELOAD-pg_witness}"
WITNESS_JOBS="${WITNESS_JOBS:-2}"

# Packages a fresh Debian 12 needs to build, test and demo pg_witness.
# postgresql-contrib-15 is a virtual package provided by postgresql-15.
# libkrb5-dev: the server header libpq/libpq-be.h (client address, MyProcPort) includes
# <gssapi/gssapi.h>, and postgresql-server-dev-15 does not depend on it.
# libpq-dev: witness-verify --connect reads the trail through libpq (found with pkg-config).
# chromium, poppler-utils, xxd, openssl: test/integration/audit_report.sh prints the report to PDF,
# reads it back (pdftotext, pdfinfo) and follows the report's OpenSSL recipe (docs/report.md).
# zlib1g-dev: retention's archive files are gzip, written by the extension and read by witness-verify.
WITNESS_DEPS=(
	postgresql-15 postgresql-server-dev-15 postgresql-contrib-15 postgresql-15-pgaudit
	libssl-dev libkrb5-dev libpq-dev libgtest-dev cmake g++ make pkg-config python3 ca-certificates
	chromium poppler-utils xxd openssl zlib1g-dev
	postgresql-15-cron rsyslog
)

# ---------------------------------------------------------------------------------------------
# Logging

if [[ -t 1 && -z ${NO_COLOR:-} ]]; then
	_C_BOLD=$'\e[1m' _C_RED=$'\e[31m' _C_YELLOW=$'\e[33m' _C_OFF=$'\e[0m'
else
	_C_BOLD='' _C_RED='' _C_YELLOW='' _C_OFF=''
fi

# log MESSAGE...: progress line on stdout, with the seconds since the script started.
log() { printf '%s[%4ds]%s %s\n' "$_C_BOLD" "$SECONDS" "$_C_OFF" "$*"; }
# section TITLE: a visible heading between steps.
section() { printf '\n%s==== %s ====%s\n' "$_C_BOLD" "$*" "$_C_OFF"; }
warn() { printf '%swarning:%s %s\n' "$_C_YELLOW" "$_C_OFF" "$*" >&2; }
die() {
	printf '%serror:%s %s\n' "$_C_RED" "$_C_OFF" "$*" >&2
	exit 1
}

# ---------------------------------------------------------------------------------------------
# Exit handlers: on_exit CMD registers CMD (a string, eval'ed); handlers run in reverse order of
# registration when the script exits, for any reason. A handler may change _EXIT_RC.

_EXIT_HANDLERS=()
_EXIT_RC=0

_witness_run_exit_handlers() {
	_EXIT_RC=$?
	set +e
	local i
	for ((i = ${#_EXIT_HANDLERS[@]} - 1; i >= 0; i--)); do
		eval "${_EXIT_HANDLERS[i]}"
	done
	exit "$_EXIT_RC"
}

on_exit() {
	_EXIT_HANDLERS+=("$1")
	trap _witness_run_exit_handlers EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# ---------------------------------------------------------------------------------------------
# Users

# as_root CMD...: run CMD as root (directly when we are root, else through sudo).
as_root() {
	if [[ $EUID -eq 0 ]]; then
		"$@"
	elif command -v sudo >/dev/null 2>&1; then
		sudo "$@"
	else
		die "need root for: $* (run as root or install sudo)"
	fi
}

# The OS user that owns the test cluster: postgres when we are root, else ourselves.
if [[ $EUID -eq 0 ]]; then
	PG_OS_USER=postgres
else
	PG_OS_USER="$(id -un)"
fi

# as_pg CMD...: run CMD as the cluster's OS user.
as_pg() {
	if [[ $EUID -eq 0 ]]; then
		runuser -u "$PG_OS_USER" -- "$@"
	else
		"$@"
	fi
}

# ---------------------------------------------------------------------------------------------
# Dependencies

_WITNESS_APT_UPDATED=

# pkg_installed NAME: true when package NAME is installed, or when NAME is a virtual package
# that an installed package provides.
pkg_installed() {
	local status
	status="$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null || true)"
	[[ $status == installed ]] && return 0
	dpkg-query -W -f='${db:Status-Status} ${Provides}\n' 2>/dev/null |
		awk -v want="$1" '
			$1 == "installed" {
				for (i = 2; i <= NF; i++) { p = $i; sub(/,$/, "", p); if (p == want) found = 1 }
			}
			END { exit !found }'
}

# install_deps: apt-get install whatever of WITNESS_DEPS is missing; no apt at all otherwise.
install_deps() {
	command -v dpkg-query >/dev/null 2>&1 || die "install_deps needs Debian (dpkg-query not found)"
	local missing=() p
	for p in "${WITNESS_DEPS[@]}"; do
		pkg_installed "$p" || missing+=("$p")
	done
	if ((${#missing[@]} == 0)); then
		log "dependencies: all ${#WITNESS_DEPS[@]} packages installed"
		return 0
	fi
	log "dependencies: installing ${missing[*]}"
	local apt=(env DEBIAN_FRONTEND=noninteractive apt-get -q -o Dpkg::Use-Pty=0
		-o DPkg::Lock::Timeout=300)
	if [[ -z $_WITNESS_APT_UPDATED ]]; then
		as_root "${apt[@]}" update
		_WITNESS_APT_UPDATED=1
	fi
	as_root "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
	for p in "${WITNESS_DEPS[@]}"; do
		pkg_installed "$p" || die "package $p still missing after apt-get install"
	done
	log "dependencies: installed"
}

# ---------------------------------------------------------------------------------------------
# Build

# build_ext: build the extension with PGXS and install it into PostgreSQL 15.
build_ext() {
	log "build: make -j$WITNESS_JOBS (PGXS, $PG_CONFIG)"
	make -C "$REPO" -j"$WITNESS_JOBS" PG_CONFIG="$PG_CONFIG" || return
	log "build: make install"
	as_root make -C "$REPO" install PG_CONFIG="$PG_CONFIG" || return
}

# build_unit: configure and build the CMake project (core library and unit tests) in build/.
build_unit() {
	log "build: cmake (Release) in $REPO/build"
	cmake -S "$REPO" -B "$REPO/build" -DCMAKE_BUILD_TYPE=Release || return
	cmake --build "$REPO/build" -j"$WITNESS_JOBS" || return
}

build_all() {
	build_ext || return
	build_unit || return
}

# ---------------------------------------------------------------------------------------------
# Throw-away cluster

# _port_in_use PORT: true when something listens on 127.0.0.1:PORT.
_port_in_use() {
	if command -v ss >/dev/null 2>&1; then
		[[ -n "$(ss -Hltn "sport = :$1" 2>/dev/null)" ]]
	else
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
	fi
}

# start_cluster [CONF_LINE...]: initdb a cluster in a new temporary directory, start it on a free
# port of 127.0.0.1 and on a Unix socket in that directory, and export PGHOST, PGPORT, PGUSER,
# PGDATABASE and PGDATA for psql, pg_regress and the tests. The cluster is stopped and the directory
# removed when the script exits. Extra postgresql.conf lines come from the arguments and from
# WITNESS_PG_CONF. Sets WITNESS_TMP (the directory) and WITNESS_SERVER_LOG.
# shellcheck disable=SC2120 # the arguments are optional
# write_test_keys DIR: the master key files test/sql/encryption.sql names, owned by the server's
# user: two keys (0600), a file that is no key (0600) and a key others may read (0644).
write_test_keys() {
	local dir=$1
	as_pg sh -c "umask 077
		rm -f '$dir'/regress_witness_*.key
		printf '%s\n' $(printf '0f%.0s' {1..32}) >'$dir/regress_witness_a.key'
		printf '%s\n' $(printf 'a5%.0s' {1..32}) >'$dir/regress_witness_b.key'
		printf 'not a key\n' >'$dir/regress_witness_notkey.key'
		printf '%s\n' $(printf '3c%.0s' {1..32}) >'$dir/regress_witness_open.key'
		chmod 644 '$dir/regress_witness_open.key'"
}

start_cluster() {
	[[ -x $PG_BINDIR/initdb ]] || die "$PG_BINDIR/initdb not found (run install_deps)"
	id -u "$PG_OS_USER" >/dev/null 2>&1 || die "OS user $PG_OS_USER does not exist"

	WITNESS_TMP="$(mktemp -d /tmp/pg_witness.XXXXXX)"
	chmod 755 "$WITNESS_TMP"
	if [[ $EUID -eq 0 ]]; then
		chown "$PG_OS_USER:" "$WITNESS_TMP"
	fi
	on_exit stop_cluster
	WITNESS_SERVER_LOG="$WITNESS_TMP/server.log"
	export PGDATA="$WITNESS_TMP/data"

	log "cluster: initdb in $PGDATA (as $PG_OS_USER)"
	if ! (cd "$WITNESS_TMP" && as_pg "$PG_BINDIR/initdb" -D "$PGDATA" --auth=trust -U postgres \
		--encoding=UTF8 --locale=C.UTF-8 --no-instructions --no-sync) >"$WITNESS_TMP/initdb.log" 2>&1; then
		cat "$WITNESS_TMP/initdb.log" >&2
		die "initdb failed"
	fi

	write_test_keys "$PGDATA"

	# Appending keeps the file's owner; later lines override earlier ones.
	{
		echo
		echo "# ---- pg_witness test cluster (scripts/lib.sh) ----"
		echo "listen_addresses = '127.0.0.1'"
		echo "unix_socket_directories = '$WITNESS_TMP'"
		echo "shared_preload_libraries = '$WITNESS_PRELOAD'"
		echo "logging_collector = off"
		echo "log_line_prefix = '%m [%p] %q%u@%d/%a '"
		if [[ -n ${WITNESS_PG_CONF:-} ]]; then
			printf '%s\n' "$WITNESS_PG_CONF"
		fi
		if (($# > 0)); then
			printf '%s\n' "$@"
		fi
	} >>"$PGDATA/postgresql.conf"

	local attempt candidate port=
	for ((attempt = 1; attempt <= 20; attempt++)); do
		candidate=$((55000 + RANDOM % 5000))
		if _port_in_use "$candidate"; then
			continue
		fi
		echo "port = $candidate" >>"$PGDATA/postgresql.conf"
		rm -f "$WITNESS_SERVER_LOG"
		log "cluster: starting on 127.0.0.1:$candidate, socket in $WITNESS_TMP, preload '$WITNESS_PRELOAD'"
		if (cd "$WITNESS_TMP" && as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$WITNESS_SERVER_LOG" \
			-w -t 120 start) >/dev/null; then
			port=$candidate
			break
		fi
		if grep -qE 'could not (bind|create listen socket)|Address already in use' \
			"$WITNESS_SERVER_LOG" 2>/dev/null; then
			warn "port $candidate was taken, trying another"
			continue
		fi
		show_server_log 40
		WITNESS_LOG_ON_FAILURE=0 # already shown
		die "the server did not start (log above)"
	done
	[[ -n $port ]] || die "no free port found in 55000-59999"

	export PGHOST="$WITNESS_TMP" PGPORT="$port" PGUSER=postgres PGDATABASE=postgres
	# For tests that restart the server:
	#   as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" -l "$WITNESS_SERVER_LOG" -w restart
	export WITNESS_TMP WITNESS_SERVER_LOG PG_BINDIR PG_OS_USER
	unset PGHOSTADDR PGSERVICE PGSERVICEFILE PGPASSWORD PGSSLMODE
	local version
	version="$("$PG_BINDIR/psql" -X -A -t -c 'SHOW server_version')" || die "cannot connect to the new cluster"
	log "cluster: PostgreSQL $version ready (PGHOST=$PGHOST PGPORT=$PGPORT)"
}

# show_server_log [LINES]: print the end of the test cluster's server log to stderr.
show_server_log() {
	local lines="${1:-60}"
	[[ -n ${WITNESS_SERVER_LOG:-} && -f $WITNESS_SERVER_LOG ]] || return 0
	{
		echo "---- last $lines lines of the server log ($WITNESS_SERVER_LOG) ----"
		tail -n "$lines" "$WITNESS_SERVER_LOG"
		echo "---- end of server log ----"
	} >&2
}

# stop_cluster: stop the cluster and remove its directory (registered by start_cluster).
stop_cluster() {
	[[ -n ${WITNESS_TMP:-} && -d $WITNESS_TMP ]] || return 0
	if [[ $_EXIT_RC -ne 0 && ${WITNESS_LOG_ON_FAILURE:-1} != 0 ]]; then
		show_server_log 60
	fi
	if [[ ${WITNESS_KEEP_CLUSTER:-0} == 1 ]]; then
		log "cluster: left running (WITNESS_KEEP_CLUSTER=1). Connect with:"
		echo "    PGHOST=$PGHOST PGPORT=$PGPORT PGUSER=postgres psql"
		echo "  stop and remove it with:"
		echo "    runuser -u $PG_OS_USER -- $PG_BINDIR/pg_ctl -D $PGDATA -m fast stop && rm -rf $WITNESS_TMP"
		return 0
	fi
	if [[ -f $PGDATA/postmaster.pid ]]; then
		if ! (cd "$WITNESS_TMP" && as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m fast -w -t 60 stop) >/dev/null; then
			warn "fast shutdown failed, using immediate"
			(cd "$WITNESS_TMP" && as_pg "$PG_BINDIR/pg_ctl" -D "$PGDATA" -m immediate -w -t 60 stop) >/dev/null
		fi
	fi
	rm -rf "$WITNESS_TMP"
	WITNESS_TMP=
}
