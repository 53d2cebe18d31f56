#!/usr/bin/env bash
# test_index_upgrade.sh: a store indexed by an older release (index layout
# 3, docs/FORMAT.md section 5), through the real binaries. Such a store has
# no ix_tool4/ix_session4 tables and keeps its tool and session rows in
# ix_tool/ix_session. The hook still records into it (the first writable
# open creates the new tables) and spools nothing; query and check refuse
# it naming `sealtrail reindex`; reindex empties the old tables and
# rebuilds; then check passes and queries answer, the new event included.
# The older store is made with LMDB's own mdb_dump / mdb_load (lmdb-utils).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_begin index_upgrade

if ! command -v mdb_dump >/dev/null || ! command -v mdb_load >/dev/null || ! command -v mdb_stat >/dev/null; then
  echo "SKIP: mdb_dump/mdb_load/mdb_stat (lmdb-utils) not installed"
  exit 0
fi

st() { "$SEALTRAIL" --dir "$work/$1" "${@:2}"; }
st new init --origin example.com/upgrade >/dev/null 2>&1
for i in $(seq 0 29); do
  printf '{"timestamp":"2026-01-01T00:00:%02d.000Z","toolName":"%s","input":{"command":"echo %d"},"output":{"stdout":"%d"},"executionTimeMs":%d,"error":false,"errorMessage":null,"status":"success","sessionId":"s-%d"}\n' \
    "$i" "$([ $((i % 3)) = 0 ] && echo Bash || echo Read)" "$i" "$i" "$((i * 10))" "$((i % 4))"
done > "$work/log.jsonl"
st new import "$work/log.jsonl" >/dev/null 2>&1
st new seal >/dev/null 2>&1

# The older store: every table but the layout-4 ones, a row left in the
# layout-3 tool table, and meta index_layout = 3.
mkdir -m 0700 "$work/old"
cp -p "$work/new/log.key" "$work/new/log.vkey" "$work/old/"
for db in $(mdb_stat -a "$work/new" | sed -n 's/^Status of \(.*\)$/\1/p' | grep -v '^Main DB$'); do
  case "$db" in ix_tool4|ix_session4) continue ;; esac
  mdb_dump -s "$db" "$work/new" > "$work/dump"
  mdb_load -s "$db" -f "$work/dump" "$work/old"
done
hex() { printf '%s' "$1" | od -An -tx1 | tr -d ' \n'; }
{ printf 'VERSION=3\nformat=bytevalue\ndatabase=meta\ntype=btree\nHEADER=END\n'
  printf ' %s\n 0000000000000003\nDATA=END\n' "$(hex index_layout)"; } > "$work/load"
mdb_load -s meta -f "$work/load" "$work/old"
{ printf 'VERSION=3\nformat=bytevalue\ndatabase=ix_tool\ntype=btree\nHEADER=END\n'
  printf ' %s0001%s\n \nDATA=END\n' "$(hex Bash)" "80000000000000000000000000000000"; } > "$work/load"
mdb_load -s ix_tool -f "$work/load" "$work/old"
chmod 0600 "$work/old/data.mdb" "$work/old/lock.mdb"
if mdb_stat -s ix_tool4 "$work/old" >/dev/null 2>&1; then bad "the older store has ix_tool4"; else ok "the older store has no ix_tool4"; fi

ev='{"session_id":"s-9","transcript_path":"/tmp/t.jsonl","cwd":"/repo","permission_mode":"default","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"make test"},"tool_response":{"stdout":"ok","stderr":"","interrupted":false,"isImage":false},"tool_use_id":"toolu_01AbCdEfGhIjKlMnOpQrStUv"}'
printf '%s' "$ev" | st old hook > "$work/out" 2> "$work/err" && ok "the hook records into the older store" || bad "hook: $(cat "$work/err")"
[ ! -s "$work/out" ] && ok "the hook prints nothing" || bad "the hook printed: $(cat "$work/out")"
[ -z "$(ls -A "$work/old/spool" 2>/dev/null)" ] && ok "nothing spooled" || bad "spooled: $(ls "$work/old/spool")"
mdb_stat -s ix_tool4 "$work/old" >/dev/null 2>&1 && ok "the writable open created ix_tool4" || bad "no ix_tool4 after the hook"

expect "query refuses layout 3, naming reindex" 2 "layout 3.*sealtrail reindex" -- st old query --tool Bash
expect "check refuses layout 3, naming reindex" 1 "layout 3.*sealtrail reindex" -- st old check
expect "reindex" 0 "" -- st old reindex
expect "check passes after reindex" 0 "" -- st old check
[ "$(mdb_stat -s ix_tool "$work/old" | sed -n 's/^ *Entries: //p')" = 0 ] && ok "reindex emptied the layout-3 tool table" \
  || bad "ix_tool still has rows"
st old query --tool Bash --format csv > "$work/q.csv"
[ "$(grep -c ',Bash,' "$work/q.csv")" = 11 ] && ok "the query finds the 10 imported and the new Bash entries" \
  || bad "query: $(grep -c ',Bash,' "$work/q.csv") Bash rows"
st old query --session s-9 --format jsonl > "$work/q.jsonl"
[ "$(wc -l < "$work/q.jsonl")" = 1 ] && grep -q '"command":"make test"' "$work/q.jsonl" && ok "the new event by its session" \
  || bad "session query: $(cat "$work/q.jsonl")"

e2e_end
