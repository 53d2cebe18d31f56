#!/usr/bin/env bash
# test_hook_install.sh: `sealtrail hook install|uninstall` on Claude Code
# settings files (store/hookcfg.h).
#
#  - existing user hooks and settings are kept (compared by meaning with an
#    independent JSON parser), ours are added for every default event in
#    exec form with absolute paths;
#  - installing twice changes nothing (same bytes); --dry-run writes nothing;
#  - uninstall removes only ours and gives back the original meaning;
#  - the registered command works as Claude Code runs it, without $HOME,
#    with spaces and quotes in both paths (exec form and --shell-form);
#  - mode and symlinks are kept; a settings file that is not JSON is refused
#    untouched.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}"
. "$(dirname "$0")/lib.sh"
e2e_begin test_hook_install
unset SEALTRAIL_DIR CLAUDE_CODE_SESSION_ID SEALTRAIL_FAIL_CLOSED
sha() { sha256sum "$1" | cut -c1-64; }

# a binary and a store whose paths contain spaces and a quote
BIN_DIR="$T/my tools/it's here"
mkdir -p "$BIN_DIR"
cp "$SEALTRAIL" "$BIN_DIR/sealtrail"
BIN="$BIN_DIR/sealtrail"
STORE="$T/audit store/o'brien"
"$BIN" --dir "$STORE" init >/dev/null 2>&1

PROJ="$T/project one"
mkdir -p "$PROJ/.claude"
cat >"$PROJ/.claude/settings.json" <<'JSON'
{
  "model": "claude-sonnet-5",
  "permissions": {"allow": ["Bash(npm test)", "Read(./src/**)"], "deny": ["Read(./.env)"]},
  "env": {"FOO": "1", "BIG": 12345678901234, "RATIO": 0.25},
  "hooks": {
    "PreToolUse": [
      {"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/check-bash.sh", "timeout": 30}]}
    ],
    "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
    "Notification": []
  },
  "statusLine": {"type": "command", "command": "~/.claude/statusline.sh"},
  "unknownFutureSetting": [1, 2, {"x": null, "y": true}]
}
JSON
cp "$PROJ/.claude/settings.json" "$T/original.json"
chmod 640 "$PROJ/.claude/settings.json"

# ---- install -----------------------------------------------------------------------------------------
check "dry-run prints the change and writes nothing" sh -c '
    out=$("$1" --dir "$2" hook install --project "$3" --dry-run) &&
    printf "%s" "$out" | grep -q "would change" && printf "%s" "$out" | grep -q "added PreToolUse" &&
    cmp -s "$3/.claude/settings.json" "$4"' _ "$BIN" "$STORE" "$PROJ" "$T/original.json"
check "install exits 0" sh -c '"$1" --dir "$2" hook install --project "$3" >/dev/null' _ "$BIN" "$STORE" "$PROJ"
S="$PROJ/.claude/settings.json"
python3 - "$T/original.json" "$S" "$BIN" "$STORE" <<'PY' && ok "install keeps every existing setting and hook, adds ours in exec form" || bad "install result"
import json, sys
orig, new = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
binp, store = sys.argv[3], sys.argv[4]
def ours(h):
    return h.get("command") == binp and h.get("args") == ["--dir", store, "hook"] and h.get("type") == "command"
events = set()
for ev, groups in new["hooks"].items():
    for g in groups:
        for h in g["hooks"]:
            if ours(h):
                events.add(ev)
                assert h["timeout"] == (5 if ev == "SessionEnd" else 10), h
                assert g.get("matcher") == ("*" if ev in ("PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied") else None), (ev, g)
                assert len(g["hooks"]) == 1
for must in ["PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied", "UserPromptSubmit",
             "SessionStart", "SessionEnd", "Stop", "SubagentStart", "SubagentStop", "Notification", "PreCompact", "PostCompact"]:
    assert must in events, must
assert "WorktreeCreate" not in events and "WorktreeRemove" not in events
# remove ours: the rest must equal the original, member by member
for ev in list(new["hooks"]):
    new["hooks"][ev] = [g for g in new["hooks"][ev] if not any(ours(h) for h in g["hooks"])]
    if not new["hooks"][ev] and ev not in orig["hooks"]:
        del new["hooks"][ev]
