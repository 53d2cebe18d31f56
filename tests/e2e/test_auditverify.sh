#!/usr/bin/env bash
# test_auditverify.sh: auditverify as an auditor runs it (issue 4): exit codes
# 0/1/2/3 for a genuine bundle, the committed forgeries (tests/forgery/),
# wrong and missing keys, a key taken from the bundle itself, truncation,
# trailing bytes, a flipped byte, an altered payload, a fork (two stores
# under the same key) caught by --previous and by two bundles given together,
# --retention without the current export, --json and --help.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}" "${AUDITVERIFY:?set AUDITVERIFY to the auditverify binary}"
SRC=${ST_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}

. "$(dirname "$0")/lib.sh"
e2e_begin test_auditverify

echo "== committed forgeries"
F="$SRC/tests/forgery"
expect_exit 1 "altered entry with genuine signatures" "$AUDITVERIFY" "$F/altered-entry.stb" --trust "$F/trusted.vkey"
expect_in "$T/err" "root mismatch" "the message names the root mismatch"
expect_exit 3 "re-signed by an attacker key shipped in the bundle" "$AUDITVERIFY" "$F/resigned-by-attacker.stb" --trust "$F/trusted.vkey"
expect_in "$T/err" "signed by no trusted key" "the message says no trusted key signed"
expect_exit 0 "the same bundle verifies only for whoever trusts the attacker key" \
    "$AUDITVERIFY" "$F/resigned-by-attacker.stb" --trust "$F/attacker.vkey"

