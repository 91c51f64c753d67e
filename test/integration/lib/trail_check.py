#!/usr/bin/env python3
"""Independent check of a pg_witness trail export (witness.export_trail(), JSON lines on stdin).

Written from the specification (docs/hashing.md, docs/verification.md), standard
library only, sharing no code with the extension. It recomputes:

  - block numbers 1..n, consecutive; header.highest_block_no = n;
  - block membership from the stored snapshots: block k holds the entries whose xid is visible in
    snapshot k and not in snapshot k-1 (visible(x, xmin:xmax:xip) = x < xmin or (x < xmax and x not
    in xip)); every entry is in exactly one block, or pending (not visible in the newest snapshot);
    with transaction-id eras ("era" lines), among the blocks of the entry's era only, the era's first
    block excluding nothing (docs/verification.md, "Transaction-id eras");
  - entry_count, first_entry_id, last_entry_id of every block from its members;
  - the RFC 9162 Merkle root over the members' leaf hashes in id order;
  - block_hash = SHA-256(0x02 || header bytes), and prev_hash = block_hash of the previous block
    (32 zero bytes for block 1).

Leaf hashes themselves are not recomputed here (that needs the canonical entry encoding); the
integration scripts compare them with witness.entry_leaf_hash() in SQL. An entry captured since
version 0.2 stores (and exports) only the first 8 bytes of its leaf hash (docs/hashing.md, "How
entries store their leaf hash"): --leaves FILE gives the full hashes, one "id hex" line per entry, as
witness._sealed_leaf() computes them in SQL; each must begin with the exported bytes.

Usage: psql -At -c 'SELECT * FROM witness.export_trail()' | trail_check.py [--allow-pending] [--leaves FILE]
Prints one summary line; exits 1 and lists the first problems if anything does not match.
"""

import hashlib
import json
import struct
import sys

T_NULL, T_INT, T_TEXT, T_BYTES = 0x00, 0x01, 0x02, 0x04


def h(b):
    return hashlib.sha256(b).digest()


def merkle_root(leaves, lo=0, hi=None):
    """RFC 9162 2.1.1 Merkle Tree Hash over already hashed leaves[lo:hi]."""
    if hi is None:
        hi = len(leaves)
    n = hi - lo
    if n == 0:
        return h(b"")
    if n == 1:
        return leaves[lo]
    k = 1
    while 2 * k < n:
        k *= 2
    return h(b"\x01" + merkle_root(leaves, lo, lo + k) + merkle_root(leaves, lo + k, hi))


def f_int(v):
    return bytes([T_INT]) + struct.pack(">q", v)


def f_int_or_null(v):
    return bytes([T_NULL]) if v is None else f_int(v)


def f_text(s):
    b = s.encode("utf-8")
    return bytes([T_TEXT]) + struct.pack(">I", len(b)) + b


def f_bytes(b):
    return bytes([T_BYTES]) + struct.pack(">I", len(b)) + b


def block_hash(b):
    header = b"".join([
        bytes([1]),
        f_int(b["block_no"]), f_text(b["snapshot"]), f_int(b["entry_count"]),
        f_int_or_null(b["first_entry_id"]), f_int_or_null(b["last_entry_id"]),
        f_bytes(bytes.fromhex(b["merkle_root"])), f_bytes(bytes.fromhex(b["prev_hash"])),
        f_int(b["sealed_at_us"]),
    ])
    return h(b"\x02" + header)


class Snapshot:
    def __init__(self, text):
        xmin, xmax, xip = text.split(":")
        self.xmin, self.xmax = int(xmin), int(xmax)
        self.xip = frozenset(int(x) for x in xip.split(",") if x)

    def visible(self, x):
        return x < self.xmin or (x < self.xmax and x not in self.xip)

    def contains(self, other):
        """Everything visible in other is visible in self."""
        if self.xmin < other.xmin or self.xmax < other.xmax:
            return False
        return all(x >= other.xmax or x in other.xip for x in self.xip)


def read_leaves(args):
    """The --leaves FILE argument: {entry id: full leaf hash}, or None without it."""
    if "--leaves" not in args:
        return None
    full = {}
    with open(args[args.index("--leaves") + 1]) as f:
        for line in f:
            if line.strip():
                id_, hex_ = line.split()
                full[int(id_)] = bytes.fromhex(hex_)
    return full


