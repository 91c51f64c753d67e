#!/usr/bin/env python3
"""Independent test vectors for pg_witness canonical entry bytes, format version 1.

Written from the specification (src/core/entry_encoding.hpp, src/core/canonical_json.hpp,
docs/hashing.md), not from the C++ code, using only the Python standard library. It prints C++
constants that test/unit/test_entry_encoding.cpp pastes verbatim; rerun it and paste again if the
entries below change:

    python3 test/unit/vectors/make_entry_vectors.py
"""

import hashlib
import struct

FORMAT_VERSION = 1
T_NULL, T_INT, T_TEXT, T_JSON = 0x00, 0x01, 0x02, 0x03
OPS = {"I": "INSERT", "U": "UPDATE", "D": "DELETE", "T": "TRUNCATE"}


class Num:
    """A JSON number whose text is kept verbatim."""

    def __init__(self, text):
        self.text = text


class Raw:
    """Text that is already canonical JSON."""

    def __init__(self, text):
        self.text = text


def json_string(s):
    out = ['"']
    for ch in s:
        c = ord(ch)
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif c == 0x08:
            out.append("\\b")
        elif c == 0x09:
            out.append("\\t")
        elif c == 0x0A:
            out.append("\\n")
        elif c == 0x0C:
            out.append("\\f")
        elif c == 0x0D:
            out.append("\\r")
        elif c < 0x20:
            out.append("\\u%04x" % c)
        else:
            out.append(ch)  # U+007F and all non-ASCII stay raw
    out.append('"')
    return "".join(out)


def canonical(v):
    """Canonical JSON text (str) of a Python value."""
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, (Num, Raw)):
        return v.text
    if isinstance(v, str):
        return json_string(v)
    if isinstance(v, list):
        return "[" + ",".join(canonical(x) for x in v) + "]"
    if isinstance(v, dict):
        keys = sorted(v, key=lambda k: k.encode("utf-8"))  # unsigned bytewise
        return "{" + ",".join(json_string(k) + ":" + canonical(v[k]) for k in keys) + "}"
    raise TypeError(type(v))


def f_int(v):
    return bytes([T_INT]) + struct.pack(">q", v)


def f_text(s):
    if s is None:
        return bytes([T_NULL])
    b = s.encode("utf-8")
    return bytes([T_TEXT]) + struct.pack(">I", len(b)) + b


def f_json(v):
    if v is None:
        return bytes([T_NULL])
    b = canonical(v).encode("utf-8")
    return bytes([T_JSON]) + struct.pack(">I", len(b)) + b


def f_int_or_null(v):
    return bytes([T_NULL]) if v is None else f_int(v)


def canonical_bytes(e):
    return b"".join([
        bytes([FORMAT_VERSION]),
        f_int(e["id"]), f_int(e["xid"]), f_int(e["stmt_time_us"]),
        f_text(OPS[e["op"]]),
        f_text(e["schema_name"]), f_text(e["table_name"]),
        f_int(e["tags"]),
        f_json(e["row_key"]), f_text(e["subject"]), f_json(e["old_values"]), f_json(e["new_values"]),
        f_text(e["session_user"]), f_text(e["current_user"]),
        f_text(e["application_name"]), f_text(e["client_addr"]), f_int_or_null(e["client_port"]),
        f_int(e["backend_pid"]),
        f_text(e["actor"]), f_text(e["reason"]), f_json(e["context"]),
    ])


def leaf_hash(e):
    return hashlib.sha256(b"\x00" + canonical_bytes(e)).hexdigest()


PII, FINANCIAL, CONFIDENTIAL, RESTRICTED, INTERNAL = 1, 2, 4, 8, 16

