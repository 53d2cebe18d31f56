#!/usr/bin/env bash
# query, stats, tail and reindex as a user runs them, on a store built by
# importing a hand-written audit log of ten calls (so every expected answer
# below is written out by hand): each filter and combinations, relative times
# under a fixed clock, sorting, the five formats (seed field by field against
# the imported line, CSV parsed back with quotes/commas/newlines, the table's
# width), --with-proof proofs recomputed here from the leaf bytes up to the
# signed checkpoint's root, stats figures, tail -f seeing entries appended
# and sealed by other processes, reindex + check.
set -euo pipefail
: "${SEALTRAIL:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin query
tailpid=
e2e_at_exit '[ -z "$tailpid" ] || kill "$tailpid" 2>/dev/null'
export SEALTRAIL_FAKE_TIME=2025-06-01T00:00:00Z
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
# q ARGS...: the indices a query returns, comma-separated
q() { st query "$@" | jq -r .index | paste -sd, -; }
check_q() {  # check_q WANT ARGS...
  local want=$1; shift
  local got; got=$(q "$@")
  [ "$got" = "$want" ] && ok "query $* -> [$want]" || bad "query $*: got [$got], want [$want]"
}

st init --origin example.com/query-e2e >/dev/null 2>&1
tok=ghp_0123456789abcdefghijABCDEFGHIJ012345
cat > "$work/audit.jsonl" <<EOF
{"timestamp":"2025-01-10T08:00:00.000Z","toolName":"Bash","input":{"command":"cat src/auth/login.ts"},"output":{"stdout":"ok"},"executionTimeMs":120,"error":false,"errorMessage":null,"status":"success","sessionId":"s1"}
{"timestamp":"2025-02-15T09:00:00.000Z","toolName":"Edit","input":{"file_path":"/repo/src/auth/login.ts","old_string":"a","new_string":"b"},"output":{"ok":true},"executionTimeMs":15,"error":false,"errorMessage":null,"status":"success","sessionId":"s1"}
{"timestamp":"2025-03-01T10:00:00.000Z","toolName":"Bash","input":{"command":"npm test"},"output":{"stdout":"","stderr":"FAIL x"},"executionTimeMs":4187,"error":true,"errorMessage":"Exit code 1\nFAIL x","status":"error","sessionId":"s2"}
{"timestamp":"2025-03-05T11:00:00.250Z","toolName":"Write","input":{"file_path":"/repo/README.md","content":"x"},"output":null,"executionTimeMs":7,"error":false,"errorMessage":null,"status":"success","sessionId":"s2"}
{"timestamp":"2025-03-20T12:00:00.000Z","toolName":"Read","input":{"file_path":"/repo/src/billing/refund.py"},"output":{"lines":3},"executionTimeMs":3,"error":false,"errorMessage":null,"status":"success","sessionId":"s1"}
{"timestamp":"2025-04-02T13:00:00.000Z","toolName":"Bash","input":{"command":"echo \"a,b\" > out.csv\nprintf 'x'"},"output":{"stdout":""},"executionTimeMs":55,"error":false,"errorMessage":null,"status":"success","sessionId":"s3"}
{"timestamp":"2025-04-10T14:00:00.000Z","toolName":"WebFetch","input":{"url":"https://x.test/very/long/url/that/goes/on/and/on/for/a/while/so/the/table/must/cut/it/somewhere/sensible"},"output":null,"executionTimeMs":30550,"error":true,"errorMessage":"cancelled by user","status":"cancelled","sessionId":"s3"}
{"timestamp":"2025-05-01T15:00:00.000Z","toolName":"Edit","input":{"file_path":"/repo/src/auth/session.ts"},"output":{"ok":true},"executionTimeMs":9,"error":false,"errorMessage":null,"status":"success","sessionId":"s2"}
{"timestamp":"2025-05-20T16:00:00.000Z","toolName":"Bash","input":{"command":"export GITHUB_TOKEN=$tok; git push"},"output":{"stdout":"pushed"},"executionTimeMs":800,"error":false,"errorMessage":null,"status":"success","sessionId":"s1"}
{"timestamp":"2025-05-25T17:00:00.000Z","toolName":"Grep","input":{"pattern":"TODO","path":"/repo/src"},"output":{"count":2},"executionTimeMs":22,"error":false,"errorMessage":null,"status":"success","sessionId":"s3"}
EOF
out=$(st import "$work/audit.jsonl" 2>"$work/import.err")
[ "$out" = "imported 10 entries: 0..9" ] && ok "import of the audit log" || bad "import: $out $(cat "$work/import.err")"

