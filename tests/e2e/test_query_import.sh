#!/usr/bin/env bash
# sealtrail import: a file mixing good audit-log lines, hook events,
# malformed lines and secret-bearing lines. Malformed lines are reported by
# line number and skipped (default) or refuse the whole import (--strict:
# nothing written, from a file or a pipe); secrets never reach the store file
# (raw bytes of data.mdb searched); entries are kind "import" with the
# original time and recorded_us; a hook PostToolUse without duration_ms gets
# it from its PreToolUse in the same file; the store checks afterwards; a
# progress line shows on a terminal only; a directory or missing file is a
# usage error naming it, and a UTF-8 byte order mark before line 1 is skipped;
# SIGINT stops at a batch boundary, names the lines stored and how to resume.
set -euo pipefail
: "${SEALTRAIL:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin query_import
export SEALTRAIL_FAKE_TIME=2025-06-01T00:00:00Z
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
size() { st log --no-payloads | wc -l; }

st init --origin example.com/import-e2e >/dev/null 2>&1
gh=ghp_Zz0123456789abcdefghijABCDEFGHIJ0123
aws=AKIAIOSFODNN7EXAMPLQ
cat > "$work/mixed.jsonl" <<EOF
{"timestamp":"2025-01-10T08:00:00.000Z","toolName":"Bash","input":{"command":"ls"},"output":{"stdout":"a"},"executionTimeMs":12,"error":false,"errorMessage":null,"status":"success"}
this is not json
{"timestamp":"2025-01-10T08:01:00Z","toolName":"Bash","input":{"command":"git push https://user:$gh@github.com/x/y"},"output":{"stdout":"token $gh"},"executionTimeMs":900,"status":"success","sessionId":"s1"}

{"foo":"bar"}
{"hook_event_name":"PreToolUse","timestamp":"2025-01-10T08:02:00Z","session_id":"s1","tool_name":"Bash","tool_input":{"command":"aws s3 ls","env":"AWS_ACCESS_KEY_ID=$aws"},"tool_use_id":"toolu_X"}
{"hook_event_name":"PostToolUse","timestamp":"2025-01-10T08:02:01.500Z","session_id":"s1","tool_name":"Bash","tool_input":{"command":"aws s3 ls"},"tool_response":{"stdout":"key $aws"},"tool_use_id":"toolu_X"}
{"timestamp":"last tuesday","toolName":"Bash","input":{}}
{"timestamp":1736496180000,"toolName":"Edit","input":{"file_path":"/r/a.ts"},"output":null,"executionTimeMs":3,"error":true,"errorMessage":"old_string not found","status":"error"}
EOF
grep -q "$gh" "$work/mixed.jsonl" && grep -q "$aws" "$work/mixed.jsonl" || { echo "fixture lacks its secrets"; exit 1; }

# --- strict: nothing written ---------------------------------------------------------
rc=0; st import --strict "$work/mixed.jsonl" >"$work/out" 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -q "line 2: not JSON" "$work/err" && [ "$(size)" = 0 ] && ok "--strict refuses the file, names line 2, writes nothing" \
  || bad "--strict file: rc $rc, size $(size), $(cat "$work/err")"
rc=0; cat "$work/mixed.jsonl" | st import --strict - >"$work/out" 2>"$work/err" || rc=$?
[ $rc = 2 ] && [ "$(size)" = 0 ] && ok "--strict from a pipe writes nothing" || bad "--strict pipe: rc $rc size $(size)"
head -n 1 "$work/mixed.jsonl" > "$work/one.jsonl"
sed -n 3p "$work/mixed.jsonl" >> "$work/one.jsonl"
out=$(cat "$work/one.jsonl" | st import --strict - 2>/dev/null)
[ "$out" = "imported 2 entries: 0..1" ] && ok "--strict from a pipe imports a clean input" || bad "--strict clean: $out"

# --- unreadable input: usage error, nothing written -----------------------------------------
rc=0; st import "$work" >"$work/out" 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -qF "$work: is a directory" "$work/err" && [ "$(size)" = 2 ] && ok "a directory is refused by name (exit 2), nothing written" \
  || bad "directory: rc $rc, size $(size), $(cat "$work/err")"
