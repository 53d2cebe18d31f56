#!/usr/bin/env bash
# test_export.sh: `sealtrail export` on real stores, checked with `auditverify`
# (issue 4): round trips at sizes 0, 1, 2, 3, 7, 8, 9, 255, 256, 257 and
# 100,000 for every kind of selection (whole log, index range, time window,
# filter); refusing unsealed entries and --seal; --from-checkpoint with
# auditverify --previous; a fork refused at export; --out safety; stdout.
# The 100,000-entry round trip through the CLI is opt-in (ST_E2E_BIG=1, ~15 s);
# tests/unit/test_bundle_store.c runs every selection kind at 100,000 in-process.
set -euo pipefail
: "${SEALTRAIL:?set SEALTRAIL to the sealtrail binary}" "${AUDITVERIFY:?set AUDITVERIFY to the auditverify binary}"

. "$(dirname "$0")/lib.sh"
e2e_begin test_export
# json_count FILE: the entry count of an auditverify --json report
json_count() { grep -o '"entries":{"count":[0-9]*' "$1" | grep -o '[0-9]*$'; }

# gen N: N audit-log lines, entry i at 2025-11-01T00:00:00Z + i s, tools Bash/Edit/Read in turn
T0=1761955200
gen() {
    awk -v n="$1" -v t0="$T0" 'BEGIN {
        for (i = 0; i < n; i++) {
            s = t0 + i
            tool = (i % 3 == 0) ? "Bash" : (i % 3 == 1) ? "Edit" : "Read"
            printf "{\"timestamp\":%d,\"toolName\":\"%s\",\"input\":{\"command\":\"echo %d\"},\"output\":\"line %d ok\",\"sessionId\":\"s%d\",\"status\":\"%s\"}\n", \
                s, tool, i, i, int(i / 10), (i % 7 == 0) ? "failed" : "success"
        }
    }'
}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }

# newstore DIR N: a sealed store with N entries; prints nothing
newstore() {
    "$SEALTRAIL" --dir "$1" init --origin e2e.test/export >/dev/null 2>&1
    if [ "$2" -gt 0 ]; then gen "$2" >"$T/in.jsonl"; "$SEALTRAIL" --dir "$1" import "$T/in.jsonl" >/dev/null 2>&1; fi
    "$SEALTRAIL" --dir "$1" seal >/dev/null
}

# roundtrip DIR N DESC EXPECTED EXPORT-ARGS...: export, verify, compare the entry count
roundtrip() {
    local dir=$1 n=$2 desc=$3 want=$4
    shift 4
    rm -f "$T/b.stb"
    if ! "$SEALTRAIL" --dir "$dir" export --out "$T/b.stb" "$@" >"$T/out" 2>"$T/err"; then
        bad "size $n $desc: export failed: $(cat "$T/err")"
        return
    fi
    local code=0
    "$AUDITVERIFY" "$T/b.stb" --trust "$(cat "$dir/log.vkey" 2>/dev/null || "$SEALTRAIL" --dir "$dir" verifier-key)" \
        --json >"$T/r.json" 2>"$T/err" || code=$?
    local got
    got=$(json_count "$T/r.json")
    if [ "$code" = 0 ] && [ "$got" = "$want" ]; then ok "size $n $desc: verified, $got entries"
    else bad "size $n $desc: exit $code, $got entries (want $want): $(head -c 300 "$T/err")"; fi
}

echo "== round trips at small sizes, every selection kind"
for n in 0 1 2 3 7 8 9 255 256 257; do
    d="$T/s$n"
    newstore "$d" "$n"
    roundtrip "$d" "$n" "full" "$n"
    if [ "$n" -gt 0 ]; then
        from=$((n / 3)); to=$((n - n / 4 - 1))
        [ "$to" -lt "$from" ] && to=$from
        roundtrip "$d" "$n" "range $from..$to" $((to - from + 1)) --from "$from" --to "$to"
        roundtrip "$d" "$n" "time window" $((to - from + 1)) --since "$(iso $((T0 + from)))" --until "$(iso $((T0 + to + 1)))"
    fi
    edits=$(( (n + 1) / 3 ))
    roundtrip "$d" "$n" "filter --tool Edit" "$edits" --tool Edit
done

echo "== unsealed entries are refused unless --seal"
d="$T/u"
newstore "$d" 5
gen 3 >"$T/more.jsonl"
"$SEALTRAIL" --dir "$d" import "$T/more.jsonl" >/dev/null 2>&1
expect_exit 1 "export with 3 unsealed entries refused" "$SEALTRAIL" --dir "$d" export --out "$T/u.stb"
grep -q "seal" "$T/err" && ok "the refusal says to seal" || bad "refusal message: $(cat "$T/err")"
[ ! -e "$T/u.stb" ] && ok "a refused export leaves no file" || bad "a refused export left $T/u.stb"
expect_exit 0 "range of sealed entries exports" "$SEALTRAIL" --dir "$d" export --out "$T/u1.stb" --from 0 --to 4
# an export refused for bad input seals nothing, --seal or not: a refused command changes no stored data
sealed_u() { "$SEALTRAIL" --dir "$d" status | awk '/^sealed:/ {print $2 "." $3}'; }
before=$(sealed_u)
printf 'not a checkpoint\n' >"$T/garbage.cp"
expect "--seal with --to beyond the log: usage error" 2 "not within the log" -- \
    "$SEALTRAIL" --dir "$d" export --out "$T/x.stb" --seal --from 1 --to 99
expect "--seal with a --from-checkpoint that is no checkpoint: usage error" 2 "--from-checkpoint" -- \
    "$SEALTRAIL" --dir "$d" export --out "$T/x.stb" --seal --from-checkpoint "$T/garbage.cp"
