#!/usr/bin/env bash
# test_protected.sh: protected mode (SECURITY.md, "Protected mode"), as an
# administrator sets it up and as an agent's user meets it. Needs root: it
# creates a system account that owns the store, a copy of sealtrail
# set-user-ID to it, and runs that copy as an "agent" uid with no account.
#
#  1. the agent's hook records into the account's store (exit 0, silent),
#     naming the real user, at the real time, whatever the environment says
#     (SEALTRAIL_FAKE_TIME, USER, HOME, SEALTRAIL_DIR, XDG_STATE_HOME,
#     SEALTRAIL_NO_SYSLOG), and a --dir elsewhere is ignored, with a note;
#  2. the agent can read neither the key nor anything else in the store;
#  3. every command but `hook` and `hook replay` is refused (exit 2) and
#     leaves nothing behind; `hook install` too;
#  4. SessionEnd seals with the account's key; parallel hooks all land; the
#     account's export verifies with auditverify;
#  5. a store others can reach (its mode, a writable directory above it), a
#     missing store, and copies set-user-ID root or set-group-ID alone are
#     refused with a line that says why (exit 1: the event is lost);
#  6. `hook install --protected COPY` writes a handler that runs the copy
#     against its own store, and refuses a copy that is not set-user-ID.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}"
: "${AUDITVERIFY:?set AUDITVERIFY to the auditverify binary}"
. "$(dirname "$0")/lib.sh"
e2e_begin test_protected

if [ "$(id -u)" != 0 ] || ! command -v useradd >/dev/null || ! command -v setpriv >/dev/null \
   || ! command -v runuser >/dev/null; then
    echo "SKIP: needs root, useradd, setpriv and runuser (CI runs as root)"
    e2e_end
    exit 0
fi

# A root-owned base that nobody else can write to: the store's ancestors must be.
base=
for d in /run /var/lib /opt; do
    if [ -d "$d" ] && [ "$(stat -c %u "$d")" = 0 ] && [ $(( 0$(stat -c %a "$d") & 022 )) = 0 ]; then
        base=$d/sealtrail-e2e-protected-$$
        break
    fi
done
[ -n "$base" ] || { echo "SKIP: no root-owned directory closed to others (/run, /var/lib, /opt)"; e2e_end; exit 0; }
acct=stp$$
agent=$(( 60000 + $$ % 5000 ))          # a uid with no account, as in a container
mkdir -p "$base/bin"
chmod 755 "$base" "$base/bin"
e2e_at_exit "userdel $acct >/dev/null 2>&1; rm -rf '$base'"
useradd --system --home-dir "$base/home" --create-home --shell /usr/sbin/nologin "$acct"
chmod 755 "$base/home"
store=$base/home/.local/state/sealtrail
as_acct() { runuser -u "$acct" -- env -i HOME="$base/home" SEALTRAIL_NO_SYSLOG=1 "$@"; }
as_acct "$SEALTRAIL" init >/dev/null 2>&1
as_acct "$SEALTRAIL" verifier-key > "$work/log.vkey"
copy=$base/bin/sealtrail-protected
cp "$SEALTRAIL" "$copy"
chown "$acct" "$copy"
chmod 4755 "$copy"
as_agent() { setpriv --reuid="$agent" --regid="$agent" --clear-groups "$@"; }
entries() { as_acct "$SEALTRAIL" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["size"])'; }

# Is the set-user-ID bit honoured here (not a nosuid mount)? Asked of id(1), not of
# the copy under test: a copy that lost protected mode must fail below, not skip.
cp "$(command -v id)" "$base/bin/id"; chown "$acct" "$base/bin/id"; chmod 4755 "$base/bin/id"
if [ "$(as_agent "$base/bin/id" -u 2>/dev/null)" != "$(id -u "$acct")" ]; then
    echo "SKIP: a set-user-ID program does not run as its owner under $base (nosuid mount?)"
    e2e_end
    exit 0
fi

ev() { printf '{"session_id":"prot-%s","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"echo %s"},"tool_response":{"stdout":"%s"},"tool_use_id":"toolu_%s","cwd":"/home/dev/app"}' "$1" "$1" "$1" "$1"; }

# ---- 1. recording, and an environment that cannot steer it -------------------------------
mkdir -p "$work/evil"
chmod 777 "$work" "$work/evil"
rc=0
ev one | as_agent env SEALTRAIL_FAKE_TIME=2001-01-01T00:00:00Z USER=root LOGNAME=root HOME="$work/evil" \
    SEALTRAIL_DIR="$work/evil/store" XDG_STATE_HOME="$work/evil" SEALTRAIL_LOCK_TIMEOUT_MS=0 \
    SEALTRAIL_MAPSIZE=1 "$copy" hook >"$work/out" 2>"$work/err" || rc=$?