assert new == orig, (new, orig)
assert list(json.load(open(sys.argv[2])).keys()) == list(orig.keys())   # member order kept
PY
check "file mode kept (640)" [ "$(stat -c %a "$S")" = 640 ]
before=$(sha "$S")
out=$("$BIN" --dir "$STORE" hook install --project "$PROJ")
check "install twice: nothing changed, same bytes" sh -c '[ "$1" = "$2" ] && printf "%s" "$3" | grep -q "already installed"' _ "$before" "$(sha "$S")" "$out"
out=$("$BIN" --dir "$STORE" hook install --project "$PROJ" --dry-run)
check "dry-run on an installed file: no change" sh -c 'printf "%s" "$1" | grep -q "no change"' _ "$out"

# ---- the registered command works as Claude Code runs it (exec form, no $HOME) ----------------------
python3 - "$S" "$BIN" <<'PY' >"$T/exec.out" 2>&1 && ok "exec-form handler runs without \$HOME, paths with spaces and quotes: recorded" || { bad "exec-form handler"; cat "$T/exec.out"; }
import json, os, subprocess, sys
s = json.load(open(sys.argv[1]))
h = [h for g in s["hooks"]["PreToolUse"] for h in g["hooks"] if h.get("command") == sys.argv[2]][0]
env = {k: v for k, v in os.environ.items() if k not in ("HOME", "SEALTRAIL_DIR", "XDG_STATE_HOME")}
ev = b'{"session_id":"inst","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_use_id":"toolu_exec"}\n'
r = subprocess.run([h["command"]] + h["args"], input=ev, capture_output=True, env=env, cwd="/")
assert r.returncode == 0 and r.stdout == b"" and r.stderr == b"", r
PY
check "store has the exec-form event" sh -c '"$1" --dir "$2" log --no-payloads | grep -q toolu_exec' _ "$BIN" "$STORE"

# ---- uninstall ------------------------------------------------------------------------------------------
check "uninstall dry-run writes nothing" sh -c 'b=$(sha256sum "$2"); "$1" hook uninstall --settings "$2" --dry-run | grep -q "would change" && [ "$b" = "$(sha256sum "$2")" ]' _ "$BIN" "$S"
out=$("$BIN" hook uninstall --project "$PROJ")
check "uninstall reports what it removed ($out)" sh -c 'printf "%s" "$1" | grep -Eq "removed [0-9]+ sealtrail hook handlers"' _ "$out"
# "by meaning": an empty event array means no hooks, like an absent one (hookcfg.h)
check "uninstall gives back the original settings (by meaning)" python3 -c "
import json,sys
def norm(d):
    d['hooks']={k:v for k,v in d.get('hooks',{}).items() if v}
    return d
assert norm(json.load(open(sys.argv[1])))==norm(json.load(open(sys.argv[2])))" "$S" "$T/original.json"
check "uninstall twice: removed 0" sh -c '"$1" hook uninstall --project "$2" | grep -q "removed 0"' _ "$BIN" "$PROJ"

# ---- shell form, --user, a new file, no \$HOME at run time ------------------------------------------------
U="$T/home dir"
mkdir -p "$U"
check "install --user --shell-form into a new ~/.claude/settings.json" sh -c 'HOME="$1" "$2" --dir "$3" hook install --user --shell-form >/dev/null && [ -f "$1/.claude/settings.json" ]' _ "$U" "$BIN" "$STORE"
python3 - "$U/.claude/settings.json" <<'PY' >"$T/shell.out" 2>&1 && ok "shell-form handler runs under sh -c without \$HOME: recorded" || { bad "shell-form handler"; cat "$T/shell.out"; }
import json, os, subprocess, sys
s = json.load(open(sys.argv[1]))
assert set(s["hooks"]) == {"PreToolUse", "PostToolUse", "UserPromptSubmit", "Notification", "Stop", "SubagentStop", "PreCompact", "SessionStart", "SessionEnd"}, s["hooks"].keys()
h = s["hooks"]["Stop"][0]["hooks"][0]
assert "args" not in h
env = {k: v for k, v in os.environ.items() if k not in ("HOME", "SEALTRAIL_DIR", "XDG_STATE_HOME")}
ev = b'{"session_id":"inst","hook_event_name":"Stop","stop_hook_active":false}'
r = subprocess.run(["sh", "-c", h["command"]], input=ev, capture_output=True, env=env, cwd="/")
assert r.returncode == 0 and r.stdout == b"" and r.stderr == b"", r
PY
check "store has the shell-form Stop event, sealed" sh -c '"$1" --dir "$2" log --no-payloads | grep -q "\"event\":\"Stop\"" && "$1" --dir "$2" status | grep -q "^unsealed: *0"' _ "$BIN" "$STORE"
check "uninstall --user removes the whole hooks object it created" sh -c 'HOME="$1" "$2" hook uninstall --user >/dev/null && python3 -c "import json,sys; assert json.load(open(sys.argv[1]))=={}" "$1/.claude/settings.json"' _ "$U" "$BIN"

