#!/usr/bin/env bash
# A reader that stops reading (`sealtrail log | less` left open, a stuck
# pipeline) must not make the store file grow: query and log hold no LMDB
# read snapshot while they write (they work in chunks and renew it), and
# export --out - to a pipe builds the bundle in a temporary file first. LMDB
# cannot reuse the pages freed after a live snapshot, so with one held the
# store grew with every append meanwhile. Also: output that spans many
# chunks is the same as the output of one snapshot, and entries appended
# while a query or log runs are not printed (they were not there at the
# start).
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin query_stall
e2e_store_3k "$work/base" example.com/stall
"$SEALTRAIL" --dir "$work/base" seal >/dev/null 2>&1
pids=
e2e_at_exit 'for p in $pids; do kill $p 2>/dev/null; done'
n=0
# stall DESC CMD...: runs CMD on store b into a pipe nobody reads, appends 60
# times to a and b, and compares the file sizes.
stall() {
  local desc=$1; shift
  n=$((n + 1))
  rm -rf "$work/a" "$work/b"; cp -a "$work/base" "$work/a"; cp -a "$work/base" "$work/b"   # each case from the same start
  mkfifo "$work/fifo$n"
  "$SEALTRAIL" --dir "$work/b" "$@" > "$work/fifo$n" 2>/dev/null &
  local p=$!
  pids="$pids $p"
  exec 8<"$work/fifo$n"                     # opened, never read: the command blocks in write
  sleep 0.5
  for _ in $(seq 60); do for d in a b; do "$SEALTRAIL" --dir "$work/$d" import "$work/one.jsonl" >/dev/null 2>&1; done; done
  local sa sb
  sa=$(stat -c %s "$work/a/data.mdb"); sb=$(stat -c %s "$work/b/data.mdb")
  kill $p 2>/dev/null || true; exec 8<&-; wait $p 2>/dev/null || true
  [ "$sb" -le $((sa + sa / 4)) ] && ok "a stalled $desc does not make the store grow ($sb bytes, $sa without it)" \
    || bad "a stalled $desc grew the store: $sb bytes, $sa without it"
}
stall "log" log
stall "query" query
stall "query --format csv --reverse" query --format csv --reverse
stall "query --tool Bash,Read (sorted)" query --tool Bash,Read
stall "export --out -" export --out -

# --- many chunks, one answer ------------------------------------------------------------
st() { "$SEALTRAIL" --dir "$work/b" "$@"; }
st log > "$work/log.out"
[ "$(wc -l < "$work/log.out")" -ge 3000 ] && [ "$(jq -r .index "$work/log.out" | awk 'NR-1 != $1 {bad=1} END {print bad+0}')" = 0 ] \
  && ok "log over many chunks: every index once, in order" || bad "log chunks"
for args in "" "--reverse" "--tool Bash" "--tool Bash,Read --reverse" "--sort duration --limit 500"; do
  # shellcheck disable=SC2086
  a=$(st query $args --format json | jq -c '.[]' | sha256sum); b=$(st query $args | jq -c . | sha256sum)
  [ "$a" = "$b" ] && ok "query $args: jsonl equals json" || bad "query $args: jsonl and json differ"
done
st query --reverse | jq -r .index > "$work/q.idx"
[ "$(sort -un "$work/q.idx" | wc -l)" = "$(st query --count)" ] && ok "query over many chunks: every result once" || bad "query chunks: $(wc -l < "$work/q.idx") lines"
# a writer appending while a reader is slow: the reader prints what existed at its start
before=$(st query --count)
( st log | (sleep 1; cat) > "$work/slow.log" ) &
lp=$!
( st query --format seed | (sleep 1; cat) > "$work/slow.q" ) &
qp=$!
sleep 0.3
for _ in $(seq 20); do st import "$work/one.jsonl" >/dev/null 2>&1; done
wait $lp $qp
[ "$(wc -l < "$work/slow.log")" = "$before" ] && ok "log prints the $before entries there were at its start" || bad "log printed $(wc -l < "$work/slow.log"), want $before"
[ "$(wc -l < "$work/slow.q")" = "$before" ] && ok "query prints the $before entries there were at its start" || bad "query printed $(wc -l < "$work/slow.q"), want $before"
st seal >/dev/null 2>&1
st export --out - | cat > "$work/p.stb"
"$AUDITVERIFY" "$work/p.stb" --trust "$(st verifier-key)" >/dev/null 2>&1 && ok "export --out - to a pipe: the bundle verifies" || bad "export to a pipe"
ls "${TMPDIR:-/tmp}"/.sealtrail-export.* >/dev/null 2>&1 && bad "export left a spool file" || ok "export leaves no spool file"

