#!/usr/bin/env python3
"""mutate_bundle.py IN OUT OP TYPE NTH ARG [--retrail]

Writes a copy of bundle IN (docs/FORMAT.md section 6) with its NTH record
(0-based, negative from the end) of TYPE changed:

  flip     xor byte ARG of the body (negative: from its end) with 1
  b64      change the base64 character ARG bytes from the body's end
  drop     remove the record
  swap     exchange it with the next record
  trunc    cut the file ARG bytes into the record
  len      add ARG to its length field
  sig      append a signature line of another key carrying ARG bytes
           (key ID and signature) to a note record
  none     change nothing (with --retrail: fix the trailer after an edit)
  random   ARG is a seed: flip, set, delete or insert one byte anywhere
           (TYPE and NTH ignored; biased towards small records)

With --retrail the trailer's count and digest are recomputed [BUNDLE-5],
so only the changed record itself is wrong.
"""
import base64, hashlib, random, struct, sys

TYPES = {"manifest": 1, "key": 2, "checkpoint": 3, "consistency": 4, "previous": 5, "support": 6,
         "inclusion": 7, "frontier": 8, "entry": 9, "payload": 10, "absent": 11, "right": 12,
         "keynote": 13, "trailer": 255}
MAGIC = b"sealtrail-bundle/v1\n"


def records(b):
    recs, off = [], len(MAGIC)
    while off + 5 <= len(b):
        t, n = b[off], struct.unpack(">I", b[off + 1:off + 5])[0]
        recs.append((t, off, n))
        off += 5 + n
    return recs


def retrail(b):
    def sha(x): return hashlib.sha256(x).digest()
    out, dg, count = bytearray(MAGIC), hashlib.sha256(MAGIC), 0
    for t, off, n in records(b):
        body = bytes(b[off + 5:off + 5 + n])
        if t == 255:
            body = struct.pack(">Q", count) + dg.digest()
        else:
            if t in (6, 9):
                h = body[:8] + sha(b"\x00" + body[8:])
            elif t == 10:
                k = body[8]
                h = body[:9 + k] + sha(b"sealtrail/payload/v1\x00" + body[9 + k:25 + k] + body[25 + k:])
            else:
                h = sha(body)
            dg.update(bytes([t]) + struct.pack(">I", n) + h)
            count += 1
        out += bytes([t]) + struct.pack(">I", len(body)) + body
    return out


def main():
    args = [a for a in sys.argv[1:] if a != "--retrail"]
    src, dst, op, tname, nth, arg = args[:6]
    nth, arg = int(nth), int(arg)
    b = bytearray(open(src, "rb").read())
    recs = records(b)
    if op == "random":
        rnd = random.Random(arg)
        if rnd.random() < 0.6:      # inside a random record: small records count as much as payloads
            t, off, n = rnd.choice(recs)
            i = off + rnd.randrange(min(n + 5, 400))
        else:
            i = rnd.randrange(len(b))
        k = rnd.random()
        if k < 0.6:
            b[i] ^= 1 << rnd.randrange(8)
        elif k < 0.75:
            b[i] = rnd.randrange(256)
        elif k < 0.88:
            del b[i]
        else:
            b[i:i] = bytes([rnd.randrange(256)])
    else:
        hits = [r for r in recs if r[0] == TYPES[tname]]
        t, off, n = hits[nth]
        body = off + 5
        if op == "none":
            pass
        elif op == "flip":
            b[body + (arg if arg >= 0 else n + arg)] ^= 1
        elif op == "b64":
            i = body + n + arg
            b[i] = ord("B") if b[i] != ord("B") else ord("C")
        elif op == "drop":
            del b[off:body + n]
        elif op == "swap":
            t2, off2, n2 = recs[recs.index((t, off, n)) + 1]
            b[off:off2 + 5 + n2] = b[off2:off2 + 5 + n2] + b[off:body + n]
        elif op == "trunc":
            del b[off + arg:]
        elif op == "len":
            struct.pack_into(">I", b, off + 1, n + arg)
        elif op == "sig":
            line = ("\u2014 other.example/key %s\n" % base64.b64encode(b"\x01\x02\x03\x04" + b"s" * (arg - 4)).decode()).encode()
            b[body + n:body + n] = line
            struct.pack_into(">I", b, off + 1, n + len(line))
    if "--retrail" in sys.argv:
        b = retrail(b)
    open(dst, "wb").write(bytes(b))


main()
