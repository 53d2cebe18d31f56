#!/usr/bin/env python3
"""forge_bundle.py OUT ORIGIN SIGNER KEYFILE ENTRYFILE...

Writes a full-selection bundle (docs/FORMAT.md section 6) whose entries are
the exact bytes of the ENTRYFILEs (index i = the i-th file; entries without
payloads), sealed by one checkpoint of their size, signed by running
`SIGNER sign KEYFILE TEXT` (tests/interop/notecheck.go: x/mod's signer over
our log.key). Written from the documents, like bundlecheck, so that entry
bytes no exporter would write (canonical-JSON edge cases, member types) can
be put before both verifiers.
"""
import hashlib, struct, subprocess, sys, tempfile, time

out, origin, signer, keyfile = sys.argv[1:5]
entries = [open(f, "rb").read() for f in sys.argv[5:]]

def sha(b): return hashlib.sha256(b).digest()
def leaf(e): return sha(b"\x00" + e)                       # [LEAF-1]
def mth(hs):                                                 # [TREE-1]
    if not hs: return sha(b"")
    if len(hs) == 1: return hs[0]
    k = 1
    while k * 2 < len(hs): k *= 2
    return sha(b"\x01" + mth(hs[:k]) + mth(hs[k:]))

n = len(entries)
root = mth([leaf(e) for e in entries])
import base64
text = "%s\n%d\n%s\ntime %d\n" % (origin, n, base64.b64encode(root).decode(), int(time.time()))
with tempfile.NamedTemporaryFile("w", delete=False) as t:
    t.write(text)
note = subprocess.run([signer, "sign", keyfile, t.name], check=True, capture_output=True).stdout

def canon(obj):
    import json
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

manifest = canon({"begin": 0, "checkpoints": 1, "end": n, "entries": n, "final_size": n,
                  "origin": origin, "selection": {"kind": "full"}, "v": 1})
records = [(0x01, manifest), (0x03, note), (0x08, struct.pack(">Q", 0))]
records += [(0x09, struct.pack(">Q", i) + e) for i, e in enumerate(entries)]
records += [(0x0C, struct.pack(">QQ", n, n))]
magic = b"sealtrail-bundle/v1\n"
body, dg = bytearray(magic), hashlib.sha256(magic)
for t_, b in records:                                        # [BUNDLE-5]
    h = b[:8] + leaf(b[8:]) if t_ == 0x09 else sha(b)
    dg.update(bytes([t_]) + struct.pack(">I", len(b)) + h)
    body += bytes([t_]) + struct.pack(">I", len(b)) + b
body += b"\xff" + struct.pack(">I", 40) + struct.pack(">Q", len(records)) + dg.digest()
open(out, "wb").write(bytes(body))
