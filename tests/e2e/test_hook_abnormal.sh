#!/usr/bin/env bash
# test_hook_abnormal.sh: `sealtrail hook` when its client or the system
# misbehaves; the event is recorded or spooled, never lost with the process,
# and nothing reaches stdout.
#
#  A. a spool file written whole by a hook killed before its rename
#     (.<name>.tmp): the next hook appends it, not only `hook replay`.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}"
SRC=${ST_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"
e2e_begin test_hook_abnormal
e2e_at_exit 'exec 6>&- 7>&- 2>/dev/null'
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED SEALTRAIL_LOCK_TIMEOUT_MS SEALTRAIL_STDIN_TIMEOUT_MS

GH=ghp_AbnormalT0kenValue1234567890abcdefWX   # ghp_ + 36
ev() {   # ev ID [EVENT]: a small tool event with a token in its command
    printf '{"session_id":"ab","hook_event_name":"%s","tool_name":"Bash","tool_input":{"command":"git push https://x:%s@github.com/o/r %s"},"tool_use_id":"%s"}\n' \
        "${2:-PreToolUse}" "$GH" "$1" "$1"
}
entries() { "$SEALTRAIL" --dir "$1" status | awk '/^entries:/ {print $2}'; }
ids_in_order() {   # ids_in_order STORE ID... : the log holds exactly these tool_use_ids, in this order
    local st=$1; shift
    "$SEALTRAIL" --dir "$st" log --no-payloads | python3 -c "
import json,sys
got=[json.loads(l).get('tool_use_id','') for l in sys.stdin]
want=sys.argv[1:]
assert got==want, (got, want)" "$@"
}
no_secret() { ! grep -r -a -q -F "$GH" "$1" && ! grep -r -a -q -F "${GH:0:16}" "$1"; }
break_store() { mv "$1/data.mdb" "$1/data.away"; mkdir "$1/data.mdb"; }
repair_store() { rmdir "$1/data.mdb"; mv "$1/data.away" "$1/data.mdb"; }

# ---- A. a killed hook's spool file written whole: the next hook appends it ------------------------------
D=$T/d
"$SEALTRAIL" --dir "$D" init >/dev/null 2>&1
ev toolu_d1 | "$SEALTRAIL" --dir "$D" hook || bad "d1"
break_store "$D"
ev toolu_d2 | "$SEALTRAIL" --dir "$D" hook 2>/dev/null || bad "spooling d2"
repair_store "$D"
rec=$(ls "$D/spool" | grep '\.rec$')
mv "$D/spool/$rec" "$D/spool/.${rec%%-*}-2000000000-000001.rec.tmp"   # as left by a hook killed before its rename
rc=0; ev toolu_d3 | "$SEALTRAIL" --dir "$D" hook >"$T/d.out" 2>"$T/d.err" || rc=$?
check "a whole dot-name of a dead hook and no .rec: the next hook runs silently (exit $rc)" \
    sh -c '[ "$1" = 0 ] && [ ! -s "$2/d.out" ] && [ ! -s "$2/d.err" ]' _ "$rc" "$T"
check "... and appends it: d1, d2, d3; nothing left in the spool" sh -c '
    [ -z "$(ls -A "$1/spool" | grep -E "\.(tmp|rec)\$")" ]' _ "$D"
ids_in_order "$D" toolu_d1 toolu_d2 toolu_d3 && ok "d1, d2, d3 in order" || bad "d1, d2, d3 in order"
check "dot-name store passes check" "$SEALTRAIL" --dir "$D" check >/dev/null

e2e_end
