#!/usr/bin/env bash
# test_entry_rows.sh: entry rows as stored (docs/FORMAT.md section 5, packed
# entry rows), through the real binaries. An import stores packed rows; a
# raw row (as an older release wrote it) reads, renders and checks the same;
# a damaged row makes check, log, tail, query, leaf and export fail with
# exit 1 naming the entry, and changes nothing; compaction packs raw rows.
# Rows are rewritten with LMDB's own mdb_dump / mdb_load (lmdb-utils).
set -euo pipefail
. "$(dirname "$0")/lib.sh"
e2e_begin entry_rows

if ! command -v mdb_dump >/dev/null || ! command -v mdb_load >/dev/null; then
  echo "SKIP: mdb_dump/mdb_load (lmdb-utils) not installed"
  exit 0
fi

st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
st init --origin example.com/rows >/dev/null 2>&1
for i in $(seq 0 39); do
  printf '{"timestamp":"2026-01-01T00:00:%02d.000Z","toolName":"%s","input":{"command":"echo %d"},"output":{"stdout":"%d"},"executionTimeMs":%d,"error":false,"errorMessage":null,"status":"success","sessionId":"9f1c2b7e4d3a5b6c8d9e0f1a2b3c4d5e"}\n' \
    "$i" "$([ $((i % 2)) = 0 ] && echo Bash || echo Read)" "$i" "$i" "$((i * 10))"
done > "$work/log.jsonl"
st import "$work/log.jsonl" >/dev/null 2>&1
st seal >/dev/null 2>&1
st log > "$work/log.before"

# The value of entry I as mdb_dump prints it (hex, one line).
# (awk reads to the end: an early exit makes mdb_dump fail on SIGPIPE, "Interrupted system call", and pipefail the test)
row_hex() { mdb_dump -s entries "$work/s" | awk -v k="$(printf '%016x' "$1")" 'f == 1 { print substr($0, 2); f = 2 } $1 == k && !f { f = 1 }'; }
# Replaces entry I's value with HEX (mdb_load overwrites the key's value).
put_row() {
  { printf 'VERSION=3\nformat=bytevalue\ndatabase=entries\ntype=btree\nHEADER=END\n'
    printf ' %016x\n %s\nDATA=END\n' "$1" "$2"; } > "$work/load"
  mdb_load -s entries -f "$work/load" "$work/s"
}

[ "$(row_hex 5 | cut -c1-2)" = 01 ] && ok "an import stores packed rows" || bad "row 5 is $(row_hex 5 | cut -c1-16)"
packed=$(row_hex 5 | wc -c); raw=$(st leaf --index 5 | wc -c)
[ $((packed / 2)) -lt $((raw * 6 / 10)) ] && ok "a packed row is under 0.6x the entry ($((packed / 2)) of $raw bytes)" \
  || bad "packed $((packed / 2)) of $raw bytes"

# --- a raw row among packed ones -------------------------------------------------------------------
put_row 3 "$(st leaf --index 3 | od -An -v -tx1 | tr -d ' \n')"
[ "$(row_hex 3 | cut -c1-2)" = 7b ] && ok "row 3 rewritten raw" || bad "row 3 is $(row_hex 3 | cut -c1-16)"
expect "check passes with raw and packed rows mixed" 0 "" -- st check
st log > "$work/log.mixed"
cmp -s "$work/log.before" "$work/log.mixed" && ok "log prints the same with a raw row" || bad "log differs with a raw row"

# --- a damaged row ----------------------------------------------------------------------------------
good=$(row_hex 7)
put_row 7 "02${good:2}"                      # an unknown row tag
sum() { sha256sum "$work/s/data.mdb" | cut -c1-64; }
before=$(sum)
expect "check names the damaged entry" 1 "entry 7" -- st check
expect "log fails at the damaged entry" 1 "log: entry 7: stored row is damaged" -- st log
expect "tail fails at the damaged entry" 1 "tail: entry 7: stored row is damaged" -- st tail --from 0
expect "query fails at the damaged entry" 1 "entry 7" -- st query --tool Read
expect "leaf refuses the damaged entry" 1 "entry 7" -- st leaf --index 7
expect "export fails at the damaged entry" 1 "export: entry 7: stored row is damaged" -- st export --out "$work/b.bundle"
expect "archive fails at the damaged entry" 1 "archive: entry 7: stored row is damaged" -- st archive --older-than 1d --no-compact
expect "erase refuses the damaged entry" 1 "erase: entry 7: stored row is damaged" -- st erase --index 7 --reason test --no-compact
expect "query before the damaged entry still answers" 0 "" -- st query --tool Read --limit 3
[ "$(wc -l < "$work/out")" = 3 ] && ok "  ... with 3 entries" || bad "query --limit 3: $(wc -l < "$work/out") lines"
[ "$(sum)" = "$before" ] && ok "the failing commands changed nothing" || bad "data.mdb changed"

put_row 7 "01${good:2}00"                     # a 0x00 token at the end
expect "a 0x00 token: check names the entry" 1 "entry 7" -- st check
put_row 7 "${good:0:$(( ${#good} - 8 ))}"     # cut inside a hex token or a fragment run
expect "a cut row: check names the entry" 1 "entry 7" -- st check
put_row 7 "$good"
expect "the row restored: check passes" 0 "" -- st check

# --- compaction packs raw rows --------------------------------------------------------------------
expect "retention compact" 0 "" -- st retention compact
[ "$(row_hex 3 | cut -c1-2)" = 01 ] && ok "compaction packed the raw row" || bad "row 3 after compaction: $(row_hex 3 | cut -c1-16)"
st log > "$work/log.after"
cmp -s "$work/log.before" "$work/log.after" && ok "log prints the same after compaction" || bad "log differs after compaction"
expect "check passes after compaction" 0 "" -- st check
st export --out "$work/all.bundle" >/dev/null 2>&1
expect "auditverify accepts the export" 0 "" -- "$AUDITVERIFY" "$work/all.bundle" --trust "$(st status | awk '/verifier key/ { print $3 }')"

# --- a damaged retention record ---------------------------------------------------------------------
st retention set --min 7y --reason rows >/dev/null 2>&1
rec=$(row_hex 40)
[ "${rec:0:2}" = 01 ] && ok "the policy record (entry 40) is stored packed" || bad "row 40 is ${rec:0:16}"
put_row 40 "02${rec:2}"
before=$(sum)
expect "retention show names the damaged record" 1 "record 40: stored row is damaged" -- st retention show
expect "prune names the damaged record" 1 "record 40: stored row is damaged" -- st prune --older-than 1d
[ "$(sum)" = "$before" ] && ok "  ... and changes nothing" || bad "data.mdb changed"
put_row 40 "$rec"

# --- a damaged erasure record: check names the record, not only the missing payload -----------------
expect "erase entry 3's payloads" 0 "" -- st erase --index 3 --reason rows --no-compact
n=$(st status | awk '/^entries:/ { print $2 }')
er=$(( n - 1 ))
expect "check passes after the erasure" 0 "" -- st check
erow=$(row_hex "$er")
put_row "$er" "02${erow:2}"
expect "check names the damaged erasure record" 1 "entry 3: payload \"[a-z_]+\" is missing; record $er, named for it, is damaged" -- st check
put_row "$er" "$erow"
expect "the record restored: check passes" 0 "" -- st check

e2e_end
