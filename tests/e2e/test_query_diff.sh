#!/usr/bin/env bash
# query and stats against a reference, on random data (differential test).
#
# A seeded generator writes a log of audit-log lines and hook events with
# random tools, sessions, statuses, out-of-order times, durations (some
# absent), paths (file_path, path, notebook_path) and output words, and
# imports it. The reference reads every entry back with `log` (a plain scan
# of the entries, no index) and answers each query itself: filters as
# `query --help` states them (lists, since <= time < until, glob or
# substring paths, min duration, text in the stored payloads), order by
# time or duration, reverse, limit. Several hundred random filter
# combinations must give exactly the reference's entries in its order, and
# --count its count; windowed and per-session `stats` must give its exact
# figures (nearest-rank p50/p95), all-time stats its counts and totals and
# p50/p95 within the documented 1.6% (exact below 64 ms).
# Filtered exports must hold exactly the entries query selects (a time-only
# export: every entry between the first and last of them), and verify.
# SEED=N picks another data set (default 1); QUERIES=N the number of queries.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin query_diff
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/query-diff >/dev/null 2>&1

python3 - "$SEALTRAIL" "$work" "${SEED:-1}" "${QUERIES:-400}" "$AUDITVERIFY" <<'PY' && ok "query and stats agree with the reference" || bad "query/stats differ from the reference"
import fnmatch, json, math, random, subprocess, sys
from datetime import datetime, timezone

st_bin, work, seed, nq = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
rnd = random.Random(seed)
store = work + "/s"

def st(*args):
    p = subprocess.run([st_bin, "--dir", store, *args], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"sealtrail {' '.join(args)}: exit {p.returncode}: {p.stderr.strip()}")
    return p.stdout

TOOLS = ["Read", "Edit", "Write", "Bash", "Glob", "NotebookEdit", "mcp__github__create_issue", "mcp__github__create_pr"]
SESSIONS = [f"{rnd.getrandbits(128):032x}" for _ in range(7)]
WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet"]
DIRS = ["/repo/src/auth", "/repo/src/billing", "/repo/lib", "/repo/test/auth", "/etc/app", "/home/u/notes"]
FILES = ["login.ts", "token.go", "a.py", "README.md", "x.ipynb", "main.c", "auth.json"]

