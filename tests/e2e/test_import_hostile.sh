#!/usr/bin/env bash
# sealtrail import and tail against hostile and real-world input:
#  - line shapes audit hooks really write ({timestamp, session, tool, cwd,
#    success} from a jq one-liner; the hook's stdin with "ts" added; epoch ms
#    as a string; "+0200" offsets; durations as strings; "success": false)
#    and the real Claude Code payloads, one per line;
#  - secrets in every position (keys, nested values, errorMessage, toolName,
#    sessionId, cwd, tool_use_id; a PEM key right after a dash) absent from
#    data.mdb and from log, query, tail and seed output;
#  - malformed lines (truncated, trailing garbage, NUL, deep nesting, not an
#    object) reported by line number, skipped or (--strict, exit 2) refusing
#    all; CRLF, invalid UTF-8 and a missing last newline accepted; a FIFO;
#    a read-only store refused saying why (when not run as root); closed
#    stdin/stdout/stderr not taken over by the store's files;
#  - tail prints what query prints, one JSON object a line, ends quietly
#    when its reader goes away, and -f steps aside for an erase's compaction
#    (which then succeeds) and goes on with the entries after it, and holds
#    no snapshot while its reader stalls (the store file does not grow).
set -euo pipefail
: "${SEALTRAIL:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin import_hostile
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/import-hostile >/dev/null 2>&1
P="$(dirname "$0")/../../../shared/claude-code/payloads"
[ -d "$P" ] || P=