# --- filters, alone and combined ------------------------------------------------
check_q 0,2,5,8 --tool Bash
check_q 1,3,7 --tool Edit,Write
check_q 2 --status failed
check_q 6 --status interrupted
check_q 2,6 --event PostToolUseFailure
check_q 0,1,4,8 --session s1
check_q 3,7 --session s2 --status succeeded
check_q 3,4,5,6,7,8,9 --since 90d                       # fixed clock: since 2025-03-03T00:00Z
check_q 8,9 --since 2w
check_q 2,3,4,5 --since 2025-03-01 --until 2025-04-10
check_q 0,1,2,3,4 --until 2025-03-20T12:00:00.000001Z
# bounds finer than the stored microsecond: since <= t < until over real time
check_q 0,1,2,3,4 --until 2025-03-20T12:00:00.000000001Z
check_q 0,1,2,3 --until 2025-03-20T12:00:00.000000000Z
check_q 5,6,7,8,9 --since 2025-03-20T12:00:00.0000000001Z
check_q 4,5,6,7,8,9 --since 2025-03-20T12:00:00.0000000000Z
check_q 4 --since 2025-03-20T11:59:59.9999999Z --until 2025-03-20T12:00:00.0000001Z
check_q 0,1,7 --path auth
check_q 1,4,7,9 --path '/repo/src*'
check_q 0,1,7 --path '*.ts'
check_q 1,7 --path 'src/auth/*' --tool Edit
check_q 2,6 --min-duration 1000
check_q "" --text ghp_
check_q 8 --text REDACTED
check_q 2 --text 'FAIL x'
check_q 6,2,8 --sort duration --reverse --limit 3
check_q 8,5 --tool Bash --since 90d --reverse
check_q 5,8 --tool Bash --since 90d --min-duration 50
check_q "" --tool Nope
[ "$(st query --tool Bash --count)" = 4 ] && ok "--count" || bad "--count: $(st query --tool Bash --count)"
st query --tool Bash --since 90d --explain 2>&1 >/dev/null | grep -q "driver tool" && ok "--explain names the tool index" || bad "--explain"
n=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
st query --since 90d --explain 2>&1 >/dev/null | grep -q "driver time, estimate $n rows" && ok "--explain on the time index estimates the log size ($n), not 2^64-1" || bad "--explain time: $(st query --since 90d --explain 2>&1 >/dev/null)"
rc=0; st query --sort size 2>"$work/err" >/dev/null || rc=$?
[ $rc = 2 ] && grep -q "not time or duration" "$work/err" && ok "bad --sort is a usage error" || bad "bad --sort: $rc"
rc=0; st query --since yesterday 2>"$work/err" >/dev/null || rc=$?
[ $rc = 2 ] && grep -q "RFC 3339" "$work/err" && ok "bad --since is a usage error" || bad "bad --since: $rc"

# --- formats ---------------------------------------------------------------------
st query --tool Bash --format seed > "$work/seed.out"
python3 - "$work/audit.jsonl" "$work/seed.out" <<'PY' && ok "seed format reproduces the imported lines field by field" || bad "seed format"
import json, sys
src = [json.loads(l) for l in open(sys.argv[1])]
out = [json.loads(l) for l in open(sys.argv[2])]
want_keys = ["timestamp", "toolName", "input", "output", "executionTimeMs", "error", "errorMessage", "status"]
assert [list(o.keys()) for o in out] == [want_keys] * 4, [list(o.keys()) for o in out]
for o, i in zip(out, [0, 2, 5]):       # 8 had its token redacted
    s = src[i]
    for k in want_keys:
        assert o[k] == s[k], (i, k, o[k], s[k])
assert out[3]["input"]["command"].startswith("export GITHUB_TOKEN=[REDACTED:"), out[3]
PY
st query --status interrupted --format seed | jq -e '.status == "error" and .error == true and .errorMessage == "cancelled by user"' >/dev/null \
  && ok "seed maps interrupted to status error" || bad "seed interrupted"
