#!/usr/bin/env bash
# Retention over a synthetic eight-year clock (SEALTRAIL_FAKE_TIME), as an
# operator runs it: a signed policy (7 y minimum, 8 y maximum, archive after
# 1 y); one event a month for eight years; policy changes that would shorten
# protection refused; archive into several verified .stb.zst files, checked
# byte for byte against their records and with auditverify; the hot store
# shrinks; check passes; auditverify --retention over the archives and a
# current export: compliant, a missing archive, a gap, data held past the
# maximum, a filtered bundle, a payload deleted without a record; a premature
# prune refused; an erasure reported as erased (not tampering); a lawful
# prune at year 12 deletes the oldest archive and the set stays compliant.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin test_retention
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
arch="$work/archive"
T0=1483228800            # 2017-01-01T00:00:00Z
MONTH=2628000
Y=31536000
at() { export SEALTRAIL_FAKE_TIME=$1; }

# --- the policy ------------------------------------------------------------------
at $T0
vkey=$(st init --origin retention.example/e2e 2>/dev/null | tail -n 1)
echo "$vkey" > "$work/log.vkey"
st retention set --min 7y --max 8y --archive-after 1y --reason "SOX 802" > "$work/out"
grep -q "retention policy record 0: minimum 7y, maximum 8y, archive after 1y" "$work/out" \
  && ok "retention set appends a signed policy record" || bad "retention set: $(cat "$work/out")"
st retention show --json > "$work/show.json"
python3 - "$work/show.json" <<'PY' && ok "retention show --json reports the policy" || bad "retention show json"
import json, sys
d = json.load(open(sys.argv[1]))
p = d["policy"]
assert p["index"] == 0 and p["min_retention"] == "7y" and p["max_retention"] == "8y" and p["archive_after"] == "1y", p
assert p["reason"] == "SOX 802"
PY
cp "$work/s/data.mdb" "$work/before.mdb"
expect "retention set --reason that is not UTF-8: exit 2, named" 2 "retention set: the reason must be valid UTF-8" -- st retention set --min 8y --reason $'SOX \xff802'
cmp -s "$work/s/data.mdb" "$work/before.mdb" && ok "... and the store is unchanged" || bad "a refused non-UTF-8 reason changed data.mdb"

# --- eight years of events ----------------------------------------------------------
for m in $(seq 0 96); do
  at $((T0 + m * MONTH))
  printf '{"hook_event_name":"PostToolUse","session_id":"s%d","tool_name":"Write","tool_input":{"file_path":"/srv/app/f%d.txt","content":"month %d payload-%d-secret"},"tool_response":{"ok":true}}' \
    "$m" "$m" "$m" "$m" | st append > /dev/null
done
at $((T0 + 97 * MONTH))
st seal > /dev/null
size=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
[ "$size" = 98 ] && ok "98 entries over eight years (1 policy + 97 events)" || bad "size $size"

rc=0; st retention set --min 5y 2> "$work/err" || rc=$?
[ $rc = 1 ] && grep -q "refused: the minimum retention in force (7y, policy record 0) protects entries until" "$work/err" \
  && ok "lowering the minimum is refused while entries are protected" || bad "shorten: rc $rc $(cat "$work/err")"
rc=0; st retention set --max 6y 2> "$work/err" || rc=$?
[ $rc = 2 ] && grep -q "maximum retention 6y is shorter than the minimum 7y" "$work/err" \
  && ok "a maximum below the minimum is refused" || bad "max<min: rc $rc $(cat "$work/err")"
[ "$(st retention show --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy"]["index"])')" = 0 ] \
  && ok "refused changes append nothing" || bad "policy changed"

# --- archive ----------------------------------------------------------------------------
before=$(stat -c %s "$work/s/data.mdb")
st archive --archive-dir "$arch" --max-entries 30 > "$work/archive.out"
n=$(grep -c "^archived entries" "$work/archive.out" || true)
[ "$n" -ge 2 ] && ok "archive wrote $n archive files" || bad "archive: $(cat "$work/archive.out")"
grep -q "verified; archive record" "$work/archive.out" && ok "each archive was verified before its payloads left" || bad "no verified"
line=$(grep "^hot store: data.mdb" "$work/archive.out" || true)
after=$(stat -c %s "$work/s/data.mdb")
[ -n "$line" ] && [ "$after" -lt "$before" ] && ok "hot store shrank: $before -> $after bytes ($line)" || bad "disk: $before -> $after: $line"
st check > /dev/null 2>&1 && ok "check passes after archive" || bad "check after archive: $(st check 2>&1)"
st retention show --json > "$work/show.json"
python3 - "$work/show.json" "$arch" <<'PY' && ok "archive files match their records byte for byte (sha256, tiling from 0)" || bad "archive records vs files"
import hashlib, json, os, sys
d = json.load(open(sys.argv[1]))
arcs = d["archives"]
assert len(arcs) >= 2
end = 0
for a in arcs:
    assert a["begin"] == end, (a, end)
    end = a["end"]
    b = open(os.path.join(sys.argv[2], a["file"]), "rb").read()
    assert hashlib.sha256(b).hexdigest() == a["sha256"], a["file"]
    assert len(b) == a["bytes"]
