#!/usr/bin/env bash
# test_crash_kill.sh: crash consistency under kill -9. Every writing command
# (import, seal, hook, hook while another process holds the writer lock so
# that it spools, export --out, key rotate, retention compact, archive,
# prune, erase) is started on a realistic store (3000 imported audit-log
# lines, a retention policy, sealed) and killed with SIGKILL after a random
# delay between 0 and the command's normal run time (measured once here).
# After each kill:
#
#   1. `sealtrail check` passes on the store;
#   2. nothing acknowledged is lost or duplicated: the log before the command
#      is a prefix of the log after it, and what was added is what the
#      command adds (an import: a prefix of its file, in order; a hook: its
#      event at most once, in the store or in the spool, and exactly once
#      after `hook replay`; an erase: at most one erasure record, ...);
#   3. the same command, run again, completes (an import: the rest of the
#      file), `check` passes, no retention command is left interrupted, and
#      a full export verifies with auditverify against the store's key (the
#      first one and, after a rotation, the current one);
#   4. no stray file is left where the user sees it: the export target's
#      directory holds the target or nothing (a target left by the kill
#      verifies), the archive directory holds the archives its records name,
#      the store, keys/ and spool/ hold their own files (an empty compact.tmp
#      is allowed: docs/RETENTION.md section 6); an erased payload's salt is
#      in no file of the store (the erase's compaction was finished).
#
# The delays come from a seeded generator: the seed is printed, and
# CRASH_SEED=N replays a run (the same fractions of the run times measured). CRASH_ITERS=N kills each command N times
# (default 3; the whole test then takes under a minute), CRASH_CMDS="erase
# archive" kills only those.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
SRC=${ST_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
SHARED=${ST_SHARED_DIR:-$SRC/../shared}
. "$(dirname "$0")/lib.sh"
e2e_begin test_crash_kill
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED SEALTRAIL_LOCK_TIMEOUT_MS

ITERS=${CRASH_ITERS:-3}
SEED=${CRASH_SEED:-$(( $(date +%s) % 100000 ))}
echo "crash seed $SEED (CRASH_SEED=$SEED replays it), $ITERS kill(s) per command"
RANDOM=$SEED
st() { "$SEALTRAIL" --dir "$1" "${@:2}"; }
now_us() { echo $(( $(date +%s%N) / 1000 )); }

# ---- the stores --------------------------------------------------------------------------------
python3 "$SRC/bench/gen_audit.py" 3000 "$work/3k.jsonl" >/dev/null
base=$work/base                 # 3000 imported lines, a retention policy, sealed
st "$base" init --origin crash.example/e2e >/dev/null 2>&1
st "$base" import --batch 500 "$work/3k.jsonl" >/dev/null 2>&1   # sealed every 1000
st "$base" retention set --min 1d --max 30d --archive-after 7d --reason "crash test" >/dev/null
st "$base" seal >/dev/null
unsealed=$work/unsealed         # ... and 900 more, not sealed yet
cp -a "$base" "$unsealed"
head -n 900 "$work/3k.jsonl" > "$work/900.jsonl"
st "$unsealed" import "$work/900.jsonl" >/dev/null 2>&1
empty=$work/empty               # a policy and nothing else: for import
st "$empty" init --origin crash.example/e2e >/dev/null 2>&1
st "$empty" retention set --min 1d --reason "crash test" >/dev/null
archived=$work/archived         # the base, archived into three files: for prune
cp -a "$base" "$archived"
st "$archived" archive --max-entries 1000 >/dev/null
check "the stores are built and check" sh -c '
    for d in "$@"; do "$SEALTRAIL" --dir "$d" check >/dev/null || exit 1; done' _ "$base" "$unsealed" "$empty" "$archived"
sz=$(st "$unsealed" status --json | jq -r '"\(.size) \(.sealed_size)"')
check "the unsealed store has entries to seal (size, sealed: $sz)" test ${sz% *} -gt ${sz#* }

# Hook payloads from Claude Code (a tool call; a Stop, which seals), each with its own session
# id (crash-hook-ITER) so that each run's event can be counted (from ../shared/claude-code/payloads,
# else the same events of tests/fixtures/demo-session.jsonl); and the entry time of each line of
# the import file, in order.
python3 - "$SHARED/claude-code/payloads" "$SRC/tests/fixtures/demo-session.jsonl" "$work" "$ITERS" "$work/3k.jsonl" <<'PY'
import json, os, sys
from datetime import datetime
src, demo, work, iters, lines = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
if os.path.isdir(src):
    events = [json.load(open(f"{src}/{f}")) for f in ("tool-PostToolUse-Bash-ok.json", "ev-Stop.json")]
else:
    print(f"note: {src} is absent: hook events from {demo}")
    demo = [json.loads(l) for l in open(demo)]
    events = [next(e for e in demo if e["hook_event_name"] == n) for n in ("PostToolUse", "Stop")]
for i in ["t"] + list(range(1, iters + 1)):
    d = dict(events[i % 2 if i != "t" else 0])
    d["session_id"] = f"crash-hook-{i}"
    open(f"{work}/hook-{i}.json", "w").write(json.dumps(d) + "\n")
with open(f"{work}/want.t", "w") as f:
    for l in open(lines):
        ts = json.loads(l)["timestamp"]
        f.write("%d\n" % int(datetime.fromisoformat(ts.replace("Z", "+00:00")).timestamp() * 10**6))
PY

# ---- per command: the store it starts from, its argument list, its checks ------------------------
# cmd_of NAME DIR ITER: sets CMD (the command line) and CMD_IN (its stdin). The command is
# started as a simple command, so that $! is sealtrail itself and the kill reaches it (a
# function or a subshell in between would be killed instead, and sealtrail run on).
cmd_of() {
    local name=$1 d=$2 i=$3
    CMD_IN=/dev/null
    case $name in
        import)   CMD=(import --batch 250 "$work/3k.jsonl") ;;
        seal)     CMD=(seal) ;;
        hook)     CMD=(hook); CMD_IN=$work/hook-$i.json ;;
        hookspool) CMD=(hook); CMD_IN=$work/hook-$i.json ;;
        export)   CMD=(export --force --out "$work/exp/audit.stb") ;;
        rotate)   CMD=(key rotate) ;;
        compact)  CMD=(retention compact) ;;
        archive)  CMD=(archive --max-entries 1000) ;;
        prune)    CMD=(prune) ;;
        erase)    CMD=(erase --index 7 --reason "crash test") ;;
    esac
    CMD=("$SEALTRAIL" --dir "$d" "${CMD[@]}")
    # the store's writer lock is held (lock_on): the hook gives up after 40 ms and spools
    [ "$name" != hookspool ] || CMD=(env SEALTRAIL_LOCK_TIMEOUT_MS=40 "${CMD[@]}")
}
# lock_on DIR / lock_off: another process holds DIR's LMDB writer lock (tests/e2e/hold_lock.c)
lock_on() {
    rm -f "$work/fifo" "$work/hold.out"
    mkfifo "$work/fifo"
    "$work/hold_lock" "$1" < "$work/fifo" > "$work/hold.out" 2>&1 &
    hold_pid=$!
    exec 7>"$work/fifo"
    for _ in $(seq 200); do grep -q locked "$work/hold.out" && return 0; sleep 0.02; done
    echo "hold_lock: $(cat "$work/hold.out")"; return 1
}
lock_off() { exec 7>&-; wait "$hold_pid" || true; }
e2e_at_exit "exec 7>&- 2>/dev/null"
run_cmd() { cmd_of "$@"; "${CMD[@]}" < "$CMD_IN"; }
start_store() {
    case $1 in
        import) echo "$empty" ;; seal) echo "$unsealed" ;; prune) echo "$archived" ;; *) echo "$base" ;;
    esac
}
# log_of DIR > file: the entries (envelopes), one per line
log_of() { st "$1" log --no-payloads; }

