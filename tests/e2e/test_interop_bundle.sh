#!/usr/bin/env bash
# Third-party bundle verification: tests/interop/bundlecheck, a second
# verifier written in Go from docs/FORMAT.md, docs/VERIFYING.md and
# docs/KEYS.md alone (x/mod note and tlog for signatures and proofs), must
# agree with auditverify on bundles written by `sealtrail export` from a store
# fed through the real `sealtrail hook`: whole log, a range, a time window,
# --tool, --path and --text filters, --from-checkpoint, after an erasure and
# after key rotations, certificates, a revocation and epoch keys (root mode),
# with payloads over the store's cap, and empty selections; with --previous
# (links and forks) and --key-note. Both accept the
# good bundles with the same size, root and counts, and give the same verdict
# (exit code) for tampered copies: flipped bytes in entries, payloads,
# signatures, proofs, truncation, removed and reordered records, other keys'
# signature lines, 150 seeded random mutations; and for forged bundles
# (tests/interop/forge_bundle.py) whose entries are canonical-JSON edge
# cases. [BUNDLE-1..13] [ENTRY-1..10] [PAYLOAD-1..3] [CP-1..5] [TREE-1..3]
# [KEYS-1..13]
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}" "${ST_SOURCE_DIR:?}"
if ! command -v go >/dev/null || [ ! -d /usr/share/gocode/src/golang.org/x/mod/sumdb/note ]; then
  echo "e2e interop_bundle: skipped (install golang-go golang-golang-x-mod-dev; .ci/deps does)"
  echo "e2e interop_bundle: 0 passed, 0 failed"
  exit 0
