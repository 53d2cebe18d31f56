#!/usr/bin/env bash
# Erasure as an operator runs it, proven on the raw files: after
# `sealtrail erase` the erased values are in no file of the store directory
# (data.mdb, lock.mdb, anything else), searched raw and with every zstd
# frame found in them decompressed, while a control value still is (so the
# search works). Large content shared by two entries stays until both are
# erased (the documented rule). Erasures run while hooks and appends keep
# writing: nothing is lost, check passes, auditverify reports the erasures.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin test_retention_erase
bgpids=()
e2e_at_exit 'for p in "${bgpids[@]}"; do kill "$p" 2>/dev/null || true; done'
S="$work/s"
st() { "$SEALTRAIL" --dir "$S" "$@"; }

# rawfind DIR NEEDLE: exit 0 if NEEDLE is in any file under DIR, raw or in a
# decompressed zstd frame (plain, or with the built-in payload dictionary of
# encoding 2, store/payload_dict.c).
cat > "$work/rawfind.c" <<'EOF'
#define _GNU_SOURCE
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zstd.h>
extern const unsigned char st_payload_dict[];
extern const size_t st_payload_dict_size;
static const char *needle;
static int has(const unsigned char *d, size_t n)
{
    if (memmem(d, n, needle, strlen(needle))) return 1;
    for (size_t i = 0; i + 4 <= n; i++) {
        if (d[i] != 0x28 || d[i + 1] != 0xb5 || d[i + 2] != 0x2f || d[i + 3] != 0xfd) continue;
        unsigned long long sz = ZSTD_getFrameContentSize(d + i, n - i);
        size_t fl = ZSTD_findFrameCompressedSize(d + i, n - i);
        if (sz == ZSTD_CONTENTSIZE_ERROR || sz == ZSTD_CONTENTSIZE_UNKNOWN || sz > (64u << 20) || ZSTD_isError(fl)) continue;
        unsigned char *o = malloc(sz ? sz : 1);
        size_t got = ZSTD_decompress(o, sz, d + i, fl);
        if (ZSTD_isError(got)) {
            ZSTD_DCtx *dc = ZSTD_createDCtx();
            got = dc ? ZSTD_decompress_usingDict(dc, o, sz, d + i, fl, st_payload_dict, st_payload_dict_size) : (size_t)-1;
            ZSTD_freeDCtx(dc);
        }
        int hit = !ZSTD_isError(got) && memmem(o, got, needle, strlen(needle));
        free(o);
        if (hit) return 1;
    }
    return 0;
}
static int walk(const char *p)
{
    struct stat st;
    if (lstat(p, &st) != 0) return 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(p);
        struct dirent *e;
        int hit = 0;
        while (d && !hit && (e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char q[4096];
            snprintf(q, sizeof q, "%s/%s", p, e->d_name);
            hit = walk(q);
        }
        if (d) closedir(d);
        return hit;
    }
    if (!S_ISREG(st.st_mode)) return 0;
    FILE *f = fopen(p, "rb");
    if (!f) return 0;
    unsigned char *b = malloc(st.st_size ? st.st_size : 1);
    size_t n = fread(b, 1, st.st_size, f);
    fclose(f);
    int hit = has(b, n);
    if (hit) fprintf(stderr, "found in %s\n", p);
    free(b);
    return hit;
}
int main(int argc, char **argv) { if (argc != 3) return 2; needle = argv[2]; return walk(argv[1]) ? 0 : 1; }
EOF
${CC:-cc} -O1 -I"$ST_SOURCE_DIR/store" -o "$work/rawfind" "$work/rawfind.c" "$ST_SOURCE_DIR/store/payload_dict.c" -lzstd
found() { "$work/rawfind" "$S" "$1" 2>/dev/null; }

