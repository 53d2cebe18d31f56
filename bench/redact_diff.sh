#!/bin/bash
# redact_diff.sh [BASE_REV] [FILE...]: redaction results of this tree against
# BASE_REV's (default: where this branch left main), byte for byte. Builds BASE_REV's library from
# `git archive` in a temporary directory, links bench/redact_bench.c (its
# --dump mode) against both libraries, and compares their output on the
# generated near-miss inputs, the redaction vectors and fuzz corpus, the
# sample payloads, this repository's sources and docs, and any FILE given
# (e.g. a bench import log). Exit 0: identical. Else it says how many
# output records differ and, per rule, how many markers each build wrote,
# and keeps both outputs in $REDACT_DIFF_OUT (default a new directory
# $TMPDIR/redact_diff.out.XXXXXX, named on stderr) for a closer look
# (`diff base.out new.out`). REDACT_DIFF_FILES_ONLY=1: only the FILEs
# given (no near-miss inputs, no repository files, whose redaction a change
# of the rules changes on purpose): a false-positive count on real text.
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
rev=${1:-$(git -C "$here" merge-base HEAD main)}
shift || true
tmp=$(mktemp -d "${TMPDIR:-/tmp}/redact_diff.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
libs="/usr/lib/x86_64-linux-gnu/libsodium.a /usr/lib/x86_64-linux-gnu/liblmdb.a /usr/lib/x86_64-linux-gnu/libzstd.a /usr/lib/x86_64-linux-gnu/libpcre2-8.a"
build() { # SRC_DIR OUT_BIN
    cmake -S "$1" -B "$1/build-diff" -DCMAKE_BUILD_TYPE=Release >/dev/null
    cmake --build "$1/build-diff" -j2 --target sealtrail >/dev/null
    cc -O2 -std=c11 -D_GNU_SOURCE -I"$1/include" -I"$1/store" -I"$1/store/verify" "$here/bench/redact_bench.c" -o "$2" \
        "$1/build-diff/libsealtrail.a" "$1/build-diff/libstverify.a" $libs
}
mkdir "$tmp/base"
git -C "$here" archive "$rev" | tar -x -C "$tmp/base"
build "$tmp/base" "$tmp/dump-base"
build "$here" "$tmp/dump-new"
dump=--dump
files=("$here"/tests/unit/redact_vectors/*.jsonl "$here"/tests/fuzz/corpus/redact/* "$here"/store/*.c "$here"/store/*.h
       "$here"/tests/unit/*.c "$here"/docs/*.md "$@")
[ -d "$here/../shared/claude-code/payloads" ] && files+=("$here"/../shared/claude-code/payloads/*)
if [ "${REDACT_DIFF_FILES_ONLY:-}" = 1 ]; then dump=--dump-files; files=("$@"); fi
for isa in sse2 ssse3 ""; do
    ST_REDACT_ISA=$isa "$tmp/dump-new" $dump "${files[@]}" > "$tmp/new.out"
    [ -f "$tmp/base.out" ] || "$tmp/dump-base" $dump "${files[@]}" > "$tmp/base.out"
    if ! cmp -s "$tmp/base.out" "$tmp/new.out"; then
        echo "redact_diff: ST_REDACT_ISA=${isa:-auto}: output differs from $rev" >&2
        echo "  $(diff "$tmp/base.out" "$tmp/new.out" | grep -c '^>') of $(wc -l < "$tmp/new.out") output records differ;" \
             "markers per rule (base -> new):" >&2
        join -a1 -a2 -e0 -o 0,1.2,2.2 \
            <(grep -ao '\[REDACTED:[a-z0-9-]*\]' "$tmp/base.out" | sort | uniq -c | awk '{print $2, $1}' | sort) \
            <(grep -ao '\[REDACTED:[a-z0-9-]*\]' "$tmp/new.out" | sort | uniq -c | awk '{print $2, $1}' | sort) |
            awk '$2 != $3 { printf "    %-42s %8d -> %8d\n", $1, $2, $3 }' >&2
        keep=${REDACT_DIFF_OUT:-$(mktemp -d "${TMPDIR:-/tmp}/redact_diff.out.XXXXXX")}
        mkdir -p "$keep" && cp "$tmp/base.out" "$tmp/new.out" "$keep/"
        echo "  both outputs: $keep/base.out, $keep/new.out" >&2
        exit 1
    fi
done
echo "redact_diff: identical to $rev ($(wc -c < "$tmp/base.out") bytes of output, ${#files[@]} files + near-miss inputs, each classifier)"
