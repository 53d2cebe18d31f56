# tests/e2e/lib.sh: what every end-to-end script shares. Each test_*.sh
# sources it right after `set -euo pipefail`:
#
#     . "$(dirname "$0")/lib.sh"
#     e2e_begin NAME
#
#   $work (and $T)        the script's own temporary directory, removed at exit
#   e2e_at_exit CMD       also run CMD (a string) at exit, before $work goes
#   ok DESC / bad DESC    one passed / failed check
#   check DESC CMD...     ok when CMD succeeds, else bad
#   expect DESC WANT PATTERN -- CMD...
#                         CMD exits with WANT and, unless PATTERN is empty, its
#                         stderr matches the extended regex PATTERN
#   expect_exit WANT DESC CMD...
#                         CMD exits with WANT
#   expect_in FILE TEXT DESC
#                         FILE holds the fixed string TEXT
#   e2e_end               the summary line; its status is the script's
#
# expect and expect_exit leave CMD's stdout in $work/out, stderr in $work/err.
# SEALTRAIL_NO_SYSLOG is set: tests never write to the system log.

pass=0
fail=0
e2e_name=
e2e_exit_cmds=
export SEALTRAIL_NO_SYSLOG=1

# A python3 that is a version manager's shim (pyenv) starts shells to find
# the interpreter on every call: a second or more per call on a busy machine,
# which the loops of the interop test pay 200 times. Put the interpreter's
# own directory first, once.
if st_py=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null) && [ -x "$st_py" ]; then
    PATH="$(dirname "$st_py"):$PATH"
fi
unset st_py

e2e_cleanup() {
    if [ -n "$e2e_exit_cmds" ]; then eval "$e2e_exit_cmds" || true; fi
    if [ -n "${work:-}" ]; then
        chmod -R u+rwx "$work" 2>/dev/null || true   # tests make read-only directories
        rm -rf "$work"
    fi
}

e2e_begin() {
    e2e_name=$1
    work=$(mktemp -d "${TMPDIR:-/tmp}/st-e2e-$1.XXXXXX")
    T=$work
    trap e2e_cleanup EXIT
}

e2e_at_exit() { e2e_exit_cmds="${e2e_exit_cmds:+$e2e_exit_cmds; }$1"; }

# erase_now DIR INDEX: erases INDEX (waiting up to 3 s for other handles to
# close, as a compaction does); its output in $work/er, exit status in $erc.
# compacted: that erase exited 0 and compacted the store.
erase_now() { erc=0; SEALTRAIL_GATE_WAIT_MS=3000 "$SEALTRAIL" --dir "$1" erase --index "$2" --reason "e2e stall test" >"$work/er" 2>&1 || erc=$?; }
compacted() { [ "$erc" = 0 ] && grep -q "store compacted" "$work/er"; }

# e2e_store_3k DIR ORIGIN: a store at DIR holding 3000 generated audit-log
# lines ($work/3k.jsonl, bench/gen_audit.py); $work/one.jsonl is its first line.
e2e_store_3k() {
    python3 "$(dirname "${BASH_SOURCE[0]}")/../../bench/gen_audit.py" 3000 "$work/3k.jsonl" >/dev/null
    head -n 1 "$work/3k.jsonl" > "$work/one.jsonl"
    "$SEALTRAIL" --dir "$1" init --origin "$2" >/dev/null 2>&1
    "$SEALTRAIL" --dir "$1" import "$work/3k.jsonl" >/dev/null 2>&1
}

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { local d=$1; shift; if "$@"; then ok "$d"; else bad "$d"; fi; }

expect() {
    local desc=$1 want=$2 pat=$3 rc=0
    shift 4
    "$@" >"$work/out" 2>"$work/err" || rc=$?
    if [ "$rc" -ne "$want" ]; then bad "$desc: exit $rc, want $want ($(head -c 600 "$work/err"))"; return 0; fi
    if [ -n "$pat" ] && ! grep -qE -- "$pat" "$work/err"; then bad "$desc: stderr lacks /$pat/: $(head -c 600 "$work/err")"; return 0; fi
    ok "$desc"
}

expect_exit() {
    local want=$1 desc=$2 got=0
    shift 2
    "$@" >"$work/out" 2>"$work/err" || got=$?
    if [ "$got" = "$want" ]; then ok "$desc (exit $got)"; else bad "$desc: exit $got, want $want: $(head -c 600 "$work/err")"; fi
}

expect_in() {
    if grep -qF -- "$2" "$1"; then ok "$3"; else bad "$3: \"$2\" not in: $(head -c 400 "$1")"; fi
}

e2e_end() {
    echo "e2e $e2e_name: $pass passed, $fail failed"
    [ "$fail" -eq 0 ]
}

# ids_in_order STORE ID...: the log holds exactly these tool_use_ids, in this order (hook tests)
ids_in_order() {
    local st=$1; shift
    "$SEALTRAIL" --dir "$st" log --no-payloads | python3 -c "
import json,sys
got=[json.loads(l).get('tool_use_id','') for l in sys.stdin]
want=sys.argv[1:]
assert got==want, (got, want)" "$@"
}

# hold_writer_lock DIR STORE: DIR/hold_lock (tests/e2e/hold_lock.c, built by the
# caller) holds STORE's LMDB writer lock until fd 7 is closed (exec 7>&-); hp is
# its pid. Checks that the lock is held before returning.
hold_writer_lock() {
    mkfifo "$1/fifo"
    "$1/hold_lock" "$2" <"$1/fifo" >"$1/hold.out" 2>&1 &
    hp=$!
    exec 7>"$1/fifo"
    for _ in $(seq 200); do grep -q locked "$1/hold.out" && break; sleep 0.02; done
    check "helper holds the writer lock" grep -q locked "$1/hold.out"
}
