#!/usr/bin/env bash
# What the project shows its users runs as shown:
#   1. README.md's five-minute tour, extracted from the README and run as a
#      user would (binaries on PATH, a fresh HOME, the default store);
#   2. every example of every --help text (sealtrail, each command, auditverify),
#      extracted from the binaries' own --help and run in scratch stores, each
#      with the exit status it should give. An example added to a --help
#      without a line here fails the test, as does a line here that no --help
#      shows any more.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}" "${ST_SOURCE_DIR:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin doc_examples
bindir=$(mktemp -d "$work/bin.XXXXXX")
ln -s "$SEALTRAIL" "$bindir/sealtrail"
ln -s "$AUDITVERIFY" "$bindir/auditverify"
export PATH="$bindir:$PATH" HOME="$work/home"
unset SEALTRAIL_DIR XDG_STATE_HOME CLAUDECODE
mkdir -p "$HOME"

# --- 1. the README tour ---------------------------------------------------------------------
awk '/^## Five-minute tour/ { f = 1 } f && /^```sh$/ { on = 1; next } on && /^```$/ { exit } on' \
    "$ST_SOURCE_DIR/README.md" > "$work/tour.sh"
head -n 2 "$work/tour.sh" | grep -q '^cmake -S \. -B build' && sed -n 2p "$work/tour.sh" | grep -q '^export PATH=' &&
  ok "README tour: found, starts with the build" || bad "README tour: not found or does not start with cmake / export PATH"
mkdir -p "$work/tour"
ln -s "$ST_SOURCE_DIR/tests" "$work/tour/tests"
rc=0
(cd "$work/tour" && tail -n +3 "$work/tour.sh" | bash -e -o pipefail >"$work/tour.out" 2>"$work/tour.err") || rc=$?
[ "$rc" = 0 ] && ok "README tour runs as written (exit 0)" ||
  bad "README tour: exit $rc: $(tail -n 3 "$work/tour.err")"
grep -q '^VERIFIED' "$work/tour.out" && ok "README tour: auditverify says VERIFIED" || bad "README tour: no VERIFIED"
grep -q '"index":7,' "$work/tour.out" && ok "README tour: prove prints the proof of entry 7" || bad "README tour: no proof of entry 7"
[ -s "$work/tour/.claude/settings.json" ] && ok "README tour: the hook is installed in .claude/settings.json" || bad "README tour: no settings.json"
[ -d "$HOME/.local/state/sealtrail" ] && ok "README tour: the default store is ~/.local/state/sealtrail" || bad "README tour: no default store"
rm -rf "$HOME/.local" "$HOME/.claude"

# --- 2. every --help example ------------------------------------------------------------------
cmds="init append seal checkpoint verifier-key check log leaf prove status hook query stats tail import reindex
      export key retention archive prune erase"
{
  "$SEALTRAIL" --help
  for c in $cmds; do "$SEALTRAIL" "$c" --help; done
  "$AUDITVERIFY" --help
} | awk '/^examples?:$/ { on = 1; next } on && /^  / { sub(/^  /, ""); print; next } { on = 0 }' | sort -u > "$work/shown"
[ "$(wc -l < "$work/shown")" -ge 40 ] && ok "--help texts show $(wc -l < "$work/shown") examples" || bad "few examples found: $(wc -l < "$work/shown")"

# The data: a year of audit-log lines ending now, entry 77 a prompt (a hook event with its time),
# imported in two parts sealed apart, so that 'archive --older-than 90d' has a checkpoint to end at.
main=$work/main
mkdir -p "$main"
python3 "$ST_SOURCE_DIR/bench/gen_audit.py" 4200 "$work/raw.jsonl" "$(date -u +%Y-%m-%dT%H:%M:%SZ)" >/dev/null
ts=$(sed -n 78p "$work/raw.jsonl" | sed 's/^{"timestamp":"\([^"]*\)".*/\1/')
{ sed -n 1,77p "$work/raw.jsonl"
  printf '{"hook_event_name":"UserPromptSubmit","session_id":"s77","prompt":"please fix the login bug","timestamp":"%s"}\n' "$ts"
  sed -n '79,$p' "$work/raw.jsonl"; } > "$main/4k.jsonl"

