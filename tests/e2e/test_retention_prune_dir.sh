#!/usr/bin/env bash
# prune --archive-dir that cannot be used (a missing parent, a regular file):
# refused before anything is recorded or deleted, naming the directory; the
# store (status, retention show, check) is unchanged and the archive files
# stay. The same prune with the right directory then records the prune and
# deletes the archive file it covers.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin test_retention_prune_dir
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
arch="$work/archive"
T0=1483228800            # 2017-01-01T00:00:00Z
MONTH=2628000
at() { export SEALTRAIL_FAKE_TIME=$1; }

at $T0
st init --origin retention.example/prune-dir > /dev/null 2>&1
st retention set --min 1y --max 2y --archive-after 1y --reason "prune dir e2e" > /dev/null
for m in $(seq 0 35); do
  at $((T0 + m * MONTH))
  printf '{"hook_event_name":"PostToolUse","session_id":"s%d","tool_name":"Write","tool_input":{"file_path":"/srv/f%d.txt","content":"month %d"},"tool_response":{"ok":true}}' \
    "$m" "$m" "$m" | st append > /dev/null
done
at $((T0 + 36 * MONTH))
st seal > /dev/null
st archive --archive-dir "$arch" --max-entries 12 > /dev/null
first=$(cd "$arch" && ls archive-*.stb.zst | head -n 1)
[ -n "$first" ] && ok "archived into $arch ($first first)" || bad "no archive files"

snap() { { st status; st retention show; st check; } > "$1" 2>&1 || true; }
snap "$work/before"
expect "prune --archive-dir under a missing directory: exit 1, names it" 1 "prune: $work/no/such/dir: No such file or directory" \
  -- st prune --archive-dir "$work/no/such/dir"
grep -q "nothing removed" "$work/err" && ok "... and says nothing was removed" || bad "no 'nothing removed': $(cat "$work/err")"
snap "$work/after"
cmp -s "$work/before" "$work/after" && ok "... and the store is unchanged (no prune record, payloads kept)" \
  || bad "a refused prune changed the store: $(diff "$work/before" "$work/after" | head -20)"
[ -e "$arch/$first" ] && ok "... and the archive file stays" || bad "$first deleted"

: > "$work/plainfile"
expect "prune --archive-dir naming a regular file: exit 1, names it" 1 "prune: $work/plainfile: not a directory" \
  -- st prune --archive-dir "$work/plainfile"
snap "$work/after"
cmp -s "$work/before" "$work/after" && ok "... and the store is unchanged" \
  || bad "a refused prune changed the store: $(diff "$work/before" "$work/after" | head -20)"

st prune --archive-dir "$arch" > "$work/out"
grep -q "^pruned entries 0\.\." "$work/out" && ok "the prune with the right directory prunes" || bad "prune: $(cat "$work/out")"
[ ! -e "$arch/$first" ] && ok "... and deletes $first" || bad "$first still there"
st check > /dev/null 2>&1 && ok "check passes after the prune" || bad "check: $(st check 2>&1)"

e2e_end
