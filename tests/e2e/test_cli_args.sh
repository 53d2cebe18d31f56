#!/usr/bin/env bash
# Hostile and odd arguments to the reading and exporting commands: each
# gives a clear message and exit 2 (never a crash, never exit 0 on bad
# input), and odd-but-valid input gives the documented answer.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin cli_args
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/args >/dev/null 2>&1
l() { printf '{"timestamp":"2025-01-1%sT08:00:00.000Z","toolName":"Bash","input":{"command":"cat /r/f%s"},"output":null,"executionTimeMs":5,"status":"success"}\n' "$1" "$1"; }
{ l 0; l 1; l 2; } > "$work/in.jsonl"
st import "$work/in.jsonl" >/dev/null 2>&1
st seal >/dev/null 2>&1

# relative times: a number too large is out of range, not "not a relative time"
for c in query stats; do
  expect "$c --since 99999999999d is out of range" 2 "$c: --since: '99999999999d' is out of range" -- st $c --since 99999999999d
  expect "$c --until 1000000001y is out of range" 2 "$c: --until: '1000000001y' is out of range" -- st $c --until 1000000001y
done
expect "export --since 99999999999d is out of range" 2 "export: --since: '99999999999d' is out of range" -- st export --out "$work/x.stb" --since 99999999999d
expect "query --since -5d" 2 "neither RFC 3339 .* nor a relative time" -- st query --since -5d
expect "query --since ''" 2 "neither RFC 3339" -- st query --since ''
[ "$(st query --since 9999999d --count)" = 3 ] && ok "query --since 9999999d (27000 years) matches everything" || bad "--since 9999999d"
# numbers
expect "query --limit -1" 2 "query: --limit: expected a non-negative integer, got '-1'" -- st query --limit -1
expect "query --limit 2^64" 2 "non-negative integer" -- st query --limit 18446744073709551616
[ "$(st query --limit 0 | wc -l)" = 3 ] && ok "query --limit 0 is all of them (documented)" || bad "--limit 0"
[ "$(st query --limit 18446744073709551615 | wc -l)" = 3 ] && ok "query --limit 2^64-1" || bad "--limit max"
[ "$(st query --min-duration 18446744073709551615 --count)" = 0 ] && ok "query --min-duration 2^64-1 matches nothing" || bad "--min-duration max"
# strings: invalid UTF-8 and overlong patterns
[ "$(st query --path $'\xff\xfe' --count)" = 0 ] && ok "query --path with invalid UTF-8: no match, no crash" || bad "path invalid utf-8"
[ "$(st query --path $'[\xff' --count)" = 0 ] && ok "query --path glob with invalid UTF-8" || bad "glob invalid utf-8"
[ "$(st query --text $'\xc3' --count)" = 0 ] && ok "query --text with a cut UTF-8 sequence" || bad "text invalid utf-8"
expect "query --path over 4096 bytes" 2 "longer than 4096 bytes" -- st query --path "$(head -c 5000 /dev/zero | tr '\0' a)"
expect "query --text ''" 2 "empty string" -- st query --text ''
expect "query --tool ','" 2 "empty value" -- st query --tool ,
# log
expect "log --from past the end names the size" 2 "log: --from 4 is past the end of the log \(3 entries\)" -- st log --from 4
expect "log --from the size prints nothing" 0 "" -- st log --from 3
[ ! -s "$work/out" ] && ok "... and nothing on stdout" || bad "log --from 3 printed"
expect "log --from after --to" 2 "is after --to" -- st log --from 2 --to 1
[ "$(st log --from 1 --to 99999999999 | wc -l)" = 2 ] && ok "log --to past the end is cut to the last entry" || bad "log --to cut"
if [ -w /dev/full ]; then
  expect "log > /dev/full: exit 1 with a message" 1 "log: writing output: No space left" -- sh -c '"$1" --dir "$2" log > /dev/full' _ "$SEALTRAIL" "$work/s"
