#!/usr/bin/env bash
# Integration test: the background sealer appends signed digests (HMAC-SHA256 and Ed25519) to
# witness.digest_file, outside the data directory; each line verifies with witness.verify_digest()
# (also with just the Ed25519 public key); and deleting the newest block, which the chain alone
# cannot show, is reported by witness.verify() from the file.
#
# Environment: PGHOST, PGPORT, PGUSER, PGDATABASE (as scripts/test.sh passes them); a superuser.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:-postgres}"
KEYS="$(mktemp -d /tmp/witness_digest_file.XXXXXX)"
chmod 755 "$KEYS"
DIGESTS="$KEYS/digests.jsonl"
reset_settings() {
	"$PSQL" -X -q -d "$DB" -c "ALTER SYSTEM RESET witness.seal_interval" -c "ALTER SYSTEM RESET witness.digest_interval" \
		-c "ALTER SYSTEM RESET witness.digest_file" -c "ALTER SYSTEM RESET witness.hmac_key_file" \
		-c "ALTER SYSTEM RESET witness.ed25519_key_file" -c "SELECT pg_reload_conf()" >/dev/null 2>&1 || true
}
cleanup() {
	local rc=$?
	set +e
	reset_settings
	rm -rf "$KEYS"
	exit "$rc"
}
trap cleanup EXIT

say "keys outside the data directory, readable by the server"
openssl genpkey -algorithm ed25519 -out "$KEYS/ed25519.pem" 2>/dev/null
openssl pkey -in "$KEYS/ed25519.pem" -pubout -out "$KEYS/ed25519.pub" 2>/dev/null
openssl rand -hex 32 >"$KEYS/hmac.key"
touch "$DIGESTS"
if [[ $(id -u) -eq 0 ]]; then chown -R "${PG_OS_USER:-postgres}" "$KEYS"; fi
chmod 600 "$KEYS/ed25519.pem" "$KEYS/hmac.key"

q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE payments (id int PRIMARY KEY, amount numeric)" >/dev/null
q "SELECT witness.track('payments', 'financial')" >/dev/null
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" \
	-c "ALTER SYSTEM SET witness.hmac_key_file = '$KEYS/hmac.key'" \
	-c "ALTER SYSTEM SET witness.ed25519_key_file = '$KEYS/ed25519.pem'" \
	-c "ALTER SYSTEM SET witness.digest_file = '$DIGESTS'" \
	-c "ALTER SYSTEM SET witness.digest_interval = 0" \
	-c "ALTER SYSTEM SET witness.seal_interval = '200ms'" \
	-c "SELECT pg_reload_conf()" >/dev/null

say "changes sealed by the background sealer, one digest line per block"
for i in 1 2 3; do
	q "INSERT INTO payments VALUES ($i, $i * 10)" >/dev/null
	wait_for "block $i sealed" 90 "SELECT count(*) >= $i FROM witness.block" || true
done
wait_for "digest of the newest block written" 30 \
	"SELECT pg_read_file('$DIGESTS') ~ ('\"block_no\": ?' || (SELECT max(block_no) FROM witness.block) || '[,}]')" || true
check "blocks sealed by the worker" t "SELECT count(*) >= 3 FROM witness.block"
LINES=$(grep -c . "$DIGESTS" || true)
check_ok "digest file has a line per block ($LINES)" "$( ((LINES >= 3)) && echo ok || echo "$LINES lines")"
# Every database of the cluster appends to the one file: the last line of this one.
LAST="$(grep -F "/$DB\"" "$DIGESTS" | tail -n 1)"
check "the last digest line is signed both ways and verifies" "valid|hmac_sha256 valid, ed25519 valid" \
	"SELECT status || '|' || signatures FROM witness.verify_digest(\$d\$$LAST\$d\$)" \
	"SELECT detail FROM witness.verify_digest(\$d\$$LAST\$d\$)"
check "... and with only the Ed25519 public key" "valid" \
	"SELECT status FROM witness.verify_digest(\$d\$$LAST\$d\$::jsonb - 'hmac_sha256', \$k\$$(cat "$KEYS/ed25519.pub")\$k\$)" \
	"SELECT detail FROM witness.verify_digest(\$d\$$LAST\$d\$::jsonb - 'hmac_sha256', \$k\$$(cat "$KEYS/ed25519.pub")\$k\$)"
check "witness.verify() with the digest file: valid" valid "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