# One line per example: the exit status it gives, a tab, the example exactly as --help shows it.
# "@ CMD" runs a setup command (not an example); "@@ main|key" switches the context: its
# directory (the examples' relative files) and $SEALTRAIL_DIR (the store of examples without --dir).
# Placeholders are replaced when run: /var/lib, /secure, /srv go under $work; the session
# "4b0c..." is one of the store's; 'example.com/log+3f9a1c2e+AVdK...' is the store's key.
T=$(printf '\t')
cat > "$work/plan" <<EOF
@@ main
0${T}sealtrail init
@ head -n 3000 4k.jsonl | sealtrail import - 2>/dev/null && sealtrail seal >/dev/null
@ tail -n +3001 4k.jsonl | sealtrail import - 2>/dev/null && sealtrail seal >/dev/null
0${T}VKEY=\$(sealtrail --dir /var/lib/sealtrail init --origin example.com/ci-agent | tail -n 1)
@ sed -n 3p "\$ST_SOURCE_DIR/tests/fixtures/demo-session.jsonl" > event.json
0${T}sealtrail append event.json
0${T}printf '%s' "\$json" | sealtrail append
@ mkdir -p ~/.claude && sed -n 1,5p 4k.jsonl > ~/.claude/audit.jsonl && sed -n 6,10p 4k.jsonl | gzip > old-audit.jsonl.gz
0${T}sealtrail import ~/.claude/audit.jsonl
0${T}zcat old-audit.jsonl.gz | sealtrail import --strict -
0${T}sealtrail reindex && sealtrail check
0${T}sealtrail seal > checkpoint.txt
0${T}sealtrail checkpoint > checkpoint-\$(date +%F).txt
0${T}sealtrail verifier-key > log.vkey
0${T}sealtrail check && echo intact
0${T}sealtrail status --json | jq .unsealed
0${T}sealtrail log --from 100 --to 199
0${T}sealtrail log | jq -r 'select(.tool=="Bash") | .content.tool_input.command'
0${T}sealtrail leaf --index 41 > entry41.json
0${T}sealtrail prove --index 41
0${T}sealtrail prove --from 1000 --to 2000
0${T}sealtrail query --tool Edit,Write,MultiEdit --path '*/auth/*' --since 90d
0${T}sealtrail query --session 4b0c... --status failed --format table
0${T}sealtrail query --sort duration --reverse --limit 10 --format table
0${T}sealtrail query --tool Bash --since 2025-11-01 --until 2025-12-01 --format csv > bash.csv
0${T}sealtrail query --text 'rm -rf' --with-proof > evidence.jsonl
0${T}sealtrail stats
0${T}sealtrail stats --since 30d --format json | jq '.tools[] | select(.failure_rate > 0.1)'
0${T}sealtrail stats --session 4b0c...
0${T}sealtrail tail -f --from 0 | vector --config ship.toml
0${T}sealtrail tail -n 50 --format seed | jq -r .toolName
0${T}sealtrail export --out audit.stb
0${T}sealtrail export --out q4.stb --since 2025-10-01 --until 2026-01-01
0${T}sealtrail export --out auth.stb --tool Edit,Write --path 'src/auth/*' --since 90d
@ sealtrail checkpoint > last.checkpoint && cp last.checkpoint last-quarter.checkpoint && cp audit.stb audit-2025-q4.stb
0${T}sealtrail export --out new.stb --from 1000 --from-checkpoint last.checkpoint
0${T}auditverify audit-2025-q4.stb --trust 'example.com/log+3f9a1c2e+AVdK...'
0${T}auditverify audit.stb --trust log.vkey --previous last-quarter.checkpoint --json
0${T}sealtrail export --out - | auditverify - --trust "\$(sealtrail verifier-key)"
0${T}sealtrail erase --index 4121 --reason 'leaked AWS key, ticket SEC-991'
0${T}sealtrail erase --index 77 --payload prompt --reason 'GDPR art. 17 request #12'
0${T}sealtrail retention set --min 7y --max 8y --archive-after 90d --reason 'SOX 802'
0${T}sealtrail retention show --json | jq .policy
0${T}sealtrail archive --older-than 90d --archive-dir /srv/sealtrail-archive
0${T}sealtrail export --out current.stb        # the entries after the archives
0${T}auditverify /srv/sealtrail-archive/archive-*.stb.zst current.stb --trust log.vkey --retention
@ ln -s /srv/sealtrail-archive archive
0${T}auditverify archive/archive-*.stb.zst current.stb --trust log.vkey --retention
0${T}sealtrail prune                      # past the policy's maximum retention
0${T}sealtrail prune --older-than 10y --archive-dir /srv/sealtrail-archive
0${T}sealtrail --dir /var/lib/sealtrail/dev init
@ mkdir -p ~/src/app
0${T}sealtrail --dir /var/lib/sealtrail/dev hook install --project ~/src/app --dry-run
0${T}sealtrail --dir /var/lib/sealtrail/dev hook install --user
0${T}printf '%s\n' '{"hook_event_name":"Stop","session_id":"s1"}' | sealtrail hook
0${T}sealtrail hook uninstall --user
@@ key
@ sealtrail init --origin example.com/log >/dev/null 2>&1 && sealtrail verifier-key > OLD.vkey
0${T}sealtrail key root-init --out /secure/root.key --name example.com/security-root
@ tail -n 1 "\$LAST_OUT" > root.vkey && sealtrail key request --current 2>/dev/null > cur.txt && sealtrail key certify --root /secure/root.key cur.txt > cur.cert && sealtrail key install --root-vkey root.vkey cur.cert 2>/dev/null
0${T}sealtrail key request > req.txt                        # on the log host
0${T}sealtrail key certify --root /secure/root.key req.txt > cert.txt
0${T}sealtrail key install --root-vkey root.vkey cert.txt && sealtrail key rotate
0${T}sealtrail key revoke --root /secure/root.key --key OLD.vkey --after 2025-11-21T10:00:00Z > rev.txt
0${T}sealtrail key epochs --count 30 > epochs-req.txt
@ cp rev.txt revocation.txt && sealtrail export --out audit.stb 2>/dev/null
3${T}auditverify audit.stb --trust root.vkey --key-note revocation.txt
EOF

