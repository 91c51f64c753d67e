#!/usr/bin/env bash
# Integration test: the background sealer appends a block's digest to witness.digest_file only
# after the block's transaction committed, and a digest that cannot be made leaves the sealing
# transaction clean (docs/verification.md, "The background sealer").
#
# A cluster of its own that also preloads lib/sealer_commit_fault.c (compiled here against the
# server's headers, never installed): while sealer_commit_fault.fail is on, every commit of the
# sealer fails in a pre-commit callback, as a deferred check would.
#   - commits failing: the sealer's passes roll back, no block is added, no digest line names a
#     block that does not exist, witness.verify() stays valid (no "block missing" false alarm),
#     and witness.seal_status shows the failed pass and its error;
#   - commits working again: the entry is sealed, a digest line is written for its block, and
#     every line of the file verifies with witness.verify_digest();
#   - a digest that fails inside its SPI query (a forged block makes the entry count overflow
#     bigint; the forged insert is itself recorded as catalog write activity, sealed first in a
#     block of its own): the payment's block is still sealed and committed, the server log has
#     the WARNING "no digest written" and no warning of SPI or snapshot state left behind (the
#     digest is made in an internal subtransaction that is rolled back).
#
# Environment: PG_BINDIR and PG_CONFIG (as scripts/test.sh passes them); a C compiler and the
# server's headers; KEEP_LOG=FILE copies the cluster's server log there at exit. Runs as root (the
# cluster belongs to PG_OS_USER, postgres) or as its owner.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

PG_CONFIG="${PG_CONFIG:-$PG_BINDIR/pg_config}"
WORK="$(mktemp -d /tmp/digest_after_commit.XXXXXX)"
PORT="$(free_port)"
KEYS="$WORK/keys"
DIGESTS="$KEYS/digests.jsonl"
LOG="$WORK/server.log"

