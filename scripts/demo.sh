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
section "demo (scripts/demo.sql)"
psql -X -v ON_ERROR_STOP=1 -P pager=off -f "$REPO/scripts/demo.sql"
section "done"
log "demo finished"
