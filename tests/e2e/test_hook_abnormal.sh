#!/usr/bin/env bash
# test_hook_abnormal.sh: `sealtrail hook` when its client or the system
# misbehaves; the event is recorded or spooled, never lost with the process,
# and nothing reaches stdout.
#
#  A. a spool file written whole by a hook killed before its rename
#     (.<name>.tmp): the next hook appends it, not only `hook replay`;
#  B. SIGTERM while the hook waits for a locked store (the client's hook
#     timeout, the user interrupting): the event is spooled, redacted, exit 0,
#     one stderr line naming the signal; the next hook appends it;
#  C. a file size limit (RLIMIT_FSIZE) that the store's growth exceeds: the
#     commit fails with EFBIG instead of SIGXFSZ killing the hook, and the
#     event is spooled;
#  D. a stdin that is never closed (a client or wrapper that does not end
#     it): after SEALTRAIL_STDIN_TIMEOUT_MS without data the bytes read are
#     the event (recorded whole when complete; malformed with their head,
#     the cut word dropped, when not), exit 0, one stderr line, instead of a
#     hook blocked until the client's timeout kills it.
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

# ---- B. SIGTERM while waiting for the store -------------------------------------------------------
B=$T/b
"$SEALTRAIL" --dir "$B" init >/dev/null 2>&1
if ${CC:-cc} -O1 -o "$T/hold_lock" "$SRC/tests/e2e/hold_lock.c" -llmdb 2>"$T/cc.err"; then
    ev toolu_b0 | "$SEALTRAIL" --dir "$B" hook || bad "first hook"
    hold_writer_lock "$T" "$B"
    ev toolu_b1 >"$T/b1.json"
    SEALTRAIL_LOCK_TIMEOUT_MS=30000 "$SEALTRAIL" --dir "$B" hook <"$T/b1.json" >"$T/b.out" 2>"$T/b.err" &
    p=$!
    # the hook catches SIGTERM once its event is prepared (SigCgt bit 15), then waits for the lock
    for _ in $(seq 200); do
        m=$(awk '/^SigCgt:/ {print $2}' "/proc/$p/status" 2>/dev/null) || m=0
        [ $(( 0x${m:-0} & 0x4000 )) -ne 0 ] && break
        sleep 0.02
    done
    sleep 0.2
    kill -TERM "$p"
    rc=0; wait "$p" || rc=$?
    check "SIGTERM while the store is locked: exit 0, nothing on stdout, one stderr line (exit $rc: $(head -c 300 "$T/b.err"))" \
        sh -c '[ "$1" = 0 ] && [ ! -s "$2/b.out" ] && [ "$(wc -l <"$2/b.err")" = 1 ] &&
               grep -q "stopped by SIGTERM before the store took the event; event spooled" "$2/b.err"' _ "$rc" "$T"
    check "... one spool file, redacted" sh -c '[ "$(find "$1/spool" -maxdepth 1 -name "*.rec" | wc -l)" = 1 ]' _ "$B"
    check "... no part of the token in the store directory" no_secret "$B"
    exec 7>&-
    wait "$hp" || true
    ev toolu_b2 | "$SEALTRAIL" --dir "$B" hook || bad "hook after the release"
    check "after the release the next hook appends it: b0, b1, b2 in order" ids_in_order "$B" toolu_b0 toolu_b1 toolu_b2
    check "SIGTERM store passes check" "$SEALTRAIL" --dir "$B" check >/dev/null
else
    echo "skip B: cannot compile the lock helper: $(head -1 "$T/cc.err")"
fi

