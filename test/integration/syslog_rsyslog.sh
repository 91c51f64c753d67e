#!/usr/bin/env bash
# Integration test: witness.export('syslog') read by a real consumer (docs/exports.md, "Syslog").
#
# Debian's rsyslogd, started here with a configuration of its own (imtcp on a free port of
# 127.0.0.1, every message written into a file of a temporary directory with a template that keeps
# each RFC 5424 field apart), receives the export's lines over TCP with octet-counting framing (RFC
# 6587, 3.4.1). Each line rsyslog wrote is parsed back field by field: priority, version, app-name,
# msgid (the operation), procid (the backend pid), the structured data's entry_id, block and
# leaf_hash, and the message (the JSON line); they must match the trail (witness.log, block_of()).
# Then the same with newline framing (RFC 6587, 3.4.2): the lines hold no line break.
#
# Environment: as scripts/test.sh passes it (PGHOST, PGPORT, PGUSER, PGDATABASE). Needs rsyslogd
# (Debian package rsyslog) and python3. Takes a few seconds.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=test/integration/lib/common.sh
source "$HERE/lib/common.sh"

DB="${PGDATABASE:?PGDATABASE must name the test database}"
RSYSLOGD="$(command -v rsyslogd || echo /usr/sbin/rsyslogd)"
[[ -x $RSYSLOGD ]] || { echo "rsyslogd not found (Debian package rsyslog)"; exit 1; }

WORK="$(mktemp -d /tmp/syslog_rsyslog.XXXXXX)"
chmod 755 "$WORK"
PORT="$(free_port)"