# judge PHASE NAME ITER BEFORE AFTER: the log BEFORE the command is a prefix of the log AFTER
# (PHASE kill: after the kill; rerun: after the rerun) and what was added is what NAME adds.
# Prints the number of entries added, or the reason on a failure. (jq, not python: python
# takes most of a second to start on a loaded machine, jq a few milliseconds.)
judge() {
    local phase=$1 name=$2 it=$3 bf=$4 af=$5 nb n kinds mine
    nb=$(stat -c %s "$bf")
    cmp -s -n "$nb" "$bf" "$af" || { echo "the log before the command is not a prefix of the log after the $phase"; return 1; }
    tail -c +$((nb + 1)) "$af" > "$work/new"
    n=$(wc -l < "$work/new")
    kinds=$(jq -r '.kind // "event"' "$work/new" | tr '\n' ' ')
    case $name.$phase in
        import.*)
            jq -r .time_us "$work/new" > "$work/new.t"
            head -n "$n" "$work/want.t" | cmp -s - "$work/new.t" || { echo "import: the $n entries added are not the file's first $n lines in order"; return 1; }
            [ "$phase" = kill ] || [ "$n" = 3000 ] || { echo "import: $n entries after the rerun, want the file's 3000 lines once each"; return 1; } ;;
        seal.*|export.*|compact.*)
            [ "$n" = 0 ] || { echo "$name added entries: $kinds"; return 1; } ;;
        hook.*|hookspool.*)
            mine=$(grep -c "\"session\":\"crash-hook-$it\"" "$work/new" || true)
            [ "$mine" = "$n" ] || { echo "hook: $n entries added, $mine of them its event"; return 1; }
            if [ "$phase" = kill ]; then [ "$n" -le 1 ]; else [ "$n" -ge 1 ] && [ "$n" -le 2 ]; fi ||
                { echo "hook: its event is stored $n times after the $phase"; return 1; } ;;
        rotate.kill)   case "$kinds" in ""|"key-rotation ") ;; *) echo "rotate: added $kinds"; return 1 ;; esac ;;
        rotate.rerun)  case "$kinds" in "key-rotation "|"key-rotation key-rotation ") ;; *) echo "rotate: added $kinds"; return 1 ;; esac ;;
        archive.kill)  case "$kinds" in ""|"archive "|"archive archive "|"archive archive archive ") ;; *) echo "archive: added $kinds"; return 1 ;; esac ;;
        archive.rerun)
            kinds=$(jq -r '"\(.kind) \(.data.begin)-\(.data.end)"' "$work/new" | tr '\n' ' ')
            [ "$kinds" = "archive 0-1000 archive 1000-2000 archive 2000-3000 " ] || { echo "archive: records $kinds, want [0,1000) [1000,2000) [2000,3000) once each"; return 1; } ;;
        prune.kill)    case "$kinds" in ""|"prune ") ;; *) echo "prune: added $kinds"; return 1 ;; esac ;;
        prune.rerun)
            # A prune run after a complete one records the range since (the last prune
            # record, which has no payloads): any second run does. The ranges must tile from 0,
            # every payload in the first.
            kinds=$(jq -r '"\(.kind) \(.data.begin)-\(.data.end) \(.data.payloads)"' "$work/new" | tr '\n' ' ')
            [[ "$kinds" =~ ^prune\ 0-([0-9]+)\ [1-9][0-9]*\ (prune\ ([0-9]+)-[0-9]+\ 0\ )?$ ]] &&
                { [ -z "${BASH_REMATCH[3]}" ] || [ "${BASH_REMATCH[3]}" = "${BASH_REMATCH[1]}" ]; } ||
                { echo "prune: records $kinds"; return 1; } ;;
        erase.kill)    case "$kinds" in ""|"erasure ") ;; *) echo "erase: added $kinds"; return 1 ;; esac ;;
        erase.rerun)
            [ "$kinds" = "erasure " ] && [ "$(jq .data.index "$work/new")" = 7 ] || { echo "erase: added $kinds"; return 1; } ;;
    esac
    echo "$n"
}

