#!/usr/bin/env bash
# Tool names with a comma or a backslash (an MCP server may name its tools
# anything): --tool takes a comma-separated list, so \, is a comma inside a
# name and \\ a backslash, and a repeated --tool adds values. query, stats
# and export read the same list syntax; export once kept only the last --tool.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin query_tool_comma
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/comma-e2e >/dev/null 2>&1
l() { printf '{"timestamp":"2025-01-10T08:00:0%s.000Z","toolName":"%s","input":{"n":%s},"output":null,"executionTimeMs":5,"status":"success"}\n' "$1" "$2" "$1"; }
# in JSON: C:\\tool is C:\tool, x\\,y is x\,y
{ l 0 'mcp__db__get,put'; l 1 'Bash'; l 2 'mcp__db__get'; l 3 'put'; l 4 'C:\\tool'; l 5 'x\\,y'; } > "$work/in.jsonl"
st import "$work/in.jsonl" >/dev/null 2>&1
st seal >/dev/null 2>&1
q() { st query "$@" | jq -r .index | paste -sd, -; }
check_q() { local want=$1; shift; local got; got=$(q "$@"); [ "$got" = "$want" ] && ok "query $* -> [$want]" || bad "query $*: got [$got], want [$want]"; }
check_q 0 --tool 'mcp__db__get\,put'
check_q 2,3 --tool 'mcp__db__get,put'              # unescaped: two names
check_q 0,1 --tool 'mcp__db__get\,put,Bash'
check_q 0,1 --tool 'mcp__db__get\,put' --tool Bash  # repeated: adds
check_q 4 --tool 'C:\tool'                          # a lone backslash is itself
check_q 4 --tool 'C:\\tool'
check_q 5 --tool 'x\\\,y'                           # backslash, then an escaped comma
[ "$(st query --tool 'mcp__db__get\,put' --format seed | jq -r .toolName)" = 'mcp__db__get,put' ] && ok "the name prints unescaped" || bad "seed name"
st stats --tool 'mcp__db__get\,put' --format json | jq -e '.tools | length == 1 and .[0].tool == "mcp__db__get,put"' >/dev/null \
  && ok "stats --tool with an escaped comma" || bad "stats: $(st stats --tool 'mcp__db__get\,put' --format json)"
st export --out "$work/b.stb" --tool 'mcp__db__get\,put' --tool Bash >"$work/out" 2>"$work/err" \
  && grep -q 'wrote .*: 2 entries' "$work/out" && ok "export: an escaped comma, and a repeated --tool adds (it once replaced)" \
  || bad "export: $(cat "$work/out" "$work/err")"
"$AUDITVERIFY" "$work/b.stb" --trust "$(st verifier-key)" >/dev/null 2>&1 && ok "the bundle verifies" || bad "auditverify"
expect "query --tool '\\,' is one comma, not empty" 0 "" -- st query --tool '\,' --count
expect "query --tool ',' is empty values" 2 "empty value" -- st query --tool ','
expect "query --tool ''" 2 "empty value" -- st query --tool ''
# the error quotes the value as typed (the list is unescaped in place) and names the one problem
expect "query --tool 'a\\,b,': an empty value, quoted as typed" 2 "query: --tool: 'a\\\\,b,': an empty value in the list$" -- st query --tool 'a\,b,'
expect "stats --session with 17 values: too many, quoted as typed" 2 "stats: --session: 'x\\\\\\\\y,(.*,)?q': more than 16 values" \
  -- st stats --session 'x\\y,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q'
e2e_end