say "a line of another database, last in the shared file, does not count for this one"
# witness.verify() reads the highest block number logged for its own database: another database's
# line, however high its block number, is no missing block here.
OTHER="$(sed -E 's#"database": ?"([0-9]+)/[^"]*"#"database":"\1/some_other_database"#; s#"block_no": ?[0-9]+#"block_no":999999#' <<<"$LAST")"
echo "$OTHER" >>"$DIGESTS"
check_ok "the forged line names another database and block 999999" \
	"$(grep -q '"block_no":999999' <<<"$OTHER" && grep -q '/some_other_database"' <<<"$OTHER" && echo ok || echo "$OTHER")"
check "witness.verify() with another database's line last in the file: valid" valid \
	"SELECT string_agg(DISTINCT status, ',') FROM witness.verify()"

say "no line of this database in the last 64 MB of the file: a WARNING, nothing to check against"
# 65 MB of the other database's lines after this database's last one. verify() looks no further back
# than 64 MB, says so, and has no highest block to compare with (the sealer's next line will be one).
# The sealer writes no line meanwhile: its last one is moments old, and the interval is now an hour
# (else it seals this check's own activity and appends a line of this database after the 65 MB).
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "ALTER SYSTEM SET witness.digest_interval = '1h'" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 1
head -n $((65 * 1024 * 1024 / (${#OTHER} + 1) + 1)) < <(yes "$OTHER") >>"$DIGESTS"
OUT="$("$PSQL" -X -q -A -t -h "${PGHOST:-127.0.0.1}" -p "${PGPORT:-5432}" -d "$DB" \
	-c "SELECT string_agg(DISTINCT status, ',') FROM witness.verify()" 2>&1 || true)"
check_ok "witness.verify(): valid, with a WARNING that no line of this database is in the last 64 MB" \
	"$(grep -q 'no line of database' <<<"$OUT" && grep -qx valid <<<"$OUT" && echo ok || echo "$OUT")"

say "witness.digest_interval limits how often a digest is written"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "ALTER SYSTEM SET witness.digest_interval = '1h'" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 1
BEFORE_LINES=$(grep -c . "$DIGESTS" || true)
BEFORE_BLOCKS="$(q "SELECT max(block_no) FROM witness.block")"
for i in 4 5 6; do
	q "INSERT INTO payments VALUES ($i, $i * 10)" >/dev/null
	wait_for "block after $i sealed" 90 "SELECT count(*) >= $BEFORE_BLOCKS + $((i - 3)) FROM witness.block" || true
done
check "three more blocks sealed" t "SELECT max(block_no) >= $BEFORE_BLOCKS + 3 FROM witness.block"
AFTER_LINES=$(grep -c . "$DIGESTS" || true)
# The last digest was written moments ago (interval 0 above), so an hour's interval allows none now.
check_ok "no digest line for blocks sealed within the interval ($BEFORE_LINES lines before, $AFTER_LINES after)" \
	"$( ((AFTER_LINES == BEFORE_LINES)) && echo ok || echo "$((AFTER_LINES - BEFORE_LINES)) new lines")"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "ALTER SYSTEM SET witness.digest_interval = 0" \
	-c "SELECT pg_reload_conf()" >/dev/null
sleep 1
q "INSERT INTO payments VALUES (7, 70)" >/dev/null
wait_for "digest of the newest block written once the interval is 0 again" 90 \
	"SELECT pg_read_file('$DIGESTS') ~ ('\"block_no\": ?' || (SELECT max(block_no) FROM witness.block) || '[,}]')" || true
check_ok "a digest is written again with interval 0" \
	"$( (($(grep -c . "$DIGESTS" || true) > AFTER_LINES)) && echo ok || echo "no new line")"

say "the newest block deleted: the chain alone looks fine, the digest file does not"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$DB" -c "ALTER SYSTEM SET witness.seal_interval = 0" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
wait_for "the last pass of the background sealer over (docs/alerts.md)" 10 \
	"SELECT NOT EXISTS (SELECT FROM pg_stat_activity WHERE backend_type IN ('pg_witness sealer', 'pg_witness maintainer'))" || true
check "witness.verify() names the missing block" "tampered|block missing" \
	"BEGIN; ALTER TABLE witness.block DISABLE TRIGGER witness_append_only;
	 DELETE FROM witness.block WHERE block_no = (SELECT max(block_no) FROM witness.block);
	 SELECT status || '|' || problem FROM witness.verify() WHERE problem = 'block missing'; ROLLBACK;"

finish digest_file