# every example shown is in the plan, and every example in the plan is shown
grep -v '^@' "$work/plan" | cut -f2- | sort -u > "$work/planned"
comm -23 "$work/shown" "$work/planned" > "$work/unplanned"
comm -13 "$work/shown" "$work/planned" > "$work/gone"
[ ! -s "$work/unplanned" ] && ok "every --help example is run here" || bad "--help examples not run here: $(cat "$work/unplanned")"
[ ! -s "$work/gone" ] && ok "every example run here is in a --help" || bad "examples no --help shows: $(cat "$work/gone")"

subst() {   # the example as run: placeholders made real
  sed -e "s#/var/lib/sealtrail#$work/var/lib/sealtrail#g" -e "s#/secure/#$work/secure/#g" \
      -e "s#/srv/sealtrail-archive#$work/srv/sealtrail-archive#g" -e 's#4b0c\.\.\.#"$SESS"#g' \
      -e "s#'example.com/log+3f9a1c2e+AVdK...'#\"\$(cat log.vkey)\"#g" <<< "$1"
}
mkdir -p "$work/secure" "$work/srv/sealtrail-archive" "$work/key"
export ST_SOURCE_DIR LAST_OUT="$work/ex.out" SESS=
prelude='set -o pipefail; vector() { head -n 3 >/dev/null; }; json=$(cat event.json 2>/dev/null || true)'
dir=$main
while IFS= read -r line; do
  case $line in
    "@@ main") dir=$main; export SEALTRAIL_DIR="$main/store"; continue ;;
    "@@ key") dir=$work/key; export SEALTRAIL_DIR="$work/key/store"; continue ;;
    "@ "*) (cd "$dir" && timeout 120 bash -c "$prelude; $(subst "${line#@ }")") >"$work/setup.out" 2>&1 ||
             bad "setup '${line#@ }': $(tail -n 3 "$work/setup.out")"
           continue ;;
  esac
  want=${line%%"$T"*}
  ex=${line#*"$T"}
  [ -z "$SESS" ] && [ -s "$main/store/data.mdb" ] && SESS=$(sealtrail --dir "$main/store" log --from 0 --to 0 2>/dev/null | jq -r .session) || true
  rc=0
  (cd "$dir" && timeout 120 bash -c "$prelude; $(subst "$ex")") >"$work/ex.out" 2>"$work/ex.err" || rc=$?
  if [ "$rc" = "$want" ]; then ok "example: $ex (exit $rc)"; else bad "example: $ex: exit $rc, want $want: $(tail -n 3 "$work/ex.err")"; fi
  case $ex in   # what some of them must have printed
    "sealtrail log | jq"*) [ -s "$work/ex.out" ] && ok "... prints the Bash commands" || bad "... printed nothing" ;;
    "sealtrail erase --index 77"*) grep -q 'erased entry 77: prompt' "$work/ex.out" && ok "... erased the prompt" || bad "... $(cat "$work/ex.out")" ;;
    "sealtrail archive"*) grep -q '^archived entries 0\.\.2999 ' "$work/ex.out" && ok "... archived entries 0..2999" || bad "... archive: $(cat "$work/ex.out")" ;;
    "auditverify"*"--retention") grep -q '^RETENTION COMPLIANT' "$work/ex.out" && ok "... retention compliant" || bad "... retention: $(grep RETENTION "$work/ex.out")" ;;
    "auditverify audit.stb --trust root.vkey"*) grep -q 'revoked' "$work/ex.err" && ok "... a checkpoint signed after the revocation fails, naming it" || bad "... $(cat "$work/ex.err")" ;;
    "sealtrail stats --session"*|"sealtrail query --session"*) [ "$(wc -l < "$work/ex.out")" -ge 1 ] && ok "... with a real session" || bad "... no output" ;;
  esac
done < "$work/plan"
e2e_end