# --- shapes real audit hooks write -----------------------------------------------------------
cat > "$work/shapes.jsonl" <<'EOF'
{"timestamp":"2025-01-15T12:30:00+02:00","session":"s1","tool":"Edit","cwd":"/r","success":true}
{"timestamp":"2025-01-15T10:30:00Z","session_id":"s1","tool":"Bash"}
{"session_id":"s1","transcript_path":"/t","cwd":"/r","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_response":{"stdout":"a"},"event":"post_tool_use","ts":"2025-01-15T11:30:00+01:00"}
{"timestamp":"1736937000000","toolName":"Bash","input":{"command":"ls"},"output":"a","executionTimeMs":"41","status":"success"}
{"timestamp":"2025-01-15T10:30:00.000+0000","toolName":"Bash","input":{"command":"false"},"output":"","success":false}
EOF
if [ -n "$P" ]; then for f in "$P"/*.json; do tr -d '\n' < "$f"; echo; done >> "$work/shapes.jsonl"; fi
n=$(wc -l < "$work/shapes.jsonl")
out=$(st import --strict "$work/shapes.jsonl" 2>"$work/err") || true
[ "$out" = "imported $n entries: 0..$((n - 1))" ] && ok "audit-hook shapes and the real payloads import (--strict, $n lines)" \
  || bad "shapes: $out $(cat "$work/err")"
st log --to 4 --no-payloads > "$work/log"
python3 - "$work/log" <<'PY' && ok "shapes: original times, tool, session, duration and status" || bad "shape entries: $(cat "$work/log")"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
assert all(x["time_us"] == 1736937000000000 for x in e), [x["time_us"] for x in e]
assert e[0]["tool"] == "Edit" and e[0]["session"] == "s1" and e[0]["cwd"] == "/r" and e[0]["status"] == "succeeded"
assert e[1]["tool"] == "Bash" and e[1]["event"] == "PostToolUse", e[1]
assert e[2]["event"] == "PostToolUse" and e[2]["tool"] == "Bash", e[2]
assert e[3]["duration_ms"] == 41, e[3]
assert e[4]["status"] == "failed" and e[4]["event"] == "PostToolUseFailure", e[4]
PY

# --- secrets in every position ------------------------------------------------------------------
gh=ghp_Zz0123456789abcdefghijABCDEFGHIJ0123
aws=AKIAIOSFODNN7EXAMPLQ
pem='-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bqSECRETPEMBODYxyz0123456789abcdefABCDEF\n-----END RSA PRIVATE KEY-----'
cat > "$work/sec.jsonl" <<EOF
{"timestamp":"2025-01-15T10:30:00Z","toolName":"Bash","input":{"command":"echo $gh","$aws":"as a key","n":[{"x":{"password":"hunter2hunter2"}}]},"output":{"stdout":"$aws"},"errorMessage":"failed: $gh","status":"error","sessionId":"sess-$aws","cwd":"/home/$gh","toolUseId":"$gh"}
{"timestamp":"2025-01-15T10:30:00Z","toolName":"$gh","input":"$aws","output":"x------BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7bqSECRETPEMBODYxyz0123456789abcdefABCDEF\n-----END RSA PRIVATE KEY-----"}
{"timestamp":"2025-01-15T10:30:00Z","toolName":"Bash","input":{"note":"sess-$pem"},"output":"DATABASE_URL=postgres://admin:S3cr3tPassw0rd@db.example.com/x"}
{"hook_event_name":"PostToolUse","timestamp":"2025-01-15T10:30:00Z","session_id":"$gh","tool_name":"Bash","tool_input":{"command":"curl -H 'Authorization: Bearer $gh'"},"tool_response":{"stdout":"$aws","$gh":1},"tool_use_id":"$aws","cwd":"/x/$gh"}
{"hook_event_name":"UserPromptSubmit","session_id":"a","prompt":"my key is $gh and ----$pem"}
EOF
st import "$work/sec.jsonl" >/dev/null 2>&1
st seal >/dev/null
st log > "$work/dec"; st query > "$work/q"; st query --format seed > "$work/qs"; st tail --from 0 > "$work/t"
leaks=
for secret in Zz0123456789abcdefghij "$aws" hunter2hunter2 S3cr3tPassw0rd SECRETPEMBODY; do
  for f in "$work/s/data.mdb" "$work/dec" "$work/q" "$work/qs" "$work/t"; do
    if grep -qaF "$secret" "$f"; then leaks="$leaks ${secret:0:8}..@$(basename "$f")"; fi
  done
done
[ -z "$leaks" ] && ok "no secret in data.mdb nor in log, query, seed or tail output" || bad "secrets found:$leaks"
grep -q 'REDACTED:private-key' "$work/dec" && ok "a PEM key after dashes is redacted as private-key" || bad "no private-key marker"

# --- malformed lines --------------------------------------------------------------------------------
G='{"timestamp":"2025-01-15T10:30:00Z","toolName":"Bash","input":{"command":"ls"}}'
{ echo "$G"
  echo '{"timestamp":"2025-01-15T10:30:00Z","toolName":"Bash","input":{"comm'
  echo "$G trailing"
  printf '%s\r\n' "$G"
  printf '{"timestamp":"2025-01-15T10:30:00Z","toolName":"B\0ash","input":{}}\n'
  printf '{"timestamp":"2025-01-15T10:30:00Z","toolName":"B\xff\xfeash","input":{}}\n'
  python3 -c 'print("{\"timestamp\":\"2025-01-15T10:30:00Z\",\"toolName\":\"X\",\"input\":" + "[" * 100000 + "]" * 100000 + "}")'
  echo '[1,2]'
  printf '%s' "$G"; } > "$work/bad.jsonl"
size0=$(st log --no-payloads | wc -l)
expect "--strict refuses the file naming line 2 (exit 2)" 2 "line 2: not JSON" -- st import --strict "$work/bad.jsonl"
[ "$(st log --no-payloads | wc -l)" = "$size0" ] && ok "--strict wrote nothing" || bad "--strict wrote entries"
for both in "--strict --skip-bad" "--skip-bad --strict"; do
  expect "import $both: conflicting options refused (exit 2)" 2 "--strict and --skip-bad exclude each other" -- st import $both "$work/bad.jsonl"
done
[ "$(st log --no-payloads | wc -l)" = "$size0" ] && ok "... and nothing written" || bad "conflicting --strict/--skip-bad wrote entries"
st import "$work/bad.jsonl" >"$work/out" 2>"$work/err"
grep -q "^imported 4 entries" "$work/out" && ok "skip-bad imports the 4 good lines (CRLF, bad UTF-8, no final LF)" || bad "skip-bad: $(cat "$work/out" "$work/err")"
for want in "line 2: not JSON" "line 3: not JSON" "line 5: not JSON" "line 7: not JSON: offset" "line 8: not a JSON object"; do
  grep -qF "$want" "$work/err" && ok "reports '$want'" || bad "stderr lacks '$want': $(cat "$work/err")"
done
rm -f "$work/fifo"; mkfifo "$work/fifo"
{ echo "$G"; echo "$G"; } > "$work/fifo" &
out=$(st import "$work/fifo" 2>/dev/null); wait $!
[ "${out%%:*}" = "imported 2 entries" ] && ok "a FIFO is read like a file" || bad "fifo: $out"
lk=$(stat -c %s "$work/s/lock.mdb")
st import "$work/bad.jsonl" <&- >&- 2>&- || true     # closed descriptors: the store's files must not take them
if [ "$(stat -c %s "$work/s/lock.mdb")" = "$lk" ] && ! grep -qa "sealtrail: import" "$work/s/lock.mdb" "$work/s/data.mdb" "$work/s/gate"; then
  ok "with stdin, stdout and stderr closed, no diagnostic lands in the store's files"
else bad "diagnostics written into the store's files"; fi
st check >/dev/null && ok "the store checks" || bad "check"

if [ "$(id -u)" != 0 ]; then            # root writes anywhere
  "$SEALTRAIL" --dir "$work/ro" init >/dev/null 2>&1; chmod -R a-w "$work/ro"
  expect "a read-only store: import says why (exit 1)" 1 "Permission denied" -- "$SEALTRAIL" --dir "$work/ro" import "$work/bad.jsonl"
  chmod -R u+w "$work/ro"
else
  echo "skip: a read-only store (running as root)"
fi

# --- tail ------------------------------------------------------------------------------------------------
st tail --from 0 > "$work/t"
st query > "$work/q"
python3 - "$work/t" "$work/q" <<'PY' && ok "tail prints what query prints, one JSON object a line, in index order" || bad "tail vs query"
import json, sys
t = [json.loads(l) for l in open(sys.argv[1])]
q = [json.loads(l) for l in open(sys.argv[2])]
assert [x["index"] for x in t] == list(range(len(t))) and sorted(q, key=lambda x: x["index"]) == t
PY
rc=0; st tail -f --from 0 | head -n 1 >/dev/null || rc=$?
[ $rc = 0 ] && ok "tail -f ends quietly when its reader goes away" || bad "tail -f | head: $rc"
expect "tail --from -1 is a usage error" 2 "non-negative" -- st tail --from -1
size=$(st log --no-payloads | wc -l)
"$SEALTRAIL" --dir "$work/s" tail -f --from "$((size - 1))" --interval 20 > "$work/tf" 2>"$work/tf.err" &
tp=$!
e2e_at_exit "kill $tp 2>/dev/null"
for _ in $(seq 100); do [ -s "$work/tf" ] && break; sleep 0.05; done
rc=0; SEALTRAIL_GATE_WAIT_MS=4000 st erase --index 1 --reason "hostile test" >"$work/er" 2>&1 || rc=$?
[ $rc = 0 ] && grep -q "store compacted" "$work/er" && ok "erase compacts while tail -f runs (tail steps aside)" || bad "erase with tail -f: rc $rc $(cat "$work/er")"
echo "$G" | st import - >/dev/null 2>&1
for _ in $(seq 100); do [ "$(wc -l < "$work/tf")" -ge 3 ] && break; sleep 0.05; done
kill -INT $tp; rc=0; wait $tp || rc=$?
python3 - "$work/tf" "$size" <<'PY' && [ $rc = 0 ] && ok "tail -f goes on after the compaction: the erasure record and the next entry" || bad "tail -f after compaction: rc $rc $(cat "$work/tf.err")"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
n = int(sys.argv[2])
assert [x["index"] for x in e] == [n - 1, n, n + 1], [x["index"] for x in e]
assert e[2]["kind"] == "import"
PY
st check >/dev/null && ok "the store checks after the erase" || bad "check after erase"

# --- a shipper that stops reading: tail -f holds no snapshot while blocked, so the store does not grow ------
python3 "$(dirname "$0")/../../bench/gen_audit.py" 3000 "$work/3k.jsonl" >/dev/null
for d in a b; do "$SEALTRAIL" --dir "$work/$d" init >/dev/null 2>&1; "$SEALTRAIL" --dir "$work/$d" import "$work/3k.jsonl" >/dev/null 2>&1; done
mkfifo "$work/stall"
"$SEALTRAIL" --dir "$work/b" tail -f --from 0 > "$work/stall" &
sp=$!
e2e_at_exit "kill $sp 2>/dev/null"
exec 8<"$work/stall"                        # opened, never read: tail blocks in write
sleep 0.5
for i in $(seq 60); do for d in a b; do echo "$G" | "$SEALTRAIL" --dir "$work/$d" import - >/dev/null 2>&1; done; done
sa=$(stat -c %s "$work/a/data.mdb"); sb=$(stat -c %s "$work/b/data.mdb")
kill $sp 2>/dev/null; exec 8<&-
[ "$sb" -le $((sa + sa / 4)) ] && ok "a stalled tail -f does not make the store grow ($sb bytes, $sa without it)" \
  || bad "a stalled tail -f grew the store: $sb bytes, $sa without it"


# --- line endings: CRLF and LF mixed import; CR alone (classic Mac) is one line, and the error says why ------
cr() { "$SEALTRAIL" --dir "$work/cr" "$@"; }
cr init --origin example.com/cr >/dev/null 2>&1
L='{"timestamp":"2025-01-10T08:00:00.000Z","toolName":"Bash","input":{"command":"ls"},"output":null,"status":"success"}'
printf '%s\r%s\r%s\r' "$L" "$L" "$L" > "$work/cr.jsonl"
expect "a CR-only file: nothing imported, exit 2, the error names the carriage return" 2 \
  "line 1: not JSON: .*a carriage return at offset 116 ends no line here: lines end with LF or CRLF, not CR alone" -- cr import "$work/cr.jsonl"
printf '%s\r\n%s\n\r\n%s\r\n' "$L" "$L" "$L" > "$work/mixed.jsonl"
expect "CRLF and LF mixed (and a blank CRLF line): all imported" 0 "3 lines|4 lines" -- cr import "$work/mixed.jsonl"
[ "$(cr query --count)" = 3 ] && ok "three entries from the mixed file" || bad "mixed: $(cr query --count)"
printf '%s\r\n%s\r\n%s\rX\r\n%s\n' "$L" "$L" "$L" "$L" > "$work/crmid.jsonl"
expect "a CR inside line 3 of a CRLF file: line 3 is reported, the others imported" 0 \
  "line 3: not JSON: .*carriage return at offset 116" -- cr import "$work/crmid.jsonl"
grep -q "line [124]:" "$work/err" && bad "another line reported: $(cat "$work/err")" || ok "only line 3 is reported"
printf '{"timestamp":"2025-01-10T08:00:00.000Z",\r"toolName":"Read","input":{},"status":"success"}\n' > "$work/crws.jsonl"
expect "a CR as JSON whitespace inside a valid line imports" 0 "" -- cr import "$work/crws.jsonl"

e2e_end