check "the agent's hook through the protected copy: exit 0, silent" test $rc = 0 -a ! -s "$work/out" -a ! -s "$work/err"
as_acct "$SEALTRAIL" log --from 0 --to 0 > "$work/e0.json"
python3 - "$work/e0.json" "$agent" <<'PY' && ok "the entry names the real user ($agent), at the real time" || bad "entry: $(cat "$work/e0.json")"
import json, sys, time
e = json.load(open(sys.argv[1]))
assert e["user"] == sys.argv[2], e["user"]
assert abs(e["time_us"] / 1e6 - time.time()) < 600, e["time_us"]
assert e["session"] == "prot-one", e
PY
[ -z "$(ls -A "$work/evil")" ] && ok "nothing written where the environment pointed" || bad "evil dir: $(ls -A "$work/evil")"

rc=0
ev two | as_agent "$copy" --dir "$work/evil/store" hook >"$work/out" 2>"$work/err" || rc=$?
[ $rc = 0 ] && grep -q "protected mode: --dir $work/evil/store ignored: this copy records only in $store" "$work/err" \
  && ok "--dir elsewhere: recorded in the protected store, with a note" || bad "--dir: rc $rc $(cat "$work/err")"
[ "$(entries)" = 2 ] && [ ! -e "$work/evil/store" ] && ok "... and nothing in the other directory" || bad "entries $(entries)"
rc=0
ev three | as_agent "$copy" hook --dir "$store" >"$work/out" 2>"$work/err" || rc=$?
check "--dir naming the protected store itself: no note" test $rc = 0 -a ! -s "$work/err"

# ---- 2. the store is out of the agent's reach --------------------------------------------
! as_agent cat "$store/log.key" >/dev/null 2>&1 && ok "the agent cannot read the signing key" || bad "key readable"
! as_agent ls "$store" >/dev/null 2>&1 && ok "the agent cannot list the store" || bad "store listable"
! as_agent sh -c "echo x >> '$store/data.mdb'" 2>/dev/null && ok "the agent cannot write the store" || bad "store writable"

# ---- 3. only the hook runs ---------------------------------------------------------------
n0=$(entries)
for c in "log" "seal" "init" "check" "status" "key rotate" "erase --index 0 --reason x" "import /dev/null" \
         "export --out $work/evil/x.stb"; do
    # shellcheck disable=SC2086
    expect "protected copy refuses '$c'" 2 "protected mode: this set-user-ID copy runs only 'sealtrail hook' \\(as $acct, for $agent\\)" \
        -- as_agent "$copy" $c
done
expect "protected copy refuses 'hook install'" 2 "hook install: not through the protected copy" \
    -- as_agent "$copy" hook install --settings "$work/evil/settings.json"
expect "protected copy refuses 'hook uninstall'" 2 "hook uninstall: not through the protected copy" \
    -- as_agent "$copy" hook uninstall --settings "$work/evil/settings.json"
[ -z "$(ls -A "$work/evil")" ] && [ "$(entries)" = "$n0" ] && ok "refused commands leave nothing behind" \
  || bad "after refusals: $(ls -A "$work/evil") entries $(entries)"
expect_exit 0 "hook replay runs through the protected copy" as_agent "$copy" hook replay
expect_exit 0 "--version runs" as_agent "$copy" --version

# ---- 4. seal, parallel hooks, export -----------------------------------------------------
cp0=$(as_acct "$SEALTRAIL" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["checkpoints"])')
printf '{"session_id":"prot-one","hook_event_name":"SessionEnd","reason":"other"}' | as_agent "$copy" hook
cp1=$(as_acct "$SEALTRAIL" status --json | python3 -c 'import json, sys; print(json.load(sys.stdin)["checkpoints"])')
[ "$cp1" -gt "$cp0" ] && ok "SessionEnd seals with the account's key ($cp0 -> $cp1 checkpoints)" || bad "no seal: $cp0 -> $cp1"
n0=$(entries)
for i in $(seq 1 12); do ev "par$i" | as_agent "$copy" hook 2>>"$work/par.err" & done
wait
as_agent "$copy" hook replay >/dev/null 2>&1 || true
[ "$(entries)" = $((n0 + 12)) ] && ok "12 parallel protected hooks: all recorded" || bad "parallel: $(entries) vs $((n0 + 12)): $(cat "$work/par.err")"
as_acct "$SEALTRAIL" check >/dev/null 2>&1 && ok "check passes" || bad "check: $(as_acct "$SEALTRAIL" check 2>&1)"
as_acct "$SEALTRAIL" export --seal --out "$base/home/all.stb" >/dev/null 2>&1
"$AUDITVERIFY" "$base/home/all.stb" --trust "$(cat "$work/log.vkey")" >"$work/av" 2>&1 \
  && ok "the account's export verifies" || bad "auditverify: $(head -5 "$work/av")"

