#!/usr/bin/env bash
# A writing command that waits for LMDB's writer lock (held by another
# process: a long import, a stuck writer) says so on stderr after about a
# second, once, and goes on when the lock is released; it once waited in
# silence. The hook stays silent (it bounds its wait and spools).
set -euo pipefail
: "${SEALTRAIL:?}" "${ST_SOURCE_DIR:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin import_lock
S=$work/s
st() { "$SEALTRAIL" --dir "$S" "$@"; }
st init --origin example.com/lock >/dev/null 2>&1
printf '%s\n' '{"timestamp":"2025-01-10T08:00:00.000Z","toolName":"Bash","input":{"command":"ls"},"output":null,"status":"success"}' > "$work/one.jsonl"
expect "import without a wait prints no lock message" 0 "" -- st import "$work/one.jsonl"
grep -q "writer lock" "$work/err" && bad "lock message without a wait" || ok "no lock message without a wait"
if ! ${CC:-cc} -O1 -o "$work/hold_lock" "$ST_SOURCE_DIR/tests/e2e/hold_lock.c" -llmdb 2>"$work/cc.err"; then
  echo "skip: cannot build hold_lock: $(cat "$work/cc.err")"
  e2e_end; exit
fi
hold() {   # holds the writer lock until fd 7 is closed
  mkfifo "$work/fifo$1"
  "$work/hold_lock" "$S" <"$work/fifo$1" >"$work/hold$1.out" 2>&1 &
  hp=$!
  e2e_at_exit "kill $hp 2>/dev/null"
  exec 7>"$work/fifo$1"
  for _ in $(seq 200); do grep -q locked "$work/hold$1.out" && break; sleep 0.02; done
}
hold 1
st import "$work/one.jsonl" >"$work/imp.out" 2>"$work/imp.err" 7>&- &
ip=$!
for _ in $(seq 100); do grep -q "writer lock" "$work/imp.err" && break; sleep 0.05; done
check "import waiting for the lock says so on stderr" grep -q "waiting for the store's writer lock" "$work/imp.err"
check "... and is still waiting" kill -0 $ip
sleep 1.2
[ "$(grep -c "writer lock" "$work/imp.err")" = 1 ] && ok "the message is printed once" || bad "message count: $(cat "$work/imp.err")"
exec 7>&-
rc=0; wait $ip || rc=$?
[ $rc = 0 ] && ok "import goes on once the lock is released (exit 0)" || bad "import after release: exit $rc $(cat "$work/imp.err")"
[ "$(st query --count)" = 2 ] && ok "both lines are in the store" || bad "count $(st query --count)"
# other writing commands share the code path
hold 2
st seal >"$work/seal.out" 2>"$work/seal.err" 7>&- &
sp=$!
for _ in $(seq 100); do grep -q "writer lock" "$work/seal.err" && break; sleep 0.05; done
check "seal waiting for the lock says so too" grep -q "waiting for the store's writer lock" "$work/seal.err"
exec 7>&-
rc=0; wait $sp || rc=$?
[ $rc = 0 ] && ok "seal goes on after the release" || bad "seal: exit $rc"
# the hook stays silent on stderr (Claude Code shows a hook's stderr)
hold 3
rc=0
printf '{"session_id":"s","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"t1","cwd":"/"}\n' |
  SEALTRAIL_LOCK_TIMEOUT_MS=1500 "$SEALTRAIL" --dir "$S" hook 2>"$work/hook.err" 7>&- || rc=$?
exec 7>&-
grep -q "writer lock" "$work/hook.err" && bad "the hook printed the lock message" || ok "the hook does not print the lock message (exit $rc)"
# an export interrupted while it waits (here: export --seal for the writer lock) removes its
# temporary bundle: no partial ".x.stb.XXXXXX" is left beside the target. (The bundle is an
# unnamed O_TMPFILE file in the target's directory until it is complete; where the file system
# has no O_TMPFILE it is ".x.stb.XXXXXX" from the start, and SIGTERM removes it.)
st import "$work/one.jsonl" >/dev/null 2>&1          # an unsealed entry, so --seal must write
hold 4
"$SEALTRAIL" --dir "$S" export --out "$work/x.stb" --seal >/dev/null 2>"$work/exp.err" 7>&- &
ep=$!
for _ in $(seq 100); do grep -q "writer lock" "$work/exp.err" && break; sleep 0.05; done
check "export --seal waits for the lock with its bundle file open (unnamed, or a temporary name)" sh -c '
    ls -A "$1" | grep -q "^\.x\.stb\." || ls -l "/proc/$2/fd" | grep -q -F "$1/#"' _ "$work" "$ep"
kill -TERM $ep
rc=0; wait $ep || rc=$?
exec 7>&-
[ $rc = 143 ] && ok "SIGTERM ends export by that signal (exit $rc)" || bad "export after SIGTERM: exit $rc"
[ -z "$(ls -A "$work" | grep '^\.x\.stb\.')" ] && [ ! -e "$work/x.stb" ] && ok "... leaving no partial bundle beside the target" || bad "left behind: $(ls -A "$work")"
e2e_end