rc=0; st import "$work/no-such.jsonl" >"$work/out" 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -qF "no-such.jsonl: No such file" "$work/err" && [ "$(size)" = 2 ] && ok "a missing file is refused by name (exit 2)" \
  || bad "missing: rc $rc, $(cat "$work/err")"
printf '\xef\xbb\xbf' > "$work/bom.jsonl"; head -n 1 "$work/mixed.jsonl" >> "$work/bom.jsonl"
"$SEALTRAIL" --dir "$work/bom" init >/dev/null 2>&1
out=$("$SEALTRAIL" --dir "$work/bom" import --strict "$work/bom.jsonl" 2>"$work/err")
[ "$out" = "imported 1 entries: 0..0" ] && ok "a UTF-8 byte order mark before line 1 is skipped" || bad "bom: $out $(cat "$work/err")"

# --- skip-bad (default) -----------------------------------------------------------------
out=$(st import "$work/mixed.jsonl" 2>"$work/err")
[ "$out" = "imported 5 entries: 2..6" ] && ok "import skips bad lines: 5 of 9 imported" || bad "import: $out / $(cat "$work/err")"
for want in "line 2: not JSON" "line 5: neither a hook event" "line 8: no usable \"timestamp\""; do
  grep -qF "$want" "$work/err" && ok "reports '$want'" || bad "stderr lacks '$want': $(cat "$work/err")"
done
grep -q "1 blank, 3 malformed skipped" "$work/err" && ok "summary counts blank and malformed lines" || bad "summary: $(cat "$work/err")"
# A timestamp of 0 is a missing time written as one: malformed, and the message says why.
printf '{"timestamp":0,"toolName":"Bash","input":{}}\n' > "$work/zero.jsonl"
"$SEALTRAIL" --dir "$work/zero" init >/dev/null 2>&1
rc=0; "$SEALTRAIL" --dir "$work/zero" import --strict "$work/zero.jsonl" >/dev/null 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -qF 'line 1: no usable "timestamp"' "$work/err" && grep -qF '0 is no time' "$work/err" \
  && ok "timestamp 0 is refused, saying that 0 is no time" || bad "timestamp 0: rc $rc, $(cat "$work/err")"
st check >/dev/null && ok "store checks after import" || bad "check"

# --- secrets gone from the raw store ------------------------------------------------------
st seal >/dev/null
# Payload rows are compressed (import's with a dictionary), so the raw search
# alone could miss a secret split by the compressor: the decoded payloads too.
st log > "$work/decoded"
for secret in "$gh" "$aws" "Zz0123456789abcdefghij"; do
  if grep -qaF "$secret" "$work/s/data.mdb"; then bad "secret ${secret:0:8}... found in data.mdb"; else ok "secret ${secret:0:8}... absent from data.mdb"; fi
  if grep -qF "$secret" "$work/decoded"; then bad "secret ${secret:0:8}... in the decoded payloads"; else ok "secret ${secret:0:8}... absent from the decoded payloads"; fi
done
st log | grep -c "REDACTED" | grep -qv '^0$' && ok "redaction markers are in the entries" || bad "no REDACTED markers"

# --- what the entries say ---------------------------------------------------------------------
st log --from 2 --to 6 > "$work/log"
python3 - "$work/log" <<'PY' && ok "imported entries: kind import, original times, recorded_us, events, statuses, duration matched" || bad "entry contents"
import json, sys
e = [json.loads(l) for l in open(sys.argv[1])]
assert [x["kind"] for x in e] == ["import"] * 5
assert all(x["recorded_us"] == 1748736000000000 for x in e), [x.get("recorded_us") for x in e]
assert e[0]["time_us"] == 1736496000000000 and e[0]["event"] == "PostToolUse" and e[0]["status"] == "succeeded" and e[0]["duration_ms"] == 12
assert e[1]["session"] == "s1" and e[1]["redactions"], e[1]
assert "[REDACTED:" in e[1]["content"]["tool_response"]["stdout"]
assert e[2]["event"] == "PreToolUse" and e[2]["time_us"] == 1736496120000000
assert e[3]["event"] == "PostToolUse" and e[3]["duration_ms"] == 1500, e[3]
assert e[3]["content"]["event"]["timestamp"] == "2025-01-10T08:02:01.500Z"
assert e[4]["tool"] == "Edit" and e[4]["status"] == "failed" and e[4]["event"] == "PostToolUseFailure"
assert e[4]["error"] == "old_string not found" and e[4]["content"]["error"] == "old_string not found"
assert e[4]["time_us"] == 1736496180000000
PY
[ "$(st query --path /r/a.ts | jq -r .index)" = 6 ] && ok "imported entries are indexed (path)" || bad "path index after import"
[ "$(st query --status failed --format seed | jq -r .errorMessage)" = "old_string not found" ] && ok "seed output of an imported failure" || bad "seed failure"