fi
if [ -w /dev/full ]; then
  # 'sealtrail verifier-key > log.vkey' on a full disk must fail, not exit 0 with an empty file
  for c in verifier-key status "status --json" "retention show" checkpoint "prove --index 1" "leaf --index 1" "key list"; do
    expect "$c > /dev/full: exit 1 with a message" 1 "writing output: " -- sh -c '"$1" --dir "$2" $3 > /dev/full' _ "$SEALTRAIL" "$work/s" "$c"
  done
fi
rc=0; st log | head -c 1 >/dev/null || rc=$?
[ $rc = 0 ] && ok "log | head: exit 0" || bad "log | head: $rc"
rc=0; { st log; echo "rc=$?" >"$work/rc"; } | head -c 1 >/dev/null; grep -q "rc=0" "$work/rc" && ok "log into a closed pipe exits 0 (as query)" || bad "log EPIPE: $(cat "$work/rc")"
# export and import
expect "export --from after --to" 2 "export: --from 10 is after --to 5" -- st export --out "$work/x.stb" --from 10 --to 5
expect "export --out ''" 2 "export: --out: empty file name" -- st export --out ''
expect "export --from past the end" 2 "not within the log \(3 entries\)" -- st export --out "$work/x.stb" --from 5000
expect "export --out DIR/" 2 "is a directory; give a file name" -- st export --out "$work/"
mkdir "$work/d"
expect "export --out an existing directory, --force" 2 "is a directory" -- st export --out "$work/d" --force
: > "$work/empty.cp"
expect "export --from-checkpoint of an empty file is bad input" 2 "from-checkpoint" -- st export --out "$work/x.stb" --from-checkpoint "$work/empty.cp"
expect "import ''" 2 "import: empty file name" -- st import ''
for c in archive prune; do
  expect "$c --archive-dir '' is bad input, named" 2 "$c: --archive-dir: empty directory name" -- st $c --archive-dir '' --older-than 1s
done
# a filter value that is not UTF-8 would make a manifest no verifier reads: refused, no file
for o in --tool --session --event --path --text; do   # (--status: any unknown value is refused, below)
  expect "export $o with invalid UTF-8 is bad input" 2 "export: $o: .*not valid UTF-8" -- st export --out "$work/u8.stb" $o $'B\xffash'
done
[ ! -e "$work/u8.stb" ] && ok "... and no bundle is written" || bad "a non-UTF-8 filter wrote $work/u8.stb"
# a --status no entry can carry (a typo, the seed format's "error") is refused as by query, not an empty bundle
expect "export --status Failed is bad input" 2 "export: --status: 'Failed' is not one of started" -- st export --out "$work/st.stb" --status succeeded,Failed
[ ! -e "$work/st.stb" ] && ok "... and no bundle is written" || bad "export --status Failed wrote a bundle"
# an empty --dir (`--dir "$UNSET"`) is bad input, not the default store; the hook records in the default store and says so
mkdir -p "$work/home"
for form in "--dir=" "--dir ''"; do
  eval "set -- $form"
  expect "status $form is bad input" 2 "--dir: the directory name is empty" -- env HOME="$work/home" "$SEALTRAIL" "$@" status
done
expect "log --dir '' (after the command) is bad input" 2 "--dir: the directory name is empty" -- env HOME="$work/home" "$SEALTRAIL" log --dir ''
[ ! -e "$work/home/.local" ] && ok "an empty --dir touched no default store" || bad "empty --dir created $(ls -R "$work/home")"
rc=0
env HOME="$work/home" SEALTRAIL_DIR= XDG_STATE_HOME= "$SEALTRAIL" hook --dir '' <<<'{"session_id":"s1","hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_response":{"stdout":"a"}}' >"$work/hook.out" 2>"$work/hook.err" || rc=$?
[ $rc = 0 ] && [ ! -s "$work/hook.out" ] && grep -q "using the default store $work/home/.local/state/sealtrail" "$work/hook.err" &&
  [ "$(ls "$work/home/.local/state/sealtrail/spool" | wc -l)" = 1 ] &&
  ok "hook --dir '': exit 0, nothing on stdout, the event kept for the default store, said on stderr" ||
  bad "hook --dir '': rc $rc $(cat "$work/hook.err")"