st query --format csv > "$work/out.csv"
python3 - "$work/out.csv" <<'PY' && ok "csv: header, RFC 4180 quoting of commas, quotes and newlines" || bad "csv"
import csv, json, sys
raw = open(sys.argv[1], newline='').read()
assert raw.endswith("\r\n")
rows = list(csv.reader(open(sys.argv[1], newline='')))
assert rows[0] == ["index","time","kind","event","tool","status","duration_ms","session","tool_use_id","cwd","error","input","output"], rows[0]
assert len(rows) == 11
r5 = rows[6]
assert r5[0] == "5" and r5[4] == "Bash" and r5[6] == "55", r5
assert json.loads(r5[11])["command"] == "echo \"a,b\" > out.csv\nprintf 'x'", r5[11]
assert rows[3][10] == "Exit code 1" and rows[3][5] == "failed", rows[3]
assert rows[1][1] == "2025-01-10T08:00:00.000000Z"
PY
COLUMNS=100 st query --format table > "$work/table"
python3 - "$work/table" <<'PY' && ok "table: header, aligned, cells cut to the width" || bad "table"
import sys
lines = open(sys.argv[1], encoding="utf-8").read().splitlines()
assert lines[0].split()[:7] == ["INDEX", "TIME", "TOOL", "EVENT", "STATUS", "MS", "DETAIL"], lines[0]
assert len(lines) == 11
assert all(len(l) <= 100 for l in lines), max(len(l) for l in lines)
assert lines[7].endswith("\u2026") and "WebFetch" in lines[7], lines[7]
assert len({l.index("TIME") if i == 0 else l.index("2025") for i, l in enumerate(lines)}) == 1
PY
# every status fits its column uncut (as every event name does): "interrupted" is not "interrup…"
COLUMNS=100 st query --status interrupted --format table | awk 'NR == 2 { print $6 }' | grep -qx interrupted \
  && ok "table: the status interrupted is shown uncut" || bad "table status: $(COLUMNS=100 st query --status interrupted --format table)"
st query --tool Edit --format json | jq -e 'length == 2 and .[0].index == 1 and .[1].content.tool_input.file_path == "/repo/src/auth/session.ts"' >/dev/null \
  && ok "json format is one array with decoded content" || bad "json format"

# --- proofs ----------------------------------------------------------------------------
st seal > "$work/cp"
echo '{"hook_event_name":"PostToolUse","session_id":"s9","tool_name":"Bash","tool_input":{"command":"true"},"tool_response":{},"tool_use_id":"toolu_late"}' | st append >/dev/null
st query --tool Bash --with-proof > "$work/proofs" 2>"$work/proofs.err"
for i in 0 2 5 8 10; do st leaf --index $i > "$work/leaf$i"; done
python3 - "$work/proofs" "$work/cp" "$work" <<'PY' && ok "--with-proof: proofs recompute to the signed checkpoint root; unsealed entry has null" || bad "with-proof"
import base64, hashlib, json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
cp = open(sys.argv[2]).read().split("\n")
size, root = int(cp[1]), base64.b64decode(cp[2])
h = lambda b: hashlib.sha256(b).digest()
def root_from(index, size, leaf, path):          # RFC 9162 2.1.3.2
    fn, sn, r = index, size - 1, leaf
    for p in path:
        if sn == 0: raise ValueError("proof too long")
        if fn & 1 or fn == sn:
            r = h(b"\1" + p + r)
            if not fn & 1:
                while fn and not fn & 1: fn >>= 1; sn >>= 1
        else:
            r = h(b"\1" + r + p)
        fn >>= 1; sn >>= 1
    if sn != 0: raise ValueError("proof too short")
    return r
assert [e["index"] for e in lines] == [0, 2, 5, 8, 10]
for e in lines[:4]:
    p = e["proof"]
    assert list(p.keys()) == sorted(p.keys()) and p["type"] == "inclusion"
    leaf = h(b"\0" + open(f"{sys.argv[3]}/leaf{e['index']}", "rb").read())
    assert p["leaf_hash"] == leaf.hex() and p["index"] == e["index"] and p["size"] == size
    assert bytes.fromhex(p["root"]) == root
    assert root_from(p["index"], p["size"], leaf, [bytes.fromhex(x) for x in p["hashes"]]) == root
assert lines[4]["proof"] is None
PY
grep -q "1 result(s) are not sealed yet" "$work/proofs.err" && ok "--with-proof warns about unsealed results" || bad "unsealed warning"
rc=0; st query --with-proof --format csv >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] && ok "--with-proof refuses csv" || bad "--with-proof csv: $rc"

# --- stats -----------------------------------------------------------------------------
st stats --format json > "$work/stats.json"
jq -e '.tools[0].tool == "WebFetch" and (.tools[] | select(.tool == "Bash") |
       .entries == 5 and .calls == 5 and .failures == 1 and .total_ms == 5162 and .p50_ms == 120 and .p95_ms == 4187 and .max_ms == 4187 and .with_duration == 4)' \
  "$work/stats.json" >/dev/null && ok "stats all time (aggregates)" || bad "stats: $(cat "$work/stats.json")"
st stats --since 90d --format json | jq -e '(.tools[] | select(.tool == "Bash") | .entries == 3 and .p50_ms == 55 and .p95_ms == 800 and .exact == true)
       and ([.tools[].tool] | index("Edit") != null)' >/dev/null && ok "stats --since 90d (exact)" || bad "stats window"
st stats --session s3 --format json | jq -e '[.tools[].tool] == ["WebFetch","Bash","Grep"] and .tools[0].failure_rate == 1' >/dev/null \
  && ok "stats --session" || bad "stats session: $(st stats --session s3 --format json)"
