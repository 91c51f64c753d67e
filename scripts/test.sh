#!/usr/bin/env bash
# Full test run, as CI does it (.ci/run). Run as root on Debian 12:  bash scripts/test.sh
#
#  1. installs the Debian packages it needs (first run only);
#  2. unit tests: builds the CMake project in build/ and runs ctest;
#  3. builds and installs the extension (PGXS), starts a throw-away PostgreSQL 15 cluster with
#     shared_preload_libraries = 'pg_witness';
#  4. regression tests: make installcheck (pg_regress, test/sql/ against test/expected/);
#  5. integration tests: every executable test/integration/*.sh in sorted order, each with its own
#     fresh database and the cluster in PGHOST, PGPORT, PGUSER, PGDATABASE, PGDATA and REPO.
#
# Ends with the line "N passed, N failed" (test suites: ctest, pg_regress, each integration
# script; a suite that could not run counts as failed) and exits non-zero if anything failed.
#
# WITNESS_SUITE_TIMEOUT: seconds one suite may take (default 600).
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

SUITE_TIMEOUT="${WITNESS_SUITE_TIMEOUT:-600}"
# test.sh prints the relevant part of the server log after each failing suite itself.
WITNESS_LOG_ON_FAILURE=0

# ---------------------------------------------------------------------------------------------
# Suite bookkeeping

SUITES=("unit (ctest)" "regression (pg_regress)")
INTEGRATION_SCRIPTS=()
shopt -s nullglob
for f in "$REPO"/test/integration/*.sh; do
	if [[ -x $f ]]; then
		INTEGRATION_SCRIPTS+=("$f")
		SUITES+=("integration ${f#"$REPO"/}")
	fi
done
shopt -u nullglob

declare -A RESULT=() # suite name -> "passed" | "failed: why"
declare -A TOOK=()   # suite name -> seconds, so that the summary shows where a run's time goes
SUITE_STARTED=$SECONDS

# started: a suite begins now (its time runs until pass or fail).
started() {
	SUITE_STARTED=$SECONDS
}
pass() {
	RESULT["$1"]=passed
	TOOK["$1"]=$((SECONDS - SUITE_STARTED))
	log "PASSED: $1"
}
fail() {
	RESULT["$1"]="failed: $2"
	TOOK["$1"]=$((SECONDS - SUITE_STARTED))
	printf '%sFAILED:%s %s (%s)\n' "$_C_RED" "$_C_OFF" "$1" "$2" >&2
}

# print_summary: runs at exit, whatever happened; a suite without a result did not run.
print_summary() {
	local s passed=0 failed=0
	section "summary"
	for s in "${SUITES[@]}"; do
		if [[ -z ${RESULT["$s"]:-} ]]; then
			RESULT["$s"]="failed: did not run"
		fi
		if [[ ${RESULT["$s"]} == passed ]]; then
			passed=$((passed + 1))
		else
			failed=$((failed + 1))
		fi
		printf '  %-60s %5s s  %s\n' "$s" "${TOOK["$s"]:--}" "${RESULT["$s"]}"
	done
	echo "  (the whole run: $SECONDS s)"
	if ((failed > 0)) && [[ $_EXIT_RC -eq 0 ]]; then
		_EXIT_RC=1
	fi
	if ((failed == 0)) && [[ $_EXIT_RC -ne 0 ]]; then
		echo "  (the run itself failed with exit status $_EXIT_RC)"
		failed=1
	fi
	echo "$passed passed, $failed failed"
}
on_exit print_summary

# capture STATUS_VAR CMD...: run CMD in a subshell with errexit on and store its exit status.
capture() {
	local __var=$1
	shift
	set +e
	(
		set -e
		"$@"
	)
	printf -v "$__var" '%s' "$?"
	set -e
}

# server_log_lines: current length of the server log, to print only what a suite added.
server_log_lines() {
	if [[ -n ${WITNESS_SERVER_LOG:-} && -f $WITNESS_SERVER_LOG ]]; then
		wc -l <"$WITNESS_SERVER_LOG"
	else
		echo 0
	fi
}
show_server_log_since() {
	local from=$1 max=100
	[[ -n ${WITNESS_SERVER_LOG:-} && -f $WITNESS_SERVER_LOG ]] || return 0
	{
		echo "---- server log written during this suite (last $max lines at most) ----"
		tail -n +"$((from + 1))" "$WITNESS_SERVER_LOG" | tail -n "$max"
		echo "---- end of server log ----"
	} >&2
}

# ---------------------------------------------------------------------------------------------

section "dependencies"
install_deps

section "unit tests (ctest)"
started
run_unit() {
	build_unit
	timeout "$SUITE_TIMEOUT" ctest --test-dir "$REPO/build" --output-on-failure --no-tests=error \
		-j"$WITNESS_JOBS" --timeout 300
}
capture rc run_unit
if ((rc == 0)); then pass "unit (ctest)"; else fail "unit (ctest)" "exit status $rc"; fi

section "build and install the extension"
capture rc build_ext
if ((rc != 0)); then
	# Nothing below can run without the extension: those suites are reported as not run.
	die "extension build failed (exit status $rc)"
fi

section "cluster"
# Background sealing off: pg_regress expects blocks only from its own witness.seal() calls.
# Integration tests that exercise the sealer worker turn it on with ALTER SYSTEM (or start clusters
# of their own); at most witness.max_sealers (2) short-lived sealers then run at once, whatever the
# number of databases. The room for more background workers than the default 8 is for the parallel
# queries of those tests.
start_cluster "witness.seal_interval = 0" "max_worker_processes = 32"

section "regression tests (make installcheck)"
started
rm -f "$REPO/regression.diffs" "$REPO/regression.out"
log_from=$(server_log_lines)
rc=0
timeout "$SUITE_TIMEOUT" make -C "$REPO" installcheck PG_CONFIG="$PG_CONFIG" || rc=$?
if ((rc == 0)); then
	pass "regression (pg_regress)"
else
	if [[ -f $REPO/regression.diffs ]]; then
		echo "---- regression.diffs ----" >&2
		cat "$REPO/regression.diffs" >&2
		echo "---- end of regression.diffs ----" >&2
	fi
	show_server_log_since "$log_from"
	fail "regression (pg_regress)" "exit status $rc"
fi

if ((${#INTEGRATION_SCRIPTS[@]} == 0)); then
	log "no executable test/integration/*.sh yet"
fi
for script in "${INTEGRATION_SCRIPTS[@]}"; do
	name="integration ${script#"$REPO"/}"
	section "$name"
	started
	# A fresh database per script, named after it.
	db="it_$(basename "$script" .sh | tr -c 'a-zA-Z0-9_\n' '_')"
	if ! psql -X -q -v ON_ERROR_STOP=1 -d postgres -c "DROP DATABASE IF EXISTS \"$db\"" \
		-c "CREATE DATABASE \"$db\""; then
		fail "$name" "could not create database $db"
		continue
	fi
	log_from=$(server_log_lines)
	rc=0
	(cd "$REPO" && PGDATABASE="$db" timeout "$SUITE_TIMEOUT" "$script") </dev/null || rc=$?
	if ((rc == 0)); then
		pass "$name"
	else
		show_server_log_since "$log_from"
		fail "$name" "exit status $rc"
	fi
done

# The exit status comes from print_summary (non-zero if any suite failed).
