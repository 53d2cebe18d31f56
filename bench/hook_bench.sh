#!/usr/bin/env bash
# hook_bench.sh: end-to-end latency of `sealtrail hook` as Claude Code runs it
# (one process per event, JSON on a pipe, durable append), against
#   - an empty static C program (the floor for any hook),
#   - a static C "durable floor": drains stdin, appends it as one line to a
#     file and fdatasyncs (the floor for any hook that makes its event
#     durable; sealtrail's LMDB commit is two syncs, data then meta page), and
#   - a Node.js hook that appends one JSONL line with fsync (the approach
#     people use today),
# for a 2 KiB PostToolUse event, a 1 MiB Write event (the same content each
# run, which the store keeps once, and new content each run, which it
# compresses and stores), and a SessionEnd event (append + seal). All in one run, printed as p50/p90/p99, CPU time and page
# faults per process (medians; CPU does not depend on machine load), and
# ratios to both floors.
# Timing loop: bench/hook_spawn.c (posix_spawn, payload written to a pipe).
#
# usage: bench/hook_bench.sh [RUNS]        (SEALTRAIL=path to use a given binary;
#                                           default: a Release build in build-bench/)
# Goals (DESIGN.md §9): p50 <= 1.6 x empty program, p99 <= 4 ms,
# 1 MiB <= 15 ms, >= 30 x faster than the Node.js hook.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
RUNS=${1:-300}
if [ -z "${SEALTRAIL:-}" ]; then
    cmake -S "$root" -B "$root/build-bench" -DCMAKE_BUILD_TYPE=Release -DSEALTRAIL_TESTS=OFF >/dev/null
    make -C "$root/build-bench" -j"$(nproc)" sealtrail-bin >/dev/null
    SEALTRAIL=$root/build-bench/sealtrail
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/st-hookbench-XXXXXX")
trap 'rm -rf "$T"' EXIT
CC=${CC:-cc}
$CC -O2 -o "$T/spawn" "$here/hook_spawn.c"
printf 'int main(void){return 0;}\n' >"$T/empty.c"
cat >"$T/floor.c" <<'C'
/* The durable floor: drain stdin, append it as one line, fdatasync. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>
int main(int argc, char **argv)
{
    size_t cap = 1 << 16, len = 0;
    char *buf = malloc(cap);
    ssize_t n;
    if (argc != 2 || !buf) return 2;
    while ((n = read(0, buf + len, cap - len)) > 0)
        if ((len += (size_t)n) == cap && !(buf = realloc(buf, cap *= 2))) return 1;
    if (n < 0) return 1;
    int fd = open(argv[1], O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, buf, len) != (ssize_t)len || fdatasync(fd) != 0) return 1;
    return close(fd) != 0;
}
C
static=-static
if ! $CC -O2 -static -o "$T/empty" "$T/empty.c" 2>/dev/null; then
    echo "note: no static libc; the empty program and the durable floor are dynamically linked"
    static=
    $CC -O2 -o "$T/empty" "$T/empty.c"
fi
$CC -O2 $static -o "$T/floor" "$T/floor.c"
cat >"$T/hook.js" <<'JS'
// The usual Node.js audit hook: read the event, append one JSONL line, fsync.
const fs = require('fs');
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const ev = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  const fd = fs.openSync(process.argv[2], 'a', 0o600);
  fs.writeSync(fd, JSON.stringify({ ts: new Date().toISOString(), ...ev }) + '\n');
  fs.fsyncSync(fd);
  fs.closeSync(fd);
});
JS
python3 - "$T" <<'PY'
import json, sys, random
t = sys.argv[1]
base = {"session_id": "bc9086c5-7b15-40c5-9849-dab471d76062",
        "transcript_path": "/home/dev/.claude/projects/-home-dev-app/bc9086c5-7b15-40c5-9849-dab471d76062.jsonl",
        "cwd": "/home/dev/app", "permission_mode": "default", "effort": {"level": "high"}}
random.seed(7)
words = "def return self value items for in if else import from class with as None True False".split()
def code(n):
    out, size = [], 0
    while size < n:
        line = "    " * random.randint(0, 3) + " ".join(random.choice(words) for _ in range(random.randint(3, 10))) + "\n"
        out.append(line); size += len(line)
    return "".join(out)[:n]
small = dict(base, hook_event_name="PostToolUse", tool_name="Bash",
             tool_input={"command": "pytest -q tests/", "description": "Run tests"},
             tool_response={"stdout": code(1700), "stderr": "", "interrupted": False, "isImage": False},
             tool_use_id="toolu_01613ruoJ1dmAHpdeHW0cYBN", duration_ms=412)
s = json.dumps(small, separators=(",", ":"))
open(t + "/ev2k.json", "w").write(s + "\n")
big = dict(base, hook_event_name="PostToolUse", tool_name="Write",
           tool_input={"file_path": "/home/dev/app/big.py", "content": code(1 << 20)},
           tool_response={"type": "create", "filePath": "/home/dev/app/big.py"},
           tool_use_id="toolu_01Z8a3j87ufPK3WjCSkyN5uZ", duration_ms=9)
open(t + "/ev1m.json", "w").write(json.dumps(big, separators=(",", ":")) + "\n")
# The same event with a marker in its content: hook_spawn puts the run's number
# there, so every run Writes content the store does not hold yet (a new blob).
new = dict(big, tool_input=dict(big["tool_input"], content="@@VARY@@" + big["tool_input"]["content"][8:]))
open(t + "/ev1m-new.json", "w").write(json.dumps(new, separators=(",", ":")) + "\n")
open(t + "/end.json", "w").write(json.dumps(dict(base, hook_event_name="SessionEnd", reason="other"), separators=(",", ":")) + "\n")
print("payloads: %d bytes, %d bytes" % (len(s) + 1, len(json.dumps(big, separators=(",", ":"))) + 1))
PY
"$SEALTRAIL" --dir "$T/store" init >/dev/null 2>&1
"$SEALTRAIL" --dir "$T/store-1m" init >/dev/null 2>&1
"$SEALTRAIL" --dir "$T/store-1m-new" init >/dev/null 2>&1
"$SEALTRAIL" --dir "$T/store-end" init >/dev/null 2>&1
NODE=$(command -v node || true)
nruns=$(( RUNS / 10 > 20 ? RUNS / 10 : 20 ))
bigruns=$(( RUNS / 3 > 30 ? RUNS / 3 : 30 ))

# warm caches, then measure
"$T/spawn" warm 20 "$T/ev2k.json" -- "$SEALTRAIL" --dir "$T/store" hook >/dev/null
{
"$T/spawn" "empty-static-C" "$RUNS" "$T/ev2k.json" -- "$T/empty"
"$T/spawn" "durable-floor-2KiB" "$RUNS" "$T/ev2k.json" -- "$T/floor" "$T/floor.jsonl"
"$T/spawn" "sealtrail-2KiB" "$RUNS" "$T/ev2k.json" -- "$SEALTRAIL" --dir "$T/store" hook
"$T/spawn" "durable-floor-1MiB" "$bigruns" "$T/ev1m.json" -- "$T/floor" "$T/floor1m.jsonl"
"$T/spawn" "sealtrail-1MiB" "$bigruns" "$T/ev1m.json" -- "$SEALTRAIL" --dir "$T/store-1m" hook
"$T/spawn" "sealtrail-1MiB-new-content" "$bigruns" "$T/ev1m-new.json" -- "$SEALTRAIL" --dir "$T/store-1m-new" hook
"$T/spawn" "sealtrail-SessionEnd+seal" "$bigruns" "$T/end.json" -- "$SEALTRAIL" --dir "$T/store-end" hook
if [ -n "$NODE" ]; then
    "$T/spawn" "node-jsonl-2KiB" "$nruns" "$T/ev2k.json" -- "$NODE" "$T/hook.js" "$T/node.jsonl"
    "$T/spawn" "node-jsonl-1MiB" "$nruns" "$T/ev1m.json" -- "$NODE" "$T/hook.js" "$T/node1m.jsonl"
fi
} >"$T/results"

python3 - "$T/results" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1])]
r = {x[0]: dict(n=int(x[1]), p50=float(x[2]), p90=float(x[3]), p99=float(x[4]), max=float(x[5]), fail=int(x[6]),
                short=int(x[7]), cpu=float(x[8]), flt=int(float(x[9]))) for x in rows}
empty = r["empty-static-C"]["p50"]
floor = r["durable-floor-2KiB"]["p50"]
node = r.get("node-jsonl-2KiB", {}).get("p50")
print("%-27s %5s %7s %7s %7s %7s %7s %6s %7s %7s %8s %4s %5s" % ("hook (separate process)", "runs", "p50 ms", "p90 ms",
      "p99 ms", "max ms", "cpu ms", "faults", "x empty", "x floor", "node / x", "fail", "epipe"))
for name, v in r.items():
    vs_node = "%.1f" % (node / v["p50"]) if node else "-"
    print("%-27s %5d %7.3f %7.3f %7.3f %7.3f %7.3f %6d %7.2f %7.2f %8s %4d %5d" % (name, v["n"], v["p50"], v["p90"],
          v["p99"], v["max"], v["cpu"], v["flt"], v["p50"] / empty, v["p50"] / floor, vs_node, v["fail"], v["short"]))
s = r["sealtrail-2KiB"]
print()
print("goals: p50 <= 1.6 x empty: %.2f x (%.2f x the durable floor, which is %.2f x empty);  p99 <= 4 ms: %.2f ms;"
      % (s["p50"] / empty, s["p50"] / floor, floor / empty, s["p99"]))
print("       1 MiB p50 <= 15 ms: %.2f ms (content the store holds), %.2f ms (new content);  >= 30 x faster than Node: %s;"
      % (r["sealtrail-1MiB"]["p50"], r["sealtrail-1MiB-new-content"]["p50"], ("%.0f x" % (node / s["p50"])) if node else "no node"))
print("       SessionEnd+seal p50 %.2f ms, p99 %.2f ms"
      % (
r["sealtrail-SessionEnd+seal"]["p50"], r["sealtrail-SessionEnd+seal"]["p99"]))
print("cpu, faults: medians per process (user + system time and minor faults from wait4)")
PY
echo "(epipe: the program exited before reading all of stdin; the empty program does, a hook must not)"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (numbers are only meaningful on a quiet machine)"
du_store=$(du -sk "$T/store" | cut -f1)
echo "store after $((RUNS + 20)) 2 KiB events: ${du_store} KiB on disk"