# --session takes a list in stats as in query (one parser): s1,s3 is two sessions, not one named "s1,s3"
sum_entries() { jq '[.tools[].entries] | add // 0'; }
n13=$(st stats --session s1,s3 --format json | sum_entries)
n1=$(st stats --session s1 --format json | sum_entries); n3=$(st stats --session s3 --format json | sum_entries)
[ "$n13" -gt 0 ] && [ "$n13" = $((n1 + n3)) ] && [ "$n13" = "$(st query --session s1,s3 --count)" ] \
  && ok "stats --session s1,s3: both sessions, as query --session s1,s3 ($n13 entries)" || bad "stats --session s1,s3: $n13, s1 $n1 + s3 $n3"
cmp -s <(st stats --session s1 --session s3 --format json) <(st stats --session s1,s3 --format json) \
  && ok "stats: a repeated --session adds values, as in query" || bad "stats --session s1 --session s3: $(st stats --session s1 --session s3 2>&1)"
st stats --session s1,s3,s1 --format json | jq -e '.sessions == ["s1","s3"] and (has("session") | not)' >/dev/null \
  && ok "stats JSON names several sessions as \"sessions\"" || bad "stats sessions: $(st stats --session s1,s3,s1 --format json | head -c 200)"
[ "$(st stats --session 's1\,s3' --format json | sum_entries)" = 0 ] && [ "$(st query --session 's1\,s3' --count)" = 0 ] \
  && ok "stats and query: \\, is a comma inside a session id" || bad "escaped comma in --session"
st stats --help | tr -s ' \n' ' ' | grep -qF -- "--session ID[,ID...]" && st stats --help | tr -s ' \n' ' ' | grep -qF "lists as in 'sealtrail query'" \
  && st query --help | tr -s ' \n' ' ' | grep -qF "'sealtrail stats' reads its --tool and --session lists the same way" \
  && ok "query and stats --help say the lists are read alike" || bad "--help on session lists"
st stats | head -1 | grep -q "^TOOL .*P95_MS" && ok "stats table header" || bad "stats table"
# a window or session with no calls says none match, not that none were recorded (the log has ten)
st stats --session nosuch | tail -1 | grep -qx '(no tool calls match)' && st stats --since 2030-01-01 | tail -1 | grep -qx '(no tool calls match)' \
  && ok "stats with a filter that matches nothing: no tool calls match" || bad "stats empty filter: $(st stats --session nosuch)"
cmp -s <(st stats --json) "$work/stats.json" && ok "stats --json is --format json" || bad "stats --json differs"

# --- tail ------------------------------------------------------------------------------
[ "$(st tail -n 2 | jq -r .index | paste -sd, -)" = "9,10" ] && ok "tail -n 2" || bad "tail -n 2"
[ "$(st tail --from 9 | jq -r .index | paste -sd, -)" = "9,10" ] && ok "tail --from 9" || bad "tail --from"
"$SEALTRAIL" --dir "$work/s" tail -f --from 10 --interval 20 > "$work/tail.out" 2>"$work/tail.err" &
tailpid=$!
for n in 1 2 3; do
  echo "{\"hook_event_name\":\"PostToolUse\",\"session_id\":\"s9\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":\"echo $n\"},\"tool_response\":{}}" | st append >/dev/null
  if [ $n = 2 ]; then st seal >/dev/null; fi
done
for _ in $(seq 100); do [ "$(wc -l < "$work/tail.out")" -ge 4 ] && break; sleep 0.05; done
kill -INT "$tailpid"; rc=0; wait "$tailpid" || rc=$?; tailpid=
[ "$(jq -r .index "$work/tail.out" | paste -sd, -)" = "10,11,12,13" ] && [ $rc = 0 ] \
  && ok "tail -f sees entries appended (and sealed) by other processes; SIGINT exits 0" || bad "tail -f: rc $rc, $(jq -r .index "$work/tail.out" | paste -sd, -) $(cat "$work/tail.err")"
rc=0; st tail -f --from 0 --interval 20 | head -n 1 > /dev/null || rc=$?
[ $rc = 0 ] && ok "tail -f ends cleanly when the reader goes away" || bad "tail -f | head: $rc"

# --- reindex, check ------------------------------------------------------------------------
before=$(st query --path auth --format jsonl | sha256sum)
st reindex >/dev/null && st check >/dev/null && ok "reindex then check" || bad "reindex/check"
[ "$(st query --path auth --format jsonl | sha256sum)" = "$before" ] && ok "same answers after reindex" || bad "answers changed after reindex"
st query --help | grep -q "examples:" && st stats --help | grep -q "examples:" && st tail --help | grep -q "examples:" \
  && st import --help | grep -q "examples:" && st reindex --help | grep -q "examples:" && ok "--help with examples" || bad "--help"

e2e_end
