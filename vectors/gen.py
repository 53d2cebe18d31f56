#!/usr/bin/env python3
"""gen.py: sealtrail's own known-answer vectors, from a second implementation.

This generator shares no code with the C implementation under test. It uses
the Python 3 standard library only (hashlib, json, base64); Ed25519 is written
here from RFC 8032 section 5.1, the strict JSON parser and canonical writer
from docs/FORMAT.md section 1, the entry-row packer and reader from
docs/FORMAT.md section 5 (its fragment table typed from the doc), the Merkle
tree and proofs from the recursive definitions of RFC 6962 section 2.1 (MTH,
PATH, PROOF/SUBPROOF), and proof verification from RFC 9162 sections 2.1.3.2
and 2.1.4.2.

Everything is deterministic: fixed seeds, salts and timestamps.

  python3 vectors/gen.py --out vectors      write the vector files
  python3 vectors/gen.py --check vectors    regenerate in memory; exit 1 if a
                                            committed file differs
  python3 vectors/gen.py --self-test        only run the self-tests

Both modes first run the self-tests: RFC 8032 section 7.1 Ed25519 vectors, and,
when the shared upstream vectors are present ($ST_SHARED_DIR, else
<repo>/../shared), the signed-note `sign` cases and the Tessera checkpoints
(byte-for-byte signing), the RFC 6962 reference tree and its proofs.
"""

import argparse
import base64
import hashlib
import json
import os
import sys

# --------------------------------------------------------------------------
# Ed25519, RFC 8032 section 5.1 (pure Python, deterministic signing)
# --------------------------------------------------------------------------

ED_P = 2 ** 255 - 19
ED_L = 2 ** 252 + 27742317777372353535851937790883648493


def _inv(x):
    return pow(x, ED_P - 2, ED_P)


