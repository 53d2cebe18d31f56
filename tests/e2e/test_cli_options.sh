#!/usr/bin/env bash
# Option parsing and argument checks shared by every command: --opt=value and
# --opt value alike, "--" ends the options, a repeated flag is harmless, an
# unknown option is named; arguments are all checked before any file is
# touched; combinations that would silently ignore an option are refused.
# Each refusal: its message, exit 2, nothing on stdout, the store unchanged.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin cli_options
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/options >/dev/null 2>&1
l() { printf '{"timestamp":"2025-01-1%sT08:00:00.000Z","toolName":"Bash","input":{"command":"ls %s"},"output":"ok","executionTimeMs":5,"status":"success"}\n' "$1" "$1"; }
{ l 0; l 1; l 2; } > "$work/in.jsonl"
st import "$work/in.jsonl" >/dev/null 2>&1
st seal >/dev/null 2>&1
sums() { cat "$work/s/data.mdb" "$work/s/log.key" "$work/s/log.vkey" | sha256sum; }
no_stdout() { if [ -s "$work/out" ]; then bad "$1: stdout not empty: $(head -c 200 "$work/out")"; else ok "$1: nothing on stdout"; fi; }
before=$(sums)

# every command: --opt=value as --opt value, "--" ends the options, a repeated flag is
# harmless, an unknown option is named (the hand parsers are getopt_long now)
for cmd in seal checkpoint verifier-key check reindex "retention compact" "hook replay"; do
  # shellcheck disable=SC2086
  expect "$cmd --bogus: named" 2 "${cmd}: unknown option '--bogus'" -- st $cmd --bogus
done
for cmd in checkpoint verifier-key check "retention show" status "key list"; do
  # shellcheck disable=SC2086
  expect "$cmd --: accepted" 0 "" -- st $cmd --
done
expect "status -- x: the argument named" 2 "status: unexpected argument 'x'" -- st status -- x
expect "status --json --json: harmless" 0 "" -- st status --json --json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$work/out" && ok "status --json --json prints JSON" || bad "status --json --json: $(head -c 200 "$work/out")"
expect "status --json=1: takes no value" 2 "status: --json takes no value" -- st status --json=1
expect "retention show --json --json: harmless" 0 "" -- st retention show --json --json
expect "key list --json --json: harmless" 0 "" -- st key list --json --json
expect "retention set --min=1d --max: needs a value" 2 "retention set: --max needs a value" -- st retention set --min=1d --max
expect "retention set --bogus 1: named" 2 "retention set: unknown option '--bogus'" -- st retention set --bogus 1
expect "archive --older-than=abc: the value is read" 2 "archive: --older-than: expected an age like 90d, 1y, 36h, got 'abc'" -- st archive --older-than=abc
expect "archive --once --once --bogus: named" 2 "archive: unknown option '--bogus'" -- st archive --once --once --bogus
expect "archive x: named" 2 "archive: unexpected argument 'x'" -- st archive --older-than 99y x
expect "prune --older-than=abc --no-compact --: the value is read" 2 "prune: --older-than: expected an age like 8y, 400d, got 'abc'" -- st prune --older-than=abc --no-compact --
expect "prune --older-than: needs a value" 2 "prune: --older-than needs a value" -- st prune --older-than
expect "erase --index=0 --reason=a --reason b: given twice" 2 "erase: --reason given twice" -- st erase --index=0 --reason=a --reason b
expect "erase --index=99 --reason=x: the index is read" 2 "99" -- st erase --index=99 --reason=x
expect "erase --json=1: takes no value" 2 "erase: --json takes no value" -- st erase --json=1
expect "append --json: an unknown option" 2 "append: unknown option '--json'" -- st append --json
expect "append -- a -x: after -- an argument" 2 "append: unexpected argument '-x'" -- st append -- a -x
no_stdout "append -- a -x"
expect "hook install --settings=F --dry-run --dry-run: accepted" 0 "" -- st hook install --settings="$work/hs.json" --dry-run --dry-run
expect_in "$work/out" "would change" "hook install --settings=F reads the value"
[ ! -e "$work/hs.json" ] && ok "hook install --dry-run wrote nothing" || bad "hook install --dry-run wrote $work/hs.json"
expect "hook uninstall --timeout 5: not an uninstall option" 2 "hook uninstall: unknown option '--timeout'" -- st hook uninstall --timeout 5
expect "hook install --timeout=0" 2 "hook install: --timeout: expected seconds between 1 and 3600, got '0'" -- st hook install --settings "$work/hs.json" --timeout=0
st export --out "$work/b.stb" >/dev/null 2>&1
expect "auditverify --trust=KEY -- BUNDLE" 0 "" -- "$AUDITVERIFY" --trust="$work/s/log.vkey" -q -- "$work/b.stb"
expect "auditverify --json --json: harmless" 0 "" -- "$AUDITVERIFY" "$work/b.stb" --trust "$work/s/log.vkey" --json --json
expect "auditverify --json=1: takes no value" 2 "^auditverify: --json takes no value" -- "$AUDITVERIFY" "$work/b.stb" --trust "$work/s/log.vkey" --json=1
expect "auditverify --bogus: named" 2 "^auditverify: unknown option '--bogus'" -- "$AUDITVERIFY" "$work/b.stb" --bogus
expect "auditverify --trust: needs a value" 2 "^auditverify: --trust needs a value" -- "$AUDITVERIFY" "$work/b.stb" --trust
no_stdout "auditverify --trust without a value"