# --- odd inputs ----------------------------------------------------------------------------------
rc=0; st import "$work/nope.jsonl" 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -q "No such file" "$work/err" && ok "missing file is a usage error" || bad "missing file: $rc"
printf '{"timestamp":"2025-01-01T00:00:00Z","toolName":"X","input":{}}' | st import - >"$work/out" 2>/dev/null
grep -q "imported 1 entries" "$work/out" && ok "last line without LF is imported" || bad "no-LF line: $(cat "$work/out")"
: > "$work/empty"
[ "$(st import "$work/empty" 2>/dev/null)" = "imported 0 entries" ] && ok "empty file" || bad "empty file"

# --- the store's custom redaction rules apply to import too ---------------------------------------
printf 'rule acme-ticket ACME-[0-9]{6}\n' > "$work/s/redact.conf"
printf '{"timestamp":"2025-02-01T00:00:00Z","toolName":"Bash","input":{"command":"close ACME-123456"},"output":"ok"}\n' | st import - >/dev/null
if grep -qa "ACME-123456" "$work/s/data.mdb" || st log | grep -q "ACME-123456"; then bad "custom rule not applied by import"; else
  st log | grep -q 'REDACTED:acme-ticket' && ok "import applies DIR/redact.conf custom rules" || bad "custom rule marker missing"; fi
printf 'rule broken (\n' > "$work/s/redact.conf"
rc=0; printf '{"timestamp":"2025-02-01T00:00:00Z","toolName":"Bash","input":{}}\n' | st import - 2>"$work/err" >/dev/null || rc=$?
[ $rc = 1 ] && grep -q "redact.conf:1" "$work/err" && ok "a broken redact.conf stops import, naming the line" || bad "broken redact.conf: $rc $(cat "$work/err")"
rm -f "$work/s/redact.conf"

# --- progress: on a terminal every 65536 lines, then cleared; never when stderr is not a terminal ------
python3 - "$work/long.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for ln in range(1, 70001):
        f.write('{"timestamp":"2025-01-01T00:00:00Z","toolName":"X","input":{}}\n' if ln in (1, 65536, 70000) else "\n")
PY
if command -v script >/dev/null; then
  script -qec "$SEALTRAIL --dir $work/s import $work/long.jsonl" /dev/null >"$work/tty" 2>&1 || true
  if grep -qaF $'\r\033[Ksealtrail: import: 65536 lines, 2 entries, 0.1 MiB, ' "$work/tty" &&
     grep -qaF $'\r\033[Ksealtrail: import: 70000 lines, 3 entries, 0.1 MiB, ' "$work/tty" &&
     grep -qaF $'\r\033[Kimported 3 entries: ' "$work/tty"; then ok "progress on a terminal every 65536 lines, then cleared"
  else bad "terminal progress: $(od -c "$work/tty" | head -12)"; fi
else
  echo "skip: no script(1) to give import a terminal"
fi
st import "$work/long.jsonl" >/dev/null 2>"$work/err"
if grep -q " lines, .* entries, " "$work/err"; then bad "progress without a terminal: $(cat "$work/err")"
else grep -q "69997 blank" "$work/err" && ok "no progress line when stderr is not a terminal" || bad "summary: $(cat "$work/err")"; fi

# --- path write-behind: an import leaves no path rows pending; a killed one leaves a store that checks ----
python3 - "$work/paths.jsonl" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    for i in range(30000):
        f.write('{"timestamp":"2025-03-01T00:00:00Z","toolName":"Read","input":{"file_path":"/w/f%d.ts"},"output":"x"}\n' % (i % 97))
