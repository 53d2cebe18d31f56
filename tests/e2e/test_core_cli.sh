#!/usr/bin/env bash
# The core commands as a user runs them: init, append, seal, checkpoint,
# verifier-key, check, log, leaf, prove, status; bad input (malformed JSON,
# duplicate keys, invalid UTF-8, over the size cap, unwritable directory,
# missing key, key with mode 0644) gives a clear error, a non-zero exit and
# leaves the store unchanged; kill -9 during appends loses no acknowledged entry.
set -euo pipefail
: "${SEALTRAIL:?}" "${ST_SOURCE_DIR:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin core_cli
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
fixture="$ST_SOURCE_DIR/tests/fixtures/demo-session.jsonl"

# --- init ---------------------------------------------------------------
vkey=$(st init --origin example.com/e2e 2>"$work/init.err" | tail -n 1)
[[ "$vkey" =~ ^example\.com/e2e\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$ ]] && ok "init prints a vkey as the last line" || bad "init vkey: $vkey"
grep -q "auditverify" "$work/init.err" && ok "init tells the next step" || bad "init next step"
[ "$(stat -c %a "$work/s")" = 700 ] && ok "store directory is 0700" || bad "dir mode $(stat -c %a "$work/s")"
[ "$(stat -c %a "$work/s/log.key")" = 600 ] && ok "key file is 0600" || bad "key mode"
[ "$(stat -c %a "$work/s/data.mdb")" = 600 ] && ok "data.mdb is 0600" || bad "data.mdb mode $(stat -c %a "$work/s/data.mdb")"
expect "init refuses an existing store" 1 "already exists" -- st init
[ "$(st verifier-key)" = "$vkey" ] && ok "verifier-key prints the same key" || bad "verifier-key"
expect "init rejects a bad origin" 2 "not a valid origin" -- "$SEALTRAIL" --dir "$work/other" init --origin "bad origin"

# --- append, seal, log, leaf, prove ----------------------------------------
i0=$(sed -n 1p "$fixture" | st append)
i1=$(sed -n 2p "$fixture" | st append -)
sed -n 4p "$fixture" > "$work/ev.json"
i2=$(st append "$work/ev.json" --dir "$work/s")    # options after positionals, --dir after the command
[ "$i0 $i1 $i2" = "0 1 2" ] && ok "append prints contiguous indices" || bad "indices $i0 $i1 $i2"
expect "checkpoint before any seal says so" 1 "no checkpoint" -- st checkpoint
st seal > "$work/cp1"
[ "$(sed -n 2p "$work/cp1")" = 3 ] && ok "seal prints a checkpoint of size 3" || bad "seal size"
cmp -s "$work/cp1" <(st checkpoint) && ok "checkpoint prints the latest seal" || bad "checkpoint differs"
st check > "$work/check" && grep -q "ok: 3 entries" "$work/check" && ok "check passes" || bad "check: $(cat "$work/check")"
[ "$(st log | wc -l)" = 3 ] && ok "log prints 3 lines" || bad "log lines"
st log --from 1 --to 1 | python3 -c 'import json,sys; e=json.loads(sys.stdin.read()); assert e["index"]==1 and e["event"]=="UserPromptSubmit" and "prompt" in e["content"], e' \
  && ok "log --from/--to selects one entry with decoded payloads" || bad "log range"
st leaf --index 2 > "$work/leaf2"
python3 - "$work/leaf2" <<'PY' && ok "leaf bytes are canonical JSON of entry 2" || bad "leaf bytes"
import json, sys
b = open(sys.argv[1], 'rb').read()
v = json.loads(b)
assert v["index"] == 2
assert json.dumps(v, sort_keys=True, separators=(',', ':'), ensure_ascii=False).encode() == b
PY
proof=$(st prove --index 1)
python3 - "$work/leaf2" "$proof" "$(st leaf --index 1 | python3 -c 'import hashlib,sys; print(hashlib.sha256(b"\0"+sys.stdin.buffer.read()).hexdigest())')" <<'PY' && ok "prove --index output has the leaf hash of leaf bytes, sorted keys" || bad "prove output"
import json, sys
p = json.loads(sys.argv[2])
assert p["type"] == "inclusion" and p["index"] == 1 and p["size"] == 3 and len(p["hashes"]) == 2
assert p["leaf_hash"] == sys.argv[3], (p["leaf_hash"], sys.argv[3])
assert sys.argv[2] == json.dumps(p, sort_keys=True, separators=(',', ':'))
PY
expect "prove rejects an index beyond the size" 2 "index must be below size" -- st prove --index 5 --size 3
expect "prove without arguments is a usage error" 2 "give either" -- st prove
# an index past the end is bad input (exit 2, as for prove), and the message names the log size
expect "leaf of a missing entry is bad input" 2 "leaf: entry 99: no such entry \(the log has 3, indexes 0\.\.2\)" -- st leaf --index 99
expect "leaf --index N at the size" 2 "the log has 3" -- st leaf --index 3
expect "leaf --index 2^64-1" 2 "no such entry" -- st leaf --index 18446744073709551615
expect "leaf --index 2^64" 2 "expected a non-negative integer" -- st leaf --index 18446744073709551616
expect "leaf --index -1" 2 "leaf: --index: expected a non-negative integer" -- st leaf --index -1
expect "leaf --index ''" 2 "expected a non-negative integer" -- st leaf --index ''
expect "prove --size past the end names the log size" 2 "size is beyond the log \(the log has 3\)" -- st prove --index 1 --size 99
expect "prove --to past the end names the log size" 2 "size is beyond the log \(the log has 3\)" -- st prove --from 1 --to 99
st status | grep -q "entries:       3" && ok "status shows 3 entries" || bad "status"
st status --json | python3 -c 'import json,sys; s=json.load(sys.stdin); assert s["size"]==3 and s["sealed_size"]==3 and s["unsealed"]==0' && ok "status --json" || bad "status --json"