# hook install: a FIFO in place of the settings file is refused at once, not a hang
mkfifo "$work/fifo.json"
expect "hook install --settings FIFO: refused, no hang" 2 "fifo.json: not a regular file" -- timeout 10 "$SEALTRAIL" --dir "$work/s" hook install --settings "$work/fifo.json"
no_stdout "hook install --settings FIFO"
expect "hook uninstall --settings FIFO: refused, no hang" 2 "fifo.json: not a regular file" -- timeout 10 "$SEALTRAIL" --dir "$work/s" hook uninstall --settings "$work/fifo.json"

# erase --reason: one line of UTF-8, at most 1000 bytes, no control characters (as retention set)
expect "erase --reason with a newline" 2 "erase: the reason holds a control character \(byte 0x0a at offset 3\)" -- st erase --index 0 --reason $'GDP\nR'
no_stdout "erase with a bad reason"
expect "erase --reason with an escape sequence" 2 "byte 0x1b at offset 0" -- st erase --index 0 --reason $'\e[2Jok'
expect "erase --reason over 1000 bytes" 2 "at most 1000 bytes \(it has 1001\)" -- st erase --index 0 --reason "$(head -c 1001 /dev/zero | tr '\0' r)"

# retention show: nothing archived or pruned yet says so (not "entries 0..-1")
expect "retention show before any archive" 0 "" -- st retention show
expect_in "$work/out" "archived:      none" "retention show: archived: none"
expect_in "$work/out" "pruned:        none" "retention show: pruned: none"
if grep -q -- '\.\.-1' "$work/out"; then bad "retention show prints 0..-1: $(cat "$work/out")"; else ok "retention show: no 0..-1"; fi
cp -r "$work/s" "$work/r"
"$SEALTRAIL" --dir "$work/r" archive --older-than 0s --once --no-compact >/dev/null 2>&1
expect "retention show after an archive" 0 "" -- "$SEALTRAIL" --dir "$work/r" retention show
expect_in "$work/out" "archived:      entries 0..2 in 1 archive(s)" "retention show: the archived range"

# export --out EXISTING: the arguments are checked first (exit 2), the output file after (exit 1)
echo keep > "$work/exists.stb"
expect "export --out EXISTING --tool 'a,,b': the filter first" 2 "export: --tool: expected a comma-separated list" -- st export --out "$work/exists.stb" --tool 'a,,b'
no_stdout "export --out EXISTING with a bad filter"
expect "export --out EXISTING --from 5 --to 9: the range first" 2 "export: range 5..9 is not within the log" -- st export --out "$work/exists.stb" --from 5 --to 9
expect "export --out EXISTING --text (invalid UTF-8): the filter first" 2 "export: --text: not valid UTF-8" -- st export --out "$work/exists.stb" --text $'\xff'
expect "export --out EXISTING with good arguments: exists" 1 "exists \(use --force to overwrite\)" -- st export --out "$work/exists.stb" --tool Bash
[ "$(cat "$work/exists.stb")" = keep ] && ok "export: the existing file is untouched" || bad "export changed the existing file"