ENTRIES = [
    ("Insert", {
        "id": 1, "xid": 750, "stmt_time_us": 1700000000123456, "op": "I",
        "schema_name": "public", "table_name": "customers", "tags": PII | CONFIDENTIAL,
        "row_key": {"id": Num("42")}, "subject": "customer:42",
        "old_values": None,
        "new_values": {
            "active": True,
            "balance": Num("1234.50"),
            "city": "Zo\u00eb \u65e5\u672c \U0001F600",
            "email": "zoe@example.com",
            "email_verified": False,
            "id": Num("42"),
            "name": "O\"Brien \\ \n\t\x01\x1f\x7f/",
            "nickname": None,
            "prefs": Raw('{"lang":"fr","tags":["a","b"],"x":{"y":null}}'),
            "pr\u00e9nom": "Zo\u00eb",
        },
        "session_user": "app_login", "current_user": "app_owner", "application_name": "billing-api",
        "client_addr": "192.0.2.10", "client_port": 54321, "backend_pid": 4242,
        "actor": "alice@example.com", "reason": "signup", "context": None,
    }),
    ("Update", {
        "id": 2, "xid": 751, "stmt_time_us": 1700000001000000, "op": "U",
        "schema_name": "public", "table_name": "customers", "tags": PII | CONFIDENTIAL,
        "row_key": {"id": Num("42")}, "subject": "customer:42",
        "old_values": {"email": "zoe@old.example", "status": "active"},
        "new_values": {"email": "zoe@new.example", "status": "closed"},
        "session_user": "app_login", "current_user": "app_owner", "application_name": "billing-api",
        "client_addr": "2001:db8::1", "client_port": 443, "backend_pid": 4243,
        "actor": "bob", "reason": "customer request #1234", "context": None,
    }),
    ("Truncate", {
        "id": 3, "xid": 9007199254740993, "stmt_time_us": -86400000000, "op": "T",
        "schema_name": "audit", "table_name": "staging_imports", "tags": 0,
        "row_key": None, "subject": None, "old_values": None, "new_values": None,
        "session_user": "postgres", "current_user": "postgres", "application_name": None,
        "client_addr": None, "client_port": None, "backend_pid": 7,
        "actor": None, "reason": None, "context": None,
    }),
    ("DeleteWithContext", {
        "id": 4, "xid": 752, "stmt_time_us": 1700000002500000, "op": "D",
        "schema_name": "hr", "table_name": "employees", "tags": PII | FINANCIAL | RESTRICTED,
        "row_key": {"emp_no": Num("-7")}, "subject": "employee:7",
        "old_values": {"emp_no": Num("-7"), "name": "J\u00fcrgen", "salary": Num("5500.00"),
                       "score": Num("1e+30")},
        "new_values": None,
        "session_user": "hr_admin", "current_user": "hr_admin", "application_name": "psql",
        "client_addr": "10.1.2.3", "client_port": 50000, "backend_pid": 999,
        "actor": "carol", "reason": "retention",
        "context": {"session": "s-1", "auth": "oidc", "ip": "203.0.113.7", "roles": ["hr", "admin"],
                    "mfa": True, "n": Num("3")},
    }),
    # The row of docs/hashing.md's second worked example, captured as the value rules there say:
    # INSERT INTO spec_example VALUES (1, 'NaN', '-0', '{"b": 1, "a": 2}', 12.34, 'café', 'spec_example',
    # 'timestamptz') with columns id int, f4 float4, f8 float8, j json, m money, name text, rc regclass,
    # rt regtype (sql/types.sql captures it and compares the text).
    ("CapturedValues", {
        "id": 5, "xid": 753, "stmt_time_us": 1700000003000000, "op": "I",
        "schema_name": "public", "table_name": "spec_example", "tags": 0,
        "row_key": {"id": Num("1")}, "subject": None, "old_values": None,
        "new_values": {"f4": "NaN", "f8": Num("-0"), "id": Num("1"), "j": '{"b": 1, "a": 2}', "m": Num("1234"),
                       "name": "caf\u00e9", "rc": "public.spec_example", "rt": "pg_catalog.timestamptz"},
        "session_user": "postgres", "current_user": "postgres", "application_name": None,
        "client_addr": None, "client_port": None, "backend_pid": 4244,
        "actor": None, "reason": None, "context": None,
    }),
]


def cpp_literal(s, width=96):
    parts = [s[i:i + width] for i in range(0, len(s), width)] or [""]
    return "\n".join('\t"%s"' % p for p in parts)


def main():
    print("// Generated by test/unit/vectors/make_entry_vectors.py; do not edit by hand.")
    for name, e in ENTRIES:
        print("const char *const k%sBytesHex =\n%s;" % (name, cpp_literal(canonical_bytes(e).hex())))
        print('const char *const k%sLeafHash = "%s";' % (name, leaf_hash(e)))
    ctx = canonical(ENTRIES[3][1]["context"])
    assert ctx.isascii()
    print('const char *const kContextCanonical = R"json(%s)json";' % ctx)
    captured = canonical(ENTRIES[4][1]["new_values"])
    print('const char *const kCapturedValuesNew = R"json(%s)json";' % captured)
    print("// %s: %d bytes of UTF-8" % ("new_values of CapturedValues", len(captured.encode("utf-8"))))


if __name__ == "__main__":
    main()