cleanup() {
	local rc=$?
	set +e
	if ((rc != 0)) && [[ -f $LOG ]]; then
		echo "---- last 30 lines of the server log ----"
		tail -n 30 "$LOG"
	fi
	own_cluster_stop "$WORK"
	[[ -z ${KEEP_LOG:-} ]] || cp "$LOG" "$KEEP_LOG"
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

export PGUSER=postgres
Q_HOST=$WORK
Q_PORT=$PORT
DB=postgres

# ---------------------------------------------------------------------------------------------
say "the fault module, keys, and a cluster of its own"

cc -O2 -Wall -Werror -fPIC -shared -I"$("$PG_CONFIG" --includedir-server)" \
	-o "$WORK/sealer_commit_fault.so" "$HERE/lib/sealer_commit_fault.c"
mkdir "$KEYS"
openssl genpkey -algorithm ed25519 -out "$KEYS/ed25519.pem" 2>/dev/null
openssl rand -hex 32 >"$KEYS/hmac.key"
touch "$DIGESTS"
chmod 755 "$WORK/sealer_commit_fault.so"
if [[ $EUID -eq 0 ]]; then chown -R "$PG_OS_USER:" "$KEYS"; fi
chmod 600 "$KEYS/ed25519.pem" "$KEYS/hmac.key"

# The checks count entries and blocks exactly: the logins and calls of the checks themselves, which
# pg_witness would record as activity (docs/activity.md), are not recorded in this cluster.
own_cluster_init "$WORK" "$PORT" "witness.record_activity = reads" \
	"shared_preload_libraries = 'pg_witness,$WORK/sealer_commit_fault'" \
	"witness.seal_interval = '300ms'" "witness.digest_interval = 0" \
	"witness.digest_file = '$DIGESTS'" "witness.hmac_key_file = '$KEYS/hmac.key'" \
	"witness.ed25519_key_file = '$KEYS/ed25519.pem'"
own_cluster_start "$WORK"
q "CREATE DATABASE digests" >/dev/null
DB=digests
# One transaction: CREATE EXTENSION itself captures entries (pg_witness's own tables joining the
# tracked ones) and wakes the sealer at commit; block 1 must hold everything up to the first payment.
q "BEGIN; CREATE EXTENSION pg_witness; CREATE TABLE payments (id int PRIMARY KEY, amount numeric);
   SELECT witness.track('payments', 'financial'); INSERT INTO payments VALUES (1, 10); COMMIT" >/dev/null
wait_for "block 1 sealed" 15 "SELECT count(*) = 1 FROM witness.block" || true
wait_for "digest of block 1 written" 15 "SELECT pg_read_file('$DIGESTS') ~ '\"block_no\": ?1[,}]'" || true
check "block 1 sealed, a digest line for it" "1|1" \
	"SELECT (SELECT count(*) FROM witness.block) || '|' || (SELECT count(*) FROM pg_catalog.regexp_matches(pg_read_file('$DIGESTS'), '\"block_no\": ?1[,}]', 'g'))"

# digest_blocks: the block numbers the digest file names, one per line.
digest_blocks() { grep -o '"block_no": *[0-9]*' "$DIGESTS" | grep -o '[0-9]*$' || true; }

# ---------------------------------------------------------------------------------------------
say "the sealer's commits fail: no block, and no digest of a block that never existed"

q "ALTER SYSTEM SET sealer_commit_fault.fail = on" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
sleep 1
FAULTS_BEFORE="$(grep -c "sealer_commit_fault: the sealer's commit fails" "$LOG" || true)"
q "INSERT INTO payments VALUES (2, 20)" >/dev/null
start=$SECONDS
while (($(grep -c "sealer_commit_fault: the sealer's commit fails" "$LOG" || true) < FAULTS_BEFORE + 3)) && ((SECONDS - start < 15)); do
	sleep 0.2
done
FAULTS="$(($(grep -c "sealer_commit_fault: the sealer's commit fails" "$LOG" || true) - FAULTS_BEFORE))"
check_ok "the sealer tried and its commit failed at least 3 times ($FAULTS)" "$( ((FAULTS >= 3)) && echo ok || echo "$FAULTS failures")"
check "still one block" 1 "SELECT count(*) FROM witness.block"
HIGHEST="$(digest_blocks | sort -n | tail -n 1)"
check_ok "the digest file names no block beyond the newest (highest: ${HIGHEST:-none})" \
	"$( [[ ${HIGHEST:-0} -le 1 ]] && echo ok || echo "it names block $HIGHEST, the trail has 1")"
check "witness.verify(): valid, one entry pending, no block missing" "valid|1|" \
	"SELECT string_agg(status || '|' || entries_pending || '|' || coalesce(problem, ''), ',') FROM witness.verify()" \
	"SELECT * FROM witness.verify()"
check "witness.seal_status: one entry pending, the last pass failed with the commit's error" \
	"1|failed|sealer_commit_fault: the sealer's commit fails" \
	"SELECT entries_pending || '|' || last_pass_result || '|' || last_error FROM witness.seal_status" \
	"SELECT * FROM witness.seal_status"

# ---------------------------------------------------------------------------------------------
say "the commits work again: the entry is sealed and its digest written"

q "ALTER SYSTEM RESET sealer_commit_fault.fail" >/dev/null
q "SELECT pg_reload_conf()" >/dev/null
wait_for "block 2 sealed" 15 "SELECT count(*) = 2 FROM witness.block" || true
wait_for "digest of block 2 written" 15 "SELECT pg_read_file('$DIGESTS') ~ '\"block_no\": ?2[,}]'" || true
# (The last pass is the one that sealed block 2 or, 300 ms later, one that found nothing to seal.)
check "two blocks, nothing pending, the last pass did not fail" "2|0|true" \
	"SELECT (SELECT count(*) FROM witness.block) || '|' || entries_pending || '|' || (last_pass_result IN ('sealed', 'nothing to seal'))
	 FROM witness.seal_status"
NLINES=0
NVALID=0
while IFS= read -r line; do
	[[ -n $line ]] || continue
	NLINES=$((NLINES + 1))
	if [[ "$(q "SELECT status FROM witness.verify_digest(\$d\$$line\$d\$)")" == valid ]]; then
		NVALID=$((NVALID + 1))
	else
		note "does not verify: $line"
		q "SELECT status || ': ' || detail FROM witness.verify_digest(\$d\$$line\$d\$)" | indent
	fi
done <"$DIGESTS"
check_ok "every digest line verifies with witness.verify_digest() ($NVALID of $NLINES)" \
	"$( ((NLINES >= 2 && NVALID == NLINES)) && echo ok || echo "$NVALID of $NLINES valid")"
check "witness.verify() with the digest file: valid" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

# ---------------------------------------------------------------------------------------------
say "a digest that fails inside its query: the block still commits, nothing is left behind"

# A forged block (loaded as a restore would, in replica mode) whose entry count makes the sum the
# digest reports overflow bigint. The next block is sealed on top of it as usual.
"$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$WORK" -p "$PORT" -d "$DB" >/dev/null <<'SQL'
SET session_replication_role = replica;
INSERT INTO witness.block
SELECT block_no + 1, snapshot, 9223372036854775807, NULL, NULL, merkle_root, block_hash, sealed_at, block_hash
  FROM witness.block ORDER BY block_no DESC LIMIT 1;
SQL
# pg_witness records that insert as catalog write activity (docs/activity.md); its entry is sealed
# in block 4 (whose digest fails too) before the payment below, so that the payment gets a block of
# its own whatever the sealer's timing.
wait_for "block 4 sealed (the activity entry of the forged insert)" 15 \
	"SELECT (SELECT count(*) FROM witness.block) = 4 AND entries_pending = 0 FROM witness.seal_status" || true
check "the forged insert recorded as catalog write activity, sealed in block 4" "1|4|0" \
	"SELECT (SELECT count(*) FROM witness.activity WHERE kind = 'catalog write' AND object_name = 'witness.block') || '|' ||
	        (SELECT max(block_no) FROM witness.block) || '|' || entries_pending FROM witness.seal_status"
LOG_FROM="$(wc -l <"$LOG")"
q "INSERT INTO payments VALUES (3, 30)" >/dev/null
wait_for "block 5 sealed" 15 "SELECT count(*) = 5 FROM witness.block" || true
start=$SECONDS
while ! tail -n +"$((LOG_FROM + 1))" "$LOG" | grep -q "no digest written" && ((SECONDS - start < 10)); do
	sleep 0.2
done
sleep 1 # a pass or two more, whose log lines count too
check "block 5 sealed and committed, nothing pending" "5|0" \
	"SELECT (SELECT max(block_no) FROM witness.block) || '|' || entries_pending FROM witness.seal_status"
NEW_LOG="$(tail -n +"$((LOG_FROM + 1))" "$LOG")"
check_ok "the server log: WARNING no digest written: bigint out of range" \
	"$(grep -q 'WARNING:  pg_witness: no digest written: bigint out of range' <<<"$NEW_LOG" && echo ok || echo "not found")"
LEFT="$(grep -E 'non-empty SPI stack|leak|still active|SPI_finish|unexpected' <<<"$NEW_LOG" || true)"
check_ok "the server log: no SPI or snapshot state left behind" "$([[ -z $LEFT ]] && echo ok || echo "$LEFT")"
check "no digest line names block 4 or 5" 0 "SELECT count(*) FROM pg_catalog.regexp_matches(pg_read_file('$DIGESTS'), '\"block_no\": ?[45][,}]', 'g')"

finish digest_after_commit
