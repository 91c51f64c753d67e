#!/usr/bin/env python3
"""CTest driver: runs witness-verify on exports written by make_export.py, valid and tampered in each
way docs/verification.md names, with signed digests, and checks exit status and report.

    python3 test/unit/export/test_witness_verify.py build/witness-verify
"""

import copy
import hashlib
import hmac
import os
import shutil
import subprocess
import sys
import threading
import time
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import make_export as mx  # noqa: E402
from make_entry_vectors import Num, leaf_hash  # noqa: E402

BIN = os.path.abspath(sys.argv[1])
TMP = tempfile.mkdtemp(prefix="witness_verify_test_")
FAILURES = []
BLOCKS, ENTRIES = mx.generate(600, 40, seed=7)
HMAC_KEY = "5f0c0a1e9b7d6c4a3f2e1d0c9b8a7f6e5d4c3b2a19f8e7d6c5b4a39281706f5e"


def run(name, args, expect_rc, expect_text=(), stdin=None):
    p = subprocess.run([BIN] + args, capture_output=True, text=True, input=stdin)
    out = p.stdout + p.stderr
    missing = [t for t in expect_text if t not in out]
    if p.returncode != expect_rc or missing:
        FAILURES.append(name)
        print("FAIL %s: exit %d (expected %d), missing %r\n%s" % (name, p.returncode, expect_rc, missing, out))
    else:
        print("ok   %s" % name)
    return out


def export(name, blocks=BLOCKS, entries=ENTRIES, highest=None, as_copy=False):
    path = os.path.join(TMP, name + (".copy" if as_copy else ".jsonl"))
    mx.write_export(path, blocks, entries, highest, copy=as_copy)
    return path


def sealed_entry(block_index, op=None, skip=0):
    ids = BLOCKS[block_index]["member_ids"]
    by_id = {e["id"]: e for e in ENTRIES}
    found = [by_id[i] for i in ids if op is None or by_id[i]["op"] == op]
    return found[skip]


def tampered(fn):
    blocks, entries = copy.deepcopy(BLOCKS), copy.deepcopy(ENTRIES)
    fn(blocks, entries)
    return blocks, entries


def by_id(entries, id_):
    return next(e for e in entries if e["id"] == id_)


