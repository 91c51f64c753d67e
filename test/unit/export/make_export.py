#!/usr/bin/env python3
"""Writes synthetic pg_witness trail exports (docs/verification.md), for testing and timing witness-verify.

Independent of the C++ code: entry leaf hashes come from test/unit/vectors/make_entry_vectors.py and
block hashes from test/unit/vectors/make_block_vectors.py, both written from the specification. Lines
are formatted the way PostgreSQL prints them (json_build_object for header and entries, jsonb for block
lines and JSON values: keys by length, then bytes, with spaces), not canonically, so that the verifier
must canonicalize. Standard library only.

    python3 test/unit/export/make_export.py --entries 1000000 --out /tmp/trail.jsonl
"""

import argparse
import hashlib
import json
import os
import random
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "vectors"))
import make_block_vectors as blocks_spec  # noqa: E402
import make_entry_vectors as entry_spec  # noqa: E402
from make_entry_vectors import Num, Raw  # noqa: E402

DATABASE = "7301234567890123456/shop"


def pg_json(v):
    """JSON text as PostgreSQL's jsonb output prints it: keys by length then bytes, ", " and ": "."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (Num, Raw)):
        return v.text
    if isinstance(v, str):
        return json.dumps(v, ensure_ascii=False)
    if isinstance(v, list):
        return "[" + ", ".join(pg_json(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: (len(k.encode()), k.encode()))
        return "{" + ", ".join(json.dumps(k, ensure_ascii=False) + ": " + pg_json(v[k]) for k in keys) + "}"
    if isinstance(v, int):
        return str(v)
    raise TypeError(type(v))


def build_object(pairs):
    """json_build_object output: members in the given order, ' : ' and ', '."""
    return "{" + ", ".join(json.dumps(k) + " : " + pg_json(v) for k, v in pairs) + "}"


def make_entry(rnd, id_, xid):
    op = "T" if id_ % 97 == 0 else "IUD"[id_ % 3]
    n = id_ % 10007
    e = {
        "id": id_, "xid": xid, "stmt_time_us": 1700000000000000 + id_ * 1237, "op": op,
        "schema_name": "public", "table_name": "accounts" if op != "T" else "staging",
        "tags": entry_spec.PII | entry_spec.FINANCIAL if op != "T" else 0,
        "row_key": None, "subject": None, "old_values": None, "new_values": None,
        "session_user": "app_login", "current_user": "app_owner",
        "application_name": rnd.choice(["billing-api", "psql", None]),
        "client_addr": rnd.choice(["10.1.2.3", "2001:db8::17", None]),
        "client_port": rnd.choice([54321, 5433, None]), "backend_pid": 4000 + id_ % 64,
        "actor": rnd.choice(["alice@example.com", "bob", None]),
        "reason": rnd.choice(["ticket #%d" % n, None]),
        "context": rnd.choice([None, {"session": "s-%d" % (id_ % 50), "mfa": True, "ip": "203.0.113.7",
                                      "roles": ["clerk", "audit"], "n": Num(str(n))}]),
    }
    # Quotes, a backslash, control characters and noncharacters (U+FFFF, U+1FFFE, U+10FFFF): what
    # JSON escapes, what COPY's text format escapes on top, and what psql's printer used to drop.
    row = {"id": Num(str(n)), "owner": "customer %d \u00e9\u65e5 \"q\" \\ \t\n\r\b\f\v \uffff\U0001fffe\U0010ffff" % n, "balance": Num("%d.%02d" % (n, n % 100)),
           "active": n % 2 == 0, "closed_at": None, "prefs": {"lang": "fr", "tags": ["a", "b"], "x": Num("1e+30")}}
    if op != "T":
        e["row_key"] = {"id": Num(str(n))}
        e["subject"] = "customer:%d" % n
    if op == "I":
        e["new_values"] = row
    elif op == "U":
        e["old_values"] = {"balance": Num("%d.50" % n), "owner": "old"}
        e["new_values"] = {"balance": Num("%d.00" % (n + 1)), "owner": "new \u00fc"}
    elif op == "D":
        e["old_values"] = row
    e["leaf_hash"] = entry_spec.leaf_hash(e)
    return e


def generate(n_entries, block_size, seed=1, long_share=0.05):
    """Entries and sealed blocks of a trail whose last round is still pending.

    Transactions of 1-3 entries get increasing xids. A transaction normally commits in the sealing
    round it started in; a share of them run longer and commit one or two rounds later, so that
    snapshots list in-progress xids and blocks hold entries with older ids.
    """
    rnd = random.Random(seed)
    entries, txs = [], []  # txs: (xid, start round, commit round)
    next_id, xid = 1, 1000
    while next_id <= n_entries:
        start_round = (next_id - 1) // block_size
        commit_round = start_round + (rnd.choice([1, 2]) if rnd.random() < long_share else 0)
        for _ in range(rnd.choice([1, 1, 2, 3])):
            if next_id > n_entries:
                break
            entries.append(make_entry(rnd, next_id, xid))
            next_id += 1
        txs.append((xid, start_round, commit_round))
        xid += 1
    rounds = (n_entries + block_size - 1) // block_size
    commit_of = {x: c for x, _, c in txs}
    members_of = {}
    for e in entries:  # entries are in id order
        members_of.setdefault(commit_of[e["xid"]], []).append(e)
    blocks, prev, t = [], bytes(32), 0
    running = []  # xids started and not yet committed, ascending
    for r in range(rounds - 1):  # the last round stays pending
        while t < len(txs) and txs[t][1] <= r:
            running.append(txs[t])
            t += 1
        running = [tx for tx in running if tx[2] > r - 1]
        xmax = txs[t - 1][0] + 1
        xip = [x for x, _, c in running if c > r]
        xmin = xip[0] if xip else xmax
        snapshot = "%d:%d:%s" % (xmin, xmax, ",".join(map(str, xip)))
        members = members_of.get(r, [])
        b = {
            "block_no": r + 1, "snapshot": snapshot, "entry_count": len(members),
            "first_entry_id": members[0]["id"] if members else None,
            "last_entry_id": members[-1]["id"] if members else None,
            "merkle_root": blocks_spec.merkle_root([bytes.fromhex(e["leaf_hash"]) for e in members]),
            "prev_hash": prev, "sealed_at_us": 1700000000000000 + (r + 1) * 60000000,
            "member_ids": [e["id"] for e in members],
        }
        b["block_hash"] = blocks_spec.block_hash(b)
        prev = b["block_hash"]
        blocks.append(b)
    return blocks, entries


def reseal(blocks, entries, start):
    """Recomputes roots and the chain from blocks[start] on, as an attacker rewriting the chain would."""
    by_id = {e["id"]: e for e in entries}
    prev = blocks[start - 1]["block_hash"] if start > 0 else bytes(32)
    for b in blocks[start:]:
        leaves = [bytes.fromhex(by_id[i]["leaf_hash"]) for i in b["member_ids"] if i in by_id]
        b["merkle_root"] = blocks_spec.merkle_root(leaves)
        b["prev_hash"] = prev
        b["block_hash"] = blocks_spec.block_hash(b)
        prev = b["block_hash"]


def header_line(blocks, highest=None):
    if highest is None:
        highest = blocks[-1]["block_no"] if blocks else 0
    return build_object([("type", "header"), ("format", 1), ("database", DATABASE), ("highest_block_no", highest),
                         ("backslash", "\\")])


# What COPY ... TO writes for a text value in its text format (PostgreSQL's CopyAttributeOutText).
COPY_ESCAPES = {"\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v"}


def copy_text(line):
    return "".join(COPY_ESCAPES.get(c, c) for c in line)


def block_line(b):
    d = {"type": "block", "block_no": b["block_no"], "snapshot": b["snapshot"], "entry_count": b["entry_count"],
         "first_entry_id": b["first_entry_id"], "last_entry_id": b["last_entry_id"],
         "merkle_root": b["merkle_root"].hex(), "prev_hash": b["prev_hash"].hex(),
         "sealed_at_us": b["sealed_at_us"], "block_hash": b["block_hash"].hex()}
    return pg_json(d)


ENTRY_KEYS = ["id", "xid", "stmt_time_us", "op", "schema_name", "table_name", "tags", "row_key", "subject",
              "old_values", "new_values", "session_user", "current_user", "application_name", "client_addr",
              "client_port", "backend_pid", "actor", "reason", "context", "leaf_hash"]


def entry_line(e):
    return build_object([("type", "entry")] + [(k, e[k]) for k in ENTRY_KEYS] + [("format", 1)])


def write_export(path, blocks, entries, highest=None, copy=False):
    """JSON lines, or with copy=True as COPY (SELECT witness.export_trail()) TO STDOUT writes them."""
    out = copy_text if copy else (lambda line: line)
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(out(header_line(blocks, highest)) + "\n")
        for b in blocks:
            f.write(out(block_line(b)) + "\n")
        for e in sorted(entries, key=lambda e: e["id"]):
            f.write(out(entry_line(e)) + "\n")


def digest_json(blocks, block_no, time_us=1700000123456789):
    """The canonical digest of block block_no (docs/verification.md)."""
    b = blocks[block_no - 1]
    total = sum(x["entry_count"] for x in blocks[:block_no])
    sec, us = divmod(time_us, 1000000)
    import datetime
    t = datetime.datetime.fromtimestamp(sec, datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % us
    return ('{"block_hash":"%s","block_no":%d,"database":%s,"entries":%d,"time":"%s","version":1}'
            % (b["block_hash"].hex(), block_no, json.dumps(DATABASE), total, t))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--entries", type=int, default=1000)
    ap.add_argument("--block-size", type=int, default=0, help="entries per sealing round (default: entries/50)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    ap.add_argument("--copy", action="store_true", help="write COPY text, as COPY ... TO STDOUT would")
    args = ap.parse_args()
    block_size = args.block_size or max(1, args.entries // 50)
    blocks, entries = generate(args.entries, block_size, args.seed)
    write_export(args.out, blocks, entries, copy=args.copy)
    sealed = sum(b["entry_count"] for b in blocks)
    print("%s: %d blocks, %d entries (%d sealed, %d pending)" % (args.out, len(blocks), len(entries), sealed,
                                                                  len(entries) - sealed))


if __name__ == "__main__":
    main()
