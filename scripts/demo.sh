#!/usr/bin/env bash
# Demo of pg_witness on a throw-away PostgreSQL 15 cluster: installs the Debian packages it needs
# (first run only), builds and installs the extension, starts a temporary cluster with
# shared_preload_libraries = 'pg_witness', runs scripts/demo.sql and removes the cluster again.
# Run as root on Debian 12:  bash scripts/demo.sh
# WITNESS_KEEP_CLUSTER=1 bash scripts/demo.sh leaves the cluster running to explore it with psql.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

section "dependencies"
install_deps
section "build"
build_all
section "cluster"
start_cluster
# The master key of encryption at rest: 32 random bytes as hex, in a file only the server's user can
# read, named by a superuser-only setting (docs/personal-data.md).
as_pg sh -c "umask 077 && openssl rand -hex 32 >'$WITNESS_TMP/witness_master.key'"
psql -X -q -v ON_ERROR_STOP=1 -c "ALTER SYSTEM SET witness.master_key_file = '$WITNESS_TMP/witness_master.key'" \
	-c "SELECT pg_reload_conf()" >/dev/null
section "demo (scripts/demo.sql)"
psql -X -v ON_ERROR_STOP=1 -P pager=off -f "$REPO/scripts/demo.sql"
section "done"
log "demo finished"