# --- bad input changes nothing ------------------------------------------------
snapshot() { st log --no-payloads | sha256sum; }
before=$(snapshot)
expect "append: malformed JSON" 2 "offset" -- st append <(printf '{"hook_event_name":"Stop",')
expect "append: duplicate keys" 2 "duplicate key" -- st append <(printf '{"a":1,"a":2}')
expect "append: invalid UTF-8" 2 "UTF-8" -- st append <(printf '{"prompt":"\xff\xfe"}')
expect "append: top-level array" 2 "must be a JSON object" -- st append <(printf '[1,2]')
expect "append: two objects" 2 "offset" -- st append <(printf '{}{}')
expect "append: over the size cap" 2 "larger than 256 MiB" -- st append <(head -c $((256 * 1024 * 1024 + 10)) /dev/zero)
expect "append: missing file, named with the command" 2 "^sealtrail: append: $work/nope.json: No such file" -- st append "$work/nope.json"
expect "append: a directory" 2 "^sealtrail: append: $work: Is a directory" -- st append "$work"
[ "$(snapshot)" = "$before" ] && ok "store unchanged after bad input" || bad "store changed by bad input"
expect "unknown command" 2 "unknown command" -- st frobnicate
expect "open a directory with no store" 1 "sealtrail init" -- "$SEALTRAIL" --dir "$work/empty" status
[ "$(grep -o "$work/empty" "$work/err" | wc -l)" = 1 ] && ok "the missing store's path is named once" || bad "no-store message: $(cat "$work/err")"
mkdir -p "$work/ro" && chmod 500 "$work/ro"
if [ "$(id -u)" -ne 0 ]; then
  expect "init in an unwritable directory" 1 "Permission denied" -- "$SEALTRAIL" --dir "$work/ro/s" init
else
  ok "unwritable-directory case skipped as root (root ignores mode bits)"
fi

# --- key problems: the append is kept, sealing is refused with the fix --------
chmod 644 "$work/s/log.key"
sed -n 5p "$fixture" | st append >/dev/null
expect "seal refuses a key with mode 0644" 1 "0644 are too open.*chmod 600" -- st seal
chmod 600 "$work/s/log.key"
mv "$work/s/log.key" "$work/s/log.key.bak"
expect "seal without the key" 1 "log.key" -- st seal
mv "$work/s/log.key.bak" "$work/s/log.key"
st seal >/dev/null && st check >/dev/null && ok "after restoring the key: seal and check pass" || bad "restore key"

# --- crash: kill -9 appenders in a loop; every acknowledged append survives ---
crash="$work/crash"
"$SEALTRAIL" --dir "$crash" init --origin example.com/crash >/dev/null 2>&1
: > "$work/acked"
for round in $(seq 1 12); do
  ( while :; do
      i=$(sed -n 3p "$fixture" | "$SEALTRAIL" --dir "$crash" append) && echo "$i" >> "$work/acked"
    done ) &
  loop=$!
  sleep 0.$((RANDOM % 3 + 1))
  pkill -9 -P "$loop" 2>/dev/null || true
  kill -9 "$loop" 2>/dev/null || true
  wait "$loop" 2>/dev/null || true
done
"$SEALTRAIL" --dir "$crash" seal >/dev/null
"$SEALTRAIL" --dir "$crash" check >/dev/null && ok "check passes after kill -9 rounds" || bad "check after crashes: $("$SEALTRAIL" --dir "$crash" check 2>&1)"
size=$("$SEALTRAIL" --dir "$crash" status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
missing=0
while read -r i; do [ "$i" -lt "$size" ] || missing=$((missing + 1)); done < "$work/acked"
[ "$missing" -eq 0 ] && [ -s "$work/acked" ] && ok "all $(wc -l < "$work/acked") acknowledged appends present (size $size)" || bad "$missing acknowledged appends lost"
sort -n "$work/acked" | uniq -d | grep -q . && bad "an index was acknowledged twice" || ok "no index acknowledged twice"

e2e_end