# Files the user may see: every path under the store and the export directory, with the
# ones a store always holds left out.
stray_files() {   # stray_files DIR
    local d=$1
    # (an empty compact.tmp: a compaction killed between its rename and its rmdir; harmless,
    # docs/RETENTION.md section 6)
    ( cd "$d" && find . -mindepth 1 \( -path ./keys -o -path ./archive -o -path ./spool \) -prune -o -print ) |
        grep -v -x -E '\./(data\.mdb|lock\.mdb|gate|gate\.turn|retention\.lock|log\.key|log\.vkey)' |
        { [ -d "$d/compact.tmp" ] && [ -z "$(ls -A "$d/compact.tmp")" ] && grep -v -x './compact.tmp' || cat; } || true
    [ ! -d "$d/keys" ] || ( cd "$d/keys" && ls -A ) | grep -v -x -E 'lock' | sed 's|^|keys/|' || true
    [ ! -d "$d/spool" ] || ( cd "$d/spool" && ls -A ) | grep -v -x -E '\.lock' | sed 's|^|spool/|' || true
    if [ -d "$d/archive" ]; then
        st "$d" retention show --json | jq -r '.archives[].file' > "$work/names"
        ( cd "$d/archive" && ls -A ) | grep -v -x -F -f "$work/names" | sed 's|^|archive/|' || true
    fi
    [ ! -d "$work/exp" ] || ( cd "$work/exp" && ls -A ) | grep -v -x 'audit.stb' | sed 's|^|export dir: |' || true
}

