#!/usr/bin/env bash
# bench/query_bench.sh: issue 6 figures in one run, each next to grep and jq
# over the equivalent JSONL, printed as ratios. Never part of ctest.
#
#   SEALTRAIL=build/sealtrail bash bench/query_bench.sh          # 1M entries
#   SEALTRAIL=build/sealtrail SMALL=1 bash bench/query_bench.sh  # 20k, seconds
#   BENCH_N=200000 ... (any size); BENCH_NO_SLURP=1 skips jq -s group_by
#
# Steps: generate N ~1 KiB audit-log lines over one year (bench/gen_audit.py),
# import them (entries/s), then with the clock fixed at the end of that year:
# tool + 90-day window, path substring, stats (all time and 90 days), each
# the median of 7 runs of the real command (process start included), against
# grep -c and jq over the same file.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
: "${SEALTRAIL:=$here/build-bench/sealtrail}"
n=${BENCH_N:-1000000}
[ "${SMALL:-0}" = 1 ] && n=${BENCH_N:-20000}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SEALTRAIL_NO_SYSLOG=1
export SEALTRAIL_FAKE_TIME=2025-06-01T00:00:00Z
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
now_ns() { date +%s%N; }
# ms CMD...: wall time of one run in ms; median7 CMD...: median of 7 runs
ms() { python3 "$here/bench/qtime.py" 1 "$@"; }
median7() { python3 "$here/bench/qtime.py" 7 "$@"; }
# vs SEALTRAIL_MS BASELINE_MS: "N.Nx faster" (or slower) for sealtrail
vs() { awk -v a="$1" -v b="$2" 'BEGIN { if (a <= 0) print "n/a"; else if (b >= a) printf "sealtrail %.1fx faster", b / a; else printf "sealtrail %.1fx slower", a / b }'; }
SEALTRAIL_BIN=$SEALTRAIL
goal() { awk -v v="$1" -v g="$2" 'BEGIN { printf "%s ms (goal <= %s ms: %s)", v, g, (v <= g ? "met" : "MISSED") }'; }

echo "  generating $n audit-log lines (~1 KiB each) ..."
python3 "$here/bench/gen_audit.py" "$n" "$work/audit.jsonl"
bytes=$(stat -c %s "$work/audit.jsonl")
# Write the generated file back before timing: otherwise the kernel flushes
# its ~1 GB of dirty pages during the import, and the import pays for it.
sync "$work/audit.jsonl"
st init --origin bench.example/query >/dev/null 2>&1
t0=$(now_ns)
if [ -x /usr/bin/time ]; then
  /usr/bin/time -f '%U %S' -o "$work/import.cpu" "$SEALTRAIL" --dir "$work/s" import "$work/audit.jsonl" >/dev/null 2>"$work/import.err"
else
  st import "$work/audit.jsonl" >/dev/null 2>"$work/import.err"
fi
t1=$(now_ns)
rate=$(awk -v n="$n" -v d=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (d / 1e9) }')
mdb=$(stat -c %s "$work/s/data.mdb")
printf '  import: %s entries in %.2f s = %s entries/s (goal >= 150000: %s); JSONL %.0f MiB, store %.0f MiB (%.2fx)\n' \
  "$n" "$(awk -v d=$((t1 - t0)) 'BEGIN { print d / 1e9 }')" "$rate" "$(awk -v r="$rate" 'BEGIN { print (r >= 150000 ? "met" : "MISSED") }')" \
  "$(awk -v b="$bytes" 'BEGIN { print b / 1048576 }')" "$(awk -v b="$mdb" 'BEGIN { print b / 1048576 }')" \
  "$(awk -v a="$mdb" -v b="$bytes" 'BEGIN { print a / b }')"
# Where the store's bytes are, table by table (pages in use x page size), as
# shares of the JSONL: the storage goal (DESIGN 9) is <= 1.0x in all.
if command -v mdb_stat >/dev/null; then
  # LMDB counts the pages of a split table's duplicates (ix_tool4, ix_session4:
  # db.h) in no table: they are the pages in use that no table and no free
  # list holds.
  { mdb_stat -ef "$work/s"; mdb_stat -a "$work/s"; } 2>/dev/null | awk -v j="$bytes" '
    /^Status of/ { t = $3 } /Page size/ { ps = $3 } /Number of pages used/ { used = $5 }
    /^Freelist Status/ { t = "(free)" } /Free pages/ { free = $3 }
    /Branch pages|Leaf pages|Overflow pages/ { pages[t] += $3; counted += $3 }
    END { pages["(tool+session-dups)"] = used - free - counted
          for (t in pages) if (pages[t] * ps / j >= 0.005) printf "%.2f %s\n", pages[t] * ps / j, t }' |
    sort -rn | awk '{ line = line sprintf(" %s %sx", $2, $1) } END { print "    by table:" line }' || true
