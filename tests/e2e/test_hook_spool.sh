#!/usr/bin/env bash
# test_hook_spool.sh: when the store cannot take an event, `sealtrail hook`
# spools the redacted record and the next run appends it first, in order,
# exactly once (store/spool.h).
#
#  A. store unwritable: events spooled (0600 files, no secret inside), then
#     one more hook after the repair appends all of them in order;
#  B. LMDB writer lock held by another process: hooks give up after the wait
#     bound, spool, exit 0; released, the next hook appends everything;
#  C. exactly once: a spool file whose record is already in the log (the
#     replayer died after the commit) is dropped; a file whose attempt was
#     marked but not committed is appended; a dot-name left by a killed
#     hook is appended when written whole, removed when torn;
#  D. kill -9 of replays at random moments: every event exactly once, in order;
#  E. no store yet: spooled, appended after `init`;
#  F. neither store nor spool: exit 1, or 2 for PreToolUse when failing closed;
#     a store path that is a file or cannot be read: the reason named (hook and
#     commands), one stderr line; a redact.conf that does not load is said in
#     the line that says where the event went (recorded or spooled);
#  G. a data.mdb cut short (full disk, partial copy) or emptied: the hook
#     spools (no SIGBUS), status and check name the file, nothing rewritten;
#  H. a data.mdb whose pages hold garbage (LMDB faults reading them, or
#     aborts on a failed assertion): the hook spools the event and exits 0,
#     it does not die of the fault; with the file restored, the next run
#     appends it;
#  I. a spooled Stop or SessionEnd is sealed when replayed, as it would have
#     been when recorded live; "Stop\u0000X" is not Stop, live or replayed.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}"
SRC=${ST_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$(dirname "$0")/lib.sh"
e2e_begin test_hook_spool
e2e_at_exit 'exec 7>&- 2>/dev/null'
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED SEALTRAIL_LOCK_TIMEOUT_MS

ev() {   # ev ID [EVENT]: a small tool event
    printf '{"session_id":"sp","hook_event_name":"%s","tool_name":"Bash","tool_input":{"command":"run %s"},"tool_use_id":"%s"}\n' \
        "${2:-PreToolUse}" "$1" "$1"
}
# spooled_hook STORE ID: runs a hook that must spool: exit 0, no stdout, "spooled" on stderr
spooled_hook() {
    local rc=0 out
    out=$(ev "$2" | "$SEALTRAIL" --dir "$1" hook 2>"$T/err") || rc=$?
    [ "$rc" -eq 0 ] && [ -z "$out" ] && grep -q "spooled" "$T/err" && [ "$(wc -l <"$T/err")" -eq 1 ] ||
        { echo "  exit $rc stdout '$out' stderr '$(cat "$T/err")'"; return 1; }
}
quiet_hook() {
    local rc=0 out
    out=$(ev "$2" | "$SEALTRAIL" --dir "$1" hook 2>"$T/err") || rc=$?
    [ "$rc" -eq 0 ] && [ -z "$out" ] && [ ! -s "$T/err" ] || { echo "  exit $rc stdout '$out' stderr '$(cat "$T/err")'"; return 1; }
}
break_store() { mv "$1/data.mdb" "$1/data.away"; mkdir "$1/data.mdb"; }
repair_store() { rmdir "$1/data.mdb"; mv "$1/data.away" "$1/data.mdb"; }
pending() { find "$1/spool" -maxdepth 1 -name '*.rec' | wc -l; }

# ---- A. store unwritable ---------------------------------------------------------------------
A=$T/a
"$SEALTRAIL" --dir "$A" init >/dev/null 2>&1
break_store "$A"
GH=ghp_SpoolT0kenValue1234567890abcdefWXYZ9   # ghp_ + 36
a_ok=1
for i in 1 2 3 4; do spooled_hook "$A" "toolu_a$i" || a_ok=0; done
printf '{"session_id":"sp","hook_event_name":"UserPromptSubmit","prompt":"token %s"}\n' "$GH" |
    "$SEALTRAIL" --dir "$A" hook 2>"$T/err" >/dev/null || a_ok=0
check "store unwritable: hooks exit 0, silent on stdout, one stderr line each" [ "$a_ok" -eq 1 ]
check "5 spool files waiting" [ "$(pending "$A")" -eq 5 ]
check "spool files are 0600, spool dir 0700" sh -c '[ "$(stat -c %a "$1/spool")" = 700 ] && ! find "$1/spool" -name "*.rec" ! -perm 600 | grep -q .' _ "$A"
check "no secret in the spool files (records are redacted before spooling)" sh -c '! grep -r -a -q -F "$1" "$2/spool"' _ "$GH" "$A"
repair_store "$A"
check "after the repair one more hook runs silently" quiet_hook "$A" toolu_a6
check "all 6 events in order, spool empty" ids_in_order "$A" toolu_a1 toolu_a2 toolu_a3 toolu_a4 "" toolu_a6
check "spool empty" [ "$(pending "$A")" -eq 0 ]
check "replayed entries carry their spool id, the live one does not" python3 -c "
import json,subprocess,sys
E=[json.loads(l) for l in subprocess.check_output([sys.argv[1],'--dir',sys.argv[2],'log','--no-payloads']).splitlines()]
assert all('spool' in e for e in E[:5]) and 'spool' not in E[5], E
assert E[4]['event']=='UserPromptSubmit' and E[4]['redactions']=={'github-token':1}, E[4]" "$SEALTRAIL" "$A"
check "store passes check" "$SEALTRAIL" --dir "$A" check >/dev/null

# ---- B. the LMDB writer lock held by another process ---------------------------------------------
B=$T/b
"$SEALTRAIL" --dir "$B" init >/dev/null 2>&1
quiet_hook "$B" toolu_b0 || bad "first hook"
if ${CC:-cc} -O1 -o "$T/hold_lock" "$SRC/tests/e2e/hold_lock.c" -llmdb 2>"$T/cc.err"; then
    hold_writer_lock "$T" "$B"
    b_ok=1
    t0=$(date +%s%N)
    for i in 1 2 3; do SEALTRAIL_LOCK_TIMEOUT_MS=200 spooled_hook "$B" "toolu_b$i" || b_ok=0; done
    t1=$(date +%s%N)
    check "lock held: 3 hooks give up after the bound, spool, exit 0 ($(( (t1 - t0) / 1000000 )) ms for 3)" [ "$b_ok" -eq 1 ]
    t0=$(date +%s%N)
    rc=0
    printf '{"session_id":"sp","hook_event_name":"SessionEnd","reason":"other"}\n' | "$SEALTRAIL" --dir "$B" hook 2>"$T/err" || rc=$?
    t1=$(date +%s%N)
    check "lock held: SessionEnd spools within its own bound ($(( (t1 - t0) / 1000000 )) ms, exit $rc)" sh -c "[ $rc -eq 0 ] && grep -q spooled '$T/err'"
    exec 7>&-
    wait "$hp" || true
    check "after the release one more hook runs silently" quiet_hook "$B" toolu_b5
    check "lock held then released: all events in order" ids_in_order "$B" toolu_b0 toolu_b1 toolu_b2 toolu_b3 "" toolu_b5
    check "store passes check" "$SEALTRAIL" --dir "$B" check >/dev/null
else
    echo "skip B: cannot compile the lock helper: $(head -1 "$T/cc.err")"
fi

# ---- C. exactly once ----------------------------------------------------------------------------------
C=$T/c
"$SEALTRAIL" --dir "$C" init >/dev/null 2>&1
break_store "$C"
spooled_hook "$C" toolu_c1 && spooled_hook "$C" toolu_c2 || bad "spooling c1, c2"
repair_store "$C"
mkdir "$T/save"
cp "$C"/spool/*.rec "$T/save/"
check "hook replay appends 2" sh -c '"$1" --dir "$2" hook replay | grep -q "^appended 2, duplicates dropped 0"' _ "$SEALTRAIL" "$C"
# the replayer "died" after committing c1: its file is back, marked with the size before its append (0)
first=$(ls "$T/save" | sort | head -1)
cp "$T/save/$first" "$C/spool/$first"
printf '\0\0\0\0\0\0\0\0' | dd of="$C/spool/$first" bs=1 seek=8 conv=notrunc status=none
check "a file already in the log is dropped, not appended again" sh -c '"$1" --dir "$2" hook replay | grep -q "^appended 0, duplicates dropped 1"' _ "$SEALTRAIL" "$C"
check "still exactly c1, c2" ids_in_order "$C" toolu_c1 toolu_c2
# an attempt marked (from = current size 2) that never committed is appended
break_store "$C"
spooled_hook "$C" toolu_c3 || bad "spooling c3"
repair_store "$C"
f3=$(ls "$C/spool" | grep '\.rec$')
printf '\0\0\0\0\0\0\0\2' | dd of="$C/spool/$f3" bs=1 seek=8 conv=notrunc status=none
check "a marked but uncommitted attempt is appended" sh -c '"$1" --dir "$2" hook replay | grep -q "^appended 1, duplicates dropped 0"' _ "$SEALTRAIL" "$C"
check "c1, c2, c3 once each" ids_in_order "$C" toolu_c1 toolu_c2 toolu_c3
# a torn or foreign file is set aside, the rest goes on
printf 'STSPOOL1garbage' >"$C/spool/00000000000000000001-0000000001-000000.rec"
check "an invalid spool file is set aside as .bad" sh -c '"$1" --dir "$2" hook replay | grep -q "unreadable set aside 1" && ls "$2"/spool/*.bad >/dev/null' _ "$SEALTRAIL" "$C"
# what is no regular file under a spool name (a symlink, a directory: anyone who can write the
# spool can make one) is set aside too: it must not stop the replay, or every later event would
# be spooled and none recorded
break_store "$C"
spooled_hook "$C" toolu_c4 || bad "spooling c4"
repair_store "$C"
ln -s /etc/passwd "$C/spool/00000000000000000002-0000000001-000000.rec"
mkdir "$C/spool/00000000000000000003-0000000001-000000.rec"
rc=0; out=$(ev toolu_c5 | "$SEALTRAIL" --dir "$C" hook 2>"$T/err") || rc=$?
check "a symlink and a directory in the spool: the hook records, sets both aside, one line (exit $rc: $(head -c 300 "$T/err"))" \
    sh -c '[ "$1" = 0 ] && [ -z "$2" ] && grep -q "2 unreadable spool file(s) set aside" "$3" && [ "$(wc -l <"$3")" -eq 1 ]' _ "$rc" "$out" "$T/err"
check "... c4 replayed, then c5; spool empty" sh -c '[ "$(find "$1/spool" -maxdepth 1 -name "*.rec" | wc -l)" -eq 0 ]' _ "$C"
check "c1 .. c5 once each, in order" ids_in_order "$C" toolu_c1 toolu_c2 toolu_c3 toolu_c4 toolu_c5
check "the symlink's target is untouched" [ -s /etc/passwd ]
# a lock file that is no regular file cannot be replaced safely (two hooks could lock different
# files): events are spooled, not lost, and the message names the file and the remedy
break_store "$C"
spooled_hook "$C" toolu_c6 || bad "spooling c6"
repair_store "$C"
rm -f "$C/spool/.lock"; mkdir "$C/spool/.lock"
rc=0; out=$(ev toolu_c7 | "$SEALTRAIL" --dir "$C" hook 2>"$T/err") || rc=$?
check "a directory as spool/.lock: exit 0, the event spooled, stderr names the lock file (exit $rc: $(head -c 300 "$T/err"))" \
    sh -c '[ "$1" = 0 ] && [ -z "$2" ] && grep -q "cannot lock $4/spool/.lock: .*(it must be a regular file: remove it); event spooled" "$3" &&
           [ "$(find "$4/spool" -maxdepth 1 -name "*.rec" | wc -l)" -eq 2 ]' _ "$rc" "$out" "$T/err" "$C"
expect "hook replay with a directory as spool/.lock: exit 1, names it" 1 "cannot lock .*/spool/.lock" -- "$SEALTRAIL" --dir "$C" hook replay
rmdir "$C/spool/.lock"
check "once it is removed: c6 and c7 replayed in order" sh -c '"$1" --dir "$2" hook replay | grep -q "appended 2"' _ "$SEALTRAIL" "$C"
check "c1 .. c7 once each, in order" ids_in_order "$C" toolu_c1 toolu_c2 toolu_c3 toolu_c4 toolu_c5 toolu_c6 toolu_c7
# a hook killed before its rename leaves .<name>.tmp; once the pid in the name is gone, the replay
# keeps a file written whole (renamed, appended) and removes a torn one (2000000000: no such pid)
break_store "$C"
spooled_hook "$C" toolu_c8 && spooled_hook "$C" toolu_c9 || bad "spooling c8, c9"
repair_store "$C"
recs=($(ls "$C/spool" | grep '\.rec$' | sort))
whole=".${recs[0]%%-*}-2000000000-000001.rec.tmp" torn=".${recs[1]%%-*}-2000000000-000002.rec.tmp"
mv "$C/spool/${recs[0]}" "$C/spool/$whole"
head -c 60 "$C/spool/${recs[1]}" >"$C/spool/$torn" && rm "$C/spool/${recs[1]}"
check "stale dot-names: the whole one replayed, the torn one removed, no .tmp or .rec left" \
    sh -c '"$1" --dir "$2" hook replay | grep -q "^appended 1, duplicates dropped 0" && [ -z "$(ls -A "$2/spool" | grep -E "\.(tmp|rec)\$")" ]' _ "$SEALTRAIL" "$C"
check "c1 .. c8 once each, in order" ids_in_order "$C" toolu_c1 toolu_c2 toolu_c3 toolu_c4 toolu_c5 toolu_c6 toolu_c7 toolu_c8

# ---- D. kill -9 during replays ----------------------------------------------------------------------------
D=$T/d
"$SEALTRAIL" --dir "$D" init >/dev/null 2>&1
break_store "$D"
want=()
d_ok=1
for i in $(seq -w 1 30); do spooled_hook "$D" "toolu_d$i" || d_ok=0; want+=("toolu_d$i"); done
check "30 events spooled" [ "$d_ok" -eq 1 ] && [ "$(pending "$D")" -eq 30 ]
repair_store "$D"
kills=0
for _ in $(seq 1 400); do
    [ "$(pending "$D")" -eq 0 ] && break
    "$SEALTRAIL" --dir "$D" hook replay >/dev/null 2>&1 &
    p=$!
    sleep "0.00$((RANDOM % 10))$((RANDOM % 10))"
    kill -9 "$p" 2>/dev/null && kills=$((kills + 1)) || true
    wait "$p" 2>/dev/null || true
done
"$SEALTRAIL" --dir "$D" hook replay >/dev/null
check "after $kills kill -9 of replays: all 30 events exactly once, in order" ids_in_order "$D" "${want[@]}"
check "store passes check after the kills" "$SEALTRAIL" --dir "$D" check >/dev/null

# ---- E. no store yet ---------------------------------------------------------------------------------------
E=$T/e/store
spooled_hook "$E" toolu_e1 || bad "spool without a store"
check "no store: the spool is created (DIR 0700)" sh -c '[ "$(stat -c %a "$1")" = 700 ] && [ -d "$1/spool" ]' _ "$E"
"$SEALTRAIL" --dir "$E" init >/dev/null 2>&1 || bad "init over a spool-only directory"
quiet_hook "$E" toolu_e2 || bad "hook after init"
check "e1 then e2" ids_in_order "$E" toolu_e1 toolu_e2

# ---- F. neither store nor spool ------------------------------------------------------------------------------
F=$T/f
mkdir -p "$F"
touch "$F/spool"      # a file where the spool directory should be
rc=0; out=$(ev toolu_f1 | "$SEALTRAIL" --dir "$F" hook 2>"$T/err") || rc=$?
check "event lost: exit 1, one stderr line, nothing on stdout (exit $rc)" sh -c "[ $rc -eq 1 ] && [ -z '$out' ] && grep -q 'lost' '$T/err' && [ \$(wc -l <'$T/err') -eq 1 ]"
rc=0; ev toolu_f2 | SEALTRAIL_FAIL_CLOSED=1 "$SEALTRAIL" --dir "$F" hook >/dev/null 2>"$T/err" || rc=$?
check "fail-closed PreToolUse: exit 2 with a reason (exit $rc)" sh -c "[ $rc -eq 2 ] && [ -s '$T/err' ]"
rc=0; ev toolu_f3 | "$SEALTRAIL" --dir "$F" hook --fail-closed >/dev/null 2>&1 || rc=$?
check "--fail-closed flag: exit 2 (exit $rc)" [ "$rc" -eq 2 ]
rc=0; ev toolu_f4 PostToolUse | SEALTRAIL_FAIL_CLOSED=1 "$SEALTRAIL" --dir "$F" hook >/dev/null 2>&1 || rc=$?
check "fail-closed applies to PreToolUse only: PostToolUse exits 1 (exit $rc)" [ "$rc" -eq 1 ]

# ---- F2. a store path that is a file, or a directory that cannot be read ----------------------------------
# The reason is named (not "no store here, run 'sealtrail init'"), by the hook in one line and by
# every command; the hook's line says what became of the event and nothing else.
FF=$T/ffile
: >"$FF"
rc=0; out=$(ev toolu_ff1 | "$SEALTRAIL" --dir "$FF" hook 2>"$T/err") || rc=$?
check "--dir at a file: hook exits 1, one stderr line: not a directory, event lost (exit $rc: $(head -c 300 "$T/err"))" sh -c '
    [ "$1" = 1 ] && [ -z "$2" ] && [ "$(wc -l <"$3")" = 1 ] && grep -q "$4: not a directory" "$3" && grep -q "event lost$" "$3" &&
    ! grep -q -e "sealtrail init" -e "recorded" -e "redact" "$3"' _ "$rc" "$out" "$T/err" "$FF"
rc=0; ev toolu_ff2 | "$SEALTRAIL" --dir "$FF" hook --fail-closed >/dev/null 2>&1 || rc=$?
check "--dir at a file, fail-closed PreToolUse: exit 2 (exit $rc)" [ "$rc" = 2 ]
for c in status log check seal "hook replay"; do
    expect "--dir at a file: $c says it is not a directory" 1 "^sealtrail: $FF: not a directory" -- "$SEALTRAIL" --dir "$FF" $c
    grep -q "sealtrail init" "$T/err" && bad "--dir at a file: $c suggests init: $(cat "$T/err")"
done
# unreadable: chmod 000 stops only a user who is not root; as root, the hook runs as nobody
FP=$T/fperm
"$SEALTRAIL" --dir "$FP" init >/dev/null 2>&1
as_other=
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null &&
   setpriv --reuid=65534 --regid=65534 --clear-groups "$SEALTRAIL" --help >/dev/null 2>&1; then
    as_other="setpriv --reuid=65534 --regid=65534 --clear-groups"
fi
if [ "$(id -u)" != 0 ] || [ -n "$as_other" ]; then
    chmod 000 "$FP"
    rc=0; out=$(ev toolu_fp1 | $as_other "$SEALTRAIL" --dir "$FP" hook 2>"$T/err") || rc=$?
    check "unreadable store: hook exits 1, one stderr line: permission denied, event lost (exit $rc: $(head -c 300 "$T/err"))" sh -c '
        [ "$1" = 1 ] && [ -z "$2" ] && [ "$(wc -l <"$3")" = 1 ] && grep -q "$4: cannot read the store directory: Permission denied" "$3" &&
        grep -q "event lost$" "$3" && ! grep -q -e "sealtrail init" -e "recorded" -e "redact" "$3"' _ "$rc" "$out" "$T/err" "$FP"
    expect "unreadable store: status says permission denied" 1 "^sealtrail: $FP: cannot read the store directory: Permission denied" -- \
        $as_other "$SEALTRAIL" --dir "$FP" status
    chmod 700 "$FP"
    # the directory can be read but a file of the store cannot: the message names the file
    "$SEALTRAIL" --dir "$FP" status >/dev/null   # (creates the gate files, as any first open does)
    chmod 711 "$T"; chmod 755 "$FP"; chmod 666 "$FP/gate" "$FP/gate.turn" "$FP/lock.mdb"
    if [ "$(id -u)" != 0 ]; then chmod 000 "$FP/data.mdb"; fi
    expect "store whose data.mdb cannot be read: status names data.mdb" 1 "^sealtrail: $FP/data.mdb: cannot open store: Permission denied" -- \
        $as_other "$SEALTRAIL" --dir "$FP" status
    chmod 600 "$FP/lock.mdb"
    expect "... and lock.mdb when that is the one" 1 "^sealtrail: $FP/lock.mdb: cannot open store: Permission denied" -- \
        $as_other "$SEALTRAIL" --dir "$FP" status
    chmod 700 "$T" "$FP"; chmod 600 "$FP/data.mdb" "$FP/gate" "$FP/gate.turn"
else
    echo "skip unreadable store: root, and cannot run as nobody (no setpriv, or $SEALTRAIL not reachable)"
fi
# a redact.conf that does not load and a store that cannot take the event: spooled, said once
FC=$T/fconf
"$SEALTRAIL" --dir "$FC" init >/dev/null 2>&1
printf 'rule broken (x\n' >"$FC/redact.conf"
break_store "$FC"
rc=0; ev toolu_fc1 | "$SEALTRAIL" --dir "$FC" hook 2>"$T/err" || rc=$?
check "bad redact.conf, store broken: exit 0, one line: spooled without its payloads, and why (exit $rc: $(head -c 300 "$T/err"))" sh -c '
    [ "$1" = 0 ] && [ "$(wc -l <"$2")" = 1 ] && ! grep -q "recorded" "$2" &&
    grep -q "event spooled in .*, without its payloads (custom redaction rules: .*redact.conf:1" "$2"' _ "$rc" "$T/err"
repair_store "$FC"
rc=0; ev toolu_fc2 | "$SEALTRAIL" --dir "$FC" hook 2>"$T/err" || rc=$?
check "bad redact.conf, store repaired: exit 0, one line: recorded without its payloads (exit $rc: $(head -c 300 "$T/err"))" sh -c '
    [ "$1" = 0 ] && [ "$(wc -l <"$2")" = 1 ] && grep -q "event 1 recorded, without its payloads (custom redaction rules: .*redact.conf:1" "$2"' _ "$rc" "$T/err"
check "... both calls in the log, spooled first" ids_in_order "$FC" toolu_fc1 toolu_fc2

# ---- G. a damaged data file: truncated, or empty ------------------------------------------
G=$T/g
"$SEALTRAIL" --dir "$G" init >/dev/null 2>&1
for i in 1 2 3 4 5 6 7 8; do ev "toolu_g$i" PostToolUse | "$SEALTRAIL" --dir "$G" hook; done
"$SEALTRAIL" --dir "$G" seal >/dev/null
truncate -s 8192 "$G/data.mdb"
check "hook on a truncated data.mdb: exit 0, spooled, one line on stderr" spooled_hook "$G" toolu_g9
expect "status on a truncated data.mdb: exit 1, names it (no crash)" 1 "data.mdb is truncated: 8192 bytes" -- "$SEALTRAIL" --dir "$G" status
expect "check on a truncated data.mdb: exit 1, names it (no crash)" 1 "data.mdb is truncated" -- "$SEALTRAIL" --dir "$G" check
[ "$(stat -c %s "$G/data.mdb")" = 8192 ] && ok "... and the file is left as it was" || bad "truncated data.mdb was rewritten"
: > "$G/data.mdb"
check "hook on an empty data.mdb: exit 0, spooled" spooled_hook "$G" toolu_g10
expect "status on an empty data.mdb: exit 1, says it is empty" 1 "data.mdb is empty" -- "$SEALTRAIL" --dir "$G" status
[ ! -s "$G/data.mdb" ] && ok "... and no fresh environment was written over it" || bad "empty data.mdb got $(stat -c %s "$G/data.mdb") bytes"

# ---- H. a damaged data file: pages overwritten ----------------------------------------------
# Every page after the two meta pages keeps its header and gets 0xff bytes:
# LMDB follows the garbage node offsets out of its map (SIGBUS or SIGSEGV).
H=$T/h
"$SEALTRAIL" --dir "$H" init >/dev/null 2>&1
quiet_hook "$H" toolu_h1 || bad "hook h1"
cp "$H/data.mdb" "$T/h.good"
python3 -c "
import sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
for pg in range(2, len(b) // 4096): b[pg * 4096 + 16:pg * 4096 + 4096] = b'\xff' * 4080
open(p, 'wb').write(b)" "$H/data.mdb"
check "hook on a data.mdb with garbage pages: exit 0, spooled, one line on stderr (no fault)" spooled_hook "$H" toolu_h2
check "... again, with a spool to replay first: the new event spooled too" spooled_hook "$H" toolu_h3
# Page headers with their free-space bounds crossed: LMDB's assertion aborts.
cp "$T/h.good" "$H/data.mdb"
python3 -c "
import struct, sys
p = sys.argv[1]; b = bytearray(open(p, 'rb').read())
for pg in range(2, len(b) // 4096): b[pg * 4096 + 12:pg * 4096 + 16] = struct.pack('<HH', 0x100, 0xf0)
open(p, 'wb').write(b)" "$H/data.mdb"
rc=0; out=$(ev toolu_h4 | "$SEALTRAIL" --dir "$H" hook 2>"$T/err") || rc=$?
check "hook on a data.mdb that fails LMDB's assertions: exit 0, spooled (exit $rc)" sh -c '[ "$1" = 0 ] && [ -z "$2" ] && grep -q spooled "$3"' _ "$rc" "$out" "$T/err"
cp "$T/h.good" "$H/data.mdb"
quiet_hook "$H" toolu_h5 || bad "hook h5 after the restore"
check "data.mdb restored: h1, then the spooled h2, h3 and h4, then h5" ids_in_order "$H" toolu_h1 toolu_h2 toolu_h3 toolu_h4 toolu_h5

# ---- I. a spooled Stop is sealed at its replay -------------------------------------------------
I=$T/i
"$SEALTRAIL" --dir "$I" init >/dev/null 2>&1
quiet_hook "$I" toolu_i1 || bad "hook i1"
break_store "$I"
spooled_hook "$I" toolu_i2 || bad "spooled i2"
rc=0; printf '{"session_id":"sp","hook_event_name":"Stop","stop_hook_active":false}\n' | "$SEALTRAIL" --dir "$I" hook 2>/dev/null || rc=$?
[ "$rc" = 0 ] || bad "spooled Stop: exit $rc"
repair_store "$I"
quiet_hook "$I" toolu_i3 || bad "hook i3"
check "the replayed Stop sealed: the last checkpoint covers it (entries 0..2 of 4)" sh -c '
    [ "$("$1" --dir "$2" status | sed -n "s/^sealed: *\([0-9]*\).*/\1/p")" -ge 3 ]' _ "$SEALTRAIL" "$I"
# an event named "Stop\u0000X" (a NUL inside) is not Stop: it seals neither live (J) nor replayed (K)
sealed() { "$SEALTRAIL" --dir "$1" status | sed -n "s/^sealed: *\([0-9]*\).*/\1/p"; }
stop_nul() { printf '{"session_id":"sp","hook_event_name":"Stop\\u0000X"}\n' | "$SEALTRAIL" --dir "$1" hook 2>"$T/err"; }
J=$T/j
"$SEALTRAIL" --dir "$J" init >/dev/null 2>&1
quiet_hook "$J" toolu_j1 || bad "hook j1"
rc=0; stop_nul "$J" || rc=$?
check "live Stop\\u0000X: exit 0, nothing on stderr, no seal" [ "$rc.$(wc -c <"$T/err").$(sealed "$J")" = 0.0.0 ]
K=$T/k
"$SEALTRAIL" --dir "$K" init >/dev/null 2>&1
quiet_hook "$K" toolu_k1 || bad "hook k1"
break_store "$K"
rc=0; stop_nul "$K" || rc=$?
[ "$rc" = 0 ] || bad "spooled Stop\\u0000X: exit $rc"
repair_store "$K"
quiet_hook "$K" toolu_k3 || bad "hook k3"
n_stop=$("$SEALTRAIL" --dir "$K" log --no-payloads | grep -c -F '"event":"Stop\u0000X"' || true)
check "replayed Stop\\u0000X: appended with its name as sent, no seal" [ "$n_stop.$(sealed "$K")" = 1.0 ]

e2e_end
