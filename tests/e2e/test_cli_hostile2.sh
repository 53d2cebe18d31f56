#!/usr/bin/env bash
# Hostile input, second round (test_cli_args.sh is the first): each bad input
# gets a message naming what and where, its documented exit code, nothing on
# stdout a script could take for a result, and no change to the store's files.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin cli_hostile2
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/hostile2 >/dev/null 2>&1
l() { printf '{"timestamp":"2025-01-1%sT08:00:00.000Z","toolName":"Bash","input":{"command":"ls %s"},"output":"ok","executionTimeMs":5,"status":"success"}\n' "$1" "$1"; }
{ l 0; l 1; l 2; } > "$work/in.jsonl"
st import "$work/in.jsonl" >/dev/null 2>&1
st seal >/dev/null 2>&1
sums() { cat "$work/s/data.mdb" "$work/s/log.key" "$work/s/log.vkey" | sha256sum; }
before=$(sums)
no_stdout() { if [ -s "$work/out" ]; then bad "$1: stdout not empty: $(head -c 200 "$work/out")"; else ok "$1: nothing on stdout"; fi; }

# import: a file none of whose lines is an event exits 2; stdout must not say "imported 0 entries"
printf '{"a":1}\n' > "$work/nothing.jsonl"
expect "import of only malformed lines: exit 2, named" 2 "nothing.jsonl: none of its lines could be imported" -- st import "$work/nothing.jsonl"
no_stdout "import of only malformed lines"
: > "$work/empty.jsonl"
[ "$(st import "$work/empty.jsonl" 2>/dev/null)" = "imported 0 entries" ] && ok "import of an empty file still says imported 0 entries" || bad "empty import"

# append: "--" ends the options (a file named like an option), a second FILE is named
printf '{"hook_event_name":"Notification","session_id":"h2","message":"x"}' > "$work/-ev.json"
expect "append a b: names the extra argument" 2 "append: unexpected argument 'b'" -- st append a b
expect "append -- a b: names the extra argument" 2 "append: unexpected argument 'b'" -- st append -- a b
expect "append -x: an unknown option" 2 "append: unknown option '-x'" -- st append -x
[ "$(sums)" = "$before" ] && ok "the store is unchanged after the refused commands" || bad "store changed"
(cd "$work" && "$SEALTRAIL" --dir "$work/s" append -- -ev.json >"$work/out" 2>"$work/err") && [ "$(cat "$work/out")" = 3 ] \
  && ok "append -- -ev.json appends the file named -ev.json" || bad "append -- FILE: $(cat "$work/err")"
before=$(sums)

# leaf, prove: a stray argument is named
expect "leaf --index 1 extra: names it" 2 "leaf: unexpected argument 'extra'" -- st leaf --index 1 extra
no_stdout "leaf with a stray argument"
expect "prove --index 1 extra: names it" 2 "prove: unexpected argument 'extra'" -- st prove --index 1 extra

# init --payload-cap: one message, naming the command
expect "init --payload-cap -1" 2 "init: --payload-cap: expected a non-negative integer, got '-1'" -- "$SEALTRAIL" --dir "$work/i1" init --payload-cap -1
[ "$(wc -l < "$work/err")" = 1 ] && ok "init --payload-cap -1: one message" || bad "init --payload-cap -1: $(cat "$work/err")"
expect "init --payload-cap 1000" 2 "init: --payload-cap: at least 1024 bytes" -- "$SEALTRAIL" --dir "$work/i1" init --payload-cap 1000
[ ! -e "$work/i1" ] && ok "init with a bad option creates nothing" || bad "init created $work/i1"

# key: empty file names are bad input, and note files are named with the command
expect "key root-init --out ''" 2 "key root-init: --out: empty file name" -- st key root-init --out ''
expect "key install ''" 2 "key install: empty file name" -- st key install ''
expect "key install of a missing file names the command" 2 "^sealtrail: key install: $work/nope.txt: No such file" -- st key install "$work/nope.txt"
expect "key install of a directory names the command" 2 "^sealtrail: key install: $work: Is a directory" -- st key install "$work"

# retention set --reason: bounded, one line, no terminal escapes (retention show prints it as is)
expect "retention set --reason with a newline" 2 "retention set: the reason holds a control character \(byte 0x0a at offset 3\)" -- st retention set --min 1d --reason $'SOX\n802'
expect "retention set --reason with an escape sequence" 2 "byte 0x1b" -- st retention set --min 1d --reason $'\e[2Jok'
expect "retention set --reason over 1000 bytes" 2 "at most 1000 bytes \(it has 1001\)" -- st retention set --min 1d --reason "$(head -c 1001 /dev/zero | tr '\0' r)"
no_stdout "retention set with a bad reason"
[ "$(sums)" = "$before" ] && ok "the store is unchanged after the refused commands" || bad "store changed"
expect "retention set --reason of 1000 bytes" 0 "" -- st retention set --min 1d --reason "$(head -c 1000 /dev/zero | tr '\0' r)"

# redact.conf replaced by a FIFO: refused at once, not a hang (the hook reads it too)
mkfifo "$work/s/redact.conf"
expect "append with a FIFO as redact.conf: refused, no hang" 2 "redact.conf: not a regular file" -- timeout 10 "$SEALTRAIL" --dir "$work/s" append "$work/-ev.json"
expect "import with a FIFO as redact.conf: refused, no hang" 1 "redact.conf: not a regular file" -- timeout 10 "$SEALTRAIL" --dir "$work/s" import "$work/in.jsonl"
rm -f "$work/s/redact.conf"

# archive --json: nothing on stdout when it fails; the file is a JSON string whatever the directory's name
expect "archive --json without an age: exit 2" 2 "archive: no --older-than given" -- st archive --json
no_stdout "archive --json that failed"
mkdir -p "$work/ar\"ch\\ive"
expect "archive --json into a directory with \" and \\ in its name" 0 "" -- st archive --older-than 0s --once --no-compact --json --archive-dir "$work/ar\"ch\\ive"
if python3 -c 'import json,sys; rows=[json.loads(l) for l in open(sys.argv[1])]; sys.exit(0 if rows[0]["file"].startswith(sys.argv[2]) and "archives" in rows[-1] else 1)' "$work/out" "$work/ar\"ch\\ive/" 2>/dev/null; then
  ok "archive --json: every line is JSON, the file as written"
else
  bad "archive --json: not JSON: $(head -c 300 "$work/out")"
fi
expect "retention show --json after that archive" 0 "" -- st retention show --json
if python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if any(a["file"].startswith("archive-") for a in d["archives"]) else 1)' "$work/out" 2>/dev/null; then
  ok "retention show --json: JSON, the archive's file name (the record keeps the base name)"
else
  bad "retention show --json: not JSON or no such file: $(head -c 300 "$work/out")"
fi

# auditverify: --previous and --key-note that cannot be read are named as such, not "malformed note"
st export --out "$work/b.stb" >/dev/null 2>&1
mkdir -p "$work/adir"
expect "auditverify --previous DIR" 2 "^auditverify: --previous $work/adir: Is a directory$" -- "$AUDITVERIFY" "$work/b.stb" --trust "$work/s/log.vkey" --previous "$work/adir"
no_stdout "auditverify --previous DIR"
expect "auditverify --key-note DIR" 2 "^auditverify: --key-note $work/adir: Is a directory$" -- "$AUDITVERIFY" "$work/b.stb" --trust "$work/s/log.vkey" --key-note "$work/adir"
no_stdout "auditverify --key-note DIR"

e2e_end