assert d["archived_end"] == end
PY
allok=1
for f in "$arch"/archive-*.stb.zst; do
  zstd -qdc "$f" > "$work/plain.stb"
  out=$("$AUDITVERIFY" "$work/plain.stb" --trust "$work/log.vkey" 2>&1) || { allok=0; echo "$out" | head -5; }
  # the decompressed bundle is the one the archive record describes
  want=$(st log | python3 -c '
import json, sys
name = sys.argv[1]
for l in sys.stdin:
    e = json.loads(l)
    if e.get("kind") == "archive" and e["data"]["file"] == name: print(e["data"]["bundle_sha256"])' "$(basename "$f")")
  [ "$(sha256sum < "$work/plain.stb" | cut -d' ' -f1)" = "$want" ] || { allok=0; echo "bundle sha256 differs for $f"; }
done
[ $allok = 1 ] && ok "every archive decompresses to its recorded bundle and verifies with auditverify" || bad "archive verify"

# --- auditverify --retention over the archives and a current export ------------------------
av() { "$AUDITVERIFY" "$@" --trust "$work/log.vkey"; }
st export --out "$work/hot.stb" > /dev/null 2>&1
archives=("$arch"/archive-*.stb.zst)
rc=0; av "${archives[@]}" "$work/hot.stb" --retention > "$work/ret.out" 2> "$work/ret.err" || rc=$?
[ $rc = 0 ] && grep -q "^RETENTION COMPLIANT  (integrity: every bundle verified)" "$work/ret.out" \
  && ok "archives + current export: integrity verified, retention compliant (read as .zst directly)" \
  || bad "retention set: rc $rc $(tail -12 "$work/ret.out") $(cat "$work/ret.err")"
[ "$(grep -c ' given$' "$work/ret.out")" = "${#archives[@]}" ] && ok "each archive file is matched to its record by SHA-256" \
  || bad "archive status: $(grep -A4 archives "$work/ret.out")"
rc=0; av "${archives[0]}" "${archives[2]}" "$work/hot.stb" --retention > "$work/ret.out" 2> "$work/ret.err" || rc=$?
missing=$(basename "${archives[1]}")
[ $rc = 1 ] && grep -q "^RETENTION VIOLATED" "$work/ret.out" && grep -q "missing-archive: .*archived to $missing" "$work/ret.err" \
  && ok "a missing archive is detected and named" || bad "missing archive: rc $rc $(cat "$work/ret.err") $(tail -5 "$work/ret.out")"
rc=0; av "${archives[0]}" "${archives[2]}" --retention > "$work/ret.out" 2> "$work/ret.err" || rc=$?
b1=$(basename "${archives[1]}" .stb.zst | cut -d- -f2 | sed 's/^0*//'); e1=$(basename "${archives[1]}" .stb.zst | cut -d- -f3 | sed 's/^0*//')
[ $rc = 1 ] && grep -q "gap: entries ${b1:-0}\.\.$((e1 - 1)) are in none of the bundles" "$work/ret.err" \
  && ok "a missing archive between two others is detected as a gap (entries ${b1:-0}..$((e1 - 1)))" \
  || bad "gap: rc $rc $(cat "$work/ret.err")"
rc=0; av "${archives[@]}" "$work/hot.stb" --retention --json > "$work/ret.json" 2>/dev/null || rc=$?
python3 - "$work/ret.json" <<'PY' && ok "--json states integrity and retention separately" || bad "retention json"
import json, sys
d = json.load(open(sys.argv[1]))
assert d["integrity"] == "verified" and d["exit_code"] == 0, d.get("exit_code")
r = d["retention"]
assert r["verdict"] == "compliant" and r["evaluated"] and r["policy"]["min_retention_us"] == 7 * 365 * 86400 * 10**6, r
assert all(a["status"] == "given" for a in r["archives"]) and len(d["bundles"]) == len(r["archives"]) + 1
PY
rc=0; av "${archives[@]}" "$work/hot.stb" --retention --as-of 2029-01-01T00:00:00Z > "$work/ret.out" 2>&1 || rc=$?
[ $rc = 0 ] && grep -qE "warning +held-past-max: entries 1\.\." "$work/ret.out" && grep -qE "^  over-retained +[0-9]+ entries have" "$work/ret.out" \
  && ok "payloads kept past the maximum are reported (a warning, still exit 0)" || bad "held past max: rc $rc $(tail -6 "$work/ret.out")"
st export --tool Write --out "$work/filtered.stb" > /dev/null 2>&1
rc=0; av "${archives[@]}" "$work/filtered.stb" --retention > "$work/ret.out" 2> "$work/ret.err" || rc=$?
[ $rc = 2 ] && grep -q "^RETENTION INCONCLUSIVE" "$work/ret.out" && ok "a filtered bundle makes retention inconclusive (exit 2)" \
  || bad "filtered: rc $rc $(cat "$work/ret.err")"

# --- a payload removed without a record: tamper evidence ----------------------------------
cat > "$work/rmrow.c" <<'EOF2'
#include <lmdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
int main(int argc, char **argv)
{
    MDB_env *env; MDB_txn *t; MDB_dbi d;
    unsigned long long idx = strtoull(argv[2], NULL, 10);
    unsigned char k[64];
    for (int i = 0; i < 8; i++) k[i] = (unsigned char)(idx >> (56 - 8 * i));
    size_t nl = strlen(argv[3]);
    memcpy(k + 8, argv[3], nl);
    MDB_val key = { 8 + nl, k };
    if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 32) || mdb_env_set_mapsize(env, 1ull << 30) ||
        mdb_env_open(env, argv[1], 0, 0600) || mdb_txn_begin(env, NULL, 0, &t) || mdb_dbi_open(t, "payloads", 0, &d))
        return 2;
    int rc = mdb_del(t, d, &key, NULL);
    if (rc) { fprintf(stderr, "%s\n", mdb_strerror(rc)); return 1; }
    return mdb_txn_commit(t) ? 3 : 0;
}
EOF2
cp -r "$work/s" "$work/s2"
if ${CC:-cc} -O1 -o "$work/rmrow" "$work/rmrow.c" -llmdb 2> "$work/cc.err" && "$work/rmrow" "$work/s2" $((size - 2)) tool_input; then
  "$SEALTRAIL" --dir "$work/s2" export --out "$work/tampered.stb" > /dev/null 2>&1 || true
  rc=0; av "${archives[@]}" "$work/tampered.stb" --retention > "$work/ret.out" 2> "$work/ret.err" || rc=$?
  [ $rc = 1 ] && grep -q "RETENTION NOT EVALUATED" "$work/ret.out" && grep -qi "without a record\|missing" "$work/ret.err" \
    && ok "a payload deleted without a record is tamper evidence; retention is not evaluated" \
    || bad "deleted payload: rc $rc $(cat "$work/ret.err")"