# query/stats/export: a combination that would silently ignore an option is refused
expect "query --count --format csv" 2 "query: --count prints only the number of matches: --format csv does not apply" -- st query --count --format csv
no_stdout "query --count --format csv"
expect "query --count --with-proof" 2 "query: --count .*--with-proof does not apply" -- st query --count --with-proof
expect "query --count --reverse: the same count" 0 "" -- st query --reverse --count
[ "$(cat "$work/out")" = 3 ] && ok "query --reverse --count prints 3" || bad "query --reverse --count: $(cat "$work/out")"
expect "query --count --limit 2: at most 2" 0 "" -- st query --count --limit 2
[ "$(cat "$work/out")" = 2 ] && ok "query --count --limit 2 prints 2" || bad "query --count --limit 2: $(cat "$work/out")"
expect "query --tool 'Bash\\': a lone trailing backslash" 2 "query: --tool: 'Bash\\\\' ends with a lone backslash" -- st query --tool 'Bash\'
no_stdout "query --tool with a trailing backslash"
expect "query --tool 'a\\\\' (an escaped backslash) is fine" 0 "" -- st query --tool 'a\\'
expect "stats --session 's\\'" 2 "stats: --session: 's\\\\' ends with a lone backslash" -- st stats --session 's\'
expect "export --tool 'a\\' --tool Bash (would join as one value a,Bash)" 2 "export: --tool: 'a\\\\' ends with a lone backslash" -- st export --out - --tool 'a\' --tool Bash
no_stdout "export --tool with a trailing backslash"
expect "stats --json --format table" 2 "stats: --json and --format table exclude each other" -- st stats --json --format table
expect "stats --format table --json" 2 "stats: --json and --format table exclude each other" -- st stats --format table --json
expect "stats --json --format json is fine" 0 "" -- st stats --json --format json

# a file size limit (ulimit -f) that stops data.mdb from growing: append and import
# fail with "File too large" (exit 1), not killed by SIGXFSZ, and the store is unchanged
"$SEALTRAIL" --dir "$work/f" init --origin example.com/fsize >/dev/null 2>&1
big=$(head -c 40000 /dev/zero | tr '\0' a)
printf '{"hook_event_name":"Notification","session_id":"f","message":"%s"}' "$big" > "$work/big.json"
for k in 1 2 3; do printf '{"timestamp":"2025-01-10T08:00:0%s.000Z","toolName":"Bash","input":{"command":"x"},"output":"%s","status":"success"}\n' "$k" "$big"; done > "$work/big.jsonl"
lim=$(( $(stat -c %s "$work/f/data.mdb") / 1024 ))
expect "append past ulimit -f: File too large, exit 1" 1 "append: .*File too large" -- bash -c 'ulimit -f "$1"; exec "$2" --dir "$3" append "$4"' _ "$lim" "$SEALTRAIL" "$work/f" "$work/big.json"
no_stdout "append past ulimit -f"
expect "import past ulimit -f: File too large, exit 1" 1 "import: .*File too large" -- bash -c 'ulimit -f "$1"; exec "$2" --dir "$3" import "$4"' _ "$lim" "$SEALTRAIL" "$work/f" "$work/big.jsonl"
no_stdout "import past ulimit -f"
expect "import past ulimit -f + 20 KiB (a write cut short): File too large, exit 1" 1 "import: .*File too large" -- bash -c 'ulimit -f "$1"; exec "$2" --dir "$3" import "$4"' _ "$((lim + 20))" "$SEALTRAIL" "$work/f" "$work/big.jsonl"
expect "the store checks after the refused writes" 0 "" -- "$SEALTRAIL" --dir "$work/f" check
expect_in "$work/out" "ok: 0 entries" "no entry was added past the limit"

[ "$(sums)" = "$before" ] && ok "the store is unchanged after the refused commands" || bad "store changed"
e2e_end