# ---- a symlinked settings file, and a broken one ------------------------------------------------------------
mkdir -p "$T/dotfiles" "$T/p2/.claude"
printf '{"model":"x"}\n' >"$T/dotfiles/settings.json"
ln -s "$T/dotfiles/settings.json" "$T/p2/.claude/settings.json"
"$BIN" --dir "$STORE" hook install --project "$T/p2" --events PreToolUse,Stop >/dev/null
check "through a symlink: the link is kept, its target updated" sh -c '[ -L "$1/p2/.claude/settings.json" ] && grep -q "\"PreToolUse\"" "$1/dotfiles/settings.json" && ! grep -q PostToolUse "$1/dotfiles/settings.json"' _ "$T"
printf '{"hooks": {"PreToolUse": [' >"$T/p2/broken.json"
cp "$T/p2/broken.json" "$T/broken.orig"
rc=0; "$BIN" --dir "$STORE" hook install --settings "$T/p2/broken.json" >/dev/null 2>"$T/err" || rc=$?
check "settings that are not JSON: exit 2, file untouched, error names the file (exit $rc)" sh -c '[ "$1" = 2 ] && cmp -s "$2/p2/broken.json" "$2/broken.orig" && grep -q "broken.json" "$2/err"' _ "$rc" "$T"
printf '{"hooks": {"Stop": {"not": "an array"}}}' >"$T/p2/shape.json"
rc=0; "$BIN" --dir "$STORE" hook install --settings "$T/p2/shape.json" --events Stop >/dev/null 2>&1 || rc=$?
check "settings of the wrong shape are refused (exit $rc)" [ "$rc" -eq 2 ]

# a --project directory that does not exist is a typo: refused, nothing created
expect "install --project into a missing directory: exit 2, named" 2 "--project $T/no-such-project: No such file or directory" -- "$BIN" --dir "$STORE" hook install --project "$T/no-such-project"
[ ! -e "$T/no-such-project" ] && ok "... and creates no directory" || bad "install created $T/no-such-project"
expect "uninstall --project a missing directory: exit 2" 2 "--project $T/no-such-project: No such file" -- "$BIN" hook uninstall --project "$T/no-such-project"
expect "install --project a regular file: exit 2" 2 "--project $T/p2/broken.json: not a directory" -- "$BIN" --dir "$STORE" hook install --project "$T/p2/broken.json"
expect "install --events '' names the problem" 2 "--events: no event named" -- "$BIN" --dir "$STORE" hook install --settings "$T/ev.json" --events ''
expect "install --events ',' names the problem" 2 "--events: no event named" -- "$BIN" --dir "$STORE" hook install --settings "$T/ev.json" --events ,
[ ! -e "$T/ev.json" ] && ok "... and writes no settings file" || bad "--events '' wrote $T/ev.json"
# an event name Claude Code does not send is a typo: registered, it would never run (and a client
# before 2.1.101 rejects the whole settings file for it); WorktreeCreate/Remove hooks replace
# Claude Code's own worktree handling. Refused, nothing written.
expect "install --events with a typo: exit 2, names it" 2 "hook install: --events: 'PreToolUs' is not a hook event sealtrail records" -- "$BIN" --dir "$STORE" hook install --settings "$T/ev.json" --events Stop,PreToolUs
expect "install --events WorktreeCreate: exit 2, says why" 2 "hook install: --events: WorktreeCreate: a command hook for it replaces Claude Code's own worktree handling" -- "$BIN" --dir "$STORE" hook install --settings "$T/ev.json" --events WorktreeCreate
[ ! -e "$T/ev.json" ] && ok "... and writes no settings file" || bad "--events PreToolUs wrote $T/ev.json"
expect "install --timeout x: one message, naming hook install" 2 "^sealtrail: hook install: --timeout: expected seconds between 1 and 3600, got 'x'" -- "$BIN" --dir "$STORE" hook install --settings "$T/ev.json" --timeout x
[ "$(wc -l < "$T/err")" = 1 ] && ok "... on one line" || bad "--timeout x: $(cat "$T/err")"
# settings are JSON (UTF-8): a store or binary path that is not UTF-8 is refused, the file kept as it was
printf '{"model":"x"}\n' >"$T/u8.json"
cp "$T/u8.json" "$T/u8.orig"
expect "install with a non-UTF-8 store path: exit 2, named" 2 "not valid UTF-8 \(settings are JSON\): give a --dir" -- "$BIN" --dir "$T/st"$'\xff' hook install --settings "$T/u8.json"
expect "install with a non-UTF-8 --binary: exit 2, named" 2 "not valid UTF-8 \(settings are JSON\): install it under" -- "$BIN" --dir "$STORE" hook install --settings "$T/u8.json" --binary "$T/bin"$'\xff'
cmp -s "$T/u8.json" "$T/u8.orig" && ok "... and the settings file is unchanged" || bad "non-UTF-8 path changed the settings: $(cat "$T/u8.json")"
# a user's own handler whose command merely contains "sealtrail" and ends in " hook" is not ours:
# install and uninstall keep it (only a binary named sealtrail, exec or shell form, is ours)
cat >"$T/own.json" <<'JSON'
{"hooks": {"Stop": [{"hooks": [{"type": "command", "command": "/usr/local/bin/backup-sealtrail-db.sh hook"},
                               {"type": "command", "command": "notify-sealtrail hook"}]}]}}