cleanup() {
	local rc=$?
	set +e
	if [[ -f $WORK/rsyslogd.pid ]]; then
		kill "$(cat "$WORK/rsyslogd.pid")" 2>/dev/null
		sleep 0.5
	fi
	if ((rc != 0)); then
		echo "---- rsyslogd output ----"
		tail -n 20 "$WORK/rsyslogd.out" 2>/dev/null
	fi
	rm -rf "$WORK"
	exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------------------------------------
say "a trail: inserts sealed in a block, an update and a delete pending"

q "CREATE EXTENSION IF NOT EXISTS pg_witness" >/dev/null
q "CREATE TABLE sl_account (id int PRIMARY KEY, owner text, note text)" >/dev/null
q "SELECT witness.track('sl_account')" >/dev/null
q "INSERT INTO sl_account VALUES (1, 'ann', 'quote \" backslash \\ bracket ] end'), (2, 'bob', 'line1
line2')" >/dev/null
q "SELECT count(*) FROM witness.seal()" >/dev/null
q "UPDATE sl_account SET note = 'changed' WHERE id = 1" >/dev/null
q "DELETE FROM sl_account WHERE id = 2" >/dev/null
"$PSQL" -X -q -A -t -d "$DB" -c "SELECT witness.export('syslog', table_name => 'sl_account')" >"$WORK/export.txt"
check_ok "four syslog lines exported" "$([[ $(wc -l <"$WORK/export.txt") -eq 4 ]] && echo ok || echo "got $(wc -l <"$WORK/export.txt") lines")"

# What the trail says of each entry: id|operation|leaf hash|block|backend pid.
q "SELECT l.id || '|' || l.operation || '|' || encode(l.leaf_hash, 'hex') || '|' || COALESCE((witness.block_of(l.id)).block_no::text, '') || '|' || l.backend_pid
   FROM witness.log l WHERE l.table_name = 'sl_account' ORDER BY l.id" >"$WORK/trail.txt"

# ---------------------------------------------------------------------------------------------
say "rsyslogd with imtcp on 127.0.0.1:$PORT, writing every field apart into a file"

mkdir -p "$WORK/spool"
cat >"$WORK/rsyslog.conf" <<CONF
global(workDirectory="$WORK/spool")
module(load="imtcp")
template(name="fields" type="string"
         string="%pri%\t%protocol-version%\t%timereported:::date-rfc3339%\t%hostname%\t%app-name%\t%procid%\t%msgid%\t%structured-data%\t%msg%\n")
ruleset(name="witness") {
	action(type="omfile" file="$WORK/received.log" template="fields")
}
input(type="imtcp" address="127.0.0.1" port="$PORT" ruleset="witness")
CONF
"$RSYSLOGD" -N1 -f "$WORK/rsyslog.conf" >"$WORK/rsyslogd.out" 2>&1 || { cat "$WORK/rsyslogd.out"; exit 1; }
"$RSYSLOGD" -n -f "$WORK/rsyslog.conf" -i "$WORK/rsyslogd.pid" >>"$WORK/rsyslogd.out" 2>&1 &
for _ in $(seq 50); do
	(exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && break
	sleep 0.2
done
check_ok "rsyslogd listens" "$( (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null && echo ok || echo "port $PORT closed")"

# send FRAMING: the export's lines over one TCP connection.
send() {
	python3 - "$PORT" "$1" "$WORK/export.txt" <<'PY'
import socket, sys
port, framing, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
with open(path, 'rb') as f:
    lines = [l.rstrip(b'\n') for l in f if l.strip()]
s = socket.create_connection(('127.0.0.1', port))
for l in lines:
    s.sendall(str(len(l)).encode() + b' ' + l if framing == 'octet' else l + b'\n')
s.close()
PY
}

# parse: every received line against the trail, field by field; prints "ok" or what differs.
parse() {
	python3 - "$WORK/received.log" "$WORK/trail.txt" "$1" <<'PY'
import json, re, sys
received, trail_path, want = sys.argv[1], sys.argv[2], int(sys.argv[3])
trail = {}
for line in open(trail_path):
    i, op, leaf, block, pid = line.rstrip('\n').split('|')
    trail[i] = (op, leaf, block, pid)
lines = [l.rstrip('\n') for l in open(received, encoding='utf-8') if l.strip()]
problems = []
if len(lines) != want:
    problems.append('%d lines received, %d expected' % (len(lines), want))
sd_re = re.compile(r'^\[witness@32473((?: [a-z_]+="(?:[^"\\\]]|\\.)*")+)\]$')
param_re = re.compile(r' ([a-z_]+)="((?:[^"\\\]]|\\.)*)"')
seen = []
for l in lines[-want:]:
    f = l.split('\t')
    if len(f) != 9:
        problems.append('not 9 fields: %r' % l)
        continue
    pri, version, ts, host, app, procid, msgid, sd, msg = f
    m = sd_re.match(sd)
    if not m:
        problems.append('structured data not parsed: %r' % sd)
        continue
    params = {k: re.sub(r'\\(.)', r'\1', v) for k, v in param_re.findall(m.group(1))}
    i = params.get('entry_id')
    if i not in trail:
        problems.append('unknown entry_id %r' % i)
        continue
    op, leaf, block, pid = trail[i]
    doc = json.loads(msg)
    expect = {
        'pri': (pri, '108' if op in ('DELETE', 'TRUNCATE') else '109'),
        'version': (version, '1'),
        'app-name': (app, 'pg_witness'),
        'procid': (procid, pid),
        'msgid': (msgid, op),
        'leaf_hash': (params.get('leaf_hash'), leaf),
        'block': (params.get('block', ''), block),
        'table': (params.get('table'), 'public.sl_account'),
        'msg entry_id': (str(doc['entry_id']), i),
        'msg leaf_hash': (doc['leaf_hash'], leaf),
        'msg block_no': ('' if doc['block_no'] is None else str(doc['block_no']), block),
        'msg operation': (doc['operation'], op),
        'timestamp': (ts[:19], doc['time'][:19]),
    }
    for k, (got, exp) in expect.items():
        if got != exp:
            problems.append('entry %s %s: got %r, expected %r' % (i, k, got, exp))
    seen.append(i)
if sorted(seen) != sorted(trail):
    problems.append('entries received %s, trail %s' % (sorted(seen), sorted(trail)))
# The values that needed escaping came through.
notes = [json.loads(l.split('\t')[8]).get('new_values') or {} for l in lines[-want:]]
if not any(n.get('note') == 'line1\nline2' for n in notes):
    problems.append('the note with a line break did not come back')
if not any(n.get('note') == 'quote " backslash \\ bracket ] end' for n in notes):
    problems.append('the note with a quote, a backslash and a bracket did not come back')
print('ok' if not problems else '; '.join(problems))
PY
}

wait_lines() {
	for _ in $(seq 50); do
		[[ -f $WORK/received.log ]] && (($(wc -l <"$WORK/received.log") >= $1)) && return 0
		sleep 0.2
	done
	return 0
}

# ---------------------------------------------------------------------------------------------
say "octet-counting framing (RFC 6587, 3.4.1)"

send octet
wait_lines 4
check_ok "every field of the four messages matches the trail" "$(parse 4)"
note "$(head -n 1 "$WORK/received.log" | cut -c1-200)"

# ---------------------------------------------------------------------------------------------
say "newline framing (RFC 6587, 3.4.2)"

: >"$WORK/received.log"
send newline
wait_lines 4
check_ok "every field of the four messages matches the trail" "$(parse 4)"

finish syslog_rsyslog