# --dir with no value after it (the last argument) is a missing directory name, not an "unknown option"
expect "sealtrail --dir (no value) names the missing directory" 2 "--dir: no directory name after it" -- env HOME="$work/home2" "$SEALTRAIL" --dir
for c in query stats tail log; do
  expect "$c --dir (no value) names the missing directory" 2 "--dir: no directory name after it" -- env HOME="$work/home2" "$SEALTRAIL" $c --dir
done
[ ! -e "$work/home2" ] && ok "a --dir with no value touched no default store" || bad "--dir with no value created $(ls -R "$work/home2")"
# --help states what a user cannot guess: the relative-time units (m is minutes, not months), how a
# path glob matches a literal * ? [, which text the CSV error column holds, every character a CSV cell is guarded against
for c in query stats; do
  st $c --help | tr -s ' \n' ' ' | grep -q 'm minutes' && ok "$c --help: m is minutes" || bad "$c --help does not define the relative-time units"
done
st query --help | tr -s ' \n' ' ' | grep -qF '\* \? \[' && ok "query --help: how a glob matches * ? [ themselves" || bad "query --help: no glob escape"
st query --help | tr -s ' \n' ' ' | grep -qF 'error column is the first line' && ok "query --help: the CSV error column is the first line" || bad "query --help: CSV error column unexplained"
st query --help | tr -s ' \n' ' ' | grep -qF '= + - @ TAB or CR' && ok "query --help: the CSV formula guard's characters" || bad "query --help: CSV guard characters incomplete"
# option errors: every command names itself as every other error does ("sealtrail: CMD: ..."), exits 2
# and points at its --help; getopt's own "query: unrecognized option" is never printed
for c in init append seal checkpoint verifier-key check log leaf prove status "hook install" "hook uninstall" \
         "hook replay" query stats tail import reindex export "key root-init" "key certify" "key revoke" "key request" \
         "key epochs" "key install" "key rotate" "key list" "retention set" "retention show" "retention compact" \
         archive prune erase; do
  expect "$c --bogus: named, exit 2, a --help hint" 2 "^sealtrail: $c: unknown option '--bogus' \(see 'sealtrail $c --help'\)$" -- st $c --bogus </dev/null
  grep -q unrecognized "$work/err" && bad "$c --bogus: getopt's own message: $(cat "$work/err")"
done
while IFS='|' read -r c args want; do
  set -f; set -- $args; set +f
  expect "$c $*: $want" 2 "^sealtrail: $c: $want \(see 'sealtrail $c --help'\)$" -- st $c "$@" </dev/null
done <<'EOF_ARGS'
query|--tool|--tool needs a value
query|--too|--tool needs a value
query|--count --format|--format needs a value
query|--reverse=1|--reverse takes no value
query|--s x|option '--s' is ambiguous \(--session, --status, --since, --sort\)
query|-x|unknown option '-x'
query|stray|unexpected argument 'stray'
query|-- -x|unexpected argument '-x'
log|-- -x|unexpected argument '-x'
log|stray -- -x|unexpected argument 'stray'
stats|-- --tool|unexpected argument '--tool'
tail|-- -f|unexpected argument '-f'
export|-- --out|unexpected argument '--out'
stats|--session|--session needs a value
tail|-n|-n needs a value
tail|--lines|--lines needs a value
tail|-fx|unknown option '-x'
tail|--follow=yes|--follow takes no value
log|--from|--from needs a value
export|--out|--out needs a value
prove|--index|--index needs a value
archive|--older-than|--older-than needs a value
prune|--archive-dir|--archive-dir needs a value
erase|--index|--index needs a value
retention set|--min|--min needs a value
status|--json extra|unexpected argument 'extra'
EOF_ARGS
expect "hook install --events (no value)" 2 "^sealtrail: hook install: --events needs a value" -- st hook install --events
# auditverify already names itself; kept so
expect "auditverify --bogus" 2 "^auditverify: unknown option '--bogus' \(see --help\)$" -- "$AUDITVERIFY" --bogus
expect "auditverify --trust (no value)" 2 "^auditverify: --trust needs a value \(see --help\)$" -- "$AUDITVERIFY" x.stb --trust
# --help to a reader that has gone (`sealtrail query --help | grep -q x` once the text outgrew a pipe
# buffer): exit 0 and quiet, not killed by SIGPIPE
for c in "" query stats tail log export "hook install"; do
  rc=0; (sleep 0.2; exec "$SEALTRAIL" $c --help 2>"$work/err") | true || rc=$?
  [ $rc = 0 ] && [ ! -s "$work/err" ] && ok "sealtrail $c --help | (closed): exit 0" || bad "sealtrail $c --help | (closed): rc $rc $(cat "$work/err")"