expect "--seal with a --text over 4096 bytes: usage error" 2 "--text" -- \
    "$SEALTRAIL" --dir "$d" export --out "$T/x.stb" --seal --text "$(head -c 5000 /dev/zero | tr '\0' a)"
[ "$(sealed_u)" = "$before" ] && ok "refused --seal exports sealed nothing (still $before)" \
    || bad "a refused --seal export sealed: $before -> $(sealed_u)"
[ ! -e "$T/x.stb" ] && ok "refused --seal exports leave no file" || bad "a refused --seal export left $T/x.stb"
expect_exit 0 "export --seal" "$SEALTRAIL" --dir "$d" export --out "$T/u.stb" --seal
expect_exit 0 "the sealed export verifies" "$AUDITVERIFY" "$T/u.stb" --trust "$("$SEALTRAIL" --dir "$d" verifier-key)"
expect_exit 1 "an existing --out is not overwritten" "$SEALTRAIL" --dir "$d" export --out "$T/u.stb"
expect_exit 0 "--force overwrites" "$SEALTRAIL" --dir "$d" export --out "$T/u.stb" --force
expect_exit 2 "--from with --tool is a usage error" "$SEALTRAIL" --dir "$d" export --out "$T/x.stb" --from 1 --tool Bash
expect_exit 2 "--to beyond the log is a usage error" "$SEALTRAIL" --dir "$d" export --out "$T/x.stb" --from 1 --to 99
"$SEALTRAIL" --dir "$d" export --out - 2>/dev/null | "$AUDITVERIFY" - --trust "$("$SEALTRAIL" --dir "$d" verifier-key)" -q \
    && ok "export --out - | auditverify - verifies" || bad "export to stdout piped into auditverify"
"$SEALTRAIL" export --help | grep -q "EXIT STATUS" && ok "export --help has EXIT STATUS" || bad "export --help"
# a file (written back as it grows, fsynced) and stdout carry the same bytes at the same clock
rm -f "$T/w.stb"
SEALTRAIL_FAKE_TIME=1795000000 "$SEALTRAIL" --dir "$T/s257" export --out "$T/w.stb" >/dev/null 2>&1
SEALTRAIL_FAKE_TIME=1795000000 "$SEALTRAIL" --dir "$T/s257" export --out - 2>/dev/null >"$T/w-stdout.stb"
[ -s "$T/w.stb" ] && cmp -s "$T/w.stb" "$T/w-stdout.stb" && ok "export to a file and to stdout: identical bytes" \
    || bad "export to a file and to stdout differ"

echo "== --from-checkpoint and auditverify --previous"
d="$T/p"
newstore "$d" 20
"$SEALTRAIL" --dir "$d" checkpoint >"$T/cp20"
gen 30 >"$T/more.jsonl"
"$SEALTRAIL" --dir "$d" import "$T/more.jsonl" >/dev/null 2>&1
"$SEALTRAIL" --dir "$d" seal >/dev/null
K=$("$SEALTRAIL" --dir "$d" verifier-key)
expect_exit 0 "export --from 30 --from-checkpoint (size 20)" \
    "$SEALTRAIL" --dir "$d" export --out "$T/p.stb" --from 30 --from-checkpoint "$T/cp20"
expect_exit 0 "auditverify --previous links through the bundle's proof" "$AUDITVERIFY" "$T/p.stb" --trust "$K" --previous "$T/cp20" --json
grep -q '"previous":{"checked":true' "$T/out" && ok "report: previous checked" || bad "report: $(head -c 300 "$T/out")"
"$SEALTRAIL" --dir "$d" export --out "$T/p2.stb" --from 30 >/dev/null 2>&1
expect_exit 2 "without --from-checkpoint, --previous 20 cannot be linked to [30, 50)" \
    "$AUDITVERIFY" "$T/p2.stb" --trust "$K" --previous "$T/cp20"
# a fork: a copy of the store (same key) that diverged after 20 entries
newstore "$T/f0" 20
cp -a "$T/f0" "$T/f1"
gen 2 | sed 's/echo/fork/' >"$T/f.jsonl"
"$SEALTRAIL" --dir "$T/f1" import "$T/f.jsonl" >/dev/null 2>&1
"$SEALTRAIL" --dir "$T/f1" seal >"$T/cpf1"
gen 2 >"$T/g.jsonl"
"$SEALTRAIL" --dir "$T/f0" import "$T/g.jsonl" >/dev/null 2>&1
"$SEALTRAIL" --dir "$T/f0" seal >/dev/null
expect_exit 1 "export --from-checkpoint with a fork's checkpoint is refused" \
    "$SEALTRAIL" --dir "$T/f0" export --out "$T/f.stb" --from-checkpoint "$T/cpf1"
grep -q "fork" "$T/err" && ok "the refusal names the fork" || bad "fork message: $(cat "$T/err")"

if [ "${ST_E2E_BIG:-0}" = 1 ]; then
    echo "== 100,000 entries, every selection kind"
    d="$T/big"
    start=$SECONDS
    newstore "$d" 100000
    echo "     (store of 100,000 entries built in $((SECONDS - start)) s)"
    roundtrip "$d" 100000 "full" 100000
    roundtrip "$d" 100000 "range 12345..87653" 75309 --from 12345 --to 87653
    roundtrip "$d" 100000 "time window" 75309 --since "$(iso $((T0 + 12345)))" --until "$(iso $((T0 + 87654)))"
    roundtrip "$d" 100000 "filter --tool Read --status failed" 4762 --tool Read --status failed
fi

e2e_end