PY
before=$(st query --count --path '/w/*')
"$SEALTRAIL" --dir "$work/s" import --batch 200 "$work/paths.jsonl" >/dev/null 2>&1 &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
n=$(st query --count --path '/w/*')
st check >/dev/null 2>"$work/err" && ok "import killed mid-way: the store checks ($((n - before)) path entries)" || bad "check after kill: $(cat "$work/err")"
[ "$(st query --count --path /w/f5.ts)" -le "$(st query --count --path '/w/f5*')" ] && ok "path queries answer after the kill" || bad "path query after kill"
st import "$work/paths.jsonl" >/dev/null 2>&1
[ "$(st query --count --path '/w/*')" = "$((n + 30000))" ] && ok "path query counts pending and merged rows alike" || bad "path count after import: $(st query --count --path '/w/*') want $((n + 30000))"
st check >/dev/null 2>"$work/err" && ok "check after the import that merged the pending rows" || bad "check: $(cat "$work/err")"
st reindex >/dev/null 2>&1 && st check >/dev/null 2>&1 && [ "$(st query --count --path '/w/*')" = "$((n + 30000))" ] &&
  ok "reindex keeps the path answers" || bad "reindex"

# --- a file with malformed lines and not one good line: bad input ------------------------
st init --dir "$work/allbad" --origin example.com/allbad >/dev/null 2>&1
printf 'nope\n{"a":1}\n\n' > "$work/allbad.jsonl"
rc=0; "$SEALTRAIL" --dir "$work/allbad" import "$work/allbad.jsonl" >/dev/null 2>"$work/err" || rc=$?
[ $rc = 2 ] && grep -q "none of its lines could be imported (2 malformed" "$work/err" &&
  [ "$("$SEALTRAIL" --dir "$work/allbad" log --no-payloads | wc -l)" = 0 ] && ok "only malformed lines: exit 2, named" ||
  bad "all malformed: rc $rc $(cat "$work/err")"

# --- Ctrl-C: the import stops at a batch boundary and says how to go on ----------------
# A FIFO makes it deterministic: 25 lines in, two batches of 10 committed,
# SIGINT, then 10 more lines and EOF; the third batch is not appended.
st init --dir "$work/int" --origin example.com/int >/dev/null 2>&1
python3 - "$work/int.jsonl" <<'PY'
import json, sys
with open(sys.argv[1], "w") as f:
    for i in range(35):
        f.write(json.dumps({"timestamp": f"2025-02-01T00:00:{i:02d}Z", "toolName": "Bash",
                            "input": {"command": f"echo {i}"}, "output": {"stdout": str(i)}}) + "\n")
PY
mkfifo "$work/int.fifo"
"$SEALTRAIL" --dir "$work/int" import --batch 10 "$work/int.fifo" >"$work/int.out" 2>"$work/int.err" &
ipid=$!
exec 3>"$work/int.fifo"
head -n 25 "$work/int.jsonl" >&3
n=0; for _ in $(seq 1 100); do
  n=$("$SEALTRAIL" --dir "$work/int" log --no-payloads 2>/dev/null | wc -l); [ "$n" = 20 ] && break; sleep 0.1
done
kill -INT $ipid
sed -n 26,35p "$work/int.jsonl" >&3
exec 3>&-
rc=0; wait $ipid || rc=$?
[ $rc = 130 ] && [ "$("$SEALTRAIL" --dir "$work/int" log --no-payloads | wc -l)" = 20 ] &&
  grep -q "interrupted: lines 1..20 of .*int.fifo are in the store" "$work/int.err" && grep -q "tail -n +21 " "$work/int.err" &&
  grep -q "imported 20 entries: 0..19" "$work/int.out" &&
  ok "SIGINT: two whole batches stay, exit 130, lines 1..20 named with the resume command" ||
  bad "SIGINT: rc $rc, n $n, $(cat "$work/int.out" "$work/int.err")"
tail -n +21 "$work/int.jsonl" | "$SEALTRAIL" --dir "$work/int" import - >/dev/null 2>&1 &&
  [ "$("$SEALTRAIL" --dir "$work/int" query --format seed | python3 -c 'import sys,json; print(",".join(json.loads(l)["input"]["command"][5:] for l in sys.stdin))')" = "$(seq -s, 0 34)" ] &&
  "$SEALTRAIL" --dir "$work/int" check >/dev/null 2>&1 && ok "the resume command imports exactly the rest; check passes" || bad "resume after SIGINT"

e2e_end