# ---- 5. what protected mode refuses to run on --------------------------------------------
chmod 750 "$store"
expect "a store its group can enter is refused" 1 "the protected store $store has mode 0750: it must be closed to everyone but $acct" \
    -- sh -c "printf '{}' | setpriv --reuid=$agent --regid=$agent --clear-groups '$copy' hook"
chmod 700 "$store"
chmod 757 "$base/home"
expect "a directory above the store that others can write is refused" 1 "$base/home \\(above the protected store\\) has mode 0757" \
    -- sh -c "printf '{}' | setpriv --reuid=$agent --regid=$agent --clear-groups '$copy' hook"
chmod 755 "$base/home"
mv "$store" "$store.aside"
expect "a missing store is refused, naming how to create it" 1 "the protected store $store does not exist: create it as $acct \\(sudo -u $acct -H sealtrail init\\)" \
    -- sh -c "printf '{}' | setpriv --reuid=$agent --regid=$agent --clear-groups '$copy' hook"
mv "$store.aside" "$store"
cp "$SEALTRAIL" "$base/bin/root-copy"; chmod 4755 "$base/bin/root-copy"
expect "a copy set-user-ID root is refused" 1 "refusing to run set-user-ID or set-group-ID root" \
    -- sh -c "printf '{}' | setpriv --reuid=$agent --regid=$agent --clear-groups '$base/bin/root-copy' hook"
cp "$SEALTRAIL" "$base/bin/gid-copy"; chgrp "$acct" "$base/bin/gid-copy"; chmod 2755 "$base/bin/gid-copy"
expect "a copy set-group-ID alone is refused" 1 "refusing to run set-group-ID alone" \
    -- sh -c "printf '{}' | setpriv --reuid=$agent --regid=$agent --clear-groups '$base/bin/gid-copy' hook"
[ "$(entries)" -gt 0 ] && as_acct "$SEALTRAIL" check >/dev/null 2>&1 && ok "the refusals left the store intact" || bad "store after refusals"

# ---- root and the account's store ---------------------------------------------------------
expect "as root, a writing command on the account's store is refused, naming the account" 1 \
    "$store belongs to $acct \\(uid [0-9]+\\): as root, sealtrail only reads a store another account owns" \
    -- "$SEALTRAIL" --dir "$store" seal
root_files=$(find "$store" -user root | head -3)
[ -z "$root_files" ] && ok "... and creates nothing root owns in it" || bad "root-owned: $root_files"
"$SEALTRAIL" --dir "$store" status >/dev/null 2>&1 && "$SEALTRAIL" --dir "$store" log --from 0 --to 0 >/dev/null 2>&1 \
  && ok "as root, reading the account's store works" || bad "root read: $("$SEALTRAIL" --dir "$store" status 2>&1)"

# ---- 6. hook install --protected -----------------------------------------------------------
"$SEALTRAIL" hook install --settings "$work/settings.json" --protected "$copy" > "$work/out" 2>"$work/err"
python3 - "$work/settings.json" "$copy" "$store" > "$work/cmd" <<'PY' && ok "hook install --protected: the handler runs the copy on its own store" || bad "settings: $(cat "$work/settings.json")"
import json, sys
s = json.load(open(sys.argv[1]))
h = s["hooks"]["PostToolUse"][0]["hooks"][0]
assert h["command"] == sys.argv[2], h
assert h["args"] == ["--dir", sys.argv[3], "hook"], h
print("\n".join([h["command"]] + h["args"]))
PY
mapfile -t argv_installed < "$work/cmd"
n0=$(entries)
rc=0; ev inst | as_agent "${argv_installed[@]}" >"$work/out" 2>"$work/err" || rc=$?
[ $rc = 0 ] && [ ! -s "$work/err" ] && [ "$(entries)" = $((n0 + 1)) ] && ok "... and that handler records, silently" \
  || bad "installed handler: rc $rc $(cat "$work/err")"
expect "hook install --protected refuses a copy that is not set-user-ID" 2 "is not a protected copy: it must be set-user-ID" \
    -- "$SEALTRAIL" hook install --settings "$work/s2.json" --protected "$SEALTRAIL"
expect "hook install --protected refuses a copy set-user-ID root" 2 "is not a protected copy" \
    -- "$SEALTRAIL" hook install --settings "$work/s2.json" --protected "$base/bin/root-copy"
expect "hook install: --protected and --binary together are refused" 2 "give --binary PATH or --protected PATH, not both" \
    -- "$SEALTRAIL" hook install --settings "$work/s2.json" --protected "$copy" --binary "$SEALTRAIL"
expect "hook install: --protected with --dir is refused" 2 "--protected records in the protected copy's own store; --dir does not apply" \
    -- "$SEALTRAIL" --dir "$work/other" hook install --settings "$work/s2.json" --protected "$copy"
[ ! -e "$work/s2.json" ] && ok "refused installs write no settings" || bad "s2.json written"

e2e_end
