#!/usr/bin/env bash
# tail, query and log write to a pipe while the reader keeps up with the
# store held open (snap.c: only a write that cannot block), and let go of it
# for a write that may block. Here: a reader that keeps up still sees every
# entry exactly once while an erase compacts the store underneath, and a
# compaction still goes through when the store is held: while the reader
# takes a page now and then (never idle long enough for the writer to let
# go), and while tail -f fills a stalled pipe with short writes (which leave
# pipe slots part full: counting bytes alone would call the last write one
# that fits, and it would block with the store held).
set -euo pipefail
: "${SEALTRAIL:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin pipe_reader
e2e_store_3k "$work/base" example.com/pipe
pids=
e2e_at_exit 'for p in $pids; do kill $p 2>/dev/null; done'

# reader OUT BYTES MS: copies stdin to OUT, BYTES at a time with an MS pause
# between reads: a reader that keeps up, at its own pace.
cat > "$work/reader.py" <<'EOF'
import os, sys, time
out, n, ms = open(sys.argv[1], "wb", buffering=0), int(sys.argv[2]), int(sys.argv[3]) / 1000
while True:
    b = os.read(0, n)
    if not b:
        break
    out.write(b)
    time.sleep(ms)
EOF
reader() { exec python3 "$work/reader.py" "$@"; }   # exec: so that its pid is the reader's
# once FILE N: FILE holds JSON lines with indexes 0..N-1, each once, in order
once() { [ "$(wc -l < "$1")" = "$2" ] && jq -r .index "$1" | awk 'NR-1 != $1 {bad=1} END {exit bad}'; }

# --- log and query to a reader that keeps up, with an erase meanwhile ----------------------------
for cmd in log query; do
  rm -rf "$work/s"; cp -a "$work/base" "$work/s"
  ( "$SEALTRAIL" --dir "$work/s" $cmd 2>"$work/$cmd.err" | reader "$work/$cmd.out" 16384 5 ) &
  p=$!; pids="$pids $p"
  sleep 0.3
  erase_now "$work/s" 2999
  wait $p || true                              # $cmd.err says if it failed
  compacted && ok "$cmd to a reader that keeps up: an erase meanwhile compacts" \
    || bad "$cmd to a reader that keeps up: erase rc $erc $(cat "$work/er")"
  if [ $cmd = log ]; then once "$work/$cmd.out" 3000; else [ "$(jq -r .index "$work/$cmd.out" | sort -n | uniq | wc -l)" = 3000 ] && [ "$(wc -l < "$work/$cmd.out")" = 3000 ]; fi \
    && [ ! -s "$work/$cmd.err" ] && ok "... and prints each of the 3000 entries once" \
    || bad "$cmd with an erase: $(wc -l < "$work/$cmd.out") lines, $(cat "$work/$cmd.err")"
done

# --- tail -f to a reader that keeps up: the entries, the erasure record, the next entry ----------
rm -rf "$work/s"; cp -a "$work/base" "$work/s"
mkfifo "$work/tail.fifo"
"$SEALTRAIL" --dir "$work/s" tail -f --from 0 --interval 20 > "$work/tail.fifo" 2>"$work/tail.err" &
tp=$!; pids="$pids $tp"
reader "$work/tail.out" 16384 5 < "$work/tail.fifo" &
rp=$!; pids="$pids $rp"
sleep 0.3
erase_now "$work/s" 2999
"$SEALTRAIL" --dir "$work/s" import "$work/one.jsonl" >/dev/null 2>&1
for _ in $(seq 400); do [ "$(wc -l < "$work/tail.out" 2>/dev/null || echo 0)" -ge 3002 ] && break; sleep 0.05; done
kill -INT $tp 2>/dev/null || true; wait $tp || true; wait $rp || true
compacted && ok "tail -f to a reader that keeps up: an erase meanwhile compacts" \
  || bad "tail -f to a reader that keeps up: erase rc $erc $(cat "$work/er")"
once "$work/tail.out" 3002 && [ ! -s "$work/tail.err" ] && ok "... and tail prints every entry once, the erasure record and the next entry too" \
  || bad "tail -f with an erase: $(wc -l < "$work/tail.out") lines, $(cat "$work/tail.err")"

# --- a reader that takes a page every 100 ms: log holds the store between its
# pages (the reader is never idle long), and lets go when a compaction waits --------------------
rm -rf "$work/s"; cp -a "$work/base" "$work/s"
mkfifo "$work/trickle.fifo"
"$SEALTRAIL" --dir "$work/s" log > "$work/trickle.fifo" 2>/dev/null &
lp=$!; pids="$pids $lp"
reader "$work/trickle.out" 4096 100 < "$work/trickle.fifo" &
rp=$!; pids="$pids $rp"
sleep 0.5
erase_now "$work/s" 2999
kill $rp 2>/dev/null || true; wait $rp 2>/dev/null || true; wait $lp 2>/dev/null || true    # the reader goes: log ends (EPIPE)
compacted && ok "an erase compacts while log writes to a reader that trickles" \
  || bad "erase while log writes to a trickling reader: rc $erc $(cat "$work/er")"

# --- tail -f -n 0 into a pipe nobody reads, one entry at a time: the short
# writes fill the pipe; an erase then still compacts ----------------------------------------------
rm -rf "$work/s"; cp -a "$work/base" "$work/s"
mkfifo "$work/fifo"
"$SEALTRAIL" --dir "$work/s" tail -f -n 0 --interval 10 > "$work/fifo" 2>"$work/short.err" &
tp=$!; pids="$pids $tp"
exec 8<"$work/fifo"                            # opened, never read (until the end)
sleep 0.3
for _ in $(seq 60); do "$SEALTRAIL" --dir "$work/s" import "$work/one.jsonl" >/dev/null 2>&1; sleep 0.02; done
erase_now "$work/s" 5
compacted && ok "an erase compacts while tail -f's short writes have filled a stalled pipe" \
  || bad "erase with tail -f stalled after short writes: rc $erc $(cat "$work/er")"
"$SEALTRAIL" --dir "$work/s" import "$work/one.jsonl" >/dev/null 2>&1
timeout 10 head -n 62 <&8 > "$work/short.out" || true
exec 8<&-
kill -INT $tp 2>/dev/null || true; wait $tp 2>/dev/null || true   # it may be gone: head closed the pipe
[ "$(jq -r .index "$work/short.out" | paste -sd, -)" = "$(seq -s, 3000 3061)" ] \
  && ok "... and tail then prints the 60 entries, the erasure record and the next entry, each once" \
  || bad "tail -f after short writes: $(jq -r .index "$work/short.out" | paste -sd, - | head -c 300) $(cat "$work/short.err")"

e2e_end