st init --origin erase.example/e2e 2>/dev/null | tail -n 1 > "$work/log.vkey"
big=$(python3 -c 'print("BIGSECRET-5d1c " + "lorem ipsum dolor sit amet " * 200)')
for i in 0 1; do   # two Reads of the same large file: one blob, two references
  printf '{"hook_event_name":"PostToolUse","session_id":"s","tool_name":"Read","tool_input":{"file_path":"/srv/keys.txt"},"tool_response":{"content":"%s"}}' "$big" | st append > /dev/null
done
printf '{"hook_event_name":"PostToolUse","session_id":"s","tool_name":"Bash","tool_input":{"command":"echo zebra-walnut-report-0193"},"tool_response":{"stdout":""}}' | st append > /dev/null
printf '{"hook_event_name":"PostToolUse","session_id":"s","tool_name":"Bash","tool_input":{"command":"echo CONTROL-keep-77b2"},"tool_response":{"stdout":"CONTROL-keep-77b2"}}' | st append > /dev/null
printf '{"hook_event_name":"UserPromptSubmit","session_id":"s","prompt":"PROMPT-private-c0ffee"}' | st append > /dev/null
st seal > /dev/null
found zebra-walnut-report-0193 && found CONTROL-keep-77b2 && found BIGSECRET-5d1c && ok "before erasure every value is found (the search works)" \
  || bad "values not found before erasure"

st erase --index 2 --reason "leaked token, SEC-7" > "$work/out"
! found zebra-walnut-report-0193 && ok "erased small payload: in no file of the store (raw or decompressed)" || bad "zebra-walnut-report-0193 still in the store files"
found CONTROL-keep-77b2 && ok "control value still found after compaction" || bad "control lost"
grep -q "store compacted: data.mdb" "$work/out" && ok "erase compacts and says so" || bad "erase output: $(cat "$work/out")"

st erase --index 0 --payload tool_response --reason "file held keys" > "$work/out"
grep -q "1 other payload reference(s) hold identical large content" "$work/out" && ok "erase reports content shared with another entry" \
  || bad "shared note: $(cat "$work/out")"
found BIGSECRET-5d1c && ok "shared large content stays while another entry references it" || bad "shared content removed too early"
st erase --index 1 --payload tool_response --reason "file held keys" > "$work/out"
! found BIGSECRET-5d1c && ok "large content gone once its last reference is erased" || bad "BIGSECRET still in the store files"

st erase --index 4 --reason "GDPR art. 17 #12" > /dev/null
! found PROMPT-private-c0ffee && ok "erased prompt gone from the files" || bad "prompt still there"
rc=0; st erase --index 4 --reason again 2> "$work/err" || rc=$?
[ $rc = 1 ] && grep -q "already removed by record" "$work/err" && ok "erasing twice is refused, naming the record" || bad "twice: rc $rc $(cat "$work/err")"
rc=0; st erase --index 3 2> "$work/err" || rc=$?
[ $rc = 2 ] && ok "erase without --reason is a usage error" || bad "no reason: rc $rc"
n0=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
expect "erase --index twice is refused (the last one must not silently win)" 2 "--index given twice" -- st erase --index 3 --index 5 --reason twice
expect "erase of an index past the end is bad input" 2 "entry 999 does not exist \\(the log has [0-9]+ entries\\)" -- st erase --index 999 --reason x
expect "erase of a payload the entry lacks is bad input, naming those it has" 2 "has no payload \"nope\" \\(it has: " -- st erase --index 3 --payload nope --reason x
[ "$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')" = "$n0" ] && ok "... and nothing is erased or recorded" || bad "erase --index twice wrote a record"
st check > /dev/null 2>&1 && ok "check passes after erasures" || bad "check: $(st check 2>&1)"
st log --from 4 --to 4 | python3 -c '
import json, sys
e = json.loads(sys.stdin.read())
assert e["event"] == "UserPromptSubmit" and e["session"] == "s", e
assert e["absent_payloads"] == ["prompt"], e' && ok "the erased entry keeps its metadata" || bad "metadata"