# ---- C. a file size limit the store's growth exceeds -------------------------------------------------
C=$T/c
"$SEALTRAIL" --dir "$C" init >/dev/null 2>&1
big() {   # big ID BYTES: a PostToolUse whose stdout is BYTES random bytes, base64 (incompressible)
    python3 -c "
import base64,json,os,sys
print(json.dumps({'session_id':'ab','hook_event_name':'PostToolUse','tool_name':'Bash','tool_use_id':sys.argv[1],
                  'tool_input':{'command':'cat blob'},'tool_response':{'stdout':base64.b64encode(os.urandom(int(sys.argv[2]))).decode()}}))" "$@"
}
big toolu_c1 150000 | "$SEALTRAIL" --dir "$C" hook || bad "first big hook"
big toolu_c2 60000 >"$T/c2.json"
limit=$(( $(stat -c %s "$C/data.mdb") / 1024 ))   # 1 KiB blocks: data.mdb cannot grow, a 80 KB spool file fits
rc=0; (ulimit -f "$limit"; exec "$SEALTRAIL" --dir "$C" hook <"$T/c2.json" >"$T/c.out" 2>"$T/c.err") || rc=$?
check "file size limit reached by the commit: exit 0, spooled, one stderr line (exit $rc: $(head -c 300 "$T/c.err"))" \
    sh -c '[ "$1" = 0 ] && [ ! -s "$2/c.out" ] && [ "$(wc -l <"$2/c.err")" = 1 ] && grep -q "cannot append: .*; event spooled" "$2/c.err"' _ "$rc" "$T"
big toolu_c3 10 | "$SEALTRAIL" --dir "$C" hook || bad "hook without the limit"
check "without the limit the next hook appends it: c1, c2, c3 in order" ids_in_order "$C" toolu_c1 toolu_c2 toolu_c3
check "size-limit store passes check" "$SEALTRAIL" --dir "$C" check >/dev/null

# ---- D. stdin never closed -------------------------------------------------------------------------
A=$T/a
"$SEALTRAIL" --dir "$A" init >/dev/null 2>&1
# stall INPUT: the hook reads INPUT from a writer that keeps the pipe open until the hook is done
# (killed after 4 s if it never is)
mkfifo "$T/stdin"
stall() {
    local rc=0 p
    SEALTRAIL_STDIN_TIMEOUT_MS=300 timeout 4 "$SEALTRAIL" --dir "$A" hook <"$T/stdin" >"$T/out" 2>"$T/err" &
    p=$!
    exec 6>"$T/stdin"
    printf '%s' "$1" >&6
    wait "$p" || rc=$?
    exec 6>&-
    [ "$rc" = 0 ] && [ ! -s "$T/out" ] && [ "$(wc -l <"$T/err")" = 1 ] && grep -q "stdin still open after 300 ms without data" "$T/err" ||
        { echo "  exit $rc, stdout '$(head -c 200 "$T/out")', stderr '$(head -c 300 "$T/err")'"; return 1; }
}
check "stdin left open after a whole event: exit 0 within the bound, one stderr line" stall "$(ev toolu_a1)"
check "... the event recorded whole (status started, its tool_use_id)" sh -c '
    "$1" --dir "$2" log --no-payloads | grep -q "\"status\":\"started\".*\"tool_use_id\":\"toolu_a1\""' _ "$SEALTRAIL" "$A"
cut=$(ev toolu_a2)
cut=${cut%%"${GH:12}"*}   # ends inside the token
check "stdin left open inside a value: exit 0 within the bound, one stderr line" stall "$cut"
check "stdin left open with nothing written: exit 0 within the bound, one stderr line" stall ""
"$SEALTRAIL" --dir "$A" log --no-payloads >"$T/a.jsonl"
check "... recorded as malformed, parse_error says stdin stayed open" python3 -c "
import json,sys
E=[json.loads(l) for l in open(sys.argv[1])]
assert len(E)==3, len(E)
for e in E[1:]:
    assert e['status']=='malformed' and e['parse_error'].startswith('stdin still open after 300 ms without data; '), e
assert E[2]['parse_error'].endswith('empty input'), E[2]
assert 'raw' in E[1]['payloads'], E[1]" "$T/a.jsonl"
check "... no part of the token reaches the store" no_secret "$A"
check "stdin store passes check" "$SEALTRAIL" --dir "$A" check >/dev/null

e2e_end
