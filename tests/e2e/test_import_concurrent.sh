#!/usr/bin/env bash
# A bulk import (30,000 lines, many transactions) while the real hook
# records events into the same store, one process per event as Claude Code
# runs it: every line and every event is stored, query finds the events,
# `check` passes, and data.mdb ends exactly at LMDB's last page.
set -euo pipefail
: "${SEALTRAIL:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin import_concurrent
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/import-concurrent >/dev/null 2>&1
here=$(cd "$(dirname "$0")/../.." && pwd)
python3 "$here/bench/gen_audit.py" 30000 "$work/in.jsonl"

ev='{"session_id":"c1","cwd":"/repo","transcript_path":"/t.jsonl","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"make"},"tool_response":{"stdout":"ok"},"tool_use_id":"tc"}'
st import "$work/in.jsonl" >"$work/import.out" 2>"$work/import.err" &
pid=$!
hooks=0
while kill -0 "$pid" 2>/dev/null || [ "$hooks" -lt 5 ]; do
    printf '%s\n' "$ev" | st hook
    hooks=$((hooks + 1))
done
rc=0
wait "$pid" || rc=$?
check "import exits 0 while hooks record" [ "$rc" -eq 0 ]
size=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
check "every line and every hook event is stored ($size = 30000 + $hooks)" [ "$size" -eq $((30000 + hooks)) ]
check "hook events are found by query" [ "$(st query --session c1 --count)" -eq "$hooks" ]
expect "check passes" 0 "" -- st check
if command -v mdb_stat >/dev/null; then
    pages=$(mdb_stat -e "$work/s" | sed -n 's/^ *Number of pages used: //p')
    psize=$(mdb_stat -e "$work/s" | sed -n 's/^ *Page size: //p')
    bytes=$(stat -c %s "$work/s/data.mdb")
    check "data.mdb ends at LMDB's last page ($bytes = $pages x $psize)" [ "$bytes" -eq $((pages * psize)) ]
else
    echo "skip: mdb_stat (lmdb-utils) is absent: the file-end check did not run"
fi
e2e_end