fi
# CPU of the import (threads converting, appending, preparing), and the converting stage alone
if [ -s "$work/import.cpu" ]; then
  read -r cu cs < "$work/import.cpu"
  printf '    import CPU: %.2f s user + %.2f s sys = %.1f us/entry\n' "$cu" "$cs" "$(awk -v u="$cu" -v s="$cs" -v n="$n" 'BEGIN { print (u + s) * 1e6 / n }')"
fi
if [ -x "${BUILD_DIR:-}/import_bench" ]; then
  echo "    $("$BUILD_DIR/import_bench" "$work/audit.jsonl")"
fi
# The import's threads share the CPUs: on a VM whose vCPUs are not equally
# fast at the moment (host contention), its rate follows the slow one.
if [ -x "${BUILD_DIR:-}/machine_probe" ]; then
  "$BUILD_DIR/machine_probe" | awk 'NR <= 2 { sub(/^ +/, ""); print "    just after the import: " $0 }' || true
fi

since=2025-03-03T00:00:00.000Z     # 90 days before the fixed clock
count=$(st query --tool Edit --since 90d --count)
t_start=$(median7 $SEALTRAIL_BIN --version)
t_st=$(median7 $SEALTRAIL_BIN --dir "$work/s" query --tool Edit --since 90d --count)
t_st100=$(median7 $SEALTRAIL_BIN --dir "$work/s" query --tool Edit --since 90d --reverse --limit 100)
t_grep=$(ms grep -c '"toolName":"Edit"' "$work/audit.jsonl")
t_jq=$(ms jq -c --arg s "$since" 'select(.toolName == "Edit" and .timestamp >= $s)' "$work/audit.jsonl")
echo "  tool + 90-day window ($count matches):"
echo "    sealtrail query --count: $(goal "$t_st" 10); latest 100 as JSONL: $t_st100 ms; process start alone: $t_start ms"
echo "    grep -c (tool only, no window): $t_grep ms ($(vs "$t_st" "$t_grep")); jq select: $t_jq ms ($(vs "$t_st" "$t_jq"))"

count=$(st query --path auth --count)
t_st=$(median7 $SEALTRAIL_BIN --dir "$work/s" query --path auth --count)
t_st100=$(median7 $SEALTRAIL_BIN --dir "$work/s" query --path '/repo/src/auth/*' --reverse --limit 100)
t_grep=$(ms grep -c '/auth/' "$work/audit.jsonl")
t_jq=$(ms jq -c 'select(((.input.file_path // .input.command // .input.path) // "") | contains("auth"))' "$work/audit.jsonl")
echo "  path substring 'auth' ($count matches):"
echo "    sealtrail query --count: $(goal "$t_st" 50); glob, latest 100 as JSONL: $t_st100 ms"
echo "    grep -c: $t_grep ms ($(vs "$t_st" "$t_grep")); jq select: $t_jq ms ($(vs "$t_st" "$t_jq"))"

t_st=$(median7 $SEALTRAIL_BIN --dir "$work/s" stats --format json)
t_stw=$(median7 $SEALTRAIL_BIN --dir "$work/s" stats --since 90d --format json)
echo "  stats per tool:"
echo "    sealtrail stats (all time, aggregates): $(goal "$t_st" 100); --since 90d (exact, scans): $t_stw ms"
if [ "${BENCH_NO_SLURP:-0}" != 1 ]; then
  t_jq=$(ms jq -s 'group_by(.toolName) | map({tool: .[0].toolName, n: length, failed: (map(select(.error)) | length),
                    total: (map(.executionTimeMs) | add)})' "$work/audit.jsonl")
  echo "    jq -s group_by: $t_jq ms ($(vs "$t_st" "$t_jq"))"
fi
t_grep=$(ms grep -c '"error":true' "$work/audit.jsonl")
echo "    grep -c failures only (no per-tool figures): $t_grep ms ($(vs "$t_st" "$t_grep"))"