# --- erasure while others write ----------------------------------------------------------
n0=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
for w in 1 2; do
  (
    for i in $(seq 1 40); do
      printf '{"hook_event_name":"PostToolUse","session_id":"w%d","tool_name":"Bash","tool_input":{"command":"echo %d"},"tool_response":{"stdout":"%d"}}' "$w" "$i" "$i" \
        | "$SEALTRAIL" --dir "$S" hook
      printf '{"hook_event_name":"Stop","session_id":"a%d-%d"}' "$w" "$i" | "$SEALTRAIL" --dir "$S" append > /dev/null
    done
  ) 2> "$work/bg$w.err" &
  bgpids+=($!)
done
sleep 0.2
st erase --index 3 --reason "during writes" > "$work/out" 2> "$work/err" || true
st retention compact > /dev/null 2>&1 || true
for p in "${bgpids[@]}"; do wait "$p"; done
bgpids=()
st hook replay > /dev/null 2>&1 || true          # events a hook spooled while it waited, if any
n1=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
[ "$n1" = $((n0 + 160 + 1)) ] && ok "160 concurrent events plus the erasure record: nothing lost ($n0 -> $n1)" \
  || bad "size $n0 -> $n1, want $((n0 + 161)); $(cat "$work/err" "$work"/bg*.err | head -5)"
grep -q "erased entry 3" "$work/out" && ok "erase completed while others wrote" || bad "erase during writes: $(cat "$work/out" "$work/err")"
! found CONTROL-keep-77b2 && ok "erased value gone after the concurrent run" || bad "CONTROL still present"
st seal > /dev/null
st check > /dev/null 2>&1 && ok "check passes after the concurrent run" || bad "check: $(st check 2>&1)"
ls -a "$S" | grep -qE 'compact\.tmp|\.tmp$' && bad "leftover temp files: $(ls -a "$S")" || ok "no temporary files left in the store directory"

st export --out "$work/all.stb" > /dev/null 2>&1
"$AUDITVERIFY" "$work/all.stb" --trust "$work/log.vkey" > "$work/av.out" 2>&1 && ok "the export verifies" || bad "auditverify: $(head -5 "$work/av.out")"
grep -qE "absent \(7 erased, 0 archived, 0 pruned" "$work/av.out" && ok "auditverify reports 7 erased payloads, each with its record" \
  || bad "report: $(grep payloads "$work/av.out")"

# An imported payload is stored with the built-in dictionary (encoding 2):
# the search reads such frames, and erasing one removes it from the files too.
# Over 1 KiB its literals are entropy-coded, so the marker is not in the raw
# bytes: only a search that decodes the frame finds it.
line='{"timestamp":"2025-03-01T10:00:00Z","toolName":"Bash","input":{"command":"cat notes"},"output":{"stdout":"IMPORTED-erase-me-4242 '
line+=$(python3 -c 'print("meeting notes about the quarterly report " * 40)')'"},"executionTimeMs":5,"status":"success"}'
printf '%s\n' "$line" > "$work/one.jsonl"
idx=$(st import "$work/one.jsonl" 2>/dev/null | sed -n 's/^imported 1 entries: \([0-9]*\)\.\..*/\1/p')
st seal > /dev/null
[ -n "$idx" ] && ! grep -qaF IMPORTED-erase-me-4242 "$S/data.mdb" && found IMPORTED-erase-me-4242 \
  && ok "an imported (dictionary-compressed) payload is found by the search, not in the raw bytes" \
  || bad "imported payload: index '$idx', raw $(grep -caF IMPORTED-erase-me-4242 "$S/data.mdb"), search $(found IMPORTED-erase-me-4242 && echo hit || echo miss)"
st erase --index "$idx" --reason "imported by mistake" > /dev/null 2>&1
! found IMPORTED-erase-me-4242 && ok "erased imported payload: in no file of the store" || bad "IMPORTED-erase-me-4242 still in the store files"


e2e_end
