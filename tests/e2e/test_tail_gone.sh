#!/usr/bin/env bash
# tail -f on a store that is deleted or replaced under it: it used to follow
# the unlinked file forever, printing nothing (and, having closed the store
# for a write to a stalled pipe, would have gone on in a store made again at
# the same path as if it were the same log). Now it exits 1 within an idle
# wait or so, naming the directory. A key rotation and a compaction (the
# file swapped by the store itself) are not a replacement: tail goes on.
set -euo pipefail
: "${SEALTRAIL:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin tail_gone
python3 "$(dirname "$0")/../../bench/gen_audit.py" 3500 "$work/gen.jsonl" >/dev/null
head -n 20 "$work/gen.jsonl" > "$work/20.jsonl"
head -n 3000 "$work/gen.jsonl" > "$work/3k.jsonl"
head -n 1 "$work/gen.jsonl" > "$work/one.jsonl"
mkstore() { "$SEALTRAIL" --dir "$1" init --origin example.com/gone >/dev/null 2>&1 && "$SEALTRAIL" --dir "$1" import "$2" >/dev/null 2>&1; }
mkstore "$work/base" "$work/20.jsonl"
pids=
e2e_at_exit 'for p in $pids; do kill $p 2>/dev/null; done'
msg="tail: store $work/s was deleted or replaced while following it"

# ended PID SECONDS: waits up to SECONDS for PID to exit; its status in $trc (124: still running)
ended() {
  local i
  for i in $(seq $(($2 * 20))); do kill -0 "$1" 2>/dev/null || break; sleep 0.05; done
  if kill -0 "$1" 2>/dev/null; then trc=124; kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; return; fi
  trc=0; wait "$1" || trc=$?
}
# started FILE N: waits up to 5 s for FILE to hold N lines
started() { for _ in $(seq 100); do [ "$(wc -l < "$1" 2>/dev/null || echo 0)" -ge "$2" ] && return; sleep 0.05; done; }

# --- deleted (rm -rf): tail -f to a file, and to a pipe ------------------------------------------
rm -rf "$work/s"; cp -a "$work/base" "$work/s"
"$SEALTRAIL" --dir "$work/s" tail -f -n 3 --interval 50 > "$work/del.out" 2>"$work/del.err" &
tp=$!; pids="$pids $tp"
started "$work/del.out" 3
rm -rf "$work/s"
ended $tp 5
[ $trc = 1 ] && grep -qxF "sealtrail: $msg" "$work/del.err" && [ "$(wc -l < "$work/del.out")" = 3 ] \
  && ok "tail -f exits 1 when its store is deleted, naming the directory" || bad "tail -f, store deleted: rc $trc, $(cat "$work/del.err")"

rm -rf "$work/s"; cp -a "$work/base" "$work/s"
mkfifo "$work/del.fifo"
"$SEALTRAIL" --dir "$work/s" tail -f --from 0 > "$work/del.fifo" 2>"$work/delp.err" &
tp=$!; pids="$pids $tp"
cat < "$work/del.fifo" > "$work/delp.out" &
pids="$pids $!"
started "$work/delp.out" 20
rm -rf "$work/s"
ended $tp 5
[ $trc = 1 ] && grep -qF "$msg" "$work/delp.err" && ok "... and when it writes to a pipe" || bad "tail -f | cat, store deleted: rc $trc, $(cat "$work/delp.err")"

# --- renamed away: DIR no longer names the store ---------------------------------------------------
rm -rf "$work/s" "$work/s.old"; cp -a "$work/base" "$work/s"
"$SEALTRAIL" --dir "$work/s" tail -f -n 1 --interval 50 > "$work/mv.out" 2>"$work/mv.err" &
tp=$!; pids="$pids $tp"
started "$work/mv.out" 1
mv "$work/s" "$work/s.old"
ended $tp 5
[ $trc = 1 ] && grep -qF "$msg" "$work/mv.err" && ok "tail -f exits 1 when its store directory is renamed away" || bad "tail -f, store renamed: rc $trc, $(cat "$work/mv.err")"