def main():
    allow_pending = "--allow-pending" in sys.argv[1:]
    full_leaves = read_leaves(sys.argv[1:])
    problems = []

    def problem(msg):
        problems.append(msg)

    header, blocks, entries, eras = None, [], [], []
    for lineno, line in enumerate(sys.stdin, start=1):
        line = line.strip()
        if not line:
            continue
        rec = json.loads(line)
        t = rec.get("type")
        if t == "header":
            header = rec
        elif t == "block":
            blocks.append(rec)
        elif t == "entry":
            entries.append(rec)
        elif t == "era":
            eras.append((rec["first_entry_id"], rec["first_block_no"]))
        else:
            problem("line %d: unknown record type %r" % (lineno, t))
    if header is None:
        problem("no header line")

    # Chain: numbers, prev_hash links, block hashes.
    prev = bytes(32)
    for i, b in enumerate(blocks):
        if b["block_no"] != i + 1:
            problem("block %d at position %d (numbers not consecutive from 1)" % (b["block_no"], i + 1))
        if bytes.fromhex(b["prev_hash"]) != prev:
            problem("block %d: prev_hash %s is not the previous block's hash %s" % (b["block_no"], b["prev_hash"], prev.hex()))
        computed = block_hash(b)
        if computed.hex() != b["block_hash"]:
            problem("block %d: block_hash %s, recomputed %s" % (b["block_no"], b["block_hash"], computed.hex()))
        prev = bytes.fromhex(b["block_hash"])
    if header is not None and header.get("highest_block_no") != len(blocks):
        problem("header highest_block_no %s, %d blocks exported" % (header.get("highest_block_no"), len(blocks)))

    # Membership, era by era: era 1 from entry 1 and block 1, then one per era line.
    eras.sort()
    starts = [(-(1 << 63), 1)] + eras
    snaps = [Snapshot(b["snapshot"]) for b in blocks]
    members = [[] for _ in blocks]
    pending = 0
    monotonic = True
    for n, (first_id, first_block) in enumerate(starts):
        next_id, end_block = starts[n + 1] if n + 1 < len(starts) else (1 << 63, 1 << 63)
        ks = [k for k, b in enumerate(blocks) if first_block <= b["block_no"] < end_block]
        era_snaps = [snaps[k] for k in ks]
        era_monotonic = all(era_snaps[i].contains(era_snaps[i - 1]) for i in range(1, len(era_snaps)))
        monotonic = monotonic and era_monotonic
        by_xid = {}
        for e in entries:
            if first_id <= e["id"] < next_id:
                by_xid.setdefault(e["xid"], []).append(e)
        for xid, es in by_xid.items():
            if era_monotonic:
                # visible is false..false true..true along the era's blocks: the first true is the block.
                lo, hi = 0, len(era_snaps)
                while lo < hi:
                    mid = (lo + hi) // 2
                    if era_snaps[mid].visible(xid):
                        hi = mid
                    else:
                        lo = mid + 1
                homes = [ks[lo]] if lo < len(era_snaps) else []
            else:
                homes = [ks[i] for i in range(len(era_snaps))
                         if era_snaps[i].visible(xid) and (i == 0 or not era_snaps[i - 1].visible(xid))]
            if not homes:
                pending += len(es)
                continue
            if len(homes) > 1:
                problem("xid %d (entries %s) is in %d blocks: %s" % (xid, [e["id"] for e in es], len(homes),
                                                                      [k + 1 for k in homes]))
            for k in homes:
                members[k].extend(es)
    if pending and not allow_pending:
        problem("%d entries are pending (not visible in the newest block's snapshot)" % pending)

    ids = [e["id"] for e in entries]
    if ids != sorted(ids) or len(set(ids)) != len(ids):
        problem("entry ids are not unique and ascending in the export")

    def leaf_of(e):
        stored = bytes.fromhex(e["leaf_hash"])
        if len(stored) == 32:
            return stored
        full = full_leaves.get(e["id"]) if full_leaves is not None else None
        if full is None or len(stored) != 8 or full[:8] != stored:
            problem("entry %d: its %d stored leaf-hash bytes %s are not the start of its leaf hash %s"
                    % (e["id"], len(stored), stored.hex(), full.hex() if full else "(not given: --leaves)"))
            return stored + bytes(32 - len(stored)) if len(stored) < 32 else stored[:32]
        return full

    sealed = 0
    for k, b in enumerate(blocks):
        m = sorted(members[k], key=lambda e: e["id"])
        sealed += len(m)
        if b["entry_count"] != len(m):
            problem("block %d: entry_count %d, %d entries by snapshot" % (b["block_no"], b["entry_count"], len(m)))
        first = m[0]["id"] if m else None
        last = m[-1]["id"] if m else None
        if (b["first_entry_id"], b["last_entry_id"]) != (first, last):
            problem("block %d: first/last_entry_id %s/%s, by snapshot %s/%s"
                    % (b["block_no"], b["first_entry_id"], b["last_entry_id"], first, last))
        root = merkle_root([leaf_of(e) for e in m])
        if root.hex() != b["merkle_root"]:
            problem("block %d: merkle_root %s, recomputed over %d leaves %s"
                    % (b["block_no"], b["merkle_root"], len(m), root.hex()))

    summary = "%d blocks, %d entries, %d sealed, %d pending, snapshots %s" % (
        len(blocks), len(entries), sealed, pending, "monotonic" if monotonic else "NOT monotonic")
    if problems:
        print("trail_check: %d problems (%s)" % (len(problems), summary))
        for p in problems[:20]:
            print("  " + p)
        sys.exit(1)
    print(summary)


if __name__ == "__main__":
    main()
