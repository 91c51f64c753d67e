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

  - every entry's leaf hash from its exported content (docs/hashing.md, format 1 and format 2, with
    the field encodings and canonical JSON of test/unit/vectors/make_entry_vectors.py, itself written
    from the specification): for a payload in clear, its commitment from salt and payload first. An
    entry captured since version 0.2 exports only the first 8 bytes of its leaf hash and (in clear)
    of its commitment ("How entries store their leaf hash"): each must begin the recomputed one.

Usage: psql -c '\\copy (SELECT * FROM witness.export_trail()) TO STDOUT' | trail_check.py --copy-text [--allow-pending]
       (or psql -At -c 'SELECT * FROM witness.export_trail()' | trail_check.py, when no value holds a
       Unicode noncharacter: psql's printer drops those, docs/verification.md)
Prints one summary line; exits 1 and lists the first problems if anything does not match.
"""

import hashlib
import json
import os
import re
import struct
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "unit", "vectors"))
import make_entry_vectors as v1  # noqa: E402  (format 1 and canonical JSON, from the spec)
import make_entry_v2_vectors as v2  # noqa: E402  (format 2, from the spec)

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


COPY_ESCAPES = {"b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}


def copy_decode(line):
    """A line of COPY's text format as the text it holds: backslash escapes (\\\\, \\t, octal \\NNN,
    hex \\xNN) decoded."""
    if "\\" not in line:
        return line
    out, i = bytearray(), 0
    raw = line.encode("utf-8")
    while i < len(raw):
        c = raw[i]
        if c != 0x5C or i + 1 == len(raw):
            out.append(c)
            i += 1
            continue
        n = chr(raw[i + 1])
        if n in COPY_ESCAPES:
            out += COPY_ESCAPES[n].encode()
            i += 2
        elif n in "01234567":
            m = re.match(rb"[0-7]{1,3}", raw[i + 1:i + 4])
            out.append(int(m.group(0), 8) & 0xFF)
            i += 1 + len(m.group(0))
        elif n == "x" and re.match(rb"[0-9a-fA-F]", raw[i + 2:i + 3]):
            m = re.match(rb"[0-9a-fA-F]{1,2}", raw[i + 2:i + 4])
            out.append(int(m.group(0), 16))
            i += 2 + len(m.group(0))
        else:
            out.append(raw[i + 1])
            i += 2
    return out.decode("utf-8")


def json_members(line):
    """An entry line's members with JSON numbers kept as their text (v1.Num), so that the canonical
    JSON of a value is rebuilt exactly."""
    return json.loads(line, parse_int=v1.Num, parse_float=v1.Num)


def recomputed_leaf(e, raw):
    """The leaf hash of an exported entry from its content, and a reason when it cannot be computed:
    (hash, None) or (None, why). e: the line as plain JSON; raw: json_members(line)."""
    fields = dict(e)
    for k in ("row_key", "old_values", "new_values", "context"):
        fields[k] = raw.get(k)
    if e.get("op") not in v1.OPS:
        return None, "unknown op %r" % e.get("op")
    if e.get("format") == 1:
        return hashlib.sha256(b"\x00" + v1.canonical_bytes(fields)).digest(), None
    if e.get("format") != 2:
        return None, "unknown format %r" % e.get("format")
    commitment = bytes.fromhex(e["commitment"] or "")
    if len(commitment) == 8:
        # In clear: SHA-256(0x03 || salt || payload bytes), whose first 8 bytes are exported.
        if e["salt"] is None:
            return None, "a commitment prefix without a salt"
        full = v2.commitment(dict(fields, salt=bytes.fromhex(e["salt"])))
        if full[:8] != commitment:
            return None, "its payload does not give the commitment bytes %s" % commitment.hex()
        commitment = full
    elif len(commitment) != 32:
        return None, "a commitment of %d bytes" % len(commitment)
    fields["pseudonym"] = None if e["subject_pseudonym"] is None else bytes.fromhex(e["subject_pseudonym"])
    canonical = v2.canonical_bytes(fields, commitment)
    return hashlib.sha256(b"\x00" + canonical).digest(), None


def main():
    allow_pending = "--allow-pending" in sys.argv[1:]
    copy_text = "--copy-text" in sys.argv[1:]
    problems = []

    def problem(msg):
        problems.append(msg)

    header, blocks, entries, eras = None, [], [], []
    for lineno, line in enumerate(sys.stdin, start=1):
        line = line.rstrip("\n")
        if copy_text:
            if line == "\\.":
                continue
            line = copy_decode(line)
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
            # Only what the checks below need is kept: a trail of millions fits in memory.
            entries.append({"id": rec["id"], "xid": rec["xid"], "leaf_hash": rec["leaf_hash"],
                            "_leaf": recomputed_leaf(rec, json_members(line))})
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
        full, why = e["_leaf"]
        if full is None:
            problem("entry %d: no leaf hash can be recomputed: %s" % (e["id"], why))
            return stored + bytes(32 - len(stored)) if len(stored) < 32 else stored[:32]
        if len(stored) not in (8, 32) or full[:len(stored)] != stored:
            problem("entry %d: its %d stored leaf-hash bytes %s do not begin its recomputed leaf hash %s"
                    % (e["id"], len(stored), stored.hex(), full.hex()))
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