# --- replaced: deleted and made again (same origin) during one idle wait --------------------------
rm -rf "$work/s" "$work/new"; cp -a "$work/base" "$work/s"; mkstore "$work/new" "$work/gen.jsonl"
"$SEALTRAIL" --dir "$work/s" tail -f -n 2 --interval 1500 > "$work/rep.out" 2>"$work/rep.err" &
tp=$!; pids="$pids $tp"
started "$work/rep.out" 2
rm -rf "$work/s" && mv "$work/new" "$work/s"
ended $tp 6
[ $trc = 1 ] && grep -qF "$msg" "$work/rep.err" && [ "$(jq -r .index "$work/rep.out" | paste -sd, -)" = "18,19" ] \
  && ok "tail -f exits 1 when its store is replaced by another (rm -rf, init), printing nothing of the new one" \
  || bad "tail -f, store replaced: rc $trc, $(jq -r .index "$work/rep.out" | paste -sd, - | head -c 200) $(cat "$work/rep.err")"

# --- replaced while tail waits on a stalled pipe with the store closed: when
# the reader reads on, tail opens the store again, sees another one, and stops --------------------
rm -rf "$work/s" "$work/new"; mkstore "$work/s" "$work/3k.jsonl"; mkstore "$work/new" "$work/gen.jsonl"
mkfifo "$work/st.fifo"
"$SEALTRAIL" --dir "$work/s" tail -f --from 0 > "$work/st.fifo" 2>"$work/st.err" &
tp=$!; pids="$pids $tp"
exec 8<"$work/st.fifo"
IFS= read -r first <&8                          # tail has the old store open; then it blocks in write
sleep 1                                         # past the 0.5 s it holds the store for a reader that may keep up
rm -rf "$work/s" && mv "$work/new" "$work/s"
{ printf '%s\n' "$first"; cat <&8; } > "$work/st.out" & cp=$!
ended $tp 10
wait $cp 2>/dev/null || true; exec 8<&-
maxi=$(jq -r .index "$work/st.out" | sort -n | tail -n 1) || maxi=
[ $trc = 1 ] && grep -qF "$msg" "$work/st.err" && [ "${maxi:-0}" -lt 3000 ] \
  && [ "$(jq -r .index "$work/st.out" | awk 'NR-1 != $1 {bad=1} END {print bad+0}')" = 0 ] \
  && ok "tail -f stalled on a pipe exits 1 when the store is replaced meanwhile (it printed $(wc -l < "$work/st.out") entries of the old one, none of the new)" \
  || bad "tail -f stalled, store replaced: rc $trc, max index ${maxi:-none}, $(cat "$work/st.err")"

# --- not a replacement: a key rotation, then a compaction (erase) ---------------------------------
rm -rf "$work/s"; cp -a "$work/base" "$work/s"
"$SEALTRAIL" --dir "$work/s" tail -f -n 0 --interval 20 > "$work/rot.out" 2>"$work/rot.err" &
tp=$!; pids="$pids $tp"
sleep 0.3
"$SEALTRAIL" --dir "$work/s" key rotate >"$work/rot.log" 2>&1 || bad "key rotate: $(cat "$work/rot.log")"
erase_now "$work/s" 3
"$SEALTRAIL" --dir "$work/s" import "$work/one.jsonl" >/dev/null 2>&1
started "$work/rot.out" 3
kill -INT $tp 2>/dev/null || true; ended $tp 5
compacted && [ $trc = 0 ] && [ ! -s "$work/rot.err" ] \
  && [ "$(jq -r .index "$work/rot.out" | paste -sd, -)" = "20,21,22" ] \
  && ok "tail -f follows its store through a key rotation and a compaction (exit 0 on SIGINT)" \
  || bad "tail -f through rotation and erase: erase rc $erc, rc $trc, $(jq -r .index "$work/rot.out" | paste -sd, -) $(cat "$work/rot.err")"

"$SEALTRAIL" tail --help | grep -q "deleted or replaced" && ok "tail --help documents the exit" || bad "tail --help"
e2e_end
