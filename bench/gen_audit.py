#!/usr/bin/env python3
"""gen_audit.py N OUT [END_ISO]: writes N "seed" audit-log lines (the common
{timestamp, toolName, input, output, executionTimeMs, error, errorMessage,
status, sessionId} shape) of about 1 KiB each, spread over the year before
END_ISO (default 2025-06-01T00:00:00Z), in time order. Deterministic (fixed
seed), so every bench run imports the same log. Tool mix, ~2000 sessions,
5000 paths under /repo, log-normal durations, 3% failures."""
import json
import random
import sys
from datetime import datetime, timedelta, timezone

n, out = int(sys.argv[1]), sys.argv[2]
end = datetime.fromisoformat((sys.argv[3] if len(sys.argv) > 3 else "2025-06-01T00:00:00+00:00").replace("Z", "+00:00"))
start = end - timedelta(days=365)
rnd = random.Random(6)
areas = ["auth", "billing", "api", "db", "ui", "jobs", "mail", "search", "admin", "util"]
paths = [f"/repo/src/{rnd.choice(areas)}/{rnd.choice(['core', 'handlers', 'models', 'tests'])}/file{i}.{rnd.choice(['ts', 'py', 'go'])}"
         for i in range(5000)]
tools = [("Bash", 30), ("Read", 25), ("Edit", 15), ("Grep", 10), ("Write", 5), ("Glob", 5), ("WebFetch", 3),
         ("mcp__github__create_issue", 4), ("TodoWrite", 3)]
names = [t for t, w in tools for _ in range(w)]
sessions = [f"{rnd.getrandbits(128):032x}" for _ in range(2000)]
filler = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor " * 12
span = (end - start).total_seconds()

with open(out, "w") as f:
    for i in range(n):
        t = start + timedelta(seconds=span * i / n)
        tool = rnd.choice(names)
        p = rnd.choice(paths)
        if tool == "Bash":
            inp = {"command": rnd.choice([f"cat {p}", "npm test", f"git diff {p}", "make build", f"rm -f {p}.bak"]),
                   "description": "run"}
        elif tool in ("Read", "Edit", "Write"):
            inp = {"file_path": p}
            if tool == "Edit":
                inp.update(old_string="foo()", new_string="bar()")
        elif tool in ("Grep", "Glob"):
            inp = {"pattern": "TODO", "path": p.rsplit("/", 2)[0]}
        elif tool == "WebFetch":
            inp = {"url": f"https://docs.example.test/page{rnd.randrange(500)}", "prompt": "summarize"}
        else:
            inp = {"title": f"issue {i}", "body": "details"}
        failed = rnd.random() < 0.03
        dur = int(rnd.lognormvariate(4.5, 1.5))
        rec = {
            "timestamp": t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z",
            "toolName": tool,
            "input": inp,
            "output": {"stdout": filler[: 700 + rnd.randrange(200)], "exitCode": 1 if failed else 0},
            "executionTimeMs": dur,
            "error": failed,
            "errorMessage": "Exit code 1" if failed else None,
            "status": "error" if failed else "success",
            "sessionId": sessions[(i // 50 + rnd.randrange(3)) % len(sessions)],
        }
        f.write(json.dumps(rec, separators=(",", ":")) + "\n")