done
rc=0; (sleep 0.2; exec "$AUDITVERIFY" --help 2>"$work/err") | true || rc=$?
[ $rc = 0 ] && [ ! -s "$work/err" ] && ok "auditverify --help | (closed): exit 0" || bad "auditverify --help | (closed): rc $rc $(cat "$work/err")"
# init: a refused value says why (exit 2 and a message, never a silent exit 2), and creates nothing
expect "init --seal-entries 0 says why" 2 "--seal-entries: at least 1" -- "$SEALTRAIL" --dir "$work/i0" init --seal-entries 0
[ ! -e "$work/i0" ] && ok "... and creates no store" || bad "init --seal-entries 0 created $work/i0"
# prove --index of an entry no checkpoint covers yet: says so (exit 1, as for no checkpoint at all),
# not "index must be below size" of a tree the user never named
printf '%s' '{"hook_event_name":"PreToolUse","session_id":"u","tool_name":"Bash","tool_input":{"command":"ls"}}' | st append >/dev/null
expect "prove --index of an unsealed entry says it is not sealed yet" 1 "prove: entry 3 is not sealed yet: the latest checkpoint covers entries 0\.\.2 \(run 'sealtrail seal'\)" -- st prove --index 3
expect "prove --index past the log is still bad input" 2 "index must be below size" -- st prove --index 4
# append of a Stop event seals, as the hook does (README: sealing happens at Stop / SessionEnd)
printf '%s' '{"hook_event_name":"Stop","session_id":"u","stop_hook_active":false}' | st append >/dev/null
[ "$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["unsealed"])')" = 0 ] &&
  ok "append of a Stop event leaves nothing unsealed" || bad "append Stop: $(st status | grep unsealed)"
# key and retention without a subcommand: a usage error says so on stderr (as 'sealtrail' alone
# and every other command do), not the whole --help on stdout, where 'sealtrail key > f' would keep it
for c in key retention; do
  expect "$c without a subcommand: exit 2, names the subcommands" 2 "^sealtrail: $c: a subcommand is needed: .*see 'sealtrail $c --help'" -- st $c
  [ ! -s "$work/out" ] && ok "... and prints nothing on stdout" || bad "$c without a subcommand printed on stdout: $(head -c 200 "$work/out")"
done
# export --from-checkpoint of a missing file: the message says which option's file (not --out's)
expect "export --from-checkpoint missing: names the option and the file" 2 "^sealtrail: export: --from-checkpoint $work/nope.cp: No such file" -- st export --out "$work/fc.stb" --from-checkpoint "$work/nope.cp"
[ ! -e "$work/fc.stb" ] && ok "... and writes no bundle" || bad "export --from-checkpoint missing wrote $work/fc.stb"
# options that are accepted are listed: sealtrail --version, auditverify -q
"$SEALTRAIL" --version | grep -q '^sealtrail [0-9]' && "$SEALTRAIL" --help | grep -q -- '--version' &&
  ok "sealtrail --version works and --help lists it" || bad "sealtrail --version not listed in --help"
"$AUDITVERIFY" --help | grep -q -- '-q, --quiet' && ok "auditverify --help lists -q" || bad "auditverify -q not listed"
e2e_end