JSON
"$BIN" --dir "$STORE" hook install --settings "$T/own.json" --shell-form --events Stop >/dev/null
"$BIN" --dir "$STORE" hook install --settings "$T/own.json" --events Stop >/dev/null
"$BIN" hook uninstall --settings "$T/own.json" >"$T/out"
python3 - "$T/own.json" <<'PY' && ok "a user's 'backup-sealtrail-db.sh hook' handlers survive install and uninstall" || bad "user handlers removed: $(cat "$T/own.json")"
import json, sys
s = json.load(open(sys.argv[1]))
cmds = [h["command"] for g in s["hooks"]["Stop"] for h in g["hooks"]]
assert cmds == ["/usr/local/bin/backup-sealtrail-db.sh hook", "notify-sealtrail hook"], cmds
PY
grep -q "removed 1 sealtrail hook handler$" "$T/out" && ok "... and uninstall removed exactly ours (the exec form replaced the shell form)" || bad "uninstall: $(cat "$T/out")"

# A key twice in settings: Claude Code (JSON.parse) reads only the last "hooks",
# so adding ours to the first would report success and record nothing.
printf '%s\n' '{"hooks":{"Stop":[]},"model":"x","hooks":{"PreToolUse":[{"matcher":"Bash","hooks":[{"type":"command","command":"/bin/guard.sh"}]}]}}' >"$T/dup.json"
cp "$T/dup.json" "$T/dup.orig"
expect "install into settings with \"hooks\" twice: exit 2, says why" 2 'dup.json: offset 33: duplicate key "hooks": Claude Code reads only the last' -- "$BIN" --dir "$STORE" hook install --settings "$T/dup.json"
expect "uninstall from settings with \"hooks\" twice: exit 2" 2 'duplicate key "hooks"' -- "$BIN" hook uninstall --settings "$T/dup.json"
cmp -s "$T/dup.json" "$T/dup.orig" && ok "... and the settings file is unchanged" || bad "duplicate keys: settings changed: $(cat "$T/dup.json")"

# "disableAllHooks": true at any settings level turns every settings hook off:
# install still registers ours, and says so.
mkdir -p "$T/dis/.claude"
printf '%s\n' '{"disableAllHooks": true}' >"$T/dis/.claude/settings.local.json"
expect "install beside a settings.local.json with disableAllHooks: exit 0, warned" 0 'settings.local.json sets "disableAllHooks": true, so Claude Code runs no hooks' -- "$BIN" --dir "$STORE" hook install --project "$T/dis"
grep -q '"hook"' "$T/dis/.claude/settings.json" && ok "... and the hook is registered all the same" || bad "disableAllHooks: not registered"
expect "... also with --dry-run" 0 'settings.local.json sets "disableAllHooks": true' -- "$BIN" --dir "$STORE" hook install --project "$T/dis" --dry-run
expect "install elsewhere: no disableAllHooks warning" 0 '' -- env HOME="$T/dis" "$BIN" --dir "$STORE" hook install --settings "$T/plain.json"
grep -q disableAllHooks "$work/err" && bad "spurious disableAllHooks warning: $(cat "$work/err")" || ok "... and no warning"
mkdir -p "$T/uhome/.claude"
printf '%s\n' '{"disableAllHooks": true}' >"$T/uhome/.claude/settings.json"
expect "install with disableAllHooks in the user's settings: warned, names that file" 0 "$T/uhome/.claude/settings.json sets \"disableAllHooks\"" -- env HOME="$T/uhome" "$BIN" --dir "$STORE" hook install --settings "$T/plain.json"

e2e_end
