#!/usr/bin/env bash
# Third-party bundle verification: tests/interop/bundlecheck, a second
# verifier written in Go from docs/FORMAT.md, docs/VERIFYING.md and
# docs/KEYS.md alone (x/mod note and tlog for signatures and proofs), must
# agree with auditverify on bundles written by `sealtrail export` from a store
# fed through the real `sealtrail hook`: whole log, a range, a time window,
# --tool, --path and --text filters, --from-checkpoint, after an erasure and
# after a key rotation. Both accept the good bundles with the same size, root
# and counts, and give the same verdict (exit code) for tampered copies:
# flipped bytes in entries, payloads, signatures, proofs, truncation,
# removed and reordered records. [BUNDLE-1..13] [ENTRY-1..9] [PAYLOAD-1..3]
# [CP-1..5] [TREE-1..3] [KEYS-9..11]
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}" "${ST_SOURCE_DIR:?}"
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note ]; then
  echo "e2e interop_bundle: skipped (install golang-go golang-golang-x-mod-dev; .ci/deps does)"
  echo "e2e interop_bundle: 0 passed, 0 failed"
  exit 0
fi
SHARED=${ST_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
. "$(dirname "$0")/lib.sh"
e2e_begin interop_bundle
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED
GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$work/gocache" \
  go build -o "$work/bundlecheck" "$ST_SOURCE_DIR"/tests/interop/bundlecheck/*.go
BC=$work/bundlecheck

# agree NAME BUNDLE KEY...: both verifiers accept, with the same size, root,
# entry count and payload counts.
agree() {
  local name=$1 b=$2 bc=0 av=0 trust=()
  shift 2
  for k in "$@"; do trust+=(--trust "$k"); done
  "$BC" "$b" "${trust[@]}" >"$work/bc.out" 2>"$work/bc.err" || bc=$?
  "$AUDITVERIFY" "$b" "${trust[@]}" --json >"$work/av.json" 2>"$work/av.err" || av=$?
  if [ "$bc" -ne 0 ] || [ "$av" -ne 0 ]; then
    bad "$name: bundlecheck exit $bc ($(head -c 400 "$work/bc.err")), auditverify exit $av ($(head -c 400 "$work/av.err"))"
    return 0
  fi
  if python3 - "$work/bc.out" "$work/av.json" <<'PY'
import json, sys
bc = {}
for line in open(sys.argv[1]):
    k, _, v = line.rstrip("\n").partition(" ")
    bc.setdefault(k, v)
av = json.load(open(sys.argv[2]))
want = {
    "size": str(av["checkpoints"]["final_size"]),
    "root": av["checkpoints"]["final_root"],
    "entries": str(av["entries"]["count"]),
    "checkpoints": str(av["checkpoints"]["count"]),
    "payloads": "present %d absent %d" % (av["payloads"]["present"], av["absent"]["total"]),
}
diff = [(k, bc.get(k), v) for k, v in want.items() if bc.get(k) != v]
if diff:
    print("  differ (bundlecheck, auditverify):", diff)
    sys.exit(1)
PY
  then ok "$name: both verify; same size $(sed -n 's/^size //p' "$work/bc.out"), root, entries, checkpoints, payloads"
  else bad "$name: bundlecheck and auditverify report different results"
  fi
}

# ---- a store fed through the real hook -------------------------------------------
d=$work/store
vkey=$("$SEALTRAIL" --dir "$d" init --origin example.com/interop-bundle 2>/dev/null | tail -n 1)
n=0
for f in "$SHARED"/claude-code/payloads/*.json; do
  [ -e "$f" ] || continue
  "$SEALTRAIL" --dir "$d" hook <"$f" >/dev/null 2>&1 || bad "hook refused $f"
  n=$((n + 1))
  # several checkpoints, one at a power of two, so the bundles carry
  # consistency proofs and roots at sizes inside their spans
  case $n in 5|8|13|21|32|40) "$SEALTRAIL" --dir "$d" seal >"$work/cp.$n" ;; esac
done
[ "$n" -ge 40 ] || { bad "only $n sample payloads in $SHARED/claude-code/payloads"; e2e_end; exit 1; }
"$SEALTRAIL" --dir "$d" seal >/dev/null
ok "$n hook events recorded"

ex() { local out=$1; shift; "$SEALTRAIL" --dir "$d" export --out "$work/$out" "$@" >/dev/null 2>"$work/ex.err" || bad "export $out $*: $(cat "$work/ex.err")"; }
ex full.stb
ex range.stb --from 6 --to 29
ex range0.stb --from 0 --to 7
ex tail.stb --from 33
ex time.stb --since 1h
ex tool.stb --tool Bash,Edit
ex path.stb --path 'billing/*.py'
ex text.stb --text refunds
ex status.stb --status failed --event PostToolUseFailure
ex prev.stb --from 20 --from-checkpoint "$work/cp.13"
for b in full range range0 tail time tool path text status prev; do agree "$b" "$work/$b.stb" "$vkey"; done

# ---- an erased payload -------------------------------------------------------------
"$SEALTRAIL" --dir "$d" erase --index 3 --reason "interop test" >/dev/null 2>&1 || bad "erase failed"
"$SEALTRAIL" --dir "$d" erase --index 10 --payload tool_input --reason "interop test, one payload" >/dev/null 2>&1 || true
ex erased.stb
ex erased-range.stb --from 2 --to 12
agree "after erase, full" "$work/erased.stb" "$vkey"
agree "after erase, range (erasure records as SUPPORT)" "$work/erased-range.stb" "$vkey"
grep -q '^payloads present [0-9]* absent [1-9]' "$work/bc.out" && ok "bundlecheck reports the erased payloads as absent" || bad "no absent payloads in: $(cat "$work/bc.out")"

# ---- a key rotation (simple mode: the rotation carries the pinned key's trust) ----
if "$SEALTRAIL" --dir "$d" key rotate >/dev/null 2>"$work/rot.err"; then
  newkey=$("$SEALTRAIL" --dir "$d" verifier-key)
  for f in "$SHARED"/claude-code/payloads/tool-*.json; do
    "$SEALTRAIL" --dir "$d" hook <"$f" >/dev/null 2>&1
  done
  "$SEALTRAIL" --dir "$d" seal >/dev/null
  ex rotated.stb
  ex rotated-tail.stb --from 60
  ex rotated-tool.stb --tool Bash
  agree "after rotation, full, old key pinned" "$work/rotated.stb" "$vkey"
  agree "after rotation, range after it, old key pinned" "$work/rotated-tail.stb" "$vkey"
  agree "after rotation, filter, old key pinned" "$work/rotated-tool.stb" "$vkey"
  for v in "$BC" "$AUDITVERIFY"; do
    expect_exit 3 "$(basename "$v"): the new key alone does not vouch for checkpoints before the rotation" \
      "$v" "$work/rotated.stb" --trust "$newkey"
  done
else
  bad "key rotate: $(cat "$work/rot.err")"
fi

# ---- tampered copies: both verifiers give the same verdict --------------------------
# tamper IN OUT OP TYPE NTH ARG: a copy of bundle IN with the NTH record (0-based)
# of TYPE changed. OP flip: xor byte ARG of the body (negative: from its end)
# with 1; b64: change the base64 character ARG (from the end) of the body;
# drop: remove the record; swap: exchange it with the next record; trunc:
# cut the file ARG bytes into the record; len: add ARG to its length field.
tamper() {
  python3 - "$@" <<'PY'
import struct, sys
src, dst, op, tname, nth, arg = sys.argv[1:7]
nth, arg = int(nth), int(arg)
types = {"manifest": 1, "key": 2, "checkpoint": 3, "consistency": 4, "previous": 5, "support": 6,
         "inclusion": 7, "frontier": 8, "entry": 9, "payload": 10, "absent": 11, "right": 12,
         "keynote": 13, "trailer": 255}
b = bytearray(open(src, "rb").read())
recs, off = [], 20
while off < len(b):
    t, n = b[off], struct.unpack(">I", b[off + 1:off + 5])[0]
    recs.append((t, off, n))
    off += 5 + n
hits = [r for r in recs if r[0] == types[tname]]
t, off, n = hits[nth]
body = off + 5
if op == "flip":
    b[body + (arg if arg >= 0 else n + arg)] ^= 1
elif op == "b64":
    i = body + n + arg
    b[i] = ord("B") if b[i] != ord("B") else ord("C")
elif op == "drop":
    del b[off:body + n]
elif op == "swap":
    i = recs.index((t, off, n))
    t2, off2, n2 = recs[i + 1]
    b[off:off2 + 5 + n2] = b[off2:off2 + 5 + n2] + b[off:body + n]
elif op == "trunc":
    del b[off + arg:]
elif op == "len":
    struct.pack_into(">I", b, off + 1, n + arg)
open(dst, "wb").write(bytes(b))
PY
}

# same NAME BUNDLE...: bundlecheck and auditverify fail with the same exit code
same() {
  local name=$1 b=$2 bc=0 av=0
  "$BC" "$b" --trust "$vkey" >"$work/bc.out" 2>"$work/bc.err" || bc=$?
  "$AUDITVERIFY" "$b" --trust "$vkey" >/dev/null 2>"$work/av.err" || av=$?
  if [ "$bc" -eq 0 ] || [ "$av" -eq 0 ] || [ "$bc" -ne "$av" ]; then
    bad "$name: bundlecheck exit $bc ($(head -c 300 "$work/bc.err")); auditverify exit $av ($(head -c 300 "$work/av.err"))"
  else
    ok "$name: both reject it, exit $bc"
  fi
}

t=0
mut() {
  local src=$1 desc=$2
  shift 2
  t=$((t + 1))
  tamper "$work/$src.stb" "$work/t$t.stb" "$@"
  same "$src: $desc" "$work/t$t.stb"
}
mut full "a flipped bit in an entry's JSON" flip entry 4 40
mut full "a flipped bit in an entry's last byte" flip entry 6 -1
mut full "an entry's record index changed" flip entry 2 7
mut full "a flipped bit in a payload" flip payload 3 -2
mut full "a flipped bit in a payload's salt" flip payload 5 20
mut full "a checkpoint signature changed" b64 checkpoint 1 -10
mut full "a checkpoint's size line changed" flip checkpoint 0 20
mut full "a consistency proof hash flipped" flip consistency 0 -1
mut full "the right-hand subtree hash flipped" flip right 0 -1
mut full "the trailer digest flipped" flip trailer 0 -1
mut full "the trailer record count changed" flip trailer 0 7
mut full "a letter of the exporter claim changed" flip manifest 0 -20
mut full "the listed KEY record changed" flip key 0 -3
mut full "a payload record removed" drop payload 2 0
mut full "an entry record removed (with its payloads left behind)" drop entry 5 0
mut full "the last entry removed" drop entry -1 0
mut full "two payload records swapped" swap payload 0 0
mut full "a record's length field grown" len entry 1 1
mut full "truncated inside an entry" trunc entry 3 30
mut full "truncated before the trailer" trunc trailer 0 0
mut full "truncated inside the trailer" trunc trailer 0 20
mut range "the frontier hash flipped" flip frontier 0 -1
mut range "the first entry removed" drop entry 0 0
mut tool "an inclusion proof hash flipped" flip inclusion 1 -1
mut tool "an inclusion proof removed" drop inclusion 0 0
mut tool "a filtered entry removed (count no longer matches)" drop entry 0 0
mut prev "the PREVIOUS checkpoint's signature changed" b64 previous 0 -10
mut prev "the consistency proof from PREVIOUS flipped" flip consistency -1 -1
mut erased "the ABSENT record points at another record" flip absent 0 -1
mut erased "an erasure SUPPORT entry changed" flip support 0 40
mut erased-range "the erasure's inclusion proof flipped" flip inclusion 0 -1
if [ -e "$work/rotated.stb" ]; then
  mut rotated "the rotation KEYNOTE changed" flip keynote 0 40
  mut rotated "the rotation KEYNOTE's signature changed" b64 keynote 0 -10
  mut rotated "the rotation SUPPORT entry's note changed" flip support 0 60
  mut rotated "the rotation KEYNOTE removed" drop keynote 0 0
fi
e2e_end