base_us = 1_735_689_600_000_000          # 2025-01-01T00:00:00Z
span_us = 120 * 86400 * 1_000_000
times = rnd.sample(range(0, span_us // 1000), 2600)                 # distinct ms offsets
durations = rnd.sample(range(1, 500_000), 2600)                     # distinct durations

def iso(us):
    return datetime.fromtimestamp(us / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"

def tool_input(tool):
    d, f = rnd.choice(DIRS), rnd.choice(FILES)
    if tool == "Bash":
        return {"command": "true"}                                  # no path to extract
    if tool == "Glob":
        return {"pattern": "*.ts", "path": d}
    if tool == "NotebookEdit":
        return {"notebook_path": f"{d}/{f}", "new_source": rnd.choice(WORDS)}
    if tool.startswith("mcp__"):
        return {"title": rnd.choice(WORDS), "body": rnd.choice(WORDS)}
    return {"file_path": f"{d}/{f}"}

lines = []
for i in range(2400):
    tool = rnd.choice(TOOLS)
    r = rnd.random()
    status, err, msg = ("success", False, None) if r < 0.8 else ("error", True, "exit 1") if r < 0.93 else ("denied", True, "policy")
    lines.append({
        "timestamp": iso(base_us + times[i] * 1000),
        "toolName": tool,
        "input": tool_input(tool),
        "output": {"stdout": " ".join(rnd.choice(WORDS) for _ in range(rnd.randrange(0, 4)))},
        "executionTimeMs": None if rnd.random() < 0.1 else durations[i],
        "error": err, "errorMessage": msg, "status": status,
        "sessionId": rnd.choice(SESSIONS),
    })
# hook events too: started, interrupted, denied, requested
for i in range(2400, 2600):
    tool = rnd.choice(TOOLS)
    ev = {"session_id": rnd.choice(SESSIONS), "cwd": "/repo", "transcript_path": "/t.jsonl",
          "tool_name": tool, "tool_input": tool_input(tool), "tool_use_id": f"tu{i}"}
    k = rnd.randrange(5)
    if k == 0:
        ev.update(hook_event_name="PreToolUse")
    elif k == 1:
        ev.update(hook_event_name="PostToolUse", tool_response={"stdout": rnd.choice(WORDS)}, duration_ms=durations[i])
    elif k == 2:
        ev.update(hook_event_name="PostToolUseFailure", error=rnd.choice(WORDS), is_interrupt=rnd.random() < 0.5,
                  duration_ms=durations[i])
    elif k == 3:
        ev.update(hook_event_name="PermissionDenied", reason=rnd.choice(WORDS))
    else:
        ev.update(hook_event_name="PermissionRequest")
    lines.append(ev)
with open(work + "/in.jsonl", "w") as f:
    for l in lines:
        f.write(json.dumps(l, separators=(",", ":")) + "\n")
st("import", work + "/in.jsonl")

# The reference's view of every entry: a plain read of the entries.
E = [json.loads(l) for l in st("log").splitlines()]
assert len(E) == len(lines), (len(E), len(lines))
for e in E:
    ti = (e.get("content") or {}).get("tool_input") or {}
    e["_paths"] = [ti[k] for k in ("file_path", "path", "notebook_path") if isinstance(ti.get(k), str)]
    e["_text"] = [json.dumps(v, separators=(",", ":"), ensure_ascii=False) for v in (e.get("content") or {}).values()]
statuses = sorted({e["status"] for e in E})
events = sorted({e["event"] for e in E})
assert {"succeeded", "failed", "denied", "started", "requested", "interrupted"} <= set(statuses), statuses
# Bash commands carry no path: the reference's path extraction is the store's.
assert st("query", "--tool", "Bash", "--path", "*", "--count").strip() == "0"

def path_match(pat, path):
    if not any(c in pat for c in "*?["):
        return pat in path
    if fnmatch.fnmatchcase(path, pat):
        return True
    if pat[0] in "/*":
        return False
    return any(path[i] == "/" and fnmatch.fnmatchcase(path[i + 1:], pat) for i in range(len(path)))

def ref(q):
    out = []
    for e in E:
        if "tool" in q and e.get("tool") not in q["tool"]: continue
        if "event" in q and e.get("event") not in q["event"]: continue
        if "session" in q and e.get("session") not in q["session"]: continue
        if "status" in q and e.get("status") not in q["status"]: continue
        if "since" in q and e["time_us"] < q["since"][1]: continue
        if "until" in q and e["time_us"] >= q["until"][1]: continue
        if "path" in q and not any(path_match(q["path"], p) for p in e["_paths"]): continue
        if "min" in q and not ("duration_ms" in e and e["duration_ms"] >= q["min"]): continue
        if "text" in q and not any(q["text"] in t for t in e["_text"]): continue
        out.append(e)
    if q.get("sort") == "duration":
        out = sorted((e for e in out if "duration_ms" in e), key=lambda e: (e["duration_ms"], e["time_us"], e["index"]))
    else:
        out.sort(key=lambda e: (e["time_us"], e["index"]))
    if q.get("reverse"):
        out.reverse()
    if q.get("limit"):
        out = out[:q["limit"]]
    return [e["index"] for e in out]

def rand_time():
    us = base_us + rnd.randrange(-86400, span_us // 1_000_000 + 86400) * 1_000_000
    return (datetime.fromtimestamp(us / 1e6, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), us)

def pick(pool, extra):
    vals = rnd.sample(pool, rnd.randint(1, min(3, len(pool))))
    if rnd.random() < 0.15: vals.append(extra)                       # a value that matches nothing
    return vals

PATS = ["auth", "/repo/src", "*/auth/*", "src/*.ts", "*.ipynb", "lib/main.?", "/etc/*", "[ab]*.py", "*billing*",
        "notes", "nomatch", "/repo/*/login.ts", "test/*"]

def rand_query():
    q, args = {}, []
    for name, pool, extra in (("tool", TOOLS, "NoSuchTool"), ("event", events, "Nope"),
                              ("session", SESSIONS, "0" * 32), ("status", statuses, "malformed")):
        if rnd.random() < 0.3:
            q[name] = pick(pool, extra)
            args += [f"--{name}", ",".join(q[name])]
    a, b = sorted([rand_time(), rand_time()], key=lambda x: x[1])   # until must be after since
    if rnd.random() < 0.35:
        q["since"] = a; args += ["--since", a[0]]
    if rnd.random() < 0.35 and b[1] > a[1]:
        q["until"] = b; args += ["--until", b[0]]
    if rnd.random() < 0.3:
        q["path"] = rnd.choice(PATS); args += ["--path", q["path"]]
    if rnd.random() < 0.2:
        q["min"] = rnd.randrange(0, 500_000); args += ["--min-duration", str(q["min"])]
    if rnd.random() < 0.15:
        q["text"] = rnd.choice(WORDS + ["stdout", "nothing-here"]); args += ["--text", q["text"]]
    if rnd.random() < 0.3:
        q["sort"] = "duration"; args += ["--sort", "duration"]
    if rnd.random() < 0.4:
        q["reverse"] = True; args += ["--reverse"]
    if rnd.random() < 0.4:
        q["limit"] = rnd.choice([1, 2, 5, 10, 100]); args += ["--limit", str(q["limit"])]
    return q, args

bad = 0
for n in range(nq):
    q, args = rand_query()
    want = ref(q)
    got = [json.loads(l)["index"] for l in st("query", *args, "--format", "jsonl").splitlines()]
    cnt = int(st("query", *args, "--count").strip())
    if got != want or cnt != len(want):
        bad += 1
        if bad <= 5:
            print(f"query {' '.join(args)}:\n  got   {got[:20]} ({len(got)}, --count {cnt})\n  want  {want[:20]} ({len(want)})",
                  file=sys.stderr)

# stats: windowed and per-session figures are exact; all-time ones are exact but for p50/p95
def ref_stats(sel):
    tools = {}
    for e in sel:
        t = tools.setdefault(e["tool"], {"entries": 0, "calls": 0, "failures": 0, "denied": 0, "d": []})
        t["entries"] += 1
        s = e["status"]
        if s in ("succeeded", "failed", "interrupted"): t["calls"] += 1
        if s in ("failed", "interrupted"): t["failures"] += 1
        if s == "denied": t["denied"] += 1
        if "duration_ms" in e: t["d"].append(e["duration_ms"])
    for t in tools.values():
        d = sorted(t.pop("d"))
        t["with_duration"] = len(d)
        t["total_ms"] = sum(d)
        if d:
            t["max_ms"] = d[-1]
            t["p50_ms"] = d[max(1, math.ceil(0.50 * len(d))) - 1]
            t["p95_ms"] = d[max(1, math.ceil(0.95 * len(d))) - 1]
    return tools

def cmp_stats(args, sel, exact):
    global bad
    got = {t["tool"]: t for t in json.loads(st("stats", *args, "--format", "json"))["tools"]}
    want = ref_stats(sel)
    keys = ["entries", "calls", "failures", "denied", "with_duration", "total_ms", "max_ms"] + (["p50_ms", "p95_ms"] if exact else [])
    diff = sorted(got) != sorted(want) or any((got[k].get(f) or 0) != (want[k].get(f) or 0) for k in want for f in keys)
    if exact and any(got[k].get("exact") is not True for k in got):
        diff = True
    if not exact:                                                    # histogram: exact below 64 ms, else within 1.6%
        for k in want:
            for f in ("p50_ms", "p95_ms"):
                g, w = got.get(k, {}).get(f), want[k].get(f)
                if (g is None) != (w is None) or (w is not None and abs(g - w) > (0 if w < 64 else 0.016 * w)):
                    diff = True
    if diff:
        bad += 1
        print(f"stats {' '.join(args)}:\n  got  {got}\n  want {want}", file=sys.stderr)

cmp_stats([], E, False)
for s in SESSIONS[:3]:
    cmp_stats(["--session", s], [e for e in E if e.get("session") == s], True)
for _ in range(12):
    a, b = sorted([rand_time(), rand_time()], key=lambda x: x[1])
    if b[1] == a[1]: continue
    cmp_stats(["--since", a[0], "--until", b[0]], [e for e in E if a[1] <= e["time_us"] < b[1]], True)
    tl = rnd.sample(TOOLS, 2)
    cmp_stats(["--since", a[0], "--tool", ",".join(tl)], [e for e in E if a[1] <= e["time_us"] and e["tool"] in tl], True)
# export: a filtered bundle holds exactly the entries query selects, and verifies
av_bin = sys.argv[5]
st("seal")
vkey = st("verifier-key").strip()
nx = 0
for n in range(25):
    q, args = rand_query()
    if "min" in q: continue                                          # not an export filter
    fargs = [a for a in args if a not in ("--reverse",)]
    for opt in ("--sort", "--limit"):
        if opt in fargs:
            i = fargs.index(opt); del fargs[i:i + 2]
    q.pop("sort", None); q.pop("limit", None); q.pop("reverse", None)
    want = sorted(ref(q))
    if want and set(q) <= {"since", "until"}:
        want = list(range(want[0], want[-1] + 1))                    # a time bundle: the whole index span (FORMAT.md)
    out = f"{work}/q{n}.stb"
    st("export", "--out", out, *fargs)
    p = subprocess.run([av_bin, out, "--trust", vkey, "--quiet"], capture_output=True, text=True)
    listed = subprocess.run([av_bin, "--list", out], capture_output=True, text=True).stdout
    got = [int(l.split()[4].rstrip(",")) for l in listed.splitlines() if l.split()[1:2] == ["entry"]]
    nx += 1
    if p.returncode != 0 or got != want:
        bad += 1
        print(f"export {' '.join(fargs)}: auditverify exit {p.returncode} {p.stderr.strip()[:200]}\n"
              f"  got  {got[:20]} ({len(got)})\n  want {want[:20]} ({len(want)})", file=sys.stderr)
print(f"{nq} queries, {nx} exports, {len(E)} entries: {bad} differences", file=sys.stderr)
sys.exit(1 if bad else 0)
PY
e2e_end