fi
SHARED=${ST_SHARED_DIR:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
if [ ! -d "$SHARED/claude-code/payloads" ]; then
  echo "e2e interop_bundle: skipped ($SHARED/claude-code/payloads is absent: the bundles are made from those sample events)"
  echo "e2e interop_bundle: 0 passed, 0 failed"
  exit 0
fi
. "$(dirname "$0")/lib.sh"
e2e_begin interop_bundle
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED
gobuild() { GOPATH=/usr/share/gocode GO111MODULE=off GOFLAGS= GOCACHE="$work/gocache" go build -o "$@"; }
gobuild "$work/bundlecheck" "$ST_SOURCE_DIR"/tests/interop/bundlecheck/*.go
gobuild "$work/notecheck" "$ST_SOURCE_DIR/tests/interop/notecheck.go"
BC=$work/bundlecheck
MUT=$ST_SOURCE_DIR/tests/interop/mutate_bundle.py

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
# a small payload cap, so some payloads are stored truncated [PAYLOAD-3]
vkey=$("$SEALTRAIL" --dir "$d" init --origin example.com/interop-bundle --payload-cap 1024 2>/dev/null | tail -n 1)
n=0
for f in "$SHARED"/claude-code/payloads/*.json; do
  [ -e "$f" ] || continue
  "$SEALTRAIL" --dir "$d" hook <"$f" >/dev/null 2>&1 || bad "hook refused $f"
  n=$((n + 1))
  # several checkpoints, one at a power of two, so the bundles carry
  # consistency proofs and roots at sizes inside their spans
  case $n in 5|8|13|21|32|40) "$SEALTRAIL" --dir "$d" seal >"$work/cp.$n" ;; esac
  [ "$n" -ne 21 ] || cp -a "$d" "$work/forked"   # the same key, another history from 21 on
done
[ "$n" -ge 40 ] || { bad "only $n sample payloads in $SHARED/claude-code/payloads"; e2e_end; exit 1; }
"$SEALTRAIL" --dir "$d" seal >/dev/null
ok "$n hook events recorded"
"$SEALTRAIL" --dir "$d" log --no-payloads | grep -q '"truncated":{' && ok "some payloads are over the cap (truncated)" \
  || bad "no truncated payload: the [PAYLOAD-3] case is not exercised"

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
ex prevf.stb --tool Bash --from-checkpoint "$work/cp.8"
ex none-time.stb --until 2000-01-01
ex none-filter.stb --tool no-such-tool   # a filter matching nothing (export refuses unknown statuses)
ex text4096.stb --text "$(head -c 4096 /dev/zero | tr '\0' a)"
ex tool1024.stb --tool "$(head -c 1024 /dev/zero | tr '\0' B),Bash"
ex until2255.stb --since 1970-01-02 --until 2255-01-01
for b in full range range0 tail time tool path text status prev prevf none-time none-filter text4096 tool1024 until2255; do
  agree "$b" "$work/$b.stb" "$vkey"
done
# what no verifier accepts in a manifest, export refuses (FORMAT [BUNDLE-6], [ENTRY-4])
for opt in "--text $(head -c 4097 /dev/zero | tr '\0' a)" "--session $(head -c 1025 /dev/zero | tr '\0' s)" \
           "--until 3000-01-01" "--since 1000-01-01" "--tool Bash --until 9999-12-31"; do
  rm -f "$work/refused.stb"
  # shellcheck disable=SC2086
  expect_exit 2 "export refuses ${opt:0:40}" "$SEALTRAIL" --dir "$d" export --out "$work/refused.stb" $opt
done
e=$work/empty
ekey=$("$SEALTRAIL" --dir "$e" init --origin example.com/interop-empty 2>/dev/null | tail -n 1)
"$SEALTRAIL" --dir "$e" seal >"$work/e.cp0"
"$SEALTRAIL" --dir "$e" export --out "$work/empty.stb" >/dev/null 2>&1
agree "an empty log sealed at size 0" "$work/empty.stb" "$ekey"
"$SEALTRAIL" --dir "$e" hook <"$SHARED/claude-code/payloads/ev-Stop.json" >/dev/null 2>&1
"$SEALTRAIL" --dir "$e" export --seal --out "$work/empty1.stb" --from-checkpoint "$work/e.cp0" >/dev/null 2>&1
agree "--from-checkpoint of size 0 [TREE-3]" "$work/empty1.stb" "$ekey"

# ---- --previous: a checkpoint the auditor holds (steps 1.2, 16) -----------------------
prevagree() {
  local name=$1 b=$2 p=$3 bc=0 av=0
  "$BC" "$b" --trust "$vkey" --previous "$p" >/dev/null 2>"$work/bc.err" || bc=$?
  "$AUDITVERIFY" "$b" --trust "$vkey" --previous "$p" >/dev/null 2>"$work/av.err" || av=$?
  if [ "$bc" -eq "$av" ]; then ok "--previous $name: both exit $bc"
  else bad "--previous $name: bundlecheck $bc ($(head -c 200 "$work/bc.err")), auditverify $av ($(head -c 200 "$work/av.err"))"; fi
}
for k in $(seq 22 32); do
  "$SEALTRAIL" --dir "$work/forked" hook <"$SHARED/claude-code/payloads/ev-Stop.json" >/dev/null 2>&1
  case $k in 23) "$SEALTRAIL" --dir "$work/forked" seal >"$work/cp.fork" ;; 32) "$SEALTRAIL" --dir "$work/forked" seal >"$work/cp.fork2" ;; esac
done
"$SEALTRAIL" --dir "$work/other" init --origin example.com/interop-bundle >/dev/null 2>&1
"$SEALTRAIL" --dir "$work/other" seal >"$work/cp.other"
for b in full range tool prev none-time; do
  for p in cp.5 cp.8 cp.13 cp.21 cp.40 cp.fork cp.fork2 cp.other e.cp0; do
    prevagree "$p with $b" "$work/$b.stb" "$work/$p"
  done
done
python3 - "$work/cp.13" "$work/cp.bad" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
i = len(b) - 10
b[i] = ord("B") if b[i] != ord("B") else ord("C")
open(sys.argv[2], "wb").write(bytes(b))
PY
prevagree "with a changed signature" "$work/range.stb" "$work/cp.bad"

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

# ---- retention: archive bundles, then payloads absent by archive and prune records -----
a=$work/retention
export SEALTRAIL_FAKE_TIME=1483228800   # 2017-01-01, a month more per event
akey=$("$SEALTRAIL" --dir "$a" init --origin example.com/interop-retention 2>/dev/null | tail -n 1)
"$SEALTRAIL" --dir "$a" retention set --min 1y --max 3y --archive-after 1y --reason "interop test" >/dev/null
for m in $(seq 0 40); do
  SEALTRAIL_FAKE_TIME=$((1483228800 + m * 2628000))
  "$SEALTRAIL" --dir "$a" hook <"$SHARED/claude-code/payloads/tool-PostToolUse-Write-create.json" >/dev/null 2>&1
  [ $((m % 7)) -ne 0 ] || "$SEALTRAIL" --dir "$a" seal >/dev/null
done
"$SEALTRAIL" --dir "$a" seal >/dev/null
"$SEALTRAIL" --dir "$a" archive --archive-dir "$work/arch" --max-entries 10 >/dev/null 2>&1 || bad "archive failed"
for z in "$work"/arch/*.stb.zst; do
  [ -e "$z" ] || { bad "no archive file written"; break; }
  if ! command -v zstd >/dev/null; then echo "skip archive bundles: no zstd command to decompress them for bundlecheck"; break; fi
  zstd -qdc "$z" >"$work/archive.stb"
  agree "archive bundle $(basename "$z")" "$work/archive.stb" "$akey"
done
"$SEALTRAIL" --dir "$a" export --out "$work/archived.stb" >/dev/null
agree "payloads absent by archive records [BUNDLE-9]" "$work/archived.stb" "$akey"
SEALTRAIL_FAKE_TIME=$((1483228800 + 60 * 2628000))
"$SEALTRAIL" --dir "$a" prune >/dev/null 2>&1 || bad "prune failed"
"$SEALTRAIL" --dir "$a" export --out "$work/pruned.stb" >/dev/null
"$SEALTRAIL" --dir "$a" export --out "$work/pruned-range.stb" --from 5 --to 12 >/dev/null
agree "payloads absent by prune records" "$work/pruned.stb" "$akey"
agree "a range whose payloads were pruned (prune record as SUPPORT)" "$work/pruned-range.stb" "$akey"
grep -q '^absent .*prune by record' "$work/bc.out" && ok "bundlecheck names the prune record" || bad "no prune reason: $(head -c 300 "$work/bc.out")"
unset SEALTRAIL_FAKE_TIME

# ---- tampered copies: both verifiers give the same verdict --------------------------
# (tests/interop/mutate_bundle.py says what each OP does)
tamper() { python3 "$MUT" "$@"; }

# same NAME BUNDLE...: bundlecheck and auditverify fail with the same exit code
same() {
  local name=$1 b=$2 k=${3:-$vkey} bc=0 av=0
  "$BC" "$b" --trust "$k" >"$work/bc.out" 2>"$work/bc.err" || bc=$?
  "$AUDITVERIFY" "$b" --trust "$k" >/dev/null 2>"$work/av.err" || av=$?
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
for len in 68 5 4100; do
  tamper "$work/full.stb" "$work/sig$len.stb" sig checkpoint -1 "$len" --retrail
  agree "a checkpoint with another key's $len-byte signature line (ignored) [CP-3]" "$work/sig$len.stb" "$vkey"
done
mut full "a checkpoint carries a signature line of 4 bytes (malformed)" sig checkpoint -1 4 --retrail
mut full "a checkpoint carries a signature line of 4101 bytes (malformed)" sig checkpoint -1 4101 --retrail
mut full "a PAYLOAD grown by one byte, trailer recomputed" len payload 0 1 --retrail
mut full "an entry's JSON changed, trailer recomputed" flip entry 3 30 --retrail

# another version's magic line is "unsupported version" (3), anything else "not a bundle" [BUNDLE-1]
for m in 'sealtrail-bundle/v2\n' 'sealtrail-bundle/v10\n' 'sealtrail-bundle/v1.1\n' 'sealtrail-bundle/v123456789012345\n' \
         'sealtrail-bundle/v1234567890123456\n' 'sealtrail-bundle/v\n' 'sealtrail-bundle/v1 \n' 'Sealtrail-bundle/v1\n'; do
  { printf "$m"; tail -c +21 "$work/full.stb"; } >"$work/magic.stb"
  same "magic line $m" "$work/magic.stb"
done

# seeded random single-byte mutations: the same verdict, whatever it is
diverge=0
for seed in $(seq 1 150); do
  src=full
  case $((seed % 5)) in 1) src=range ;; 2) src=tool ;; 3) src=prev ;; esac
  python3 "$MUT" "$work/$src.stb" "$work/r.stb" random - 0 "$seed"
  bc=0 av=0
  "$BC" "$work/r.stb" --trust "$vkey" >/dev/null 2>"$work/bc.err" || bc=$?
  "$AUDITVERIFY" "$work/r.stb" --trust "$vkey" >/dev/null 2>"$work/av.err" || av=$?
  if [ "$bc" -ne "$av" ]; then
    diverge=$((diverge + 1))
    echo "  seed $seed ($src): bundlecheck $bc ($(head -c 200 "$work/bc.err")), auditverify $av ($(head -c 200 "$work/av.err"))"
  fi
done
check "150 random mutations: the same verdict from both ($diverge differ)" [ "$diverge" -eq 0 ]

# ---- root mode: certificates, rotation, revocation, epoch keys [KEYS-9..13] ----------
r=$work/rootstore
"$SEALTRAIL" key root-init --out "$work/root.key" --name example.com/interop-root >"$work/root.vkey" 2>/dev/null
root=$(cat "$work/root.vkey")
k0=$("$SEALTRAIL" --dir "$r" init --origin example.com/interop-root-log 2>/dev/null | tail -n 1)
feed() { for f in "$SHARED"/claude-code/payloads/$1; do "$SEALTRAIL" --dir "$r" hook <"$f" >/dev/null 2>&1; done; "$SEALTRAIL" --dir "$r" seal >/dev/null; }
certify() { "$SEALTRAIL" key certify --root "$work/root.key" --origin example.com/interop-root-log "$1" >"$2" 2>>"$work/keys.err"; }
feed 'tool-*.json'
"$SEALTRAIL" --dir "$r" key request --current >"$work/req0" 2>>"$work/keys.err" && certify "$work/req0" "$work/cert0" &&
  "$SEALTRAIL" --dir "$r" key install --root-vkey "$work/root.vkey" "$work/cert0" >/dev/null 2>>"$work/keys.err" &&
  "$SEALTRAIL" --dir "$r" key request >"$work/req1" 2>>"$work/keys.err" && certify "$work/req1" "$work/cert1" &&
  "$SEALTRAIL" --dir "$r" key install "$work/cert1" >/dev/null 2>>"$work/keys.err" &&
  "$SEALTRAIL" --dir "$r" key rotate >/dev/null 2>>"$work/keys.err" || bad "root mode setup: $(cat "$work/keys.err")"
k1=$("$SEALTRAIL" --dir "$r" verifier-key)
feed 'ev-*.json'
"$SEALTRAIL" --dir "$r" export --out "$work/root-a.stb" >/dev/null
"$SEALTRAIL" --dir "$r" export --out "$work/root-a-tail.stb" --from 40 >/dev/null
agree "root mode: certified keys and a rotation, root trusted" "$work/root-a.stb" "$root"
agree "root mode: the first key pinned carries over the rotation" "$work/root-a.stb" "$k0"
agree "root mode: a range after the rotation, root trusted" "$work/root-a-tail.stb" "$root"
same "root mode: only the new key, checkpoints before it" "$work/root-a.stb" "$k1"
# revoke the first key from an hour ago: its checkpoints after that fail under the root
now=$(date +%s)
"$SEALTRAIL" key revoke --root "$work/root.key" --key "$k0" --after $((now - 3600)) --reason "interop test" >"$work/rev" 2>>"$work/keys.err" &&
  "$SEALTRAIL" --dir "$r" key install "$work/rev" >/dev/null 2>>"$work/keys.err" || bad "revoke: $(cat "$work/keys.err")"
"$SEALTRAIL" --dir "$r" key epochs --count 3 --length 1h >"$work/ereq" 2>>"$work/keys.err" && certify "$work/ereq" "$work/epochs" &&
  "$SEALTRAIL" --dir "$r" key install "$work/epochs" >/dev/null 2>>"$work/keys.err" &&
  "$SEALTRAIL" --dir "$r" key rotate >/dev/null 2>>"$work/keys.err" || bad "epochs: $(cat "$work/keys.err")"
feed 'fail-*.json'
"$SEALTRAIL" --dir "$r" export --out "$work/root-b.stb" >/dev/null
"$SEALTRAIL" --dir "$r" export --out "$work/root-b-f.stb" --status failed >/dev/null
same "root mode: checkpoints of a revoked key, root trusted" "$work/root-b.stb" "$root"
agree "root mode: revocation unknown to a pinned-key auditor (root untrusted)" "$work/root-b.stb" "$k0"
agree "root mode: a filter signed by an epoch key, root trusted" "$work/root-b-f.stb" "$root"
# --key-note: root-signed notes given beside the bundle (step 1.3)
python3 - "$work/rev" "$work/rev.bad" <<'PY'
import sys
b = bytearray(open(sys.argv[1], "rb").read())
b[-10] = ord("B") if b[-10] != ord("B") else ord("C")
open(sys.argv[2], "wb").write(bytes(b))
PY
printf 'not a note\n' >"$work/junk.note"
for spec in "root|$root|rev" "pinned k0, root untrusted|$k0|rev" "root|$root|rev.bad" "root|$root|junk.note" \
            "root|$root|cert0" "root|$root|req1" "root|$root|cert1 --key-note $work/rev"; do
  IFS='|' read -r who key notes <<<"$spec"
  bc=0 av=0
  # shellcheck disable=SC2086
  "$BC" "$work/root-a.stb" --trust "$key" --key-note "$work/"$notes >/dev/null 2>"$work/bc.err" || bc=$?
  # shellcheck disable=SC2086
  "$AUDITVERIFY" "$work/root-a.stb" --trust "$key" --key-note "$work/"$notes >/dev/null 2>"$work/av.err" || av=$?
  if [ "$bc" -eq "$av" ]; then ok "--key-note $notes, $who: both exit $bc"
  else bad "--key-note $notes, $who: bundlecheck $bc ($(head -c 200 "$work/bc.err")), auditverify $av ($(head -c 200 "$work/av.err"))"; fi
done
m=0
for spec in "flip keynote 0 60" "b64 keynote 3 -10" "drop keynote 4 0" "drop keynote -1 0" "swap keynote 0 0" \
            "flip support 3 60" "drop support 2 0" "flip checkpoint -1 25"; do
  m=$((m + 1))
  set -- $spec
  python3 "$MUT" "$work/root-b-f.stb" "$work/rk$m.stb" "$@" --retrail
  same "root mode, key history changed: $spec" "$work/rk$m.stb" "$root"
done

# ---- a payload too large to hold at once (hashed as it streams, [BUNDLE-4]) ------------
g=$work/bigstore
gkey=$("$SEALTRAIL" --dir "$g" init --origin example.com/interop-big 2>/dev/null | tail -n 1)
python3 -c 'import json; print(json.dumps({"session_id": "s", "hook_event_name": "PostToolUse", "tool_name": "Bash",
  "tool_use_id": "t1", "tool_input": {"command": "needle-7f3a"}, "tool_response": {"stdout": "zz \"\\ " * 400000}}))' >"$work/big.json"
"$SEALTRAIL" --dir "$g" hook <"$work/big.json" >/dev/null 2>&1
"$SEALTRAIL" --dir "$g" export --seal --out "$work/big.stb" >/dev/null 2>&1
"$SEALTRAIL" --dir "$g" export --out "$work/bigtext.stb" --text needle-7f3a >/dev/null 2>&1
agree "a 2 MB payload" "$work/big.stb" "$gkey"
agree "a 2 MB payload, --text found in the small one" "$work/bigtext.stb" "$gkey"
# the same bundle claiming a text no payload holds: 11.5 says tampered (1)
python3 - "$work/bigtext.stb" "$work/bignot.stb" <<'PY'
import json, struct, subprocess, sys
b = open(sys.argv[1], "rb").read()
n = struct.unpack(">I", b[21:25])[0]
m = json.loads(b[25:25 + n])
m["selection"]["text"] = "absent-everywhere"
body = json.dumps(m, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
open(sys.argv[2] + ".tmp", "wb").write(b[:21] + struct.pack(">I", len(body)) + body + b[25 + n:])
PY
python3 "$MUT" "$work/bignot.stb.tmp" "$work/bignot.stb" none manifest 0 0 --retrail
bc=0 av=0
"$BC" "$work/bignot.stb" --trust "$gkey" >/dev/null 2>"$work/bc.err" || bc=$?
"$AUDITVERIFY" "$work/bignot.stb" --trust "$gkey" >/dev/null 2>"$work/av.err" || av=$?
if [ "$bc" -eq 1 ] && [ "$av" -eq 1 ]; then ok "text in no payload of an entry with a streamed payload: both exit 1"
else bad "text criterion with a streamed payload: bundlecheck $bc ($(head -c 200 "$work/bc.err")), auditverify $av"; fi

# ---- key notes of every shape, root-signed, put before the checkpoints [KEYS-1..8] -----
# A well-formed note without its SUPPORT entry is tampering (1), a malformed one 2.
K=$vkey
R=$(printf '%s' "$K" | sed 's/^[^+]*+/example.com\/other+/')   # a key string of another name (and key ID)
O=example.com/interop-bundle
while IFS='|' read -r name text; do
  printf "$text" >"$work/kn.txt"
  "$work/notecheck" sign "$work/root.key" "$work/kn.txt" >"$work/kn.note" || { bad "sign $name"; continue; }
  python3 - "$work/full.stb" "$work/kn.tmp" "$work/kn.note" <<'PY'
import struct, sys
b = open(sys.argv[1], "rb").read()
off = 20
while b[off] != 3:                       # before the first CHECKPOINT
    off += 5 + struct.unpack(">I", b[off + 1:off + 5])[0]
note = struct.pack(">Q", 0) + open(sys.argv[3], "rb").read()
open(sys.argv[2], "wb").write(b[:off] + b"\x0d" + struct.pack(">I", len(note)) + note + b[off:])
PY
  python3 "$MUT" "$work/kn.tmp" "$work/kn.stb" none manifest 0 0 --retrail
  bc=0 av=0
  "$BC" "$work/kn.stb" --trust "$vkey" --trust "$root" >/dev/null 2>"$work/bc.err" || bc=$?
  "$AUDITVERIFY" "$work/kn.stb" --trust "$vkey" --trust "$root" >/dev/null 2>"$work/av.err" || av=$?
  if [ "$bc" -eq "$av" ] && [ "$bc" -ne 0 ]; then ok "key note, $name: both exit $bc"
  else bad "key note, $name: bundlecheck $bc ($(head -c 200 "$work/bc.err")), auditverify $av ($(head -c 200 "$work/av.err"))"; fi
done <<NOTES
certificate|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-before 1700000000\nnot-after 1900000000\n
not-before = not-after|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-before 1700000000\nnot-after 1700000000\n
time 253402300799|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-before 1700000000\nnot-after 253402300799\n
time 253402300800|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-before 1700000000\nnot-after 253402300800\n
leading zero|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-before 01700000000\nnot-after 1900000000\n
trailing space|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-before 1700000000 \nnot-after 1900000000\n
fields out of order|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-after 1900000000\nnot-before 1700000000\n
extra field|sealtrail key-certificate v1\norigin $O\nkey $K\nnot-before 1700000000\nnot-after 1900000000\nfoo bar\n
empty line|sealtrail key-certificate v1\norigin $O\n\nkey $K\nnot-before 1700000000\nnot-after 1900000000\n
key of another name|sealtrail key-certificate v1\norigin $O\nkey $R\nnot-before 1700000000\nnot-after 1900000000\n
revocation|sealtrail key-revocation v1\norigin $O\nkey $K\nafter 1900000000\nreason stolen laptop\n
revocation without reason|sealtrail key-revocation v1\norigin $O\nkey $K\nafter 1900000000\n
reason of 200 bytes|sealtrail key-revocation v1\norigin $O\nkey $K\nafter 1900000000\nreason $(head -c 200 /dev/zero | tr '\0' r)\n
reason of 201 bytes|sealtrail key-revocation v1\norigin $O\nkey $K\nafter 1900000000\nreason $(head -c 201 /dev/zero | tr '\0' r)\n
reason with DEL|sealtrail key-revocation v1\norigin $O\nkey $K\nafter 1900000000\nreason a\x7fb\n
reason with invalid UTF-8|sealtrail key-revocation v1\norigin $O\nkey $K\nafter 1900000000\nreason a\xc3b\n
epochs|sealtrail key-epochs v1\norigin $O\nepoch 1700000000 1800000000 $K\n
epochs repeating a key|sealtrail key-epochs v1\norigin $O\nepoch 1700000000 1800000000 $K\nepoch 1800000000 1900000000 $K\n
no epoch line|sealtrail key-epochs v1\norigin $O\n
unknown type|sealtrail key-foo v1\norigin $O\n
a request is not history|sealtrail key-request v1\norigin $O\nkey $K\nnot-before 1700000000\nnot-after 1900000000\n
NOTES

# ---- forged entries: canonical JSON and member types [ENTRY-1..10] -------------------
# Each entry is put alone into a bundle signed by a store's key; both verifiers
# must agree.
f=$work/forge
fkey=$("$SEALTRAIL" --dir "$f" init --origin example.com/interop-forge 2>/dev/null | tail -n 1)
mkdir -p "$work/ent"
python3 - "$work/ent" <<'PY'
import sys
d = sys.argv[1]
def e(extra=b""):
    m = [b'"index":0', b'"kind":"event"', b'"time_us":1', b'"v":1'] + ([extra] if extra else [])
    m.sort(key=lambda x: x[1:x.index(b'"', 1)])
    return b"{" + b",".join(m) + b"}"
cases = {
    "ok-plain": e(), "ok-esc-ctrl": e(b'"a":"\\u001f\\n\\t"'), "ok-raw-del-2028": e(b'"a":"\x7f\xe2\x80\xa8"'),
    "ok-raw-emoji": e(b'"a":"\xf0\x9f\x98\x80"'), "ok-literals": e(b'"a":[true,false,null,{},[]]'),
    "ok-key-prefix": e(b'"a":{"a":1,"ab":2}'), "ok-nonascii-keys": e(b'"z":{"\xc3\xa9":1,"\xef\xbd\x81":2}'),
    "ok-max-int": e(b'"duration_ms":9007199254740991'), "ok-neg-time": b'{"index":0,"kind":"event","time_us":-5,"v":1}',
    "ok-depth-16": e(b'"a":' + b"[" * 15 + b"]" * 15), "ok-unknown-member": e(b'"zz":{"x":"y"}'),
    "bad-space": b'{"index":0, "kind":"event","time_us":1,"v":1}',
    "bad-order": b'{"kind":"event","index":0,"time_us":1,"v":1}',
    "bad-dup": b'{"index":0,"index":0,"kind":"event","time_us":1,"v":1}',
    "bad-fraction": b'{"index":0,"kind":"event","time_us":1.0,"v":1}',
    "bad-exponent": b'{"index":0,"kind":"event","time_us":1e2,"v":1}',
    "bad-neg-zero": b'{"index":0,"kind":"event","time_us":-0,"v":1}',
    "bad-2-53": b'{"index":0,"kind":"event","time_us":9007199254740992,"v":1}',
    "bad-lead-zero": b'{"index":0,"kind":"event","time_us":01,"v":1}',
    "bad-esc-slash": e(b'"a":"\\/"'), "bad-esc-print": e(b'"a":"\\u0041"'),
    "bad-esc-upper": e(b'"a":"\\u001F"'), "bad-esc-u000a": e(b'"a":"\\u000a"'),
    "bad-esc-del": e(b'"a":"\\u007f"'), "bad-esc-pair": e(b'"a":"\\ud83d\\ude00"'),
    "bad-lone-surrogate": e(b'"a":"\\ud83d"'), "bad-raw-surrogate": e(b'"a":"\xed\xa0\x80"'),
    "bad-overlong": e(b'"a":"\xc0\xaf"'), "bad-above-10ffff": e(b'"a":"\xf4\x90\x80\x80"'),
    "bad-raw-ctrl": e(b'"a":"\x01"'), "bad-bom": b"\xef\xbb\xbf" + e(), "bad-trailing-lf": e() + b"\n",
    "bad-depth-17": e(b'"a":' + b"[" * 16 + b"]" * 16), "bad-v-string": b'{"index":0,"kind":"event","time_us":1,"v":"1"}',
    "v2": b'{"index":"x","kind":"event","time_us":1,"v":2}', "bad-no-kind": b'{"index":0,"time_us":1,"v":1}',
    "bad-kind-empty": b'{"index":0,"kind":"","time_us":1,"v":1}', "bad-kind-int": b'{"index":0,"kind":1,"time_us":1,"v":1}',
    "bad-index-other": b'{"index":1,"kind":"event","time_us":1,"v":1}',
    "bad-tool-int": e(b'"tool":1'), "bad-cwd-int": e(b'"cwd":1'), "bad-duration-string": e(b'"duration_ms":"1"'),
    "bad-redactions-neg": e(b'"redactions":{"a":-1}'), "bad-data-array": e(b'"data":[]'),
    "bad-payloads-array": e(b'"payloads":[]'), "bad-payload-name": e(b'"payloads":{"A":{"commit":"' + b"0" * 64 + b'","len":0}}'),
    "bad-commit-upper": e(b'"payloads":{"a":{"commit":"' + b"A" * 64 + b'","len":0}}'),
    "bad-truncated-len": e(b'"payloads":{"a":{"commit":"' + b"0" * 64 + b'","len":5,"truncated":{"len":5,"sha256":"' + b"0" * 64 + b'"}}}'),
    "bad-input-len-string": e(b'"input_len":"1"'), "bad-utf8-replaced-string": e(b'"utf8_replaced":"1"'),
    "bad-parse-error-int": e(b'"parse_error":1'), "bad-withheld-int": e(b'"withheld":1'), "bad-spool-int": e(b'"spool":1'),
}
for name, b in cases.items():
    open("%s/%s" % (d, name), "wb").write(b)
PY
for ent in "$work"/ent/*; do
  name=$(basename "$ent")
  python3 "$ST_SOURCE_DIR/tests/interop/forge_bundle.py" "$work/forged.stb" example.com/interop-forge "$work/notecheck" "$f/log.key" "$ent"
  bc=0 av=0
  "$BC" "$work/forged.stb" --trust "$fkey" >/dev/null 2>"$work/bc.err" || bc=$?
  "$AUDITVERIFY" "$work/forged.stb" --trust "$fkey" >/dev/null 2>"$work/av.err" || av=$?
  case $name in
    ok-*) want=0 ;; v2) want=3 ;; *) want=1 ;;
  esac
  if [ "$bc" -eq "$want" ] && [ "$av" -eq "$want" ]; then
    ok "forged entry $name: both exit $want"
  else
    bad "forged entry $name: want $want, bundlecheck $bc ($(head -c 200 "$work/bc.err")), auditverify $av ($(head -c 200 "$work/av.err"))"
  fi
done
e2e_end
