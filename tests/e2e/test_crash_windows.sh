#!/usr/bin/env bash
# test_crash_windows.sh: narrow windows of crash and concurrency that the
# random delays of test_crash_kill.sh rarely hit, each put in place exactly:
# by killing the command at a chosen system call (strace -e inject=...:
# signal=KILL, when strace is installed) or by making the state such a kill
# leaves. After each: the next commands work, `check` passes, nothing is
# left behind that they trip over.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin crash_windows
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED SEALTRAIL_LOCK_TIMEOUT_MS
st() { "$SEALTRAIL" --dir "$1" "${@:2}"; }
have_strace=0
if command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null; then have_strace=1
else echo "note: strace is absent or cannot trace here: the killed runs are replaced by the state they leave"; fi
# killed_at SYSCALL N CMD...: runs CMD, killed (SIGKILL) on entry to its Nth call of SYSCALL
killed_at() { local sc=$1 n=$2; shift 2; { strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc:signal=KILL:when=$n" "$@" </dev/null >/dev/null 2>&1; } 2>/dev/null || true; }

e2e_store_3k "$work/base" crash.example/windows
st "$work/base" seal >/dev/null

# ---- key rotate --keep-old killed before its commit ---------------------------------------------
# It links keys/retired-<old id>.key to log.key first, then commits. Killed in between, the link
# stays, naming the key still in use. The next `rotate --keep-old` failed ("File exists") until
# the file was removed by hand, and a plain `rotate` wiped log.key by unlinking it (a file with
# two names is not overwritten), so the "wiped" old key lived on in keys/retired-*.key.
keep_left() {   # keep_left DIR: DIR as a --keep-old rotation killed before its commit leaves it
    local id
    id=$(st "$1" verifier-key | cut -d+ -f2)
    if [ $have_strace = 1 ]; then killed_at pwrite64 1 "$SEALTRAIL" --dir "$1" key rotate --keep-old
    else ln "$1/log.key" "$1/keys/retired-$id.key" 2>/dev/null || { mkdir -p -m 700 "$1/keys"; ln "$1/log.key" "$1/keys/retired-$id.key"; }; fi
    [ "$(stat -c %i "$1/log.key")" = "$(stat -c %i "$1/keys/retired-$id.key" 2>/dev/null)" ] ||
        { echo "the killed rotation left no retired-$id.key beside log.key"; return 1; }
    [ "$(st "$1" verifier-key | cut -d+ -f2)" = "$id" ] || { echo "the killed rotation committed"; return 1; }
}
rm -rf "$work/k"; cp -a "$work/base" "$work/k"
vk0=$(st "$work/k" verifier-key); id0=$(echo "$vk0" | cut -d+ -f2)
check "rotate --keep-old killed before its commit leaves a second name of log.key" keep_left "$work/k"
expect "... the next rotate --keep-old completes" 0 "" -- st "$work/k" key rotate --keep-old
check "... and keeps the old key as keys/retired-$id0.key, a file of its own" \
    test -f "$work/k/keys/retired-$id0.key" -a "$(stat -c %h "$work/k/keys/retired-$id0.key" 2>/dev/null)" = 1
check "... with the old key in it" grep -q "$id0" "$work/k/keys/retired-$id0.key"
expect "... check passes" 0 "" -- st "$work/k" check
rm -rf "$work/k"; cp -a "$work/base" "$work/k"
check "a killed rotate --keep-old, then" keep_left "$work/k"
expect "... a plain rotate completes" 0 "" -- st "$work/k" key rotate
check "... and wipes the old key: no keys/retired-*.key is left" sh -c '! ls "$1"/keys/retired-*.key >/dev/null 2>&1' _ "$work/k"
expect "... check passes" 0 "" -- st "$work/k" check
st "$work/k" export --seal --out "$work/k.stb" >/dev/null 2>&1
expect "... and the export verifies with the first key" 0 "" -- "$AUDITVERIFY" "$work/k.stb" --trust "$vk0"

# ---- epoch keys that were never certified -------------------------------------------------------
# `key epochs` writes one key file per epoch, then prints the request. Killed half-way (or its
# request never certified, or run again), it leaves key files for the current epoch that no
# certificate names, beside the certified one. Rotation into epoch mode and every seal took
# whichever file the directory listed first: "no certified key to rotate to", or every seal
# failing ("epoch key ... may not sign now"), depending on the order of the files.
root=$work/root.key
st "$work/base" key root-init --out "$root" --name crash.example/root >/dev/null 2>"$work/root.err"
rvk=$(grep -o "crash.example/root+[^' ]*" "$work/root.err" | head -n 1)
rm -rf "$work/e"; cp -a "$work/base" "$work/e"
st "$work/e" key request --current > "$work/req" 2>/dev/null
st "$work/e" key certify --root "$root" --origin crash.example/windows "$work/req" > "$work/cert" 2>/dev/null
st "$work/e" key install --root-vkey "$rvk" "$work/cert" >/dev/null 2>&1
if [ $have_strace = 1 ]; then
    killed_at linkat 2 "$SEALTRAIL" --dir "$work/e" key epochs --count 3 --length 1d
    killed_at link 2 "$SEALTRAIL" --dir "$work/e" key epochs --count 3 --length 1d
fi
for _ in 1 2 3 4 5 6; do st "$work/e" key epochs --count 1 --length 1d >/dev/null 2>&1; done
st "$work/e" key epochs --count 2 --length 1d > "$work/ereq" 2>/dev/null
st "$work/e" key certify --root "$root" --origin crash.example/windows "$work/ereq" > "$work/ecert" 2>/dev/null
st "$work/e" key install "$work/ecert" >/dev/null 2>&1
now=$(date +%s)
n=$(ls "$work/e/keys" | awk -F- -v t="$now" '/^epoch-/ && $2 <= t && t < $3' | wc -l)
check "7 or more epoch key files cover now, one of them certified ($n)" test "$n" -ge 7
expect "key rotate hands over to the certified epoch key" 0 "" -- st "$work/e" key rotate
st "$work/e" key list > "$work/kl" 2>&1 || true
check "... the store is in epoch mode" grep -q '^mode: *epochs' "$work/kl"
sealed_ok=0
for i in 1 2 3; do
    st "$work/e" append "$work/one.jsonl" >/dev/null 2>&1 || true
    st "$work/e" seal >/dev/null 2>"$work/seal.err" && sealed_ok=$((sealed_ok + 1))
done
check "... seals sign with it ($sealed_ok of 3: $(head -c 200 "$work/seal.err"))" test $sealed_ok = 3
expect "... check passes" 0 "" -- st "$work/e" check
st "$work/e" export --seal --out "$work/e.stb" >/dev/null 2>&1
expect "... and the export verifies with the root" 0 "" -- "$AUDITVERIFY" "$work/e.stb" --trust "$rvk"

e2e_end