def write(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def test_valid():
    sealed = sum(b["entry_count"] for b in BLOCKS)
    path = export("valid")
    run("valid export", [path], 0, ["status:            valid", "entries checked:   %d" % sealed,
                                     "entries pending:   %d" % (len(ENTRIES) - sealed), "result:            VALID"])
    run("valid export, one job", ["--jobs", "1", path], 0, ["VALID"])
    with open(path) as f:
        run("valid export on standard input", ["-"], 0, ["VALID"], stdin=f.read())
    # As COPY (SELECT witness.export_trail()) TO STDOUT writes it: every backslash doubled, tabs and
    # newlines escaped. witness-verify tells the formats apart by the header's "backslash" member.
    path = export("valid", as_copy=True)
    run("valid COPY export", ["--stats", path], 0, ["entries checked:   %d" % sealed, "VALID", "COPY text, 1 pass"])
    with open(path) as f:
        run("valid COPY export on standard input", ["--stats", "-"], 0, ["VALID", "COPY text, 1 pass"],
            stdin=f.read())
    with open(path) as f:
        text = f.read()
    run("COPY export with its end-of-data marker", ["--stats", write("ended.copy", text + "\\.\n")], 0,
        ["VALID", "COPY text"])
    run("COPY export read as JSON lines is not valid",
        [write("as_jsonl.jsonl", text.replace('"backslash" : "\\\\\\\\"', '"backslash" : "\\\\"'))], 2,
        ["is not valid JSON"])


def test_tampering(as_copy):
    """Each tampering, in JSON lines and in COPY text; entries are read again to explain them."""
    suffix = " (COPY text)" if as_copy else ""

    def export(name, blocks=BLOCKS, entries=ENTRIES, highest=None):
        return globals()["export"](name, blocks, entries, highest, as_copy=as_copy)

    def run(name, args, expect_rc, expect_text=(), stdin=None):
        return globals()["run"](name + suffix, args, expect_rc, expect_text, stdin)

    e = sealed_entry(3, op="I")

    def value(blocks, entries):
        v = by_id(entries, e["id"])["new_values"]
        v["balance"] = Num(v["balance"].text + "0")  # 12.34 -> 12.340: same number, other text

    run("value changed", [export("value", *tampered(value))], 1,
        ["block 4, entry %d: value changed: content altered after sealing" % e["id"], "TAMPERED"])
    run("value changed, two passes", ["--stats", export("value", *tampered(value))], 1, ["2 passes"])
    with open(export("value", *tampered(value))) as f:
        run("value changed, on standard input", ["--stats", "-"], 1,
            ["block 4, entry %d: value changed: content altered after sealing" % e["id"], "2 passes"], stdin=f.read())

    def leaf(blocks, entries):
        by_id(entries, e["id"])["leaf_hash"] = hashlib.sha256(b"forged").hexdigest()

    run("hash changed", [export("hash", *tampered(leaf))], 1, ["entry %d: hash changed" % e["id"]])

    # Entries captured since version 0.2 store and export the first 8 bytes of their leaf hash
    # (docs/hashing.md, "How entries store their leaf hash"); a format-1 entry (these synthetic ones)
    # always stored all 32, so 8 of them are a cut hash, reported as witness.verify() does.
    # test/integration/witness_verify_export.sh checks real format-2 exports with 8-byte hashes.
    def prefixes(blocks, entries):
        by_id(entries, e["id"])["leaf_hash"] = by_id(entries, e["id"])["leaf_hash"][:16]

    run("a format-1 leaf hash cut to 8 bytes: hash changed", [export("prefix", *tampered(prefixes))], 1,
        ["entry %d: hash changed" % e["id"], "TAMPERED"])

    def lengthened(blocks, entries):
        by_id(entries, e["id"])["leaf_hash"] += "00"

    run("a leaf hash lengthened by a byte: hash changed", [export("longer", *tampered(lengthened))], 1,
        ["entry %d: hash changed" % e["id"], "TAMPERED"])

    d = sealed_entry(5, skip=0)

    def delete(blocks, entries):
        entries.remove(by_id(entries, d["id"]))

    run("entry missing", [export("delete", *tampered(delete))], 1, ["block 6", "entry missing"])

    def insert(blocks, entries):
        forged = copy.deepcopy(by_id(entries, d["id"]))
        forged["id"] = d["id"] * 1000 + 1
        forged["leaf_hash"] = leaf_hash(forged)
        ids = blocks[5]["member_ids"]
        forged["id"] = (ids[0] + ids[-1]) // 2 if ids[-1] - ids[0] > 1 else forged["id"]
        while forged["id"] in ids:
            forged["id"] += 1
        forged["leaf_hash"] = leaf_hash(forged)
        entries.append(forged)

    run("entry inserted", [export("insert", *tampered(insert))], 1, ["block 6", "entry inserted"])

    a, b = sealed_entry(7, skip=1), sealed_entry(7, skip=2)

    def swap(blocks, entries):
        x, y = by_id(entries, a["id"]), by_id(entries, b["id"])
        x["id"], y["id"] = y["id"], x["id"]

    run("entries reordered", [export("swap", *tampered(swap))], 1,
        ["block 8, entry %d: entries reordered: entries %d and %d" % (a["id"], a["id"], b["id"])])

    def block(blocks, entries):
        blocks[2]["sealed_at_us"] += 1

    run("block altered", [export("block", *tampered(block))], 1, ["block 3: block altered"])

    def chain(blocks, entries):
        blocks[2]["sealed_at_us"] += 1
        blocks[2]["block_hash"] = mx.blocks_spec.block_hash(blocks[2])

    run("chain broken", [export("chain", *tampered(chain))], 1, ["block 4: chain broken"])

    last = BLOCKS[-1]["block_no"]
    run("newest block deleted", [export("truncate", BLOCKS[:-1], ENTRIES, highest=last)], 1,
        ["block %d: block missing" % last])
    run("middle block deleted", [export("gap", BLOCKS[:4] + BLOCKS[5:], ENTRIES)], 1, ["block 5: block missing"])


def digest_for(blocks, block_no, key=HMAC_KEY, ed_key=None):
    digest = mx.digest_json(blocks, block_no)
    doc = '{"digest":' + digest
    if ed_key:
        sig = subprocess.run(["openssl", "pkeyutl", "-sign", "-inkey", ed_key, "-rawin", "-in",
                              write("digest.msg", digest)], capture_output=True, check=True).stdout
        pub = subprocess.run(["openssl", "pkey", "-in", ed_key, "-pubout", "-outform", "DER"], capture_output=True,
                             check=True).stdout[-32:]
        doc += ',"ed25519":"%s","ed25519_public_key":"%s"' % (sig.hex(), pub.hex())
    if key:
        doc += ',"hmac_sha256":"%s"' % hmac.new(key.encode(), digest.encode(), hashlib.sha256).hexdigest()
    return doc + "}"


def test_digests():
    path = export("valid")
    key = write("hmac.key", HMAC_KEY + "\n")
    wrong_key = write("wrong.key", "0" * 64 + "\n")
    n = BLOCKS[10]["block_no"]
    d = write("digest.json", digest_for(BLOCKS, n))
    run("digest, HMAC valid", [path, "--digest", d, "--hmac-key", key], 0,
        ["hmac_sha256:     valid", "block hash:      matches block %d" % n, "VALID"])
    run("digest, wrong HMAC key", [path, "--digest", d, "--hmac-key", wrong_key], 1,
        ["DIGEST MISMATCH: the digest's hmac_sha256 signature is invalid"])
    run("digest, no key", [path, "--digest", d], 0, ["hmac_sha256:     not checked", "no key given"])

    # The whole chain rewritten from an entry in block 5 on: the export checks out, the digest does not.
    e = sealed_entry(4, op="I")

    def rewrite(blocks, entries):
        x = by_id(entries, e["id"])
        x["new_values"]["owner"] = "somebody else"
        x["leaf_hash"] = leaf_hash(x)
        mx.reseal(blocks, entries, 4)

    rewritten = export("rewritten", *tampered(rewrite))
    run("rewritten chain alone looks valid", [rewritten], 0, ["VALID"])
    run("rewritten chain against an earlier digest", [rewritten, "--digest", d, "--hmac-key", key], 1,
        ["DIGEST MISMATCH: block %d has hash" % n, "the chain was rewritten"])
    run("digest of a block cut off", [export("cut", BLOCKS[:n - 2], ENTRIES, highest=n - 2), "--digest", d,
                                      "--hmac-key", key], 1, ["newer than the newest exported block"])
    bad = write("bad_digest.json", digest_for(BLOCKS, n).replace('"entries":', '"entries":1'))
    run("digest with altered entry count", [path, "--digest", bad, "--hmac-key", key], 1,
        ["DIGEST MISMATCH", "hmac_sha256 signature is invalid", "the digest says"])

    if shutil.which("openssl") is None:
        print("skip ed25519 digests: no openssl command")
        return
    priv = os.path.join(TMP, "ed25519.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", priv], check=True)
    pub = write("ed25519_pub.pem", subprocess.run(["openssl", "pkey", "-in", priv, "-pubout"], capture_output=True,
                                                  text=True, check=True).stdout)
    other = os.path.join(TMP, "other.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "ed25519", "-out", other], check=True)
    signed = write("signed.json", digest_for(BLOCKS, n, ed_key=priv))
    run("digest, Ed25519 and HMAC valid", [path, "--digest", signed, "--hmac-key", key, "--ed25519-key", pub], 0,
        ["ed25519:         valid", "hmac_sha256:     valid", "VALID"])
    run("digest, Ed25519 checked with the private key", [path, "--digest", signed, "--ed25519-key", priv], 0,
        ["ed25519:         valid"])
    run("digest, Ed25519 wrong key", [path, "--digest", signed, "--ed25519-key", other], 1,
        ["ed25519 signature is invalid"])


def test_errors():
    run("no arguments", [], 2, ["no export file given", "usage:"])
    run("unreachable database", ["--connect", "host=/nonexistent port=1"], 2, ["cannot connect"])
    run("unknown option", ["--frobnicate", "x"], 2, ["unknown option --frobnicate"])
    run("key without digest", ["x", "--hmac-key", "k"], 2, ["give --digest too"])
    run("missing file", [os.path.join(TMP, "nope.jsonl")], 2, ["cannot open"])
    path = export("valid")
    with open(path) as f:
        lines = f.read().split("\n")
    lines[30] = lines[30].replace('"op" : ', '"op" : 7, "x" : ')
    run("malformed entry line", [write("malformed.jsonl", "\n".join(lines))], 2, ["line 31: "])
    run("malformed digest", [path, "--digest", write("d.json", "{}")], 2, ["malformed signed digest"])
    # COPY text that COPY FROM would refuse, or read as something else than one text value per line.
    with open(export("valid", as_copy=True)) as f:
        lines = f.read().split("\n")
    i = next(i for i, line in enumerate(lines) if "\\t" in line)  # an entry whose value has a tab
    for name, bad_lines, error in [
            ("unescaped tab", [lines[i].replace("\\t", "\t", 1)], "unescaped tab"),
            ("NULL row", ["\\N"], "NULL row"),
            ("backslash at the end", [lines[i] + "\\"], "backslash at the end of the line"),
            ("end marker inside a line", [lines[i].replace("\\\\", "\\.", 1)], "end-of-data marker"),
            ("line after the end marker", ["\\.", lines[i]], "after the end-of-data marker")]:
        bad = lines[:i] + bad_lines + lines[i + 1:]
        where = i + len(bad_lines)  # the last of bad_lines, numbered from 1
        run("COPY text: " + name, [write("bad.copy", "\n".join(bad))], 2, ["line %d: " % where, error])
    run("both a file and --connect", [path, "--connect", "dbname=x"], 2, ["not both"])
    run("help", ["--help"], 0, ["usage: witness-verify"])


def test_export_that_changes():
    """A file (or server) that gives a later pass other entries than the first: an attack review's
    server forged a retention record in the first pass and served the true entries in the second."""
    e = sealed_entry(3, op="I")

    def value(blocks, entries):
        v = by_id(entries, e["id"])["new_values"]
        v["balance"] = Num(v["balance"].text + "0")

    first = export("changing_first", *tampered(value))  # needs a second pass to explain its block
    second = export("valid")
    fifo = os.path.join(TMP, "changing.fifo")
    os.mkfifo(fifo)

    def serve():
        for i, path in enumerate((first, second)):
            if i > 0:
                time.sleep(1)  # the reader has closed its end: the second open is a second read
            with open(path) as src, open(fifo, "w") as dst:
                dst.write(src.read())

    threading.Thread(target=serve, daemon=True).start()
    run("an export whose entries differ between two passes", [fifo], 2,
        ["the export changed between two passes: its entry lines differ"])


def main():
    try:
        test_valid()
        test_tampering(False)
        test_tampering(True)
        test_digests()
        test_errors()
        test_export_that_changes()
    finally:
        shutil.rmtree(TMP, ignore_errors=True)
    if FAILURES:
        print("%d failed: %s" % (len(FAILURES), ", ".join(FAILURES)))
        sys.exit(1)
    print("all passed")


if __name__ == "__main__":
    main()