echo "== a genuine bundle from a real store"
S="$T/s"
"$SEALTRAIL" --dir "$S" init --origin e2e.test/av >/dev/null 2>&1
for f in "${ST_SHARED_DIR:-$SRC/../shared}"/claude-code/payloads/*.json; do
    [ -e "$f" ] || continue
    "$SEALTRAIL" --dir "$S" append "$f" >/dev/null
done
awk 'BEGIN { for (i = 0; i < 40; i++) printf "{\"timestamp\":%d,\"toolName\":\"Bash\",\"input\":{\"command\":\"echo %d\"},\"output\":\"out-%05d\"}\n", 1761955200 + i, i, i }' >"$T/in.jsonl"
"$SEALTRAIL" --dir "$S" import "$T/in.jsonl" >/dev/null 2>&1
"$SEALTRAIL" --dir "$S" seal >"$T/cp1"
K=$("$SEALTRAIL" --dir "$S" verifier-key)
echo "$K" >"$T/k.vkey"
"$SEALTRAIL" --dir "$S" export --out "$T/b.stb" >/dev/null
expect_exit 0 "verifies with --trust KEY" "$AUDITVERIFY" "$T/b.stb" --trust "$K"
expect_in "$T/out" "VERIFIED" "the human report says VERIFIED"
expect_in "$T/out" "checkpoints" "the report lists checkpoints"
expect_exit 0 "verifies with --trust FILE" "$AUDITVERIFY" "$T/b.stb" --trust "$T/k.vkey"
expect_exit 0 "--threads 1" "$AUDITVERIFY" "$T/b.stb" --trust "$K" --threads 1 --quiet
[ ! -s "$T/out" ] && ok "--quiet prints nothing on success" || bad "--quiet printed: $(head -c 200 "$T/out")"
expect_exit 0 "--json" "$AUDITVERIFY" "$T/b.stb" --trust "$K" --json
expect_in "$T/out" '"verdict":"verified"' "--json has the verdict"
expect_in "$T/out" '"exit_code":0' "--json has the exit code"
if command -v python3 >/dev/null; then
    python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" && ok "--json is valid JSON" || bad "--json is not valid JSON"
fi
expect_exit 0 "--list" "$AUDITVERIFY" --list "$T/b.stb"
expect_in "$T/out" "framing and trailer digest: ok" "--list checks the framing"
if [ -w /dev/full ]; then
  expect "--list > /dev/full: exit 2, not 0 with the listing lost" 2 "writing the listing: No space left" -- sh -c '"$1" --list "$2" > /dev/full' _ "$AUDITVERIFY" "$T/b.stb"
fi

echo "== keys"
"$SEALTRAIL" --dir "$T/other" init --origin e2e.test/av >/dev/null 2>&1
expect_exit 3 "a different key of the same name" "$AUDITVERIFY" "$T/b.stb" --trust "$("$SEALTRAIL" --dir "$T/other" verifier-key)"
expect_exit 2 "no --trust at all (the bundle's own key is not used)" "$AUDITVERIFY" "$T/b.stb"
expect_exit 2 "a malformed --trust" "$AUDITVERIFY" "$T/b.stb" --trust "not+a+key"
printf '%s\r\n' "$K" >"$T/crlf.vkey"
expect_exit 2 "a --trust file with CR LF" "$AUDITVERIFY" "$T/b.stb" --trust "$T/crlf.vkey"
expect_in "$T/err" "Windows line ending" "the message names the CR LF"
printf '\357\273\277%s\n' "$K" >"$T/bom.vkey"
expect_exit 2 "a --trust file with a byte order mark" "$AUDITVERIFY" "$T/b.stb" --trust "$T/bom.vkey"
expect_in "$T/err" "byte order mark" "the message names the BOM"
printf '%s\n\0' "$K" >"$T/nul.vkey"
expect_exit 2 "a --trust file with a NUL byte after the key's line" "$AUDITVERIFY" "$T/b.stb" --trust "$T/nul.vkey"
expect_in "$T/err" "NUL byte" "the message names the NUL byte"
expect_exit 2 "the bundle itself as the --trust file" "$AUDITVERIFY" "$T/b.stb" --trust "$T/b.stb"
# the KEY record of the bundle, extracted and passed back, is the genuine key: fine. An
# attacker's bundle carries the attacker's key: see the forgery above (exit 3).
expect_exit 3 "trusting only a key the auditor got from an attacker's bundle does not help the genuine bundle" \
    "$AUDITVERIFY" "$T/b.stb" --trust "$SRC/tests/forgery/attacker.vkey"

echo "== damaged and tampered files"
size=$(stat -c %s "$T/b.stb")
head -c $((size / 2)) "$T/b.stb" >"$T/trunc.stb"
expect_exit 2 "truncated to half" "$AUDITVERIFY" "$T/trunc.stb" --trust "$K"
expect_in "$T/err" "truncated" "the message says truncated"
head -c $((size - 1)) "$T/b.stb" >"$T/trunc1.stb"
expect_exit 2 "one byte short" "$AUDITVERIFY" "$T/trunc1.stb" --trust "$K"
{ cat "$T/b.stb"; printf 'x'; } >"$T/trail.stb"
expect_exit 2 "a byte after the trailer" "$AUDITVERIFY" "$T/trail.stb" --trust "$K"
: >"$T/empty.stb"
expect_exit 2 "an empty file" "$AUDITVERIFY" "$T/empty.stb" --trust "$K"
expect_exit 2 "a missing file" "$AUDITVERIFY" "$T/nope.stb" --trust "$K"
for off in 100 $((size / 3)) $((size / 2)) $((size - 100)); do
    cp "$T/b.stb" "$T/flip.stb"
    b=$(od -An -tu1 -j "$off" -N1 "$T/flip.stb" | tr -d ' ')
    printf "$(printf '\\%03o' $(( (b ^ 4) & 255 )))" | dd of="$T/flip.stb" bs=1 seek="$off" conv=notrunc status=none
    code=0
    "$AUDITVERIFY" "$T/flip.stb" --trust "$K" -q >/dev/null 2>&1 || code=$?
    [ "$code" != 0 ] && ok "byte $off flipped: exit $code" || bad "byte $off flipped: verified"
done
# an altered payload: same length, so the framing stays intact
if grep -q 'out-00017' "$T/b.stb"; then
    sed 's/out-00017/out-00018/' "$T/b.stb" >"$T/pay.stb"
    expect_exit 1 "an altered payload" "$AUDITVERIFY" "$T/pay.stb" --trust "$K"
    expect_in "$T/err" "commitment mismatch" "the message names the commitment mismatch"
else
    bad "payload text not found in the bundle"
fi

if command -v zstd >/dev/null; then
    zstd -q -c "$T/b.stb" >"$T/b.stb.zst"
    expect_exit 0 "a zstd-compressed bundle" "$AUDITVERIFY" "$T/b.stb.zst" --trust "$K" --quiet
    zsize=$(stat -c %s "$T/b.stb.zst")
    head -c $((zsize - 3)) "$T/b.stb.zst" >"$T/ztrunc.stb.zst"
    expect_exit 2 "a truncated .zst" "$AUDITVERIFY" "$T/ztrunc.stb.zst" --trust "$K"
    expect_in "$T/err" "ends inside a frame: truncated" "the message says the compressed file is truncated"
    { cat "$T/b.stb.zst"; echo garbage; } >"$T/zjunk.stb.zst"
    expect_exit 2 "bytes after the zstd frame" "$AUDITVERIFY" "$T/zjunk.stb.zst" --trust "$K"
    expect_in "$T/err" "damaged compressed data" "the message says the compressed data is damaged"
fi

echo "== --previous: consistent, and a fork under the same key"
expect_exit 0 "--previous with a checkpoint of this log" "$AUDITVERIFY" "$T/b.stb" --trust "$K" --previous "$T/cp1"
cp -a "$S" "$T/fork"                       # same key, same first entries
echo '{"timestamp":1761960000,"toolName":"Bash","input":{"command":"rm -rf /"},"output":"gone"}' >"$T/f.jsonl"
"$SEALTRAIL" --dir "$T/fork" import "$T/f.jsonl" >/dev/null 2>&1
"$SEALTRAIL" --dir "$T/fork" seal >"$T/cpfork"
echo '{"timestamp":1761960000,"toolName":"Bash","input":{"command":"ls"},"output":"ok"}' >"$T/g.jsonl"
"$SEALTRAIL" --dir "$S" import "$T/g.jsonl" >/dev/null 2>&1
"$SEALTRAIL" --dir "$S" seal >/dev/null
"$SEALTRAIL" --dir "$S" export --out "$T/b2.stb" >/dev/null
expect_exit 1 "--previous from a fork (same key, same size, other entries)" "$AUDITVERIFY" "$T/b2.stb" --trust "$K" --previous "$T/cpfork"
expect_in "$T/err" "fork" "the message says fork"
"$SEALTRAIL" --dir "$T/fork" export --out "$T/bfork.stb" >/dev/null
expect_exit 0 "the fork's own bundle verifies alone" "$AUDITVERIFY" "$T/bfork.stb" --trust "$K" --quiet
expect_exit 1 "two bundles of the fork, given together: a fork between them" "$AUDITVERIFY" "$T/b2.stb" "$T/bfork.stb" --trust "$K"
expect_in "$T/err" "fork: " "the message names the fork between the bundles"
expect_exit 1 "the same with --json" "$AUDITVERIFY" "$T/b2.stb" "$T/bfork.stb" --trust "$K" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["exit_code"] == 1 and "fork" in d' "$T/out" \
    && ok "--json of the set is valid and names the fork" || bad "--json of the forked set"
expect_exit 0 "two bundles of one history" "$AUDITVERIFY" "$T/b.stb" "$T/b2.stb" --trust "$K" --quiet
expect_exit 0 "--previous from the genuine earlier checkpoint" "$AUDITVERIFY" "$T/b2.stb" --trust "$K" --previous "$T/cp1"
# a fork checkpoint given first and a genuine one after: the fork must not go unchecked
expect_exit 2 "--previous twice is refused, not the last one alone checked" "$AUDITVERIFY" "$T/b2.stb" --trust "$K" --previous "$T/cpfork" --previous "$T/cp1"
expect_in "$T/err" "--previous given twice" "the message says --previous was given twice"
"$SEALTRAIL" --dir "$T/log2" init --origin e2e.test/other-log >/dev/null 2>&1
"$SEALTRAIL" --dir "$T/log2" seal >"$T/cpother"
expect_exit 2 "--previous of another log: cannot be linked, not tamper evidence" "$AUDITVERIFY" "$T/b2.stb" \
    --trust "$K" --previous "$T/cpother"
expect_in "$T/err" "another log" "the message says the checkpoint is of another log"
expect_exit 3 "--previous signed by an untrusted key" "$AUDITVERIFY" "$T/b2.stb" --trust "$K" \
    --previous <("$SEALTRAIL" --dir "$T/other" seal)

echo "== a file that changes while it is verified (regular files are mapped, not read)"
expect_exit 0 "the same bundle through a pipe (read, not mapped)" sh -c 'cat "$1" | "$2" - --trust "$3" --quiet' sh "$T/b.stb" "$AUDITVERIFY" "$K"
if command -v python3 >/dev/null; then
    # The genuine header and first entry, then a 768 MiB payload of zeros
    # (a sparse file): hashing it keeps the verifier reading while the file
    # is truncated (SIGBUS on the mapping) or modified underneath it.
    cat >"$T/mkbig.py" <<'PY'
import struct, sys
d = open(sys.argv[1], 'rb').read()
p = 20
while d[p] != 0x09:
    p += 5 + struct.unpack('>I', d[p + 1:p + 5])[0]
index = d[p + 5:p + 13]
p += 5 + struct.unpack('>I', d[p + 1:p + 5])[0]
n = 768 << 20
head = index + bytes([10]) + b'tool_input' + bytes(16)
with open(sys.argv[2], 'wb') as f:
    f.write(d[:p] + bytes([0x0A]) + struct.pack('>I', n) + head)
    f.truncate(p + 5 + n)
PY
    for how in truncate touch; do
        python3 "$T/mkbig.py" "$T/b.stb" "$T/big.stb"
        got=0
        "$AUDITVERIFY" "$T/big.stb" --trust "$K" --threads 1 >"$T/out" 2>"$T/err" &
        pid=$!
        for _ in $(seq 100); do      # until it has mapped the file (at most 5 s)
            grep -q big.stb "/proc/$pid/maps" 2>/dev/null && break
            sleep 0.05
        done
        if [ "$how" = truncate ]; then truncate -s 100000000 "$T/big.stb"; else touch "$T/big.stb"; fi
        wait "$pid" || got=$?
        [ "$got" = 2 ] && ok "$how while verifying: could not verify (exit 2)" || bad "$how while verifying: exit $got, want 2: $(head -c 300 "$T/err")"
        expect_in "$T/err" "the file changed while it was being verified" "$how while verifying: the message says the file changed"
    done
    rm -f "$T/big.stb"
fi

echo "== --retention: archives without the current export are inconclusive, not compliant"
R="$T/r"
RT0=1483228800
SEALTRAIL_FAKE_TIME=$RT0 "$SEALTRAIL" --dir "$R" init --origin e2e.test/ret 2>/dev/null | tail -n 1 >"$T/r.vkey"
SEALTRAIL_FAKE_TIME=$RT0 "$SEALTRAIL" --dir "$R" retention set --min 7y --max 8y --archive-after 1y --reason e2e >/dev/null
for m in $(seq 0 30); do
    printf '{"hook_event_name":"PostToolUse","session_id":"s","tool_name":"Write","tool_input":{"file_path":"/f%d"},"tool_response":{"ok":true}}' "$m" |
        SEALTRAIL_FAKE_TIME=$((RT0 + m * 2628000)) "$SEALTRAIL" --dir "$R" append >/dev/null
done
export SEALTRAIL_FAKE_TIME=$((RT0 + 31 * 2628000))
"$SEALTRAIL" --dir "$R" seal >/dev/null
"$SEALTRAIL" --dir "$R" archive --archive-dir "$T/ra" --max-entries 10 >/dev/null
"$SEALTRAIL" --dir "$R" export --out "$T/rhot.stb" >/dev/null 2>&1
unset SEALTRAIL_FAKE_TIME
expect_exit 0 "every archive and the current export: compliant" "$AUDITVERIFY" "$T"/ra/archive-*.stb.zst "$T/rhot.stb" \
    --trust "$T/r.vkey" --retention
expect_exit 2 "the archives alone: inconclusive (the newest entries were not given)" "$AUDITVERIFY" "$T"/ra/archive-*.stb.zst \
    --trust "$T/r.vkey" --retention
expect_in "$T/err" "incomplete: entries" "the message names the entries no bundle carries"
expect_in "$T/err" "give a current export" "the message says what to give"

echo "== help"
"$AUDITVERIFY" --help >"$T/help"
expect_in "$T/help" "EXIT STATUS" "--help has an EXIT STATUS section"
expect_in "$T/help" "auditverify audit" "--help has examples"
expect_exit 2 "an unknown option" "$AUDITVERIFY" "$T/b.stb" --trust "$K" --frobnicate

e2e_end