# --- an erase while a reader is stalled: the compaction goes through (the
# stalled log holds no store handle while it writes to a pipe), and the log
# then goes on, showing the erased payload as absent -----------------------------------------
rm -rf "$work/c"; cp -a "$work/base" "$work/c"
mkfifo "$work/fifo_e"
"$SEALTRAIL" --dir "$work/c" log > "$work/fifo_e" 2>"$work/log_e.err" &
lp=$!
pids="$pids $lp"
exec 9<"$work/fifo_e"
sleep 0.5
erase_now "$work/c" 2999
compacted && ok "erase compacts while a log is stalled on a pipe" || bad "erase with a stalled log: rc $erc $(cat "$work/er")"
cat <&9 > "$work/log_e.out"; exec 9<&-
rc=0; wait $lp || rc=$?
[ $rc = 0 ] && [ "$(wc -l < "$work/log_e.out")" = 3000 ] && ok "the stalled log then prints the 3000 entries it started with (exit 0)" \
  || bad "log after the erase: rc $rc, $(wc -l < "$work/log_e.out") lines, $(cat "$work/log_e.err")"
tail -n 1 "$work/log_e.out" | jq -e '.index == 2999 and (.absent_payloads | length) > 0' >/dev/null \
  && ok "... with the payloads erased meanwhile absent" || bad "erased payloads: $(tail -n 1 "$work/log_e.out" | head -c 400)"
"$SEALTRAIL" --dir "$work/c" check >/dev/null 2>&1 && ok "the store checks after" || bad "check"

# --- the same when the output is one chunk, more than a pipe holds: its
# write (the last chunk's, for query and log) held the store too ---------------------------------
for args in "log --from 2900" "query --limit 100"; do
  rm -rf "$work/c"; cp -a "$work/base" "$work/c"
  rm -f "$work/fifo_1"; mkfifo "$work/fifo_1"
  # shellcheck disable=SC2086
  "$SEALTRAIL" --dir "$work/c" $args > "$work/fifo_1" 2>/dev/null &
  lp=$!
  pids="$pids $lp"
  exec 9<"$work/fifo_1"
  sleep 1                                   # past the 0.5 s it waits for a reader that may keep up
  erase_now "$work/c" 5
  n=$(cat <&9 | wc -l); exec 9<&-
  wait $lp || true
  compacted && [ "$n" = 100 ] && ok "erase compacts while $args (one chunk) is stalled on a pipe" \
    || bad "erase with a stalled $args: rc $erc, $n lines, $(cat "$work/er")"
done

# --- the same with tail -f: stalled on a pipe it holds no store handle, so the
# compaction goes through, and tail then goes on past the erasure record -----------------------
rm -rf "$work/d"; cp -a "$work/base" "$work/d"
mkfifo "$work/fifo_t"
"$SEALTRAIL" --dir "$work/d" tail -f --from 0 > "$work/fifo_t" 2>"$work/tail_e.err" &
tp=$!
pids="$pids $tp"
exec 9<"$work/fifo_t"
sleep 0.5
erase_now "$work/d" 2999
compacted && ok "erase compacts while a tail -f is stalled on a pipe" || bad "erase with a stalled tail -f: rc $erc $(cat "$work/er")"
head -n 3001 <&9 > "$work/tail_e.out"; exec 9<&-   # the entries and the erasure record; then tail sees its reader go
rc=0; wait $tp || rc=$?
[ $rc = 0 ] && jq -r .index "$work/tail_e.out" | awk 'NR-1 != $1 {bad=1} END {exit bad}' && [ "$(wc -l < "$work/tail_e.out")" = 3001 ] \
  && ok "the stalled tail -f then prints every entry once, the erasure record too (exit 0)" \
  || bad "tail -f after the erase: rc $rc, $(wc -l < "$work/tail_e.out") lines, $(cat "$work/tail_e.err")"

# --- an idle tail -f with a poll interval longer than a compaction waits (60 s
# against 3 s here) steps aside too, and prints the erasure record ------------------------------
rm -rf "$work/e"; cp -a "$work/base" "$work/e"
"$SEALTRAIL" --dir "$work/e" tail -f -n 0 --interval 60000 > "$work/tail_i.out" 2>"$work/tail_i.err" &
tp=$!
pids="$pids $tp"
sleep 0.5
erase_now "$work/e" 5
compacted && ok "erase compacts while tail -f --interval 60000 waits" || bad "erase with an idle tail -f: rc $erc $(cat "$work/er")"
for _ in $(seq 100); do [ -s "$work/tail_i.out" ] && break; sleep 0.05; done
kill -INT $tp; rc=0; wait $tp || rc=$?
[ $rc = 0 ] && [ "$(jq -r .index "$work/tail_i.out")" = 3000 ] && ok "... and then prints the erasure record" \
  || bad "idle tail -f after the erase: rc $rc, $(head -c 300 "$work/tail_i.out") $(cat "$work/tail_i.err")"

e2e_end