# The salts of entry 7's payloads (16 random bytes each, first in the stored value; docs/FORMAT.md
# section 5), hex, from the base store: once erased they must be gone from every file of the store
# (RETENTION.md: "the bytes leave the files"), which takes the compaction that ends an erase.
mdb_dump -s payloads "$base" | awk 'k { print substr($1, 1, 32); k = 0 } /^ 0000000000000007/ { k = 1 }' > "$work/salts7"
check "entry 7 has payloads, their salts are known ($(wc -l < "$work/salts7"))" test -s "$work/salts7"
salts_left() {   # salts_left DIR: the salts of entry 7 still in a file of DIR (not its archives)
    local f
    for f in "$1"/*.mdb; do
        od -An -v -tx1 "$f" | tr -d ' \n' | grep -o -F -f "$work/salts7" | sed "s|^|$(basename "$f") holds the salt |" || true
    done
}

verify_export() {   # verify_export DIR VKEY: a full export verifies with VKEY, the key the auditor pinned
    local d=$1 k=$2
    rm -f "$work/v.stb"
    st "$d" export --seal --out "$work/v.stb" >/dev/null 2>"$work/v.err" || { echo "export: $(cat "$work/v.err")"; return 1; }
    "$AUDITVERIFY" "$work/v.stb" --trust "$k" >"$work/v.out" 2>&1 || { echo "auditverify --trust $k: $(grep failure "$work/v.out")"; return 1; }
    [ "$(cat "$d/log.vkey")" = "$(st "$d" verifier-key)" ] || { echo "log.vkey $(cat "$d/log.vkey") is not the store's key $(st "$d" verifier-key)"; return 1; }
}

# ---- the normal run time of each command ----------------------------------------------------------
read -r -a CMDS <<< "${CRASH_CMDS:-import seal hook hookspool export rotate compact archive prune erase}"
if [[ " ${CMDS[*]} " == *" hookspool "* ]] && ! ${CC:-cc} -O1 -o "$work/hold_lock" "$SRC/tests/e2e/hold_lock.c" -llmdb 2>"$work/cc.err"; then
    echo "skip hookspool: cannot compile the lock helper: $(head -1 "$work/cc.err")"
    read -r -a CMDS <<< "${CMDS[*]/hookspool/}"
fi
declare -A RUN_US
mkdir -p "$work/exp"
for c in "${CMDS[@]}"; do
    rm -rf "$work/t" "$work/exp"/* "$work/exp"/.[!.]* 2>/dev/null || true
    cp -a "$(start_store "$c")" "$work/t"
    [ "$c" != hookspool ] || lock_on "$work/t"
    t0=$(now_us)
    rc=0; run_cmd "$c" "$work/t" t >/dev/null 2>"$work/err" || rc=$?
    t1=$(now_us)
    [ "$c" != hookspool ] || lock_off
    RUN_US[$c]=$((t1 - t0))
    [ $rc = 0 ] || bad "$c: a normal run fails: exit $rc: $(head -c 300 "$work/err")"
done
echo "normal run times (ms): $(for c in "${CMDS[@]}"; do printf '%s %d  ' "$c" $((RUN_US[$c] / 1000)); done)"

# The current key after a rotation does not verify the checkpoints before it on its own (simple
# mode: the auditor pins the first key and the rotation carries the trust over, docs/KEYS.md).
# ---- kill, check, rerun, check ----------------------------------------------------------------------
for c in "${CMDS[@]}"; do
    for i in $(seq 1 "$ITERS"); do
        d=$work/s
        rm -rf "$d" "$work/exp"/* "$work/exp"/.[!.]* 2>/dev/null || true
        cp -a "$(start_store "$c")" "$d"
        log_of "$d" > "$work/before"
        r=$(( (RANDOM << 15 | RANDOM) % (RUN_US[$c] + 1) ))
        delay=$(printf '%d.%06d' $((r / 1000000)) $((r % 1000000)))
        what="$c #$i (kill after ${delay}s of ~$((RUN_US[$c] / 1000)) ms)"
        cmd_of "$c" "$d" "$i"
        [ "$c" != hookspool ] || lock_on "$d" || { bad "$what: cannot hold the writer lock"; continue; }
        "${CMD[@]}" < "$CMD_IN" >"$work/kout" 2>"$work/kerr" &
        pid=$!
        sleep "$delay"
        kill -9 "$pid" 2>/dev/null || true
        krc=0; wait "$pid" 2>/dev/null || krc=$?
        [ "$c" != hookspool ] || lock_off
        [ $krc = 137 ] && what="$what killed" || what="$what (had finished, exit $krc)"
        if ! st "$d" check >"$work/out" 2>&1; then
            bad "$what: check fails after the kill: $(head -c 400 "$work/out")"
            continue
        fi
        log_of "$d" > "$work/mid"
        if [ "$c" = export ] && [ -e "$work/exp/audit.stb" ] &&
           ! "$AUDITVERIFY" "$work/exp/audit.stb" --trust "$(st "$base" verifier-key)" >/dev/null 2>&1; then
            bad "$what: the killed export left a bundle that does not verify at the target"
            continue
        fi
        if ! added=$(judge kill "$c" "$i" "$work/before" "$work/mid"); then
            bad "$what: after the kill: $added"
            continue
        fi
        # the rerun
        rc=0
        case $c in
            import)
                tail -n +$((added + 1)) "$work/3k.jsonl" > "$work/rest.jsonl"
                [ "$added" -lt 3000 ] && { st "$d" import "$work/rest.jsonl" >/dev/null 2>"$work/err" || rc=$?; } ;;
            hook|hookspool)
                [ "$(find "$d/spool" -name '*.rec' 2>/dev/null | wc -l)" -le 1 ] || bad "$what: more than one spool file for one event"
                st "$d" hook replay >/dev/null 2>"$work/err" || rc=$?
                n=$(log_of "$d" | grep -c "\"session\":\"crash-hook-$i\"" || true)
                [ "$n" -le 1 ] || bad "$what: the event is stored $n times after hook replay"
                [ "$added" = 0 ] && [ "$n" = 0 ] && echo "     (the hook died before its event was stored or spooled: not acknowledged)"
                [ $rc = 0 ] && { run_cmd hook "$d" "$i" >/dev/null 2>"$work/err" || rc=$?; }
                [ ! -s "$work/err" ] || { bad "$what: the rerun hook wrote to stderr: $(head -c 300 "$work/err")"; } ;;
            erase)
                run_cmd "$c" "$d" "$i" >/dev/null 2>"$work/err" || rc=$?
                # the first run may have got as far as the record: the rerun then has nothing left to erase
                [ $rc = 1 ] && [ "$added" = 1 ] && grep -q "already removed by record" "$work/err" && rc=0 ;;
            *)
                run_cmd "$c" "$d" "$i" >/dev/null 2>"$work/err" || rc=$? ;;
        esac
        if [ $rc != 0 ]; then
            bad "$what: the rerun fails: exit $rc: $(head -c 400 "$work/err")"
            continue
        fi
        if ! st "$d" check >"$work/out" 2>&1; then
            bad "$what: check fails after the rerun: $(head -c 400 "$work/out")"
            continue
        fi
        log_of "$d" > "$work/end"
        if ! msg=$(judge rerun "$c" "$i" "$work/before" "$work/end"); then
            bad "$what: after the rerun: $msg"
            continue
        fi
        if st "$d" retention show --json | grep -q -e '"interrupted":true' -e '"compact_pending":true'; then
            bad "$what: retention show still reports an interrupted command or a compaction pending after the rerun"
            continue
        fi
        if [[ $c == hook* ]] && [ -n "$(find "$d/spool" -name '*.rec' 2>/dev/null)" ]; then
            bad "$what: spool not empty after the rerun"
            continue
        fi
        if [ "$c" = erase ] && left=$(salts_left "$d") && [ -n "$left" ]; then
            bad "$what: the erased payloads' bytes are still in the store after the rerun: $(echo $left)"
            continue
        fi
        if [ "$c" = export ]; then
            "$AUDITVERIFY" "$work/exp/audit.stb" --trust "$(st "$base" verifier-key)" >/dev/null 2>&1 || { bad "$what: the rerun's bundle does not verify"; continue; }
        fi
        if ! msg=$(verify_export "$d" "$(st "$(start_store "$c")" verifier-key)" 2>/dev/null); then
            bad "$what: $msg"
            continue
        fi
        stray=$(stray_files "$d")
        if [ -n "$stray" ]; then
            bad "$what: stray files after the rerun: $(echo $stray)"
            continue
        fi
        ok "$what: check passes, +$added entries kept, the rerun completes, export verifies, nothing stray"
    done
done

e2e_end
