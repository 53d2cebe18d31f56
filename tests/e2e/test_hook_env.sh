#!/usr/bin/env bash
# test_hook_env.sh: the hook where its environment says little, and its seal.
#
#  1. without $USER and $LOGNAME the recorded user is the account's name from
#     the password database (the static build reads /etc/passwd itself,
#     tools/sealtrail/pwfile.c);
#  2. without $HOME, $XDG_STATE_HOME and $SEALTRAIL_DIR the default store is
#     <home from the password database>/.local/state/sealtrail;
#  3. Stop and SessionEnd seal in the append's own transaction: one new
#     checkpoint covering the event; when that seal fails (signing key
#     missing) the event is still recorded, exit 0, one line on stderr, and
#     the next Stop with the key back seals everything.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}"
. "$(dirname "$0")/lib.sh"
e2e_begin test_hook_env
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED

S=$T/store
"$SEALTRAIL" --dir "$S" init >/dev/null 2>&1
me=$(id -un)
home=$(python3 -c 'import os, pwd; print(pwd.getpwuid(os.geteuid()).pw_dir)')

# ---- 1. user name from the password database ---------------------------------------------
rc=0
printf '%s\n' '{"session_id":"env1","hook_event_name":"UserPromptSubmit","prompt":"hi"}' |
    env -u USER -u LOGNAME "$SEALTRAIL" --dir "$S" hook >"$T/out" 2>"$T/err" || rc=$?
check "hook without USER/LOGNAME: exit 0, silent" test "$rc" -eq 0 -a ! -s "$T/out" -a ! -s "$T/err"
user=$("$SEALTRAIL" --dir "$S" log --no-payloads | tail -n 1 | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["user"])')
check "recorded user is the account name ($me), got '$user'" [ "$user" = "$me" ]
printf '%s\n' '{"session_id":"env1","hook_event_name":"UserPromptSubmit","prompt":"hi"}' |
    env USER=someone-else "$SEALTRAIL" --dir "$S" hook
user=$("$SEALTRAIL" --dir "$S" log --no-payloads | tail -n 1 | python3 -c 'import json, sys; print(json.loads(sys.stdin.read())["user"])')
check "\$USER wins over the password database" [ "$user" = "someone-else" ]

# ---- 2. store directory from the password database's home -----------------------------------
if [ -e "$home/.local/state/sealtrail/data.mdb" ]; then
    echo "skip status without HOME: a store exists at $home/.local/state/sealtrail"
else
    rc=0
    env -u HOME -u XDG_STATE_HOME -u SEALTRAIL_DIR "$SEALTRAIL" status >"$T/out" 2>"$T/err" || rc=$?
    check "status without HOME names $home/.local/state/sealtrail and fails" \
        test "$rc" -ne 0 -a -n "$(grep -F "$home/.local/state/sealtrail" "$T/err")"
fi

# ---- 3. seal in the append's transaction, and when it fails ------------------------------------
ncp() { "$SEALTRAIL" --dir "$S" status | sed -n 's/^sealed: .*(\([0-9]*\) checkpoints.*/\1/p'; }
field() { "$SEALTRAIL" --dir "$S" status | sed -n "s/^$1: *\([0-9]*\).*/\1/p"; }
cp0=$(ncp)
printf '%s\n' '{"session_id":"env3","hook_event_name":"Stop","stop_hook_active":false}' | "$SEALTRAIL" --dir "$S" hook
check "Stop: one new checkpoint ($cp0 -> $(ncp)), nothing unsealed" test "$(ncp)" -eq $((cp0 + 1)) -a "$(field unsealed)" -eq 0
n0=$(field entries)
mv "$S/log.key" "$T/log.key.away"
rc=0
printf '%s\n' '{"session_id":"env3","hook_event_name":"SessionEnd","reason":"other"}' |
    "$SEALTRAIL" --dir "$S" hook >"$T/out" 2>"$T/err" || rc=$?
check "SessionEnd without the key: exit 0, nothing on stdout" test "$rc" -eq 0 -a ! -s "$T/out"
check "SessionEnd without the key: recorded ($n0 -> $(field entries)), left unsealed ($(field unsealed))" \
    test "$(field entries)" -eq $((n0 + 1)) -a "$(field unsealed)" -eq 1
check "SessionEnd without the key: one line on stderr says sealing failed" \
    test "$(wc -l <"$T/err")" -eq 1 -a -n "$(grep -F "event $n0 recorded, but sealing failed" "$T/err")"
mv "$T/log.key.away" "$S/log.key"
printf '%s\n' '{"session_id":"env3","hook_event_name":"Stop","stop_hook_active":false}' | "$SEALTRAIL" --dir "$S" hook
check "next Stop with the key: everything sealed, store checks" \
    test "$(field unsealed)" -eq 0 -a -n "$("$SEALTRAIL" --dir "$S" check | grep '^ok:')"

# ---- 4. environment strings that are not UTF-8 -------------------------------------------
# $USER, the host name and CLAUDE_CODE_SESSION_ID may hold any bytes; an entry is
# strict UTF-8 JSON, so each bad byte is recorded as U+FFFD (never a store that
# 'check' refuses forever), and a retention record written under such a $USER too.
rc=0
printf '%s\n' '{"hook_event_name":"Stop"}' |
    env USER=$'ops\xffuser' CLAUDE_CODE_SESSION_ID=$'sess\xc3' "$SEALTRAIL" --dir "$S" hook >"$T/out" 2>"$T/err" || rc=$?
check "hook with non-UTF-8 USER and CLAUDE_CODE_SESSION_ID: exit 0, silent" test "$rc" -eq 0 -a ! -s "$T/out" -a ! -s "$T/err"
check "... the store still checks" sh -c '"$1" --dir "$2" check >/dev/null' _ "$SEALTRAIL" "$S"
got=$("$SEALTRAIL" --dir "$S" log --no-payloads | tail -n 1 | python3 -c 'import json, sys; e = json.loads(sys.stdin.read()); print(e["user"] + "|" + e["session"])')
check "... user and session recorded with U+FFFD for the bad bytes, got '$got'" [ "$got" = $'ops\xef\xbf\xbduser|sess\xef\xbf\xbd' ]
env USER=$'r\xff' "$SEALTRAIL" --dir "$S" retention set --min 1d >/dev/null
check "retention set with a non-UTF-8 USER: the record checks" sh -c '"$1" --dir "$2" check >/dev/null' _ "$SEALTRAIL" "$S"

e2e_end
