#!/usr/bin/env python3
"""Independent check of pg_witness inclusion proofs (witness.prove(), one JSON object per line on stdin).

Standard library only, from the specification (docs/hashing.md): the audit path is verified with
the algorithm of RFC 9162 section 2.1.3.2 against the block's Merkle root, the root is the one in
the block header, and the block header hashes to block_hash (SHA-256(0x02 || header bytes)).

Prints one line per proof; exits 1 if any proof does not verify.
"""

import hashlib
import json
import struct
import sys


def h(b):
    return hashlib.sha256(b).digest()


def f_int(v):
    return b"\x01" + struct.pack(">q", v)


def f_int_or_null(v):
    return b"\x00" if v is None else f_int(v)


def f_text(s):
    b = s.encode("utf-8")
    return b"\x02" + struct.pack(">I", len(b)) + b


def f_bytes(b):
    return b"\x04" + struct.pack(">I", len(b)) + b


def block_hash(b):
    return h(b"\x02" + b"".join([
        b"\x01", f_int(b["block_no"]), f_text(b["snapshot"]), f_int(b["entry_count"]),
        f_int_or_null(b["first_entry_id"]), f_int_or_null(b["last_entry_id"]),
        f_bytes(bytes.fromhex(b["merkle_root"])), f_bytes(bytes.fromhex(b["prev_hash"])), f_int(b["sealed_at_us"]),
    ]))


def root_from_path(leaf, index, size, path):
    """RFC 9162 2.1.3.2; None if the path does not fit the tree size."""
    if index >= size:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0:
            return None
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = h(b"\x01" + r + p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def main():
    bad = 0
    n = 0
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        n += 1
        p = json.loads(line)
        hdr = p["block_header"]
        problems = []
        root = root_from_path(bytes.fromhex(p["leaf_hash"]), p["leaf_index"], p["tree_size"],
                              [bytes.fromhex(x) for x in p["audit_path"]])
        if root is None or root.hex() != p["merkle_root"]:
            problems.append("audit path does not lead to merkle_root")
        if hdr["merkle_root"] != p["merkle_root"] or hdr["entry_count"] != p["tree_size"] or hdr["block_no"] != p["block_no"]:
            problems.append("proof and block header disagree (root, size or block)")
        if block_hash(hdr).hex() != p["block_hash"] or hdr["block_hash"] != p["block_hash"]:
            problems.append("block header does not hash to block_hash")
        if problems:
            bad += 1
            print("entry %s: %s" % (p.get("entry_id"), "; ".join(problems)))
        else:
            print("entry %s: leaf %d of %d in block %d, path of %d hashes: verified"
                  % (p["entry_id"], p["leaf_index"], p["tree_size"], p["block_no"], len(p["audit_path"])))
    if n == 0:
        print("no proof on stdin")
        sys.exit(1)
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