ED_D = (-121665 * _inv(121666)) % ED_P
ED_SQRT_M1 = pow(2, (ED_P - 1) // 4, ED_P)


def _recover_x(y, sign):
    if y >= ED_P:
        return None
    x2 = (y * y - 1) * _inv(ED_D * y * y + 1) % ED_P
    if x2 == 0:
        return None if sign else 0
    x = pow(x2, (ED_P + 3) // 8, ED_P)
    if (x * x - x2) % ED_P != 0:
        x = x * ED_SQRT_M1 % ED_P
    if (x * x - x2) % ED_P != 0:
        return None
    if (x & 1) != sign:
        x = ED_P - x
    return x


_GY = 4 * _inv(5) % ED_P
_GX = _recover_x(_GY, 0)
ED_G = (_GX, _GY, 1, _GX * _GY % ED_P)   # extended coordinates (X, Y, Z, T)
ED_ZERO = (0, 1, 1, 0)


def _pt_add(p, q):
    a = (p[1] - p[0]) * (q[1] - q[0]) % ED_P
    b = (p[1] + p[0]) * (q[1] + q[0]) % ED_P
    c = 2 * p[3] * q[3] * ED_D % ED_P
    d = 2 * p[2] * q[2] % ED_P
    e, f, g, h = b - a, d - c, d + c, b + a
    return (e * f % ED_P, g * h % ED_P, f * g % ED_P, e * h % ED_P)


def _pt_mul(s, p):
    q = ED_ZERO
    while s > 0:
        if s & 1:
            q = _pt_add(q, p)
        p = _pt_add(p, p)
        s >>= 1
    return q


def _pt_equal(p, q):
    if (p[0] * q[2] - q[0] * p[2]) % ED_P != 0:
        return False
    return (p[1] * q[2] - q[1] * p[2]) % ED_P == 0


def _pt_compress(p):
    zi = _inv(p[2])
    x = p[0] * zi % ED_P
    y = p[1] * zi % ED_P
    return int.to_bytes(y | ((x & 1) << 255), 32, "little")


def _pt_decompress(s):
    if len(s) != 32:
        return None
    y = int.from_bytes(s, "little")
    sign = y >> 255
    y &= (1 << 255) - 1
    x = _recover_x(y, sign)
    if x is None:
        return None
    return (x, y, 1, x * y % ED_P)


def _sha512_int(*parts):
    h = hashlib.sha512()
    for p in parts:
        h.update(p)
    return int.from_bytes(h.digest(), "little")


def _expand_seed(seed):
    if len(seed) != 32:
        raise ValueError("Ed25519 seed must be 32 bytes")
    h = hashlib.sha512(seed).digest()
    a = int.from_bytes(h[:32], "little")
    a &= (1 << 254) - 8
    a |= 1 << 254
    return a, h[32:]


def ed25519_public(seed):
    a, _ = _expand_seed(seed)
    return _pt_compress(_pt_mul(a, ED_G))


def ed25519_sign(seed, msg):
    a, prefix = _expand_seed(seed)
    pub = _pt_compress(_pt_mul(a, ED_G))
    r = _sha512_int(prefix, msg) % ED_L
    rs = _pt_compress(_pt_mul(r, ED_G))
    h = _sha512_int(rs, pub, msg) % ED_L
    s = (r + h * a) % ED_L
    return rs + int.to_bytes(s, 32, "little")


def ed25519_verify(pub, msg, sig):
    if len(pub) != 32 or len(sig) != 64:
        return False
    a = _pt_decompress(pub)
    if a is None:
        return False
    r = _pt_decompress(sig[:32])
    if r is None:
        return False
    s = int.from_bytes(sig[32:], "little")
    if s >= ED_L:
        return False
    h = _sha512_int(sig[:32], pub, msg) % ED_L
    return _pt_equal(_pt_mul(s, ED_G), _pt_add(r, _pt_mul(h, a)))


# RFC 8032 section 7.1: TEST 1, TEST 2, TEST 3, TEST SHA(abc).
RFC8032_VECTORS = [
    ("TEST 1",
     "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
     "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
     "",
     "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
     "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"),
    ("TEST 2",
     "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
     "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
     "72",
     "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
     "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00"),
    ("TEST 3",
     "c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
     "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025",
     "af82",
     "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
     "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a"),
    ("TEST SHA(abc)",
     "833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
     "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf",
     "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
     "2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f",
     "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
     "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704"),
]

# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------


def sha256(*parts):
    h = hashlib.sha256()
    for p in parts:
        h.update(p)
    return h.digest()


def hx(b):
    return b.hex()


def b64(b):
    return base64.b64encode(b).decode("ascii")


def b64_strict_decode(s):
    """RFC 4648 section 4, padded, canonical (re-encoding must give s back)."""
    try:
        raw = base64.b64decode(s, validate=True)
    except Exception:
        return None
    if b64(raw) != s:
        return None
    return raw


class Fail(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Fail(what)


# --------------------------------------------------------------------------
# JSON: strict parser and canonical writer (docs/FORMAT.md section 1)
# --------------------------------------------------------------------------

MAX_SAFE = 2 ** 53 - 1
ENTRY_MAX_DEPTH = 16
ENTRY_MAX_BYTES = 1 << 20


class JSONError(Exception):
    pass


class _Parser:
    """RFC 8259 parser over a str, with sealtrail's restrictions: integers only
    within +-(2^53-1), no -0, no duplicate keys, no lone surrogates, a depth
    limit (the outermost container is depth 1). allow_ws selects RFC 8259
    whitespace; without it no whitespace is allowed anywhere."""

    WS = " \t\n\r"

    def __init__(self, s, allow_ws, max_depth):
        self.s = s
        self.i = 0
        self.allow_ws = allow_ws
        self.max_depth = max_depth

    def err(self, msg):
        raise JSONError("%s at char %d" % (msg, self.i))

    def ws(self):
        if self.allow_ws:
            while self.i < len(self.s) and self.s[self.i] in self.WS:
                self.i += 1

    def peek(self):
        return self.s[self.i] if self.i < len(self.s) else ""

    def parse(self):
        self.ws()
        v = self.value(0)
        self.ws()
        if self.i != len(self.s):
            self.err("trailing bytes")
        return v

    def value(self, depth):
        c = self.peek()
        if c == "{":
            return self.obj(depth + 1)
        if c == "[":
            return self.arr(depth + 1)
        if c == '"':
            return self.string()
        if c != "" and c in "-0123456789":
            return self.number()
        for lit, v in (("true", True), ("false", False), ("null", None)):
            if self.s.startswith(lit, self.i):
                self.i += len(lit)
                return v
        self.err("unexpected character %r" % c)

    def obj(self, depth):
        if depth > self.max_depth:
            self.err("too deep")
        self.i += 1
        out = {}
        self.ws()
        if self.peek() == "}":
            self.i += 1
            return out
        while True:
            self.ws()
            if self.peek() != '"':
                self.err("expected key")
            k = self.string()
            if k in out:
                self.err("duplicate key %r" % k)
            self.ws()
            if self.peek() != ":":
                self.err("expected ':'")
            self.i += 1
            self.ws()
            out[k] = self.value(depth)
            self.ws()
            c = self.peek()
            self.i += 1
            if c == "}":
                return out
            if c != ",":
                self.err("expected ',' or '}'")

    def arr(self, depth):
        if depth > self.max_depth:
            self.err("too deep")
        self.i += 1
        out = []
        self.ws()
        if self.peek() == "]":
            self.i += 1
            return out
        while True:
            self.ws()
            out.append(self.value(depth))
            self.ws()
            c = self.peek()
            self.i += 1
            if c == "]":
                return out
            if c != ",":
                self.err("expected ',' or ']'")

    def number(self):
        j = self.i
        if self.peek() == "-":
            self.i += 1
        if self.peek() == "0":
            self.i += 1
        elif self.peek() in "123456789" and self.peek():
            while self.peek() and self.peek() in "0123456789":
                self.i += 1
        else:
            self.err("bad number")
        if self.peek() and self.peek() in ".eE":
            self.err("not an integer (fraction or exponent)")
        lit = self.s[j:self.i]
        if lit == "-0":
            self.err("-0")
        v = int(lit)
        if v > MAX_SAFE or v < -MAX_SAFE:
            self.err("integer out of range")
        return v

    def hex4(self):
        h = self.s[self.i:self.i + 4]
        if len(h) != 4 or any(c not in "0123456789abcdefABCDEF" for c in h):
            self.err("bad \\u escape")
        self.i += 4
        return int(h, 16)

    def string(self):
        self.i += 1
        out = []
        while True:
            if self.i >= len(self.s):
                self.err("unterminated string")
            c = self.s[self.i]
            self.i += 1
            if c == '"':
                return "".join(out)
            if ord(c) < 0x20:
                self.err("raw control character in string")
            if c != "\\":
                out.append(c)
                continue
            e = self.peek()
            self.i += 1
            simple = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f",
                      "n": "\n", "r": "\r", "t": "\t"}
            if e in simple and e:
                out.append(simple[e])
            elif e == "u":
                u = self.hex4()
                if 0xD800 <= u <= 0xDBFF:
                    if self.s[self.i:self.i + 2] != "\\u":
                        self.err("lone high surrogate")
                    self.i += 2
                    lo = self.hex4()
                    if not 0xDC00 <= lo <= 0xDFFF:
                        self.err("high surrogate without low")
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
                elif 0xDC00 <= u <= 0xDFFF:
                    self.err("lone low surrogate")
                out.append(chr(u))
            else:
                self.err("bad escape")


def json_parse(data, allow_ws=False, max_depth=ENTRY_MAX_DEPTH):
    """bytes -> Python value. Strict UTF-8 (Python's codec follows RFC 3629:
    no overlongs, no surrogates, nothing above U+10FFFF); a BOM is not
    stripped and so is an error."""
    try:
        s = data.decode("utf-8", errors="strict")
    except UnicodeDecodeError as e:
        raise JSONError("invalid UTF-8: %s" % e)
    return _Parser(s, allow_ws, max_depth).parse()


def canon_string(s):
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
        elif 0xD800 <= c <= 0xDFFF:
            raise JSONError("surrogate code point in string")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def canon_text(v):
    if v is None:
        return "null"
    if v is True:
        return "true"
    if v is False:
        return "false"
    if isinstance(v, int):
        if v > MAX_SAFE or v < -MAX_SAFE:
            raise JSONError("integer out of range")
        return str(v)
    if isinstance(v, str):
        return canon_string(v)
    if isinstance(v, list):
        return "[" + ",".join(canon_text(x) for x in v) + "]"
    if isinstance(v, dict):
        # [ENTRY-3]: keys ordered by their UTF-8 bytes as unsigned octets.
        items = sorted(v.items(), key=lambda kv: kv[0].encode("utf-8"))
        return "{" + ",".join(canon_string(k) + ":" + canon_text(x) for k, x in items) + "}"
    raise JSONError("unsupported type %s" % type(v).__name__)


def canon_bytes(v):
    return canon_text(v).encode("utf-8")


def canonical_check(data, max_depth=ENTRY_MAX_DEPTH):
    """The [ENTRY-*] check: parse strictly, re-serialize, compare bytes.
    Returns (ok, reason)."""
    try:
        v = json_parse(data, allow_ws=False, max_depth=max_depth)
    except JSONError as e:
        return False, str(e)
    c = canon_bytes(v)
    if c != data:
        return False, "not canonical"
    return True, ""


def normalize(data):
    """Canonical form of the same value, parsing with RFC 8259 whitespace
    allowed and no practical depth limit; None if the input has no value
    sealtrail could represent (invalid JSON or UTF-8, duplicates, non-integers)."""
    try:
        v = json_parse(data, allow_ws=True, max_depth=512)
        return canon_bytes(v)
    except JSONError:
        return None


def compact(v):
    """Compact JSON in insertion order (payload bytes keep member order)."""
    return json.dumps(v, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


# --------------------------------------------------------------------------
# Merkle tree: RFC 6962 section 2.1, written recursively
# --------------------------------------------------------------------------


def leaf_hash(d):
    return sha256(b"\x00", d)


def node_hash(l, r):
    return sha256(b"\x01", l, r)


def split_point(n):
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Tree:
    def __init__(self, leaves):
        self.leaves = list(leaves)
        self.lh = [leaf_hash(d) for d in self.leaves]
        self.memo = {}

    def mth(self, lo, hi):
        """MTH(D[lo:hi])."""
        key = (lo, hi)
        if key in self.memo:
            return self.memo[key]
        n = hi - lo
        if n == 0:
            r = sha256(b"")
        elif n == 1:
            r = self.lh[lo]
        else:
            k = split_point(n)
            r = node_hash(self.mth(lo, lo + k), self.mth(lo + k, hi))
        self.memo[key] = r
        return r

    def path(self, m, lo, hi):
        """PATH(m, D[lo:hi]), m relative to lo; leaf-to-root."""
        n = hi - lo
        if n <= 1:
            return []
        k = split_point(n)
        if m < k:
            return self.path(m, lo, lo + k) + [self.mth(lo + k, hi)]
        return self.path(m - k, lo + k, hi) + [self.mth(lo, lo + k)]

    def subproof(self, m, lo, hi, b):
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = split_point(n)
        if m <= k:
            return self.subproof(m, lo, lo + k, b) + [self.mth(lo + k, hi)]
        return self.subproof(m - k, lo + k, hi, False) + [self.mth(lo, lo + k)]

    def inclusion(self, index, size):
        return self.path(index, 0, size)

    def consistency(self, m, n):
        if m == 0:
            return []
        return self.subproof(m, 0, n, True)

    def frontier(self, size):
        """Perfect subtrees covering [0,size), largest first."""
        out, lo = [], 0
        for level in range(63, -1, -1):
            if size & (1 << level):
                out.append(self.mth(lo, lo + (1 << level)))
                lo += 1 << level
        return out


def verify_inclusion(index, size, lh, proof, root):
    """RFC 9162 section 2.1.3.2."""
    if index >= size:
        return False
    fn, sn, r = index, size - 1, lh
    for p in proof:
        if len(p) != 32:
            return False
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == root


def verify_consistency(m, n, old, new, proof):
    """RFC 9162 section 2.1.4.2, with merkle.h's conventions for m == n
    (empty proof, equal roots) and m == 0 (empty proof, old root SHA-256(""))."""
    if any(len(p) != 32 for p in proof):
        return False
    if m > n:
        return False
    if m == 0:
        return not proof and old == sha256(b"")
    if m == n:
        return not proof and old == new
    if not proof:
        return False
    proof = list(proof)
    if m & (m - 1) == 0:
        proof = [old] + proof
    fn, sn = m - 1, n - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not (fn & 1) and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old and sr == new


# --------------------------------------------------------------------------
# signed notes, keys, checkpoints (docs/FORMAT.md section 4)
# --------------------------------------------------------------------------

EM_DASH = "\u2014"


def key_id(name, pub):
    return sha256(name.encode("utf-8"), b"\x0a\x01", pub)[:4]   # [CP-4]


class Key:
    def __init__(self, label, name, seed):
        self.label, self.name, self.seed = label, name, seed
        self.pub = ed25519_public(seed)
        self.kid = key_id(name, self.pub)

    def vkey(self):
        return "%s+%s+%s" % (self.name, hx(self.kid), b64(b"\x01" + self.pub))   # [CP-5]

    def skey(self):
        return "PRIVATE+KEY+%s+%s+%s" % (self.name, hx(self.kid), b64(b"\x01" + self.seed))

    def sig_line(self, text):
        sig = ed25519_sign(self.seed, text)
        return (EM_DASH + " " + self.name + " " + b64(self.kid + sig) + "\n").encode("utf-8")


def key_from_skey(s):
    parts = s.split("+", 4)
    check(len(parts) == 5 and parts[0] == "PRIVATE" and parts[1] == "KEY", "skey form")
    check(key_name_ok(parts[2]), "skey name")
    check(len(parts[3]) == 8 and all(c in "0123456789abcdef" for c in parts[3]), "skey key id")
    raw = b64_strict_decode(parts[4])
    check(raw is not None and len(raw) == 33 and raw[0] == 1, "skey payload")
    k = Key(parts[2], parts[2], raw[1:])
    check(hx(k.kid) == parts[3], "skey key id")
    return k


def key_name_ok(name):
    return bool(name) and len(name.encode()) <= 255 and "+" not in name and \
        not any(c.isspace() or ord(c) < 0x20 for c in name)


def vkey_parse(s):
    """<name>+<hex8 key id>+<b64(0x01 || pub)> -> (name, kid, pub) or Fail."""
    parts = s.split("+", 2)
    check(len(parts) == 3 and key_name_ok(parts[0]), "vkey name")
    name, kid, enc = parts
    check(len(kid) == 8 and all(c in "0123456789abcdef" for c in kid), "vkey key id")
    raw = b64_strict_decode(enc)
    check(raw is not None and len(raw) == 33 and raw[0] == 1, "vkey key")
    check(key_id(name, raw[1:]) == bytes.fromhex(kid), "vkey key id mismatch")
    return name, bytes.fromhex(kid), raw[1:]


def sign_note(text, keys):
    return text + b"\n" + b"".join(k.sig_line(text) for k in keys)


def checkpoint_text(origin, size, root, time_s):
    t = "%s\n%d\n%s\n" % (origin, size, b64(root))
    if time_s is not None:
        t += "time %d\n" % time_s
    return t.encode("utf-8")


def note_parse(note):
    """A small independent C2SP signed-note parser: returns (text, [(name,
    kid, sig)]) or raises Fail. Splits at the last blank line."""
    try:
        s = note.decode("utf-8")
    except UnicodeDecodeError:
        raise Fail("note not UTF-8")
    for ch in s:
        if ord(ch) < 0x20 and ch != "\n":
            raise Fail("control character")
    check(s.endswith("\n"), "no final newline")
    cut = s.rfind("\n\n")
    check(cut >= 0, "no blank line")
    text = s[:cut + 1]
    sigs = []
    lines = s[cut + 2:].split("\n")
    check(lines[-1] == "", "signature block does not end with LF")
    lines = lines[:-1]
    check(lines, "no signatures")
    check(len(lines) <= 100, "more than 100 signatures")
    for line in lines:
        check(line.startswith(EM_DASH + " "), "signature line prefix")
        rest = line[2:]
        name, sp, enc = rest.rpartition(" ")
        check(sp == " " and name and " " not in name and "+" not in name, "signature name")
        raw = b64_strict_decode(enc)
        check(raw is not None and len(raw) >= 5, "signature b64")
        sigs.append((name, raw[:4], raw[4:]))
    return text.encode("utf-8"), sigs


def note_verify(note, keys):
    """Returns (verdict, [labels of keys that verified]); verdict is ok,
    badsig (a known key's signature fails) or untrusted (no known key)."""
    text, sigs = note_parse(note)
    verified = []
    for name, kid, sig in sigs:
        for k in keys:
            if k.name == name and k.kid == kid:
                if not ed25519_verify(k.pub, text, sig):
                    return "badsig", []
                if k.label not in verified:
                    verified.append(k.label)
    if not verified:
        return "untrusted", []
    return "ok", verified


def checkpoint_parse(text):
    """tlog-checkpoint body with sealtrail's rules; returns dict or raises Fail."""
    s = text.decode("utf-8")
    check(s.endswith("\n"), "text ends with LF")
    lines = s[:-1].split("\n")
    check(len(lines) >= 3, "at least 3 lines")
    origin, size, root = lines[0], lines[1], lines[2]
    check(origin and not any(c.isspace() for c in origin) and "+" not in origin, "origin")
    check(size.isdigit() and size.isascii() and (size == "0" or size[0] != "0"), "size")
    check(int(size) < 2 ** 64, "size beyond 64 bits")
    r = b64_strict_decode(root)
    check(r is not None and len(r) == 32, "root")
    time_s = None
    for ext in lines[3:]:
        check(ext != "", "empty extension line")
        if ext.startswith("time "):
            check(time_s is None, "time extension twice")
            t = ext[5:]
            check(t.isdigit() and t.isascii() and (t == "0" or t[0] != "0"), "time value")
            time_s = int(t)
            check(time_s < 2 ** 63, "time beyond int64")
    check(time_s is not None, "time extension missing")   # [CP-2] sealtrail requires it
    return {"origin": origin, "size": int(size), "root": r, "time_s": time_s,
            "n_ext": len(lines) - 3}


# --------------------------------------------------------------------------
# vector files
# --------------------------------------------------------------------------


def case_bytes(desc, data, want_err, extra=None):
    """A canonical.json case from input bytes, labelled by the oracle."""
    ok, why = canonical_check(data)
    check(ok != want_err, "canonical case %s: oracle says ok=%s (%s)" % (desc, ok, why))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    c = {"desc": desc, "input": text, "input_hex": hx(data),
         "canonical": None if want_err else data.decode("utf-8"),
         "want_err": want_err}
    if want_err:
        c["why"] = why
        n = normalize(data)
        c["normalized"] = None if n is None else n.decode("utf-8")
        c["normalized_hex"] = None if n is None else hx(n)
    if extra:
        c.update(extra)
    return c


def nest(depth):
    """depth nested objects: {"a":{"a":...{}...}} with `depth` containers."""
    s = "{}"
    for _ in range(depth - 1):
        s = '{"a":' + s + "}"
    return s


def gen_canonical():
    pos = []

    def P(desc, value):
        pos.append(case_bytes(desc, canon_bytes(value), False))

    P("empty-object", {})
    P("scalars", {"a": None, "b": True, "c": False, "d": 0, "e": -1, "f": "x"})
    P("int-max-min-safe", {"max": MAX_SAFE, "min": -MAX_SAFE})
    P("ints-varied", {"a": [0, 1, -1, 10, -10, 1234567890123, -9007199254740990, 9007199254740990]})
    P("nested", {"a": {"b": {"c": [1, [2, [3, {}]], []]}}, "z": []})
    P("empty-containers", {"a": [], "b": {}, "c": [[]], "d": [{}], "e": ""})
    P("same-key-sibling-objects", {"x": [{"k": 1}, {"k": 2}], "y": {"k": {"k": 3}}})
    P("unicode-bmp", {"s": "h\u00e9llo w\u00f6rld \u2013 \u00fc \u4e2d\u6587"})
    P("unicode-astral", {"emoji": "\U0001F600", "gothic": "\U00010348", "max": "\U0010FFFF"})
    P("escapes-short", {"s": "\b\t\n\f\r"})
    P("escapes-u00xx", {"s": "\x00\x01\x0b\x0e\x1f", "nul": "\x00"})
    P("nul-in-key", {"a\x00b": 1})
    P("raw-del-u2028-u2029-nel-bom-char", {"s": "\x7f\u2028\u2029\x85\ufeff"})
    P("quote-backslash-raw-slash", {"s": "a\"b\\c/d"})
    P("all-printable-ascii", {"s": "".join(chr(c) for c in range(0x20, 0x7f))})
    P("keys-bytewise-not-utf16", {"\uff61": 1, "\U0001F600": 2})
    P("keys-prefix-and-nul", {"a": 1, "a\x00": 2, "a\x01": 3, "aa": 4, "ab": 5, "b": 6})
    P("keys-ascii-case-and-nonascii", {"A": 1, "Z": 2, "_": 3, "a": 4, "z": 5, "\x7f": 6, "\u00e9": 7, "\uffff": 8})
    P("keys-escaped", {"\n": 1, "\"": 2, "\\": 3})
    P("key-empty", {"": 0, "a": 1})
    P("envelope-example", {
        "cwd": "/home/dev/app", "duration_ms": 412, "event": "PostToolUse", "host": "build-7",
        "index": 41, "kind": "event",
        "payloads": {"tool_input": {"commit": "9f" * 32, "len": 57},
                     "tool_response": {"commit": "01" * 32, "len": 2310}},
        "redactions": {"github-token": 1}, "session": "4b0c", "status": "succeeded",
        "time_us": 1763787173123456, "tool": "Bash", "tool_use_id": "toolu_01", "user": "dev", "v": 1})
    pos.append(case_bytes("depth-16", nest(16).encode(), False))
    pos.append(case_bytes("depth-16-arrays", ('{"a":' + "[" * 15 + "]" * 15 + "}").encode(), False))
    P("long-string", {"s": "\u00e9x" * 600})

    neg = []

    def N(desc, data):
        if isinstance(data, str):
            data = data.encode("utf-8")
        neg.append(case_bytes(desc, data, True))

    N("whitespace-after-colon", '{"a": 1}')
    N("whitespace-after-comma", '{"a":1, "b":2}')
    N("whitespace-leading", ' {"a":1}')
    N("whitespace-trailing-space", '{"a":1} ')
    N("whitespace-tab-in-array", '{"a":[1,\t2]}')
    N("whitespace-newline-inside", '{\n"a":1}')
    N("whitespace-cr", '{"a":1\r}')
    N("trailing-newline", '{"a":1}\n')
    N("trailing-crlf", '{"a":1}\r\n')
    N("unsorted-keys", '{"b":1,"a":2}')
    N("unsorted-keys-nested", '{"a":{"d":1,"c":2}}')
    N("unsorted-keys-in-array", '{"a":[{"y":1,"x":2}]}')
    N("unsorted-keys-utf16-order", '{"\U0001F600":2,"\uff61":1}')
    N("unsorted-keys-prefix-last", '{"ab":1,"a":2}')
    N("unsorted-keys-lowercase-first", '{"a":1,"B":2}')
    N("duplicate-key", '{"a":1,"a":1}')
    N("duplicate-key-different-values", '{"a":1,"a":2}')
    N("duplicate-key-nested", '{"x":{"a":1,"a":1}}')
    N("duplicate-key-in-array", '{"x":[{"k":1,"k":1}]}')
    N("duplicate-key-via-escape", '{"a":1,"\\u0061":1}')
    N("escaped-slash", '{"a":"\\/"}')
    N("unicode-escape-of-printable", '{"a":"\\u0041"}')
    N("unicode-escape-of-printable-in-key", '{"\\u0041":1}')
    N("unicode-escape-of-non-ascii", '{"a":"\\u00e9"}')
    N("unicode-escape-of-astral-pair", '{"a":"\\ud83d\\ude00"}')
    N("unicode-escape-of-del", '{"a":"\\u007f"}')
    N("unicode-escape-of-u2028", '{"a":"\\u2028"}')
    N("unicode-escape-of-newline", '{"a":"\\u000a"}')
    N("unicode-escape-of-quote", '{"a":"\\u0022"}')
    N("unicode-escape-of-backslash", '{"a":"\\u005c"}')
    N("uppercase-hex-escape", '{"a":"\\u001F"}')
    N("uppercase-hex-escape-nul", '{"a":"\\u000B"}')
    N("raw-control-char", b'{"a":"\x01"}')
    N("raw-tab-in-string", b'{"a":"\t"}')
    N("raw-newline-in-string", b'{"a":"\n"}')
    N("minus-zero", '{"a":-0}')
    N("fraction", '{"a":1.0}')
    N("fraction-half", '{"a":0.5}')
    N("exponent", '{"a":1e3}')
    N("exponent-upper", '{"a":1E3}')
    N("exponent-zero", '{"a":0e0}')
    N("leading-zero", '{"a":01}')
    N("leading-zero-negative", '{"a":-01}')
    N("plus-sign", '{"a":+1}')
    N("integer-too-large", '{"a":9007199254740992}')
    N("integer-too-small", '{"a":-9007199254740992}')
    N("integer-huge", '{"a":123456789012345678901234567890}')
    N("trailing-garbage", '{"a":1}x')
    N("trailing-second-value", '{"a":1}{}')
    N("trailing-nul", b'{"a":1}\x00')
    N("trailing-comma-object", '{"a":1,}')
    N("trailing-comma-array", '{"a":[1,]}')
    N("invalid-utf8-lone-continuation", b'{"a":"\x80"}')
    N("invalid-utf8-overlong-2byte", b'{"a":"\xc0\xaf"}')
    N("invalid-utf8-overlong-3byte", b'{"a":"\xe0\x80\xaf"}')
    N("invalid-utf8-overlong-4byte", b'{"a":"\xf0\x80\x80\xaf"}')
    N("invalid-utf8-surrogate-encoded", b'{"a":"\xed\xa0\x80"}')
    N("invalid-utf8-cesu8-pair", b'{"a":"\xed\xa0\xbd\xed\xb8\x80"}')
    N("invalid-utf8-above-u10ffff", b'{"a":"\xf4\x90\x80\x80"}')
    N("invalid-utf8-truncated", b'{"a":"\xe2\x82"}')
    N("invalid-utf8-f5", b'{"a":"\xf5\x80\x80\x80"}')
    N("invalid-utf8-ff", b'{"a":"\xff"}')
    N("invalid-utf8-in-key", b'{"\xff":1}')
    N("lone-surrogate-escape", '{"a":"\\ud800"}')
    N("lone-low-surrogate-escape", '{"a":"\\udc00"}')
    N("reversed-surrogate-pair-escape", '{"a":"\\ude00\\ud83d"}')
    N("bom", b'\xef\xbb\xbf{"a":1}')
    N("nan", '{"a":NaN}')
    N("infinity", '{"a":Infinity}')
    N("single-quotes", "{'a':1}")
    N("unquoted-key", "{a:1}")
    N("unterminated-string", '{"a":"x}')
    N("unterminated-object", '{"a":1')
    N("empty-input", "")
    N("bad-literal-case", '{"a":True}')
    N("invalid-escape", '{"a":"\\x41"}')
    N("short-unicode-escape", '{"a":"\\u12"}')
    N("comment", '{"a":1/*c*/}')
    N("depth-17", nest(17))
    N("depth-17-arrays", '{"a":' + "[" * 16 + "]" * 16 + "}")

    return {
        "about": "Canonical JSON for entries (docs/FORMAT.md [ENTRY-1]..[ENTRY-6]). For each case run the "
                 "canonical check (parse strictly with the nesting limit max_depth, re-serialize canonically, "
                 "compare bytes) on the bytes of input_hex. want_err=false: accepted and the canonical "
                 "serialization is exactly the input. want_err=true: rejected. `normalized` (negatives only) is "
                 "the canonical form of the same value when the input parses as RFC 8259 JSON with whitespace "
                 "allowed, no depth limit, integers only, no duplicate keys and strict UTF-8, else null. `input` "
                 "is null when the bytes are not UTF-8. Depth counts containers; the outermost object is depth 1.",
        "generator": "vectors/gen.py",
        "max_depth": ENTRY_MAX_DEPTH,
        "cases": pos + neg,
    }


# ---- entries ---------------------------------------------------------------

T0_US = 1763787173000000      # 2025-11-22T04:52:53Z


def salt_for(tag):
    return sha256(("sealtrail vectors salt " + tag).encode("utf-8"))[:16]


def payload_commit(salt, data):
    check(len(salt) == 16, "salt length")
    return sha256(b"sealtrail/payload/v1", b"\x00", salt, data)   # [PAYLOAD-1]


def utf8_head(data, cap):
    """First cap bytes, cut back to a UTF-8 boundary ([PAYLOAD-3])."""
    if len(data) <= cap:
        return data
    end = cap
    while end > 0 and (data[end] & 0xC0) == 0x80:
        end -= 1
    return data[:end]


def make_entry(desc, env, payloads, cap=None):
    """env: envelope without `payloads`; payloads: list of (name, bytes).
    Returns an entries.json case."""
    env = dict(env)
    plist = []
    if payloads:
        table = {}
        for name, data in payloads:
            salt = salt_for("%s/%s" % (desc, name))
            stored = data if cap is None else utf8_head(data, cap)
            commit = payload_commit(salt, stored)
            obj = {"commit": hx(commit), "len": len(stored)}
            p = {"name": name, "salt_hex": hx(salt), "payload_hex": hx(stored),
                 "len": len(stored), "commit_hex": hx(commit), "truncated": None}
            if len(stored) != len(data):
                tr = {"len": len(data), "sha256": hx(sha256(data))}
                obj["truncated"] = tr
                p["truncated"] = {"len": len(data), "sha256_hex": hx(sha256(data)),
                                  "full_hex": hx(data), "cap": cap}
            table[name] = obj
            plist.append(p)
        env["payloads"] = table
    data = canon_bytes(env)
    ok, why = canonical_check(data)
    check(ok, "entry %s not canonical: %s" % (desc, why))
    plist.sort(key=lambda p: p["name"].encode())
    return {"desc": desc, "envelope": env, "canonical": data.decode("utf-8"),
            "canonical_hex": hx(data), "leaf_hash_hex": hx(leaf_hash(data)),
            "index": env["index"], "time_us": env["time_us"], "kind": env["kind"],
            "payloads": plist}


def gen_entries():
    E = []
    bash_in = compact({"command": "git status --short", "description": "Show working tree status"})
    bash_out = compact({"stdout": " M store/append.c\n?? notes.txt\n", "stderr": "", "interrupted": False,
                        "isImage": False})
    E.append(make_entry("post-tool-use-bash", {
        "v": 1, "index": 41, "time_us": T0_US + 123456, "kind": "event", "event": "PostToolUse",
        "session": "4b0c2f1e-7d3a-4c55-9a61-0f2e8b9c1d22", "tool": "Bash",
        "tool_use_id": "toolu_01ABCDEFGHJKLMNPQRSTUV", "cwd": "/home/dev/app", "status": "succeeded",
        "duration_ms": 412, "host": "build-7", "user": "dev", "permission_mode": "default",
        "redactions": {"github-token": 1}},
        [("tool_input", bash_in), ("tool_response", bash_out)]))
    E.append(make_entry("pre-tool-use-edit", {
        "v": 1, "index": 0, "time_us": T0_US, "kind": "event", "event": "PreToolUse",
        "session": "s-1", "tool": "Edit", "tool_use_id": "toolu_02", "status": "started",
        "cwd": "/srv/r\u00e9po \u4e2d", "host": "h", "user": "u"},
        [("tool_input", compact({"file_path": "/srv/r\u00e9po/a.c", "old_string": "int x;\n",
                                 "new_string": "int x = 0;\n"}))]))
    E.append(make_entry("user-prompt-submit", {
        "v": 1, "index": 2, "time_us": T0_US + 2000000, "kind": "event", "event": "UserPromptSubmit",
        "session": "s-1", "prompt_id": "p-7"},
        [("prompt", compact({"prompt": "Fix the \"flaky\" test \U0001F41B\nplease"}))]))
    E.append(make_entry("session-start-minimal", {
        "v": 1, "index": 1, "time_us": T0_US + 1, "kind": "event", "event": "SessionStart",
        "session": "s-1"}, []))
    E.append(make_entry("post-tool-use-failure-mcp", {
        "v": 1, "index": 3, "time_us": T0_US + 3000000, "kind": "event", "event": "PostToolUseFailure",
        "session": "s-1", "tool": "mcp__github__create_issue", "mcp_server": "github",
        "tool_use_id": "toolu_03", "status": "failed", "duration_ms": 0,
        "error": "HTTP 422:\tvalidation failed \u2028(title)",
        "agent_id": "agent-9", "agent_type": "general-purpose"},
        [("tool_input", compact({"owner": "o", "repo": "r", "title": ""})),
         ("error", b"HTTP 422:\tvalidation failed \xe2\x80\xa8(title)\nfull body: {\"message\":\"x\"}"),
         ("event", compact({"hook_event_name": "PostToolUseFailure", "is_interrupt": False}))]))
    E.append(make_entry("malformed-raw-payload", {
        "v": 1, "index": 4, "time_us": T0_US + 4000000, "kind": "event", "event": "unknown",
        "status": "malformed", "host": "build-7", "user": "dev"},
        [("raw", b'{"hook_event_name":"Stop", \xff\xfe\x00 truncated')]))
    E.append(make_entry("permission-request", {
        "v": 1, "index": 5, "time_us": T0_US + 5000000, "kind": "event", "event": "PermissionRequest",
        "session": "s-2", "tool": "Write", "status": "requested", "permission_mode": "acceptEdits",
        "agent_id": "a1", "agent_type": "Explore"},
        [("tool_input", compact({"file_path": "/tmp/x", "content": "\x00binary\x1f"}))]))
    E.append(make_entry("import", {
        "v": 1, "index": 6, "time_us": 1700000000000000, "kind": "import", "event": "Stop",
        "session": "s-old", "recorded_us": T0_US + 6000000},
        [("event", compact({"hook_event_name": "Stop", "stop_hook_active": False}))]))
    E.append(make_entry("record-retention-policy", {
        "v": 1, "index": 7, "time_us": T0_US + 7000000, "kind": "retention-policy",
        "data": {"keep": {"payloads_days": 90, "entries": "forever"}, "rules": [
            {"event": "UserPromptSubmit", "payloads": ["prompt"], "after_days": 30}], "version": 1}}, []))
    E.append(make_entry("record-key-rotation", {
        "v": 1, "index": 8, "time_us": T0_US + 8000000, "kind": "key-rotation",
        "data": {"old": "example.com/sealtrail-test+00000000+AQ", "new_vkey": "x+y+z", "epoch": 2}}, []))
    E.append(make_entry("truncated-payload", {
        "v": 1, "index": 9, "time_us": T0_US + 9000000, "kind": "event", "event": "PostToolUse",
        "tool": "Read", "status": "succeeded"},
        [("tool_response", compact({"content": "\u00e9" * 40 + "\U0001F600" * 10}))], cap=48))
    E.append(make_entry("sixteen-payloads-and-long-name", {
        "v": 1, "index": 10, "time_us": T0_US + 10000000, "kind": "event", "event": "Notification"},
        [("p%02d" % i, ("payload %d" % i).encode()) for i in range(15)] +
        [("abcdefghijklmnopqrstuvwxyz_01234", b"")]))
    E.append(make_entry("unknown-members-tolerated", {
        "v": 1, "index": 11, "time_us": T0_US + 11000000, "kind": "event", "event": "Stop",
        "zz_future": {"x": [1, 2, None, True]}, "a_future": "\U0010FFFF"}, []))
    E.append(make_entry("negative-time-and-large-index", {
        "v": 1, "index": MAX_SAFE, "time_us": -1, "kind": "event"}, []))

    # negatives for st_entry_parse
    NE = []
    base = {"v": 1, "index": 0, "time_us": T0_US, "kind": "event"}
    good_p = {"commit": hx(payload_commit(salt_for("neg"), b"x")), "len": 1}

    def NEG(desc, env=None, raw=None, why=""):
        data = raw if raw is not None else canon_bytes(env)
        if raw is None:
            check(canonical_check(data)[0], "entry negative %s should be canonical" % desc)
        NE.append({"desc": desc, "input": data.decode("utf-8", errors="replace") if raw is None else
                   (data.decode("utf-8") if _is_utf8(data) else None),
                   "input_hex": hx(data), "want_err": True, "why": why})

    def without(k):
        e = dict(base)
        del e[k]
        return e

    NEG("missing-v", without("v"), why="[ENTRY-7] v required")
    NEG("v-2", dict(base, v=2), why="[ENTRY-7]/[ENTRY-9] unsupported version")
    NEG("v-string", dict(base, v="1"), why="v is an int")
    NEG("missing-index", without("index"), why="index required")
    NEG("index-negative", dict(base, index=-1), why="index is a non-negative position")
    NEG("index-string", dict(base, index="0"), why="index is an int")
    NEG("missing-time_us", without("time_us"), why="time_us required")
    NEG("time_us-string", dict(base, time_us="1"), why="time_us is an int")
    NEG("missing-kind", without("kind"), why="kind required")
    NEG("kind-not-string", dict(base, kind=1), why="kind is a string")
    NEG("payloads-not-object", dict(base, payloads=[]), why="payloads is an object")
    NEG("payload-name-uppercase", dict(base, payloads={"Tool_input": good_p}), why="[PAYLOAD-2] [a-z0-9_]")
    NEG("payload-name-dash", dict(base, payloads={"tool-input": good_p}), why="[PAYLOAD-2] [a-z0-9_]")
    NEG("payload-name-empty", dict(base, payloads={"": good_p}), why="[PAYLOAD-2] 1..32")
    NEG("payload-name-33", dict(base, payloads={"a" * 33: good_p}), why="[PAYLOAD-2] 1..32")
    NEG("payloads-17", dict(base, payloads={"p%02d" % i: good_p for i in range(17)}),
        why="[PAYLOAD-2] at most 16")
    NEG("payload-not-object", dict(base, payloads={"raw": "x"}), why="[PAYLOAD-2]")
    NEG("payload-commit-missing", dict(base, payloads={"raw": {"len": 1}}), why="[PAYLOAD-2]")
    NEG("payload-len-missing", dict(base, payloads={"raw": {"commit": good_p["commit"]}}), why="[PAYLOAD-2]")
    NEG("payload-commit-short", dict(base, payloads={"raw": {"commit": good_p["commit"][:62], "len": 1}}),
        why="[PAYLOAD-2] 64 hex chars")
    NEG("payload-commit-not-hex", dict(base, payloads={"raw": {"commit": "g" * 64, "len": 1}}),
        why="[PAYLOAD-2] hex")
    NEG("payload-commit-uppercase-hex", dict(base, payloads={"raw": {"commit": good_p["commit"].upper(), "len": 1}}),
        why="FORMAT.md conventions: hex is lowercase")
    NEG("payload-len-negative", dict(base, payloads={"raw": {"commit": good_p["commit"], "len": -1}}),
        why="[PAYLOAD-2] len is a byte length")
    NEG("payload-len-string", dict(base, payloads={"raw": {"commit": good_p["commit"], "len": "1"}}),
        why="[PAYLOAD-2] len is an int")
    NEG("payload-truncated-sha256-short", dict(base, payloads={"raw": dict(good_p, truncated={
        "len": 10, "sha256": "ab" * 31})}), why="[PAYLOAD-3] sha256 is 64 hex chars")
    NEG("payload-truncated-not-object", dict(base, payloads={"raw": dict(good_p, truncated=True)}),
        why="[PAYLOAD-3]")
    NEG("not-an-object", raw=b"[1]", why="an entry is one JSON object")
    NEG("noncanonical-whitespace", raw=b'{"index":0, "kind":"event","time_us":0,"v":1}', why="[ENTRY-2]")
    NEG("noncanonical-order", raw=b'{"v":1,"index":0,"kind":"event","time_us":0}', why="[ENTRY-3]")
    NEG("duplicate-member", raw=b'{"index":0,"index":0,"kind":"event","time_us":0,"v":1}', why="[ENTRY-3]")
    deep = canon_bytes(dict(base, data=json_parse(nest(16).encode(), max_depth=64)))
    check(not canonical_check(deep)[0] and canonical_check(deep, max_depth=17)[0], "depth-17 entry")
    NEG("depth-17", raw=deep, why="[ENTRY-6] nesting depth at most 16 (this one is 17)")

    # [ENTRY-6] size limit: built by the test, not stored (1 MiB).
    pre = b'{"index":0,"kind":"event","pad":"'
    post = b'","time_us":0,"v":1}'
    sizes = []
    for total, want_err in ((ENTRY_MAX_BYTES, False), (ENTRY_MAX_BYTES + 1, True)):
        data = pre + b"x" * (total - len(pre) - len(post)) + post
        check(len(data) == total and canonical_check(data)[0], "size case")
        sizes.append({"desc": "size-%d" % total, "prefix": pre.decode(), "fill": "x",
                      "suffix": post.decode(), "total_len": total, "want_err": want_err,
                      "leaf_hash_hex": hx(leaf_hash(data))})

    # standalone payload commitments
    C = []
    for desc, salt, data in (
            ("empty", salt_for("c0"), b""),
            ("empty-object", salt_for("c1"), b"{}"),
            ("one-byte", salt_for("c2"), b"x"),
            ("nul-bytes", salt_for("c3"), b"\x00\x00\x00"),
            ("invalid-utf8-raw", salt_for("c4"), b"\xff\xfe\xfd"),
            ("tool-input", salt_for("c5"), bash_in),
            ("zero-salt", bytes(16), b"secret"),
            ("ff-salt", b"\xff" * 16, b"secret"),
            ("1000-bytes", salt_for("c8"), bytes(range(256)) * 3 + b"a" * 232),
            ("55-bytes-block-edge", salt_for("c9"), b"z" * 55),
            ("64-bytes", salt_for("c10"), b"z" * 64)):
        C.append({"desc": desc, "salt_hex": hx(salt), "payload_hex": hx(data), "len": len(data),
                  "commit_hex": hx(payload_commit(salt, data)),
                  "preimage_hex": hx(b"sealtrail/payload/v1\x00" + salt + data)})

    return {
        "about": "Entries ([ENTRY-*], [LEAF-1]) and payload commitments ([PAYLOAD-1..3]). entries: each "
                 "envelope's canonical bytes (canonical_hex) must parse as an entry with the given index, "
                 "time_us, kind and payload table; leaf_hash = SHA-256(0x00 || bytes); each payload's commit "
                 "= SHA-256(\"sealtrail/payload/v1\" || 0x00 || salt || stored bytes), len = stored length, and "
                 "for a truncated payload (stored = first `cap` bytes cut back to a UTF-8 boundary) the "
                 "commitment object carries truncated {len, sha256} of the full content (full_hex). "
                 "entry_negatives: canonical JSON that is not a valid entry (or not canonical); must be "
                 "rejected. size_limit: the test builds prefix + fill*(total_len-len(prefix)-len(suffix)) + "
                 "suffix. commitments: standalone (salt, payload) -> commit, with the hashed preimage.",
        "generator": "vectors/gen.py",
        "payload_tag": "sealtrail/payload/v1",
        "entries": E,
        "entry_negatives": NE,
        "size_limit": sizes,
        "commitments": C,
    }


def _is_utf8(b):
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


# ---- entry rows (FORMAT.md section 5, "Packed entry rows") -------------------
#
# Written from the prose and the two tables of FORMAT.md section 5 only. A row
# is raw (first byte '{', the entry bytes themselves) or packed (0x01, then
# tokens): a byte 0x20..0xFF is itself; 0x01 + 16 bytes is 32 lowercase hex
# digits, high nibble first; 0x02..0x1F is a fragment from the table below;
# 0x00 makes the row damaged.

ROW_PACKED = 0x01
ROW_TOKEN_HEX = 0x01

# FORMAT.md section 5, the fragment table, typed from the doc (token -> bytes).
ROW_FRAGMENTS = {
    0x02: b'{"cwd":"',
    0x03: b'","duration_ms":',
    0x04: b'{"duration_ms":',
    0x05: b',"error":"',
    0x06: b',"event":"PostToolUse","host":"',
    0x07: b',"event":"PreToolUse","host":"',
    0x08: b'","event":"PostToolUseFailure","host":"',
    0x09: b',"event":"',
    0x0a: b'","host":"',
    0x0b: b'","index":',
    0x0c: b',"kind":"event","payloads":{',
    0x0d: b',"kind":"import","payloads":{',
    0x0e: b'","payloads":{',
    0x0f: b'"event":{"commit":"',
    0x10: b'"error":{"commit":"',
    0x11: b'","len":',
    0x12: b'},"tool_input":{"commit":"',
    0x13: b'},"tool_response":{"commit":"',
    0x14: b'}},"permission_mode":"default"',
    0x15: b'}},"recorded_us":',
    0x16: b',"prompt_id":"',
    0x17: b',"session":"',
    0x18: b'","status":"succeeded","time_us":',
    0x19: b'","status":"started","time_us":',
    0x1a: b'","status":"failed","time_us":',
    0x1b: b'","time_us":',
    0x1c: b',"tool":"',
    0x1d: b'","tool_use_id":"toolu_01',
    0x1e: b'","user":"',
    0x1f: b'","v":1}',
}
_LOWER_HEX = frozenset(b"0123456789abcdef")


def row_is_entry_text(text):
    """What the writer packs at all: non-empty, starts with '{', no byte below
    0x20, at most 1 MiB."""
    return (0 < len(text) <= ENTRY_MAX_BYTES and text[0] == ord("{")
            and all(c >= 0x20 for c in text))


def pack_tokens(text, fragments):
    """Greedy from the left: 32 hex digits where the next 32 bytes are all
    lowercase hex digits, else the longest fragment that matches, else the
    byte itself (FORMAT.md section 5; entry rows and small payloads)."""
    out = bytearray()
    i, n = 0, len(text)
    while i < n:
        if i + 32 <= n and all(c in _LOWER_HEX for c in text[i:i + 32]):
            out.append(ROW_TOKEN_HEX)
            out += bytes.fromhex(text[i:i + 32].decode("ascii"))
            i += 32
            continue
        best = None
        for tok, frag in fragments.items():
            if text.startswith(frag, i) and (best is None or len(frag) > len(fragments[best])):
                best = tok
        if best is not None:
            out.append(best)
            i += len(fragments[best])
            continue
        out.append(text[i])
        i += 1
    return bytes(out)


def unpack_tokens(body, fragments):
    """(expansion, None), or (None, reason) for a hex token cut short or a
    0x00 token."""
    out = bytearray()
    i = 0
    while i < len(body):
        t = body[i]
        if t >= 0x20:
            out.append(t)
            i += 1
        elif t == ROW_TOKEN_HEX:
            if i + 17 > len(body):
                return None, "hex-cut"
            out += body[i + 1:i + 17].hex().encode("ascii")
            i += 17
        elif t == 0x00:
            return None, "zero-token"
        else:
            out += fragments[t]
            i += 1
    return bytes(out), None


def row_pack(text):
    """The packed row of text, or None when the entry stays raw: the writer's
    rule, greedy from the left (32 hex digits, else the longest fragment that
    matches, else the byte itself), raw when the row is no shorter."""
    if not row_is_entry_text(text):
        return None
    out = bytes([ROW_PACKED]) + pack_tokens(text, ROW_FRAGMENTS)
    if len(out) >= len(text):
        return None
    return out


def row_decode(row):
    """(entry bytes, None), or (None, reason) for a damaged row. The reasons
    are FORMAT.md's list: first byte neither '{' nor 0x01, a hex token cut
    short, a 0x00 token, an expansion that is empty, over 1 MiB or does not
    start with '{'."""
    if len(row) == 0:
        return None, "tag"                       # no first byte at all
    if row[0] == ord("{"):
        return bytes(row), None                  # raw: the bytes themselves
    if row[0] == ROW_PACKED:
        exp, why = unpack_tokens(row[1:], ROW_FRAGMENTS)
        if why:
            return None, why
    else:
        return None, "tag"
    # The expansion rules are about packed rows; a raw row's length is
    # [ENTRY-6]'s business (the entry parser refuses one over 1 MiB).
    if len(exp) == 0:
        return None, "expansion-empty"
    if len(exp) > ENTRY_MAX_BYTES:
        return None, "expansion-over-1mib"
    if exp[0] != ord("{"):
        return None, "expansion-not-object"
    return exp, None


def row_tokens(row):
    """A readable spelling of a packed row (informative only): literal runs as
    text, <NN> for a fragment token, <hex:...> for a hex token."""
    parts, lit, i = [], bytearray(), 1
    while i < len(row):
        t = row[i]
        if t >= 0x20:
            lit.append(t)
            i += 1
            continue
        if lit:
            parts.append(lit.decode("utf-8", errors="backslashreplace"))
            lit = bytearray()
        if t == ROW_TOKEN_HEX:
            parts.append("<hex:%s>" % row[i + 1:i + 17].hex())
            i += 17
        else:
            parts.append("<%02x>" % t)
            i += 1
    if lit:
        parts.append(lit.decode("utf-8", errors="backslashreplace"))
    return "".join(parts)


def _sized(prefix, unit, count, suffix):
    return prefix + unit * count + suffix


def gen_entry_rows(entries_doc, tree_leaf_fn):
    cases = []

    def C(desc, text, note=None):
        if isinstance(text, str):
            text = text.encode("utf-8")
        row = row_pack(text)
        if row is not None:
            back, why = row_decode(row)
            check(back == text, "entry row %s: packed row does not expand to the text (%s)" % (desc, why))
            check(len(row) < len(text), "entry row %s: packed row not shorter" % desc)
        raw_back, raw_why = row_decode(text)
        check(raw_back is None or raw_back == text, "entry row %s: raw row" % desc)
        c = {"desc": desc, "text": text.decode("utf-8") if _is_utf8(text) else None, "text_hex": hx(text),
             "text_len": len(text), "row_hex": None if row is None else hx(row),
             "row_len": None if row is None else len(row),
             "row_tokens": None if row is None else row_tokens(row),
             "raw_row_decodes": raw_back is not None}
        if note:
            c["note"] = note
        cases.append(c)
        return row

    # Every canonical entry of entries.json, and two tree leaves.
    for e in entries_doc["entries"]:
        C("entries.json/" + e["desc"], bytes.fromhex(e["canonical_hex"]))
    C("trees.json/leaf-0", tree_leaf_fn(0))
    C("trees.json/leaf-128", tree_leaf_fn(128))

    # Entries shaped like the ones sealtrail writes (made with make_entry, so
    # their commitments are real).
    def E(desc, env, payloads, note=None):
        ent = make_entry(desc, env, payloads)
        return C(desc, ent["canonical"], note)

    sess_uuid = "5f3c2a9e-1b7d-4e0a-9c3f-2d8e6a1b4c70"
    E("hook-post-tool-use", {
        "v": 1, "index": 1042, "time_us": T0_US + 5123456, "kind": "event", "event": "PostToolUse",
        "session": sess_uuid, "prompt_id": "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5", "tool": "Bash",
        "tool_use_id": "toolu_01A9qk3VbL7xYz2WmNp4RtGh", "cwd": "/home/dev/proj", "status": "succeeded",
        "duration_ms": 1834, "host": "devbox", "user": "dev", "permission_mode": "default"},
        [("event", compact({"transcript_path": "/home/dev/.claude/projects/p/5f3c.jsonl"})),
         ("tool_input", compact({"command": "make test", "description": "Run the tests"})),
         ("tool_response", compact({"stdout": "ok\n", "stderr": "", "interrupted": False}))])
    E("hook-pre-tool-use-started", {
        "v": 1, "index": 1041, "time_us": T0_US + 3000000, "kind": "event", "event": "PreToolUse",
        "session": sess_uuid, "tool": "Bash", "tool_use_id": "toolu_01A9qk3VbL7xYz2WmNp4RtGh",
        "cwd": "/home/dev/proj", "status": "started", "host": "devbox", "user": "dev",
        "permission_mode": "default"},
        [("event", compact({"transcript_path": "/home/dev/.claude/projects/p/5f3c.jsonl"})),
         ("tool_input", compact({"command": "make test", "description": "Run the tests"}))])
    E("hook-post-tool-use-failure", {
        "v": 1, "index": 1043, "time_us": T0_US + 9000000, "kind": "event", "event": "PostToolUseFailure",
        "session": sess_uuid, "tool": "Bash", "tool_use_id": "toolu_01B7mNq2",
        "cwd": "/home/dev/proj", "status": "failed", "duration_ms": 51,
        "error": "Exit code 2: make: *** [test] Error 1", "host": "devbox", "user": "dev"},
        [("error", b"Exit code 2: make: *** [test] Error 1\n"),
         ("event", compact({"transcript_path": "/home/dev/.claude/projects/p/5f3c.jsonl"})),
         ("tool_input", compact({"command": "make test"}))])
    sess_hex = hx(sha256(b"entry rows session")[:16])
    E("import-succeeded", {
        "v": 1, "index": 0, "time_us": 1717200000000000, "kind": "import", "event": "PostToolUse",
        "session": sess_hex, "tool": "Write", "status": "succeeded", "duration_ms": 273,
        "host": "vm", "user": "root", "recorded_us": T0_US + 7000000},
        [("event", compact({"timestamp": "2024-06-01T00:00:00.000Z", "status": "success"})),
         ("tool_input", compact({"file_path": "/repo/src/api/core/file1.ts"})),
         ("tool_response", compact({"stdout": "lorem ipsum", "exitCode": 0}))],
        note="the shape of an import of an audit-log line: kind import, recorded_us, a 32-hex session")
    E("import-failed-with-error", {
        "v": 1, "index": 3, "time_us": 1717200283824000, "kind": "import", "event": "PostToolUseFailure",
        "session": sess_hex, "tool": "Bash", "status": "failed", "duration_ms": 1149,
        "error": "Exit code 1", "host": "vm", "user": "root", "recorded_us": T0_US + 7000000},
        [("error", b"Exit code 1"),
         ("event", compact({"timestamp": "2024-06-01T00:04:43.824Z", "status": "error"})),
         ("tool_input", compact({"command": "npm test"})),
         ("tool_response", compact({"stdout": "", "exitCode": 1}))])
    E("record-kind-retention-policy", {
        "v": 1, "index": 12, "time_us": T0_US + 12000000, "kind": "retention-policy",
        "data": {"keep": {"payloads_days": 90}, "version": 1}}, [("event", b"{}")],
        note="a record kind: its payloads follow a string kind (\",\"payloads\":{\")")
    E("user-prompt-submit", {
        "v": 1, "index": 7, "time_us": T0_US + 7, "kind": "event", "event": "UserPromptSubmit",
        "session": sess_uuid, "prompt_id": "0c1d2e3f-4a5b-4c6d-8e9f-a0b1c2d3e4f5", "cwd": "/home/dev/proj",
        "permission_mode": "plan", "host": "devbox", "user": "dev"},
        [("prompt", compact({"prompt": "explain \"{\\\"cwd\\\":\\\"\" please"}))])

    # Hex runs in a string value, and what ends them.
    run = hx(sha256(b"entry rows hex run")) + hx(sha256(b"entry rows hex run 2"))   # 128 lowercase hex digits
    for k in (31, 32, 33, 63, 64, 65):
        C("hex-run-%d" % k, '{"x":"%s","v":1}' % run[:k])
    C("hex-run-31-alone-stays-raw", '{"x":"%s"}' % run[:31], note="no token matches: the row would be one byte longer")
    C("hex-run-32-at-the-very-end", '{"x":"' + run[:32],
      note="not JSON, but entry text: the writer does not parse")
    up = run[:16] + "A" + run[17:48]
    C("hex-upper-case-breaks-run", '{"x":"%s","v":1}' % up,
      note="16 digits, 'A', 31 digits: no 32 lowercase digits anywhere")
    up2 = run[:16] + "A" + run[17:49]
    C("hex-upper-case-then-32", '{"x":"%s","v":1}' % up2, note="16 digits, 'A', then a run of 32")
    up3 = run[:40] + "F" + run[41:64]
    C("hex-upper-case-inside-second-run", '{"x":"%s","v":1}' % up3, note="a token for 32, then 8 digits, 'F', 23")
    C("hex-g-breaks-run", '{"x":"%sg%s","v":1}' % (run[:31], run[32:64]))
    C("hex-run-right-after-fragment", '{"index":1,"kind":"x","session":"%s","time_us":2,"v":1}' % run[:32])
    C("hex-run-two-commitments", '{"a":"%s","b":"%s","v":1}' % (run[:64], run[64:128]))
    C("hex-digits-after-toolu_01", '{"index":1,"tool":"Bash","tool_use_id":"toolu_01%s","v":1}' % run[:31],
      note="the fragment ends in the digits 01; the 31 digits after it are literal")
    C("hex-digits-after-toolu_01-32", '{"index":1,"tool":"Bash","tool_use_id":"toolu_01%s","v":1}' % run[:32])
    C("hex-run-toolu_01-in-a-value", '{"a":"toolu_01%s","v":1}' % run[:31],
      note="no fragment here: 0 1 and the 31 digits after are one run of 33")

    # Fragments: longest match, inside string values, back to back, at the end.
    C("longest-fragment-event-posttooluse",
      '{"duration_ms":5,"event":"PostToolUse","host":"h","index":1,"kind":"event","time_us":2,"v":1}')
    C("fragment-prefix-only-event",
      '{"duration_ms":5,"event":"PostToolUse","hostname":"h","index":1,"kind":"event","time_us":2,"v":1}',
      note="',\"event\":\"PostToolUse\",\"host\":\"' does not match; ',\"event\":\"' does")
    C("fragment-event-other-value",
      '{"duration_ms":5,"event":"Stop","host":"h","index":1,"kind":"event","time_us":2,"v":1}')
    C("fragment-text-escaped-in-value",
      '{"error":"\\",\\"v\\":1}\\",\\"time_us\\":{\\"cwd\\":\\"","index":1,"kind":"event","time_us":2,"v":1}',
      note="fragment text inside a string value has its quotes escaped, so it does not match")
    C("fragment-text-escaped-in-key",
      '{"\\",\\"v\\":1}":1,"kind":"event","time_us":2,"v":1}')
    C("fragments-back-to-back-empty-cwd", '{"cwd":"","duration_ms":5,"event":"Stop","index":0,"kind":"event",'
      '"time_us":1,"user":"","v":1}', note="<02><03> at the start, <1e><1f> at the end")
    C("fragments-back-to-back-error-event",
      '{"duration_ms":0,"error":"","event":"PostToolUseFailure","host":"","index":0,"kind":"event",'
      '"payloads":{"error":{"commit":"%s","len":0},"event":{"commit":"%s","len":0}},'
      '"recorded_us":1,"session":"","status":"failed","time_us":1,"tool":"","tool_use_id":"toolu_01",'
      '"user":"","v":1}' % (run[:64], run[64:128]))
    C("fragment-last-byte-missing", '{"a":"x","v":1', note="',\"v\":1}' cut short at the end is literal")
    C("fragment-at-very-end-only", '{"a":"","v":1}')
    C("greedy-not-optimal", '{"cwd":","duration_ms":1}',
      note="greedy takes <02> at 0, so ',\"duration_ms\":' is literal; <03> at 7 would give a shorter row")
    C("non-ascii-utf8", '{"cwd":"/srv/r\u00e9po \u4e2d\U0001F41B","event":"\u2028","index":0,"kind":"event",'
      '"time_us":0,"user":"\u00fc","v":1}')
    C("del-and-high-bytes-not-utf8", b'{"cwd":"\x7f\x80\xfe\xff","v":1}',
      note="not UTF-8, but entry text for the writer: bytes 0x20..0xFF stand for themselves")
    C("payloads-after-string-kind",
      '{"index":3,"kind":"key-rotation","payloads":{"event":{"commit":"%s","len":2}},"time_us":3,"v":1}' % run[:64])

    # Texts that stay raw.
    C("raw-empty-object", "{}")
    C("raw-no-fragment", '{"a":1}')
    C("raw-entry-without-tokens", '{"index":0,"kind":"import","recorded_us":5,"time_us":2,"v":1}',
      note="a valid entry in which no token matches")
    C("raw-empty-text", b"", note="not entry text; an empty row is damaged too")
    C("raw-not-starting-with-brace", ' {"cwd":"a","v":1}')
    C("raw-array", '[{"cwd":"a","v":1}]')
    C("raw-hex-without-brace", run[:64])
    C("raw-trailing-lf", '{"cwd":"a","v":1}\n', note="a byte below 0x20: kept raw (a raw row still reads)")
    C("raw-tab-inside", '{"cwd":"a\tb","v":1}')
    C("raw-nul-inside", b'{"cwd":"a\x00","v":1}')
    C("raw-0x1f-inside", b'{"cwd":"\x1f","v":1}')

    used = set()
    for c in cases:
        if c["row_hex"]:
            r = bytes.fromhex(c["row_hex"])
            i = 1
            while i < len(r):
                if r[i] < 0x20:
                    used.add(r[i])
                i += 17 if r[i] == ROW_TOKEN_HEX else 1
    check(used == set(range(0x01, 0x20)), "entry rows: tokens never used: %s" %
          sorted(set(range(0x01, 0x20)) - used))

    # Rows a writer would not write, that every reader must still accept
    # (FORMAT.md's list of damaged rows is the whole list).
    readable = []

    def R(desc, row, note):
        got, why = row_decode(row)
        check(got is not None, "readable row %s refused: %s" % (desc, why))
        readable.append({"desc": desc, "row_hex": hx(row), "text": got.decode("utf-8") if _is_utf8(got) else None,
                         "text_hex": hx(got), "note": note})

    R("packed-not-shorter", b"\x01{}", "a packed row longer than its entry")
    R("packed-all-literal", b'\x01{"cwd":"a","v":1}', "no tokens used where fragments match")
    R("hex-token-zeros", b"\x01{" + b"\x01" + bytes(16) + b"}", "32 zeros")
    R("hex-token-ff", b"\x01\x04" + b"\x01" + b"\xff" * 16, "ends with a hex token")
    R("fragment-repeated", b"\x01\x02\x02\x1f", "fragments back to back, not JSON")
    R("high-bytes", b"\x01\x02\x80\xff\x1f", "bytes 0x80..0xFF stand for themselves")
    R("raw-row", b'{"a":1}', "a raw row")
    R("raw-row-with-control-byte", b'{"a":"\n"}', "a raw row is not checked for bytes below 0x20")

    damaged = []

    def D(desc, row, reason, why):
        got, r = row_decode(row)
        check(got is None and r == reason, "damaged row %s: decoder says %r, want %r" % (desc, r, reason))
        damaged.append({"desc": desc, "row_hex": hx(row), "reason": reason, "why": why})

    good = row_pack(b'{"cwd":"a","v":1}')
    check(good == b'\x01\x02a\x1f', "entry rows: the small packed row")
    D("empty-row", b"", "tag", "no first byte")
    D("tag-0x02", b"\x02" + good[1:], "tag", "first byte is a fragment token, not 0x01")
    D("tag-0x00", b"\x00" + good[1:], "tag", "first byte 0x00")
    D("tag-space", b' {"a":1}', "tag", "first byte is neither '{' nor 0x01")
    D("tag-bracket", b"[1]", "tag", "first byte is neither '{' nor 0x01")
    D("tag-0xff", b"\xff\x02a\x1f", "tag", "first byte 0xff")
    D("tag-0x1f", b"\x1f", "tag", "first byte is a fragment token")
    D("packed-alone", b"\x01", "expansion-empty", "0x01 and no tokens: the expansion is empty")
    D("zero-token-first", b"\x01\x00", "zero-token", "a 0x00 token")
    D("zero-token-middle", b"\x01\x02a\x00\x1f", "zero-token", "a 0x00 token between others")
    D("zero-token-last", good + b"\x00", "zero-token", "a 0x00 token after a whole entry")
    D("hex-cut-15", b"\x01\x02" + b"\x01" + bytes(15), "hex-cut", "a hex token with 15 of its 16 bytes")
    D("hex-cut-0", good + b"\x01", "hex-cut", "a hex token with none of its bytes, at the end")
    D("hex-cut-1", b"\x01{\x01\xab", "hex-cut", "a hex token with 1 byte")
    D("hex-first-cut", b"\x01\x01" + bytes(8), "hex-cut", "a hex token cut short right after the tag")
    D("expansion-hex-first", b"\x01\x01" + bytes(16) + b"}", "expansion-not-object",
      "expands to 32 zeros first, not '{'")
    D("expansion-quote-first", b"\x01\x03" + b"1}", "expansion-not-object",
      "starts with a fragment that begins with '\"'")
    D("expansion-comma-first", b"\x01\x1c" + b"x\x1f", "expansion-not-object", "starts with ','")
    D("expansion-brace-close-first", b"\x01\x14", "expansion-not-object", "starts with '}'")
    D("expansion-literal-first", b"\x01a}", "expansion-not-object", "starts with the byte 'a'")
    D("expansion-space-first", b"\x01 {}", "expansion-not-object", "starts with a space")

    # 1 MiB limits, built by the test: bytes = prefix + unit * count + suffix.
    limits = []

    def L(desc, op, prefix, unit, count, suffix, note):
        data = _sized(prefix, unit, count, suffix)
        c = {"desc": desc, "op": op, "prefix_hex": hx(prefix), "unit_hex": hx(unit), "count": count,
             "suffix_hex": hx(suffix), "len": len(data), "note": note}
        if op == "pack":
            row = row_pack(data)
            c["row_len"] = None if row is None else len(row)
            c["row_sha256_hex"] = None if row is None else hx(sha256(row))
            if row is not None:
                check(row_decode(row)[0] == data, "limit %s: round trip" % desc)
        else:
            got, why = row_decode(data)
            c["want_err"] = got is None
            c["reason"] = why
            c["text_len"] = None if got is None else len(got)
            c["text_sha256_hex"] = None if got is None else hx(sha256(got))
        limits.append(c)

    pre, suf = b'{"cwd":"', b'","v":1}'
    L("pack-1mib", "pack", pre, b"a", ENTRY_MAX_BYTES - len(pre) - len(suf), suf,
      "entry text of exactly 1 MiB: packed")
    L("pack-1mib-plus-1", "pack", pre, b"a", ENTRY_MAX_BYTES + 1 - len(pre) - len(suf), suf,
      "over 1 MiB: not entry text, stays raw")
    hex_tok = b"\x01" + bytes(range(0x10, 0x20))
    L("decode-packed-1mib", "decode", b"\x01{", hex_tok, 32767, b"a" * 31,
      "1 + 32767*32 + 31 = 1,048,576 bytes: readable")
    L("decode-packed-1mib-plus-1", "decode", b"\x01{", hex_tok, 32767, b"a" * 32,
      "expands to 1,048,577 bytes: damaged")
    L("decode-raw-1mib", "decode", b"{", b"a", ENTRY_MAX_BYTES - 2, b"}", "a raw row of 1 MiB: readable")
    # A raw row over 1 MiB is left out: FORMAT.md's "expansion ... over 1 MiB"
    # is about packed rows; such an entry is refused by [ENTRY-6] (README).

    return {
        "about": "Entry rows of the `entries` table (FORMAT.md section 5, \"Packed entry rows\"). fragments: the "
                 "fragment table, token -> text. cases: packing text (text_hex, exact bytes) gives row_hex, or "
                 "nothing (row_hex null: the entry stays raw); the row expands back to text; raw_row_decodes "
                 "says whether the text itself, read as a raw row, is readable (it is damaged when empty or not "
                 "starting with '{'). row_tokens is informative: <NN> a fragment token, <hex:..> "
                 "a hex token. readable_rows: rows a writer would not write that still expand to text_hex. "
                 "damaged_rows: every reader refuses them; reason names the rule. size_limit: bytes = "
                 "prefix + unit*count + suffix (len bytes); op pack: packed row of that length and SHA-256, "
                 "or null (raw); op decode: read as a row, want_err, else the expansion's length and SHA-256.",
        "generator": "vectors/gen.py",
        "row_packed_tag": ROW_PACKED,
        "hex_token": ROW_TOKEN_HEX,
        "max_bytes": ENTRY_MAX_BYTES,
        "fragments": [{"token": t, "text": f.decode("ascii")} for t, f in sorted(ROW_FRAGMENTS.items())],
        "cases": cases,
        "readable_rows": readable,
        "damaged_rows": damaged,
        "size_limit": limits,
    }


# ---- trees -----------------------------------------------------------------

TREE_LEAVES = 129
ROOT_SIZES = list(range(0, 21)) + [31, 32, 33, 64, 100, 127, 128, 129]
INCL_SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 20, 32, 33]
INCL_129 = [0, 1, 2, 63, 64, 65, 100, 126, 127, 128]


def tree_leaf(i):
    return canon_bytes({"index": i, "kind": "event", "time_us": T0_US + i, "v": 1})


def make_tree():
    return Tree([tree_leaf(i) for i in range(TREE_LEAVES)])


def gen_trees():
    t = make_tree()
    E = sha256(b"extra")
    hexes = lambda hs: [hx(h) for h in hs]

    roots = [{"size": n, "root_hex": hx(t.mth(0, n)), "frontier_hex": hexes(t.frontier(n))}
             for n in ROOT_SIZES]

    incl = []
    for n, i in [(n, i) for n in INCL_SIZES for i in range(n)] + [(129, i) for i in INCL_129]:
        if True:
            p = t.inclusion(i, n)
            check(verify_inclusion(i, n, t.lh[i], p, t.mth(0, n)), "inclusion %d/%d" % (i, n))
            incl.append({"index": i, "size": n, "leaf_hash_hex": hx(t.lh[i]),
                         "root_hex": hx(t.mth(0, n)), "proof_hex": hexes(p)})

    pairs = [(m, n) for n in range(1, 21) for m in range(1, n + 1)]
    pairs += [(1, 129), (2, 129), (5, 129), (31, 32), (32, 33), (31, 33), (33, 129), (63, 127), (64, 100),
              (64, 128), (100, 128), (100, 129), (127, 128), (127, 129), (128, 129), (129, 129), (1, 128),
              (3, 100), (17, 64)]
    cons = []
    for m, n in pairs:
        p = t.consistency(m, n)
        check(verify_consistency(m, n, t.mth(0, m), t.mth(0, n), p), "consistency %d/%d" % (m, n))
        cons.append({"old_size": m, "new_size": n, "old_root_hex": hx(t.mth(0, m)),
                     "new_root_hex": hx(t.mth(0, n)), "proof_hex": hexes(p)})
    cons0 = []
    for n in (0, 1, 2, 7, 129):
        check(verify_consistency(0, n, sha256(b""), t.mth(0, n), []), "consistency 0/%d" % n)
        cons0.append({"old_size": 0, "new_size": n, "old_root_hex": hx(sha256(b"")),
                      "new_root_hex": hx(t.mth(0, n)), "proof_hex": []})

    # negatives
    ineg = []

    def flip(h):
        return bytes([h[0] ^ 0x01]) + h[1:]

    def add_i(desc, base, index, size, lh, proof, root):
        if verify_inclusion(index, size, lh, proof, root):
            return   # the mutation happens not to change the verdict; skip it
        ineg.append({"desc": "%s (base %d/%d)" % (desc, base[0], base[1]), "mutation": desc,
                     "index": index, "size": size, "leaf_hash_hex": hx(lh), "root_hex": hx(root),
                     "proof_hex": hexes(proof), "want_err": True})

    for i, n in [(0, 1), (0, 2), (1, 2), (3, 8), (4, 5), (6, 7), (12, 13), (0, 20), (19, 20), (31, 32),
                 (32, 33), (100, 129), (128, 129)]:
        p, lh, root = t.inclusion(i, n), t.lh[i], t.mth(0, n)
        b = (i, n)
        add_i("wrong-leaf", b, i, n, leaf_hash(b"not a leaf"), p, root)
        add_i("leaf-data-not-hashed", b, i, n, t.leaves[i][:32].ljust(32, b"\0"), p, root)
        if p:
            add_i("flipped-bit-in-proof-0", b, i, n, lh, [flip(p[0])] + p[1:], root)
            add_i("flipped-bit-in-proof-last", b, i, n, lh, p[:-1] + [flip(p[-1])], root)
            add_i("truncated-proof", b, i, n, lh, p[:-1], root)
            if len(p) > 1:
                add_i("reversed-proof", b, i, n, lh, p[::-1], root)
        add_i("extra-hash", b, i, n, lh, p + [E], root)
        add_i("prepended-hash", b, i, n, lh, [E] + p, root)
        add_i("wrong-size-plus-1", b, i, n + 1, lh, p, root)
        if n > 1 and i < n - 1:
            add_i("wrong-size-minus-1", b, i, n - 1, lh, p, root)
        add_i("wrong-index-plus-1", b, i + 1, n, lh, p, root)
        if i > 0:
            add_i("wrong-index-minus-1", b, i - 1, n, lh, p, root)
        add_i("index-equals-size", b, n, n, lh, p, root)
        add_i("wrong-root", b, i, n, lh, p, t.mth(0, n - 1) if n > 1 else sha256(b""))
        add_i("flipped-bit-in-root", b, i, n, lh, p, flip(root))
    add_i("size-zero", (0, 0), 0, 0, t.lh[0], [], sha256(b""))

    cneg = []

    def add_c(desc, base, m, n, old, new, proof):
        if verify_consistency(m, n, old, new, proof):
            return
        cneg.append({"desc": "%s (base %d/%d)" % (desc, base[0], base[1]), "mutation": desc,
                     "old_size": m, "new_size": n, "old_root_hex": hx(old), "new_root_hex": hx(new),
                     "proof_hex": hexes(proof), "want_err": True})

    for m, n in [(1, 2), (1, 8), (2, 5), (3, 7), (4, 8), (6, 8), (7, 8), (8, 16), (13, 20), (31, 33),
                 (64, 100), (100, 129), (1, 129), (127, 128), (5, 5), (1, 1), (0, 7)]:
        p, old, new = t.consistency(m, n), t.mth(0, m), t.mth(0, n)
        b = (m, n)
        add_c("swapped-roots", b, m, n, new, old, p)
        add_c("wrong-old-root", b, m, n, t.mth(0, m + 1), new, p)
        add_c("wrong-new-root", b, m, n, old, t.mth(0, n - 1) if n > 1 else sha256(b"x"), p)
        add_c("flipped-bit-in-old-root", b, m, n, flip(old), new, p)
        add_c("flipped-bit-in-new-root", b, m, n, old, flip(new), p)
        if p:
            add_c("flipped-bit-in-proof-0", b, m, n, old, new, [flip(p[0])] + p[1:])
            add_c("flipped-bit-in-proof-last", b, m, n, old, new, p[:-1] + [flip(p[-1])])
            add_c("truncated-proof", b, m, n, old, new, p[:-1])
            add_c("empty-proof", b, m, n, old, new, [])
            if len(p) > 1:
                add_c("reversed-proof", b, m, n, old, new, p[::-1])
        add_c("extra-hash", b, m, n, old, new, p + [E])
        add_c("prepended-hash", b, m, n, old, new, [E] + p)
        add_c("prepended-old-root", b, m, n, old, new, [old] + p)
        add_c("wrong-old-size-plus-1", b, m + 1, n, old, new, p)
        if m > 1:
            add_c("wrong-old-size-minus-1", b, m - 1, n, old, new, p)
        add_c("wrong-new-size-plus-1", b, m, n + 1, old, new, p)
        if n - 1 >= m and n > 1:
            add_c("wrong-new-size-minus-1", b, m, n - 1, old, new, p)
        add_c("swapped-sizes", b, n, m, new, old, p)
    add_c("old-size-greater", (8, 6), 8, 6, t.mth(0, 8), t.mth(0, 6), t.consistency(6, 8))

    return {
        "about": "RFC 6962 tree ([TREE-1]) and proofs ([TREE-2]) over leaves[i] = canonical entry "
                 "{\"index\":i,\"kind\":\"event\",\"time_us\":" + str(T0_US) + "+i,\"v\":1} (leaves_text); "
                 "leaf hashes [LEAF-1]. roots: MTH of the first `size` leaves, and the frontier (hashes of the "
                 "perfect subtrees covering [0,size), largest first). inclusion: PATH(index, D[size]) for every "
                 "index at several sizes; consistency: PROOF(m, D[n]) for all 1<=m<=n<=20 and more, leaf-to-root. "
                 "consistency_from_zero follows merkle.h's convention (not stated in FORMAT.md): m=0 verifies "
                 "iff the proof is empty and old_root = SHA-256(\"\"). *_negative: mutations that must fail "
                 "verification (RFC 9162 2.1.3.2 / 2.1.4.2).",
        "generator": "vectors/gen.py",
        "leaves_text": [d.decode() for d in t.leaves],
        "leaf_hashes_hex": hexes(t.lh),
        "empty_root_hex": hx(sha256(b"")),
        "roots": roots,
        "inclusion": incl,
        "consistency": cons,
        "consistency_from_zero": cons0,
        "inclusion_negative": ineg,
        "consistency_negative": cneg,
    }


# ---- proof JSON ------------------------------------------------------------

def gen_proofs_json():
    t = make_tree()
    cases = []
    for i, n in [(3, 8), (0, 1), (0, 2), (19, 20), (0, 129), (128, 129)]:
        obj = {"hashes": [hx(h) for h in t.inclusion(i, n)], "index": i, "leaf_hash": hx(t.lh[i]),
               "root": hx(t.mth(0, n)), "size": n, "type": "inclusion"}
        line = canon_text(obj)
        check(list(json.loads(line).keys()) == sorted(obj.keys()), "proof json key order")
        cases.append({"desc": "inclusion %d/%d" % (i, n), "line": line})
    for m, n in [(6, 8), (8, 8), (1, 2), (13, 20), (1, 129), (64, 100), (129, 129)]:
        obj = {"hashes": [hx(h) for h in t.consistency(m, n)], "new_root": hx(t.mth(0, n)), "new_size": n,
               "old_root": hx(t.mth(0, m)), "old_size": m, "type": "consistency"}
        cases.append({"desc": "consistency %d->%d" % (m, n), "line": canon_text(obj)})
    for c in cases:
        check(canonical_check(c["line"].encode())[0], "proof line canonical")
    return {
        "about": "Exact `sealtrail prove` output lines ([PROOF-1], docs/FORMAT.md 3.1) over the leaves of "
                 "trees.json: one compact JSON object per line, keys sorted bytewise, hashes leaf-to-root, "
                 "empty proof as []. `line` excludes the terminating LF that the tool prints after each line.",
        "generator": "vectors/gen.py",
        "cases": cases,
    }


# ---- checkpoints -----------------------------------------------------------

ORIGIN = "example.com/sealtrail-test"
CP_TIME = 1763787173


def test_keys():
    k1 = Key("key1", ORIGIN, sha256(b"sealtrail test key 1"))
    k2 = Key("key2", ORIGIN, sha256(b"sealtrail test key 2"))
    return k1, k2


def gen_checkpoints():
    t = make_tree()
    k1, k2 = test_keys()
    keys = [k1, k2]

    def key_obj(k, seed_desc):
        return {"label": k.label, "name": k.name, "seed_derivation": seed_desc, "seed_hex": hx(k.seed),
                "public_key_hex": hx(k.pub), "key_id_hex": hx(k.kid), "vkey": k.vkey(),
                "key_file_line": k.skey() + "\n"}

    notes = []

    def note_case(desc, note, trusted_sets, cp=None, stage=None, why="", signers=None, text=None):
        """trusted_sets: list of (trusted labels, expected verdict, verified labels)."""
        parse_ok = True
        try:
            ntext, _ = note_parse(note)
        except Fail as e:
            parse_ok = False
            why = why or str(e)
        c = {"desc": desc, "note": note.decode("utf-8") if _is_utf8(note) else None, "note_hex": hx(note)}
        if signers is not None:
            c["signers"] = signers
            c["text"] = text.decode("utf-8")
        if not parse_ok:
            check(stage == "note_parse", "%s: parse failed but stage=%s" % (desc, stage))
            c.update({"want_err": True, "stage": "note_parse", "why": why})
            notes.append(c)
            return
        check(stage != "note_parse", "%s: expected parse failure" % desc)
        vs = []
        byl = {k.label: k for k in keys}
        for labels, want, verified in trusted_sets:
            got, gver = note_verify(note, [byl[x] for x in labels])
            check(got == want and gver == verified, "%s: verify with %s gave %s %s" % (desc, labels, got, gver))
            vs.append({"trusted": labels, "want": want, "verified": verified})
        c["verify"] = vs
        try:
            p = checkpoint_parse(ntext)
            cp_ok = True
        except Fail as e:
            cp_ok = False
            why = why or str(e)
        if stage == "note_verify":
            check(cp_ok, "%s: checkpoint should parse" % desc)
            c.update({"want_err": True, "stage": stage, "why": why})
        elif stage == "checkpoint":
            check(not cp_ok, "%s: checkpoint should fail" % desc)
            c.update({"want_err": True, "stage": stage, "why": why})
        else:
            check(cp_ok, "%s: checkpoint should parse: %s" % (desc, why))
            check(all(v[1] == "ok" for v in trusted_sets[:1]), "%s: first trusted set must verify" % desc)
            c.update({"want_err": False, "checkpoint": {
                "origin": p["origin"], "size": p["size"], "root_hex": hx(p["root"]),
                "root_b64": b64(p["root"]), "time_s": p["time_s"], "n_ext": p["n_ext"]},
                "syslog_line": "checkpoint %s %d %s %d" % (p["origin"], p["size"], b64(p["root"]), p["time_s"])})
        notes.append(c)

    good = []
    for size, ts in [(0, CP_TIME), (1, CP_TIME + 1), (2, CP_TIME + 2), (20, CP_TIME + 60), (33, CP_TIME + 61),
                     (129, CP_TIME + 3600)]:
        text = checkpoint_text(ORIGIN, size, t.mth(0, size), ts)
        note = sign_note(text, [k1])
        note_case("checkpoint size %d" % size, note,
                  [(["key1"], "ok", ["key1"]), (["key2"], "untrusted", []), ([], "untrusted", []),
                   (["key2", "key1"], "ok", ["key1"])],
                  signers=["key1"], text=text)
        good.append((size, ts, text, note))
    # time 0 and a big time
    for size, ts in [(3, 0), (4, 4102444800)]:
        text = checkpoint_text(ORIGIN, size, t.mth(0, size), ts)
        note_case("checkpoint size %d time %d" % (size, ts), sign_note(text, [k1]),
                  [(["key1"], "ok", ["key1"])], signers=["key1"], text=text)

    # signed by both keys, in the order given
    text20 = checkpoint_text(ORIGIN, 20, t.mth(0, 20), CP_TIME + 60)
    both = sign_note(text20, [k1, k2])
    note_case("two signatures key1 then key2", both,
              [(["key1"], "ok", ["key1"]), (["key2"], "ok", ["key2"]), (["key1", "key2"], "ok", ["key1", "key2"]),
               ([], "untrusted", [])], signers=["key1", "key2"], text=text20)
    both21 = sign_note(text20, [k2, k1])
    note_case("two signatures key2 then key1", both21,
              [(["key1", "key2"], "ok", ["key2", "key1"])], signers=["key2", "key1"], text=text20)
    # an unknown extension line next to time (C2SP: ignored)
    tx = checkpoint_text(ORIGIN, 5, t.mth(0, 5), CP_TIME) + b"x-other ext\n"
    note_case("extra unknown extension line", sign_note(tx, [k1]), [(["key1"], "ok", ["key1"])],
              signers=["key1"], text=tx)

    # many signatures: key1 plus 19 unknown keys (C2SP: verifiers accept at least 16)
    text7 = checkpoint_text(ORIGIN, 7, t.mth(0, 7), CP_TIME + 7)
    others = [Key("w%02d" % i, "example.net/witness-%02d" % i, sha256(b"sealtrail test witness %d" % i))
              for i in range(19)]
    many = sign_note(text7, others[:9] + [k1] + others[9:])
    note_case("twenty signatures, one known", many, [(["key1"], "ok", ["key1"]), ([], "untrusted", [])])
    # an exact duplicate signature line is dropped (x/mod), the note stays valid
    one = sign_note(text7, [k1])
    note_case("duplicate signature line", one + one[len(text7) + 1:], [(["key1"], "ok", ["key1"])])
    # an unknown key's line is ignored even if its signature is not 64 bytes
    short = (EM_DASH + " example.net/other " + b64(b"\x01\x02\x03\x04" + bytes(10)) + "\n").encode()
    note_case("unknown key with short signature", one + short, [(["key1"], "ok", ["key1"])])

    # negatives
    size, ts, text, note = good[3]   # size 20
    s = note.decode("utf-8")

    def replace_once(hay, a, b):
        check(hay.count(a) >= 1, "replace target")
        return hay.replace(a, b, 1)

    mod_text = replace_once(s, "\n20\n", "\n21\n").encode()
    note_case("modified-text", mod_text, [(["key1"], "badsig", [])], stage="note_verify",
              why="text changed after signing (size 20 -> 21)")
    sigline = s[s.rfind("\n\n") + 2:]
    enc = sigline.rsplit(" ", 1)[1].rstrip("\n")
    raw = bytearray(b64_strict_decode(enc))
    raw[4 + 10] ^= 0x01
    mod_sig = (s[:s.rfind("\n\n") + 2] + sigline.replace(enc, b64(bytes(raw)))).encode()
    note_case("modified-signature", mod_sig, [(["key1"], "badsig", [])], stage="note_verify",
              why="bit 0 of signature byte 10 flipped")
    raw = bytearray(b64_strict_decode(enc))
    raw[0] ^= 0x80
    wrong_id = (s[:s.rfind("\n\n") + 2] + sigline.replace(enc, b64(bytes(raw)))).encode()
    note_case("wrong-key-id", wrong_id, [(["key1"], "untrusted", [])], stage="note_verify",
              why="key ID byte 0 changed: the line names no known key")
    wrong_name = s.replace(EM_DASH + " " + ORIGIN + " ", EM_DASH + " example.com/other ").encode()
    note_case("wrong-key-name", wrong_name, [(["key1"], "untrusted", [])], stage="note_verify",
              why="signature line names another key")
    # corrupted key2 signature on the two-key note: key1 alone still ok, trusting both rejects
    bs = both.decode("utf-8")
    lines = bs.split("\n")
    enc2 = lines[-2].rsplit(" ", 1)[1]
    raw = bytearray(b64_strict_decode(enc2))
    raw[-1] ^= 0x01
    lines[-2] = lines[-2].replace(enc2, b64(bytes(raw)))
    note_case("modified-second-signature", "\n".join(lines).encode(),
              [(["key1"], "ok", ["key1"]), (["key1", "key2"], "badsig", []), (["key2"], "badsig", [])],
              stage="note_verify", why="key2's signature corrupted: a known key with a bad signature rejects")
    note_case("missing-final-newline", note[:-1], [], stage="note_parse")
    note_case("missing-blank-line", note.replace(b"\n\n", b"\n", 1), [], stage="note_parse")
    note_case("no-signature-lines", text + b"\n", [], stage="note_parse")
    note_case("cr-in-note", note.replace(b"\n", b"\r\n", 1), [], stage="note_parse")
    note_case("signature-line-without-dash", note.replace(EM_DASH.encode() + b" ", b"- ", 1), [],
              stage="note_parse")
    note_case("trailing-non-signature-line", note + b"junk\n", [], stage="note_parse")

    def signed_bad_cp(desc, btext, why):
        note_case(desc, sign_note(btext, [k1]), [(["key1"], "ok", ["key1"])], stage="checkpoint", why=why,
                  signers=["key1"], text=btext)

    root20 = b64(t.mth(0, 20))
    signed_bad_cp("time-extension-missing", checkpoint_text(ORIGIN, 20, t.mth(0, 20), None),
                  "[CP-2] sealtrail's verifier requires the time line")
    signed_bad_cp("time-extension-twice", text + b"time %d\n" % ts, "[CP-2] present once")
    signed_bad_cp("time-leading-zero", ("%s\n20\n%s\ntime 0%d\n" % (ORIGIN, root20, ts)).encode(),
                  "[CP-2] decimal, no leading zeros")
    signed_bad_cp("time-not-decimal", ("%s\n20\n%s\ntime 17637x\n" % (ORIGIN, root20)).encode(),
                  "[CP-2] decimal")
    signed_bad_cp("time-negative", ("%s\n20\n%s\ntime -1\n" % (ORIGIN, root20)).encode(), "[CP-2] decimal")
    signed_bad_cp("size-leading-zero", ("%s\n020\n%s\ntime %d\n" % (ORIGIN, root20, ts)).encode(),
                  "[CP-1] no leading zeros")
    signed_bad_cp("size-not-decimal", ("%s\n2O\n%s\ntime %d\n" % (ORIGIN, root20, ts)).encode(),
                  "[CP-1] decimal")
    signed_bad_cp("root-31-bytes", ("%s\n20\n%s\ntime %d\n" % (ORIGIN, b64(t.mth(0, 20)[:31]), ts)).encode(),
                  "[CP-1] 32-byte root")
    signed_bad_cp("root-unpadded", ("%s\n20\n%s\ntime %d\n" % (ORIGIN, root20.rstrip("="), ts)).encode(),
                  "b64 with padding")
    # non-canonical base64: change the last char so that unused bits are non-zero
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    last = root20[-2]
    nc = root20[:-2] + alphabet[alphabet.index(last) ^ 1] + "="
    check(b64_strict_decode(nc) is None, "noncanonical b64")
    signed_bad_cp("root-noncanonical-b64", ("%s\n20\n%s\ntime %d\n" % (ORIGIN, nc, ts)).encode(),
                  "FORMAT.md: decoders reject non-zero unused bits")
    signed_bad_cp("empty-extension-line", text + b"\n", "tlog-checkpoint: extension lines are non-empty")
    signed_bad_cp("two-lines-only", ("%s\n20\n" % ORIGIN).encode(), "[CP-1] at least 3 lines")
    signed_bad_cp("origin-empty", ("\n20\n%s\ntime %d\n" % (root20, ts)).encode(), "[CP-1] non-empty origin")
    signed_bad_cp("origin-with-space", ("example.com/a b\n20\n%s\ntime %d\n" % (root20, ts)).encode(),
                  "[CP-1] no whitespace")
    signed_bad_cp("origin-with-plus", ("example.com/a+b\n20\n%s\ntime %d\n" % (root20, ts)).encode(),
                  "[CP-1] no +")
    signed_bad_cp("size-2^64", ("%s\n18446744073709551616\n%s\ntime %d\n" % (ORIGIN, root20, ts)).encode(),
                  "[CP-1] size overflows 64 bits")
    signed_bad_cp("size-negative", ("%s\n-1\n%s\ntime %d\n" % (ORIGIN, root20, ts)).encode(), "[CP-1] decimal")
    signed_bad_cp("time-2^63", ("%s\n20\n%s\ntime 9223372036854775808\n" % (ORIGIN, root20)).encode(),
                  "[CP-2] time overflows int64")
    signed_bad_cp("time-two-spaces", ("%s\n20\n%s\ntime  %d\n" % (ORIGIN, root20, ts)).encode(),
                  "[CP-2] exactly `time <secs>`")
    signed_bad_cp("time-trailing-space", ("%s\n20\n%s\ntime %d \n" % (ORIGIN, root20, ts)).encode(),
                  "[CP-2] exactly `time <secs>`")

    # verifier keys that must be rejected ([CP-5]) and key-file strings that must be refused
    vk = k1.vkey()
    name, kid, enc = vk.split("+", 2)
    pub1 = b"\x01" + k1.pub
    bad_vkeys = [
        ("wrong-key-id", "%s+%s+%s" % (name, "%08x" % (int(kid, 16) ^ 1), enc)),
        ("key-id-uppercase-hex", k2.vkey().replace(hx(k2.kid), hx(k2.kid).upper())),
        ("key-id-7-digits", "%s+%s+%s" % (name, kid[1:], enc)),
        ("algorithm-byte-02", "%s+%s+%s" % (name, hx(key_id(name, k1.pub)), b64(b"\x02" + k1.pub))),
        ("key-31-bytes", "%s+%s+%s" % (name, kid, b64(pub1[:-1]))),
        ("key-33-bytes", "%s+%s+%s" % (name, kid, b64(pub1 + b"\x00"))),
        ("b64-url-alphabet", "%s+%s+%s" % (name, kid, enc.replace("+", "-").replace("/", "_"))),
        ("missing-key", "%s+%s" % (name, kid)),
        ("empty-name", "+%s+%s" % (hx(key_id("", k1.pub)), enc)),
        ("name-with-space", "a b+%s+%s" % (hx(key_id("a b", k1.pub)), enc)),
        ("trailing-newline", vk + "\n"),
    ]
    check(hx(k2.kid).upper() != hx(k2.kid), "key2 id has hex letters")
    bad_vkeys = [{"desc": d, "vkey": v} for d, v in bad_vkeys]
    check(vkey_parse(vk) == (name, k1.kid, k1.pub), "vkey parse")
    for b in bad_vkeys:
        try:
            vkey_parse(b["vkey"])
            raise Fail("bad vkey %s accepted by gen.py" % b["desc"])
        except Fail as e:
            if "accepted" in str(e):
                raise
    sk = k1.skey()
    seed1 = b"\x01" + k1.seed
    bad_skeys = [
        ("wrong-key-id", "PRIVATE+KEY+%s+%08x+%s" % (name, int(kid, 16) ^ 1, b64(seed1))),
        ("algorithm-byte-02", "PRIVATE+KEY+%s+%s+%s" % (name, kid, b64(b"\x02" + k1.seed))),
        ("seed-31-bytes", "PRIVATE+KEY+%s+%s+%s" % (name, kid, b64(seed1[:-1]))),
        ("missing-prefix", sk[len("PRIVATE+KEY+"):]),
        ("public-key-instead", "PRIVATE+KEY+" + vk),
        ("other-name", sk.replace(name, name + "x", 1)),
    ]
    bad_skeys = [{"desc": d, "skey": v} for d, v in bad_skeys]
    for b in bad_skeys:
        try:
            key_from_skey(b["skey"])
            raise Fail("bad key file %s accepted by gen.py" % b["desc"])
        except Fail as e:
            if "accepted" in str(e):
                raise

    return {
        "about": "Checkpoints ([CP-1]..[CP-5], [KEY-1] key file line). keys: fixed Ed25519 test keys (seed = "
                 "SHA-256 of the given string), their key IDs ([CP-4]), verifier key strings ([CP-5]) and key-file "
                 "lines (PRIVATE+KEY+name+hex8 id+b64(0x01||seed), LF-terminated). bad_vkeys: verifier key strings that must be rejected; bad_key_files: signer key strings (no LF) that must be refused. notes: signed C2SP notes, "
                 "exact bytes (note_hex). For each note: parse it; if stage=note_parse it must fail. Else, for "
                 "each verify entry, verify against the trusted key labels: want ok/badsig (a known key's "
                 "signature fails)/untrusted (no known key signed), and `verified` lists the keys that signed, in "
                 "trusted order. Then parse the signed text as a checkpoint: stage=checkpoint means sealtrail "
                 "must reject it (a parse error, or no usable time line). want_err=false notes give the parsed "
                 "checkpoint. `signers`+`text`: signing `text` with those keys' key files, in that order, must "
                 "reproduce note_hex byte for byte (Ed25519 is deterministic).",
        "generator": "vectors/gen.py",
        "origin": ORIGIN,
        "keys": [key_obj(k1, "SHA-256(\"sealtrail test key 1\")"),
                 key_obj(k2, "SHA-256(\"sealtrail test key 2\")")],
        "notes": notes,
        "bad_vkeys": bad_vkeys,
        "bad_key_files": bad_skeys,
    }


# --------------------------------------------------------------------------
# self-tests
# --------------------------------------------------------------------------


def shared_dir():
    d = os.environ.get("ST_SHARED_DIR")
    if not d:
        d = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared")
    d = os.path.join(d, "vectors-upstream")
    return d if os.path.isdir(d) else None


def self_test(verbose):
    log = (lambda *a: print(*a, file=sys.stderr)) if verbose else (lambda *a: None)
    # RFC 8032 section 7.1
    for name, sk, pk, msg, sig in RFC8032_VECTORS:
        seed, m = bytes.fromhex(sk), bytes.fromhex(msg)
        check(hx(ed25519_public(seed)) == pk, "RFC 8032 %s public key" % name)
        check(hx(ed25519_sign(seed, m)) == sig, "RFC 8032 %s signature" % name)
        check(ed25519_verify(bytes.fromhex(pk), m, bytes.fromhex(sig)), "RFC 8032 %s verify" % name)
        bad = bytearray.fromhex(sig)
        bad[0] ^= 1
        check(not ed25519_verify(bytes.fromhex(pk), m, bytes(bad)), "RFC 8032 %s verify bad" % name)
    check(bytes.fromhex(RFC8032_VECTORS[3][3]) == hashlib.sha512(b"abc").digest(), "SHA(abc) message")
    log("self-test: RFC 8032 7.1 Ed25519 vectors: %d ok" % len(RFC8032_VECTORS))

    # JSON oracle sanity
    check(canon_bytes({"\uff61": 1, "\U0001F600": 2}) == '{"\uff61":1,"\U0001F600":2}'.encode(), "key order")
    check(canonical_check(b'{"a":1}')[0] and not canonical_check(b'{"a":1,"a":1}')[0], "dups")

    d = shared_dir()
    if d is None:
        log("self-test: shared upstream vectors not found; upstream checks skipped")
        return
    # signed-note sign cases
    sn = json.load(open(os.path.join(d, "signed-note-vectors.json"), encoding="utf-8"))
    nsign = 0
    for c in sn.get("sign", []):
        ks = [key_from_skey(s) for s in c["skeys"]]
        got = sign_note(c["text"].encode("utf-8"), ks)
        check(got == c["expected_note"].encode("utf-8"), "upstream sign case %s" % c["id"])
        nsign += 1
    nkeys = 0
    for k in sn.get("keys", []):
        pub = bytes.fromhex(k["public_key_hex"])
        check(hx(key_id(k["name"], pub)) == k["key_id_hex"], "upstream key id %s" % k["id"])
        if k.get("skey"):
            kk = key_from_skey(k["skey"])
            check(kk.vkey() == k["vkey"], "upstream skey->vkey %s" % k["id"])
        nkeys += 1
    # Tessera: every checkpoint reproduced by signing
    ts = json.load(open(os.path.join(d, "tessera-testdata-log.json"), encoding="utf-8"))
    tk = key_from_skey(ts["skey"])
    check(tk.vkey() == ts["vkey"], "tessera vkey")
    tt = Tree([x.encode() for x in ts["leaves_text"]])
    ntess = 0
    for size, cp in ts["checkpoints_by_size"].items():
        size = int(size)
        text = checkpoint_text(ts["origin"], size, tt.mth(0, size), None)
        check(sign_note(text, [tk]) == cp.encode("utf-8"), "tessera checkpoint %d" % size)
        check(note_verify(cp.encode("utf-8"), [tk]) == ("ok", [tk.label]), "tessera verify %d" % size)
        ntess += 1
    # upstream notes: our parser+verifier agrees on the ok ones
    nnotes = 0
    vkeys = {}
    for k in sn.get("keys", []):
        name, kid, enc = k["vkey"].split("+", 2)
        raw = b64_strict_decode(enc)
        kk = Key.__new__(Key)
        kk.label, kk.name, kk.pub, kk.kid = k["vkey"], name, raw[1:], bytes.fromhex(kid)
        vkeys[k["vkey"]] = kk
    for c in sn.get("notes", []):
        if c.get("expect") == "ok" and c.get("verified"):
            trusted = [v for v in vkeys.values()
                       if "%s+%s" % (v.name, hx(v.kid)) in c["verified"]]
            verdict, _ = note_verify(bytes.fromhex(c["note_hex"]), trusted)
            check(verdict == "ok", "upstream note %s" % c.get("id"))
            nnotes += 1
    # upstream notes that must be rejected: our parser and verifier agree
    kinds = {"malformed": "parse", "invalid-signature": "badsig", "no-known-signature": "untrusted"}
    nrej = 0
    for c in sn.get("notes", []):
        if c.get("expect") != "reject":
            continue
        trusted = [vkeys[v] for v in c.get("vkeys", [])]
        try:
            verdict, _ = note_verify(bytes.fromhex(c["note_hex"]), trusted)
        except Fail:
            verdict = "parse"
        check(verdict == kinds[c["reject_kind"]], "upstream reject note %s: got %s" % (c.get("id"), verdict))
        nrej += 1
    # RFC 6962 reference tree
    rt = json.load(open(os.path.join(d, "rfc6962-reference-tree.json"), encoding="utf-8"))
    tr = Tree([bytes.fromhex(x) for x in rt["leaves_hex"]])
    for n, r in enumerate(rt["root_hex_by_size"]):
        check(hx(tr.mth(0, n)) == r, "rfc6962 root %d" % n)
    for p in rt["inclusion_proofs"]:
        got = [hx(h) for h in tr.inclusion(p["leaf_index"], p["tree_size"])]
        check(got == p["path_hex"], "rfc6962 inclusion %s" % p)
    for p in rt["consistency_proofs"]:
        got = [hx(h) for h in tr.consistency(p["old_size"], p["new_size"])]
        check(got == p["proof_hex"], "rfc6962 consistency %s" % p)
    log("self-test: upstream: %d sign cases, %d key ids, %d Tessera checkpoints re-signed, %d ok notes verified, "
        "%d bad notes rejected as upstream says, RFC 6962 reference tree ok" % (nsign, nkeys, ntess, nnotes, nrej))



# ---- small payload rows (FORMAT.md section 5, "Small payload fragments") ----
#
# Written from that paragraph and its table only. A payload under 128 bytes
# with no byte below 0x20 is stored packed (encoding 3) when the packed body
# is shorter, else as it is (encoding 0). The tokens are those of entry rows
# (above) with this fragment table; a packed body that expands to 128 bytes
# or more is damaged.

PAYLOAD_RAW_MAX = 128

# FORMAT.md section 5, "Small payload fragments", typed from the doc.
PAYLOAD_FRAGMENTS = {
    0x02: b'{"timestamp":"',
    0x03: b'","executionTimeMs":',
    0x04: b',"error":false,"errorMessage":null,"status":"success"}',
    0x05: b',"error":true,"errorMessage":"',
    0x06: b'","status":"error"}',
    0x07: b',"error":false,"errorMessage":null}',
    0x08: b'{"command":"',
    0x09: b'","description":"',
    0x0a: b'{"file_path":"',
    0x0b: b'{"pattern":"',
    0x0c: b'","path":"',
    0x0d: b'","old_string":"',
    0x0e: b'","new_string":"',
    0x0f: b'","content":"',
    0x10: b'{"url":"',
    0x11: b'","prompt":"',
    0x12: b'{"query":"',
    0x13: b'","timeout":',
    0x14: b',"run_in_background":true}',
    0x15: b'{"stdout":"',
    0x16: b'","stderr":"","interrupted":false,"isImage":false}',
    0x17: b'{"filePath":"',
    0x18: b'","replace_all":false}',
    0x19: b'{"transcript_path":"',
    0x1a: b'","output_mode":"',
    0x1b: b',"limit":',
    0x1c: b',"offset":',
    0x1d: b'{"todos":[{"content":"',
    0x1e: b'","status":"',
    0x1f: b'","activeForm":"',
}


def payload_pack(text):
    """The packed body of a small payload, or None when it is stored as it
    is (128 bytes or more, a byte below 0x20, or no shorter packed)."""
    if len(text) >= PAYLOAD_RAW_MAX or any(c < 0x20 for c in text):
        return None
    out = pack_tokens(text, PAYLOAD_FRAGMENTS)
    return out if len(out) < len(text) else None


def payload_unpack(body):
    """(payload bytes, None), or (None, reason) for a damaged packed body."""
    out, why = unpack_tokens(body, PAYLOAD_FRAGMENTS)
    if why:
        return None, why
    if len(out) >= PAYLOAD_RAW_MAX:
        return None, "expansion-128-or-more"
    return out, None


def gen_payload_rows():
    texts = [
        ("import-event", b'{"timestamp":"2024-06-01T00:00:00.000Z","executionTimeMs":273,"error":false,'
                         b'"errorMessage":null,"status":"success"}'),
        ("import-event-failed", b'{"timestamp":"2025-01-15T10:30:00.123Z","executionTimeMs":4187,"error":true,'
                                b'"errorMessage":"Exit code 1","status":"error"}'),
        ("import-event-no-status", b'{"timestamp":"2025-01-15T10:30:00Z","executionTimeMs":12,"error":false,'
                                   b'"errorMessage":null}'),
        ("bash-input", b'{"command":"git status","description":"Show working tree status"}'),
        ("bash-background", b'{"command":"npm run dev","description":"Start","timeout":600000,'
                            b'"run_in_background":true}'),
        ("read-input", b'{"file_path":"/home/dev/acme-billing/src/invoice.ts","offset":10,"limit":40}'),
        ("grep-input", b'{"pattern":"TODO","path":"/repo/src","output_mode":"content"}'),
        ("edit-input-short", b'{"file_path":"/a.py","old_string":"x = 1","new_string":"x = 2","replace_all":false}'),
        ("write-response", b'{"filePath":"/repo/b.go","content":"package b"}'),
        ("bash-response", b'{"stdout":"ok","stderr":"","interrupted":false,"isImage":false}'),
        ("webfetch-input", b'{"url":"https://example.com/docs","prompt":"Summarize"}'),
        ("websearch-input", b'{"query":"lmdb dupsort"}'),
        ("todo-input", b'{"todos":[{"content":"Run tests","status":"pending","activeForm":"Running tests"}]}'),
        ("transcript", b'{"transcript_path":"/home/dev/.claude/p/x.jsonl"}'),
        ("hex-31", b'{"id":"' + b"a" * 31 + b'"}'),
        ("hex-32", b'{"id":"' + b"0123456789abcdef" * 2 + b'"}'),
        ("hex-33", b'{"id":"' + b"f" * 33 + b'"}'),
        ("hex-64", b'{"sha":"' + hx(sha256(b"payload rows hex")).encode("ascii") + b'"}'),
        ("hex-upper", b'{"id":"' + b"ABCDEF0123456789" * 2 + b'"}'),
        ("fragment-in-a-string", b'"{\\"command\\":\\"x\\"}"'),
        ("fragment-cut-short", b'{"comman'),
        ("longest-wins", b'{"todos":[{"content":"a"}]}'),
        ("status-alone", b'{"a":1,"status":"done"}'),
        ("raw-newline", b'{"command":"a\nb"}'),
        ("raw-tab", b'\t'),
        ("no-shorter", b'"x"'),
        ("empty", b''),
        ("utf8", '{"command":"echo \u00e9\u4e2d\U0001F600"}'.encode("utf-8")),
        ("127-bytes", b'{"command":"' + b"y" * 113 + b'"}'),
        ("128-bytes", b'{"command":"' + b"y" * 114 + b'"}'),
    ]
    for t, f in sorted(PAYLOAD_FRAGMENTS.items()):
        texts.append(("fragment-%02x" % t, f))
        texts.append(("fragment-%02x-twice" % t, f + f))
    cases, used = [], set()
    for desc, text in texts:
        body = payload_pack(text)
        if body is not None:
            back, why = payload_unpack(body)
            check(back == text, "payload rows: %s does not unpack back (%s)" % (desc, why))
            used.update(b for b in body if b < 0x20)
        cases.append({"desc": desc, "text_hex": hx(text), "text_len": len(text),
                      "body_hex": hx(body) if body is not None else None})
    check(used == set(range(0x01, 0x20)), "payload rows: tokens never used: %s" %
          sorted(set(range(0x01, 0x20)) - used))
    check(payload_pack(texts[0][1]) is not None and len(payload_pack(texts[0][1])) == 30,
          "payload rows: the imported event payload packs to 30 bytes")
    damaged = [
        ("zero-token", b"ab\x00cd"),
        ("hex-cut", b"\x01" + bytes(range(15))),
        ("expands-to-156", b"\x04\x04\x04"),
        ("expands-to-128", b"\x04\x04" + b"z" * (PAYLOAD_RAW_MAX - 2 * len(PAYLOAD_FRAGMENTS[0x04]))),
    ]
    bad = []
    for desc, body in damaged:
        back, why = payload_unpack(body)
        check(back is None, "payload rows: %s should be damaged" % desc)
        bad.append({"desc": desc, "body_hex": hx(body), "reason": why})
    readable = []
    for desc, body in [("expands-to-127", b"\x04\x04" + b"z" * (PAYLOAD_RAW_MAX - 1 - 2 * len(PAYLOAD_FRAGMENTS[0x04]))),
                       ("literal-only", b"plain"),
                       ("hex-token", b"\x01" + bytes(range(16))), ("empty-body", b"")]:
        back, why = payload_unpack(body)
        check(back is not None, "payload rows: %s should be readable (%s)" % (desc, why))
        readable.append({"desc": desc, "body_hex": hx(body), "text_hex": hx(back)})
    return {
        "about": "Small payload rows of the `payloads` table (FORMAT.md section 5, \"Small payload fragments\"). "
                 "fragments: token -> text. cases: the payload text_hex is stored packed with body_hex "
                 "(encoding 3), or not packed (body_hex null: as it is, encoding 0, under 128 bytes; "
                 "compressed from 128 bytes on); the body unpacks back to the text. "
                 "damaged_bodies: packed bodies every reader refuses (reason names the rule); readable_bodies: "
                 "packed bodies and what they unpack to.",
        "generator": "vectors/gen.py",
        "raw_max": PAYLOAD_RAW_MAX,
        "fragments": [{"token": t, "text": f.decode("ascii")} for t, f in sorted(PAYLOAD_FRAGMENTS.items())],
        "cases": cases,
        "damaged_bodies": bad,
        "readable_bodies": readable,
    }

# --------------------------------------------------------------------------
# main
# --------------------------------------------------------------------------


def render(obj):
    return (json.dumps(obj, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def generate():
    entries = gen_entries()
    return {
        "canonical.json": render(gen_canonical()),
        "entries.json": render(entries),
        "entry-rows.json": render(gen_entry_rows(entries, tree_leaf)),
        "payload-rows.json": render(gen_payload_rows()),
        "trees.json": render(gen_trees()),
        "proofs-json.json": render(gen_proofs_json()),
        "checkpoints.json": render(gen_checkpoints()),
    }


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--out", metavar="DIR", help="write the vector files into DIR")
    g.add_argument("--check", metavar="DIR", help="exit 1 if DIR's files differ from a fresh generation")
    g.add_argument("--self-test", action="store_true", help="only run the self-tests")
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    try:
        self_test(verbose=True)
        if a.self_test:
            return 0
        files = generate()
    except Fail as e:
        print("gen.py: FAILED: %s" % e, file=sys.stderr)
        return 1
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        for name, data in files.items():
            with open(os.path.join(a.out, name), "wb") as f:
                f.write(data)
            print("wrote %s (%d bytes)" % (os.path.join(a.out, name), len(data)))
        return 0
    bad = 0
    for name, data in files.items():
        path = os.path.join(a.check, name)
        try:
            with open(path, "rb") as f:
                old = f.read()
        except OSError as e:
            print("gen.py --check: %s: %s" % (path, e), file=sys.stderr)
            bad += 1
            continue
        if old != data:
            print("gen.py --check: %s differs from a fresh generation" % path, file=sys.stderr)
            bad += 1
    if bad:
        return 1
    print("gen.py --check: %d files reproduce byte for byte" % len(files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