else
  bad "cannot build the LMDB helper: $(cat "$work/cc.err")"
fi

# --- a premature prune is refused --------------------------------------------------------
rc=0; st prune --older-than 5y --archive-dir "$arch" 2> "$work/err" || rc=$?
[ $rc = 1 ] && grep -q "refused: --older-than 5y is shorter than the minimum retention 7y" "$work/err" \
  && ok "prune younger than the minimum is refused" || bad "premature prune: rc $rc $(cat "$work/err")"
st prune --archive-dir "$arch" > "$work/out"
grep -q "nothing to prune" "$work/out" && ok "prune at year 8 finds nothing past the 8 y maximum in a whole archive" || bad "prune y8: $(cat "$work/out")"

# --- erase ------------------------------------------------------------------------------
last=$((size - 1))
st erase --index "$last" --reason "GDPR request 12" > "$work/out"
grep -q "erased entry $last: tool_input tool_response" "$work/out" && ok "erase reports what it erased" || bad "erase: $(cat "$work/out")"
st export --out "$work/full.stb" > /dev/null 2>&1
"$AUDITVERIFY" "$work/full.stb" --trust "$work/log.vkey" > "$work/av.out" 2>&1 && ok "full export verifies after archive and erase" \
  || bad "auditverify: $(head -5 "$work/av.out")"
grep -qE "[0-9]+ absent \(2 erased, [0-9]+ archived" "$work/av.out" && ok "auditverify reports the 2 payloads as erased, not as tampering" \
  || bad "erased not reported: $(grep -A3 payloads "$work/av.out")"
grep -qE "archived" "$work/av.out" && ok "auditverify reports archived payloads" || bad "archived not reported"

# --- twelve years on: a lawful prune ----------------------------------------------------
at $((T0 + 12 * Y))
first=$(ls "$arch" | head -1)
st prune --archive-dir "$arch" > "$work/out"
grep -q "^pruned entries 0\.\." "$work/out" && ok "prune at year 12 prunes the oldest archives" || bad "prune: $(cat "$work/out")"
[ ! -e "$arch/$first" ] && ok "the pruned archive file is deleted" || bad "$first still there"
st check > /dev/null 2>&1 && ok "check passes after prune" || bad "check after prune: $(st check 2>&1)"
st export --out "$work/full2.stb" > /dev/null 2>&1
"$AUDITVERIFY" "$work/full2.stb" --trust "$work/log.vkey" > "$work/av.out" 2>&1 && grep -qE "prune record [0-9]+" "$work/av.out" \
  && ok "auditverify reports pruned payloads with their record" || bad "pruned: $(head -20 "$work/av.out")"
rc=0; "$AUDITVERIFY" "$arch"/archive-*.stb.zst "$work/full2.stb" --trust "$work/log.vkey" --retention > "$work/ret.out" 2> "$work/ret.err" || rc=$?
[ $rc = 0 ] && grep -q "^RETENTION COMPLIANT" "$work/ret.out" && grep -qE "$first .* pruned$" "$work/ret.out" \
  && grep -qE "removals +entries with payloads erased 1," "$work/ret.out" \
  && ok "after the lawful prune and the erasure the remaining set is compliant (pruned archive, erased entry)" \
  || bad "after prune: rc $rc $(cat "$work/ret.err") $(tail -14 "$work/ret.out")"

e2e_end
