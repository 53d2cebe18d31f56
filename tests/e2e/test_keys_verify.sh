#!/usr/bin/env bash
# auditverify across a key history (docs/KEYS.md, VERIFYING.md step 5b): a
# store brought under a root (its own key certified with --current), three
# rotations while 8 processes append, then one export verified with the root
# alone, with the first log key alone (continuity through the rotations), an
# old bundle exported before the rotations still verifying after them, a root
# mismatch (exit 3, the message names the untrusted root), revocation before
# and after a checkpoint (a range bundle before it verifies, the full bundle
# fails with exit 3 naming the revocation, and an old bundle fails once the
# auditor gets the revocation with --key-note), an epoch-mode store whose
# bundle verifies across two epochs, and the report's key summary right after
# a rotation (the new key, signer of only the handover, is valid by the key
# history, not "NOT trusted").
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin keys_verify
verify() {  # verify DESC WANT_EXIT STDERR_PATTERN -- auditverify args...
  local desc=$1 want=$2 pat=$3; shift 4
  expect "$desc" "$want" "$pat" -- "$AUDITVERIFY" "$@"
}
export SEALTRAIL_FAKE_TIME=2025-11-21T12:00:00Z
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
ev='{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_response":{"stdout":"a"},"session_id":"s1"}'
rotate_certified() {   # request, certify, install, rotate
  st key request > "$work/req" 2>/dev/null
  "$SEALTRAIL" key certify --root "$work/root.key" "$work/req" > "$work/cert"
  st key install "$work/cert" >/dev/null 2>&1
  st key rotate >/dev/null 2>"$work/rot.err" || { bad "rotate: $(cat "$work/rot.err")"; return 1; }
}

"$SEALTRAIL" key root-init --out "$work/root.key" --name example.com/security-root > "$work/root.vkey" 2>/dev/null
"$SEALTRAIL" key root-init --out "$work/evil.key" --name evil.example/root > "$work/evil.vkey" 2>/dev/null
st init --origin example.com/log > "$work/first.vkey" 2>/dev/null
for i in 1 2 3; do echo "$ev" | st append >/dev/null; done
st seal >/dev/null
export SEALTRAIL_FAKE_TIME=2025-11-21T12:30:00Z
st key request --current > "$work/req0" 2>/dev/null
grep -q "^not-before 1763726400$" "$work/req0" && ok "request --current starts at the store's first checkpoint (12:00)" || bad "req0: $(cat "$work/req0")"
"$SEALTRAIL" key certify --root "$work/root.key" "$work/req0" > "$work/cert0"
st key install --root-vkey "$work/root.vkey" "$work/cert0" >/dev/null 2>&1
st export --out "$work/old.stb" >/dev/null 2>&1
verify "a bundle verifies with the root alone" 0 "" -- "$work/old.stb" --trust "$work/root.vkey"
verify "root mismatch: exit 3, naming the root that signed" 3 "signed by no trusted key: .*signed by example.com/security-root\+[0-9a-f]{8}, which is not a trusted root" -- "$work/old.stb" --trust "$work/evil.vkey"

# --- three rotations while 8 processes append ---------------------------------------------------------
for p in 1 2 3 4 5 6 7 8; do
  ( for i in $(seq 1 10); do echo "$ev" | "$SEALTRAIL" --dir "$work/s" append >/dev/null; done ) &
done
for k in 1 2 3; do rotate_certified || true; done
wait
st seal >/dev/null
st check >/dev/null 2>&1 && ok "sealtrail check passes across the rotations" || bad "check: $(st check 2>&1)"
st export --out "$work/all.stb" >/dev/null 2>&1
verify "full bundle across three rotations verifies with the root" 0 "" -- "$work/all.stb" --trust "$work/root.vkey"
grep -q "3 rotation(s)" "$work/out" && grep -q "4 certificate(s)" "$work/out" && ok "the report counts the key history" || bad "report: $(grep 'key history' "$work/out")"
verify "…and with the first log key alone (continuity)" 0 "" -- "$work/all.stb" --trust "$work/first.vkey"
verify "the old bundle still verifies after the rotations" 0 "" -- "$work/old.stb" --trust "$work/root.vkey"
"$AUDITVERIFY" "$work/all.stb" --trust "$work/root.vkey" --json | python3 -c '
import json, sys
r = json.load(sys.stdin)
h = r["key_history"]
assert h["rotations"] == 3 and h["certificates"] == 4 and h["notes"] == 7, h
signed = sum(k["signed_checkpoints"] for k in r["keys"])
assert signed == r["checkpoints"]["count"] + h["rotations"], (signed, r["checkpoints"])   # each handover: two signers
' && ok "--json reports the key history and the signers of every checkpoint (two at each handover)" || bad "json report"
"$AUDITVERIFY" --list "$work/all.stb" | grep -c "key note" | grep -qx 7 && ok "--list shows the 7 key notes" || bad "--list key notes"

# --- revocation before and after a checkpoint -------------------------------------------------------------
export SEALTRAIL_FAKE_TIME=2025-11-21T13:00:00Z
echo "$ev" | st append >/dev/null; st seal >/dev/null                  # before the compromise
before=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
st export --out "$work/pre-revocation.stb" >/dev/null 2>&1
export SEALTRAIL_FAKE_TIME=2025-11-21T15:00:00Z
echo "$ev" | st append >/dev/null; st seal >/dev/null                  # after it
st export --out "$work/post.stb" >/dev/null 2>&1                           # exported before anyone revoked
"$SEALTRAIL" key revoke --root "$work/root.key" --key "$(st verifier-key)" --after 2025-11-21T14:00:00Z --reason "token leaked" > "$work/rev"
verify "a bundle made before the revocation fails once the auditor has it (--key-note)" 3 "revoked \(a note given out of band\) as compromised after 2025-11-21T14:00:00Z" -- "$work/post.stb" --trust "$work/root.vkey" --key-note "$work/rev"
verify "…one whose checkpoints all precede the revocation time still verifies" 0 "" -- "$work/pre-revocation.stb" --trust "$work/root.vkey" --key-note "$work/rev"
"$SEALTRAIL" key revoke --root "$work/evil.key" --key "$(st verifier-key)" --after 2025-11-21T00:00:00Z > "$work/evil-rev"
verify "a --key-note signed by an untrusted root changes nothing" 0 "" -- "$work/post.stb" --trust "$work/root.vkey" --key-note "$work/evil-rev"
st key install "$work/rev" >/dev/null 2>&1
rotate_certified
st export --out "$work/revoked.stb" >/dev/null 2>&1
verify "a checkpoint signed only by the revoked key after the revocation time: exit 3" 3 "size $((before + 1)).*revoked \(entry [0-9]+\) as compromised after 2025-11-21T14:00:00Z" -- "$work/revoked.stb" --trust "$work/root.vkey"
st export --out "$work/range.stb" --from 0 --to $((before - 1)) >/dev/null 2>&1
verify "a bundle whose checkpoints are before the revocation time verifies" 0 "" -- "$work/range.stb" --trust "$work/root.vkey"
grep -q "1 revocation(s)" "$work/out" && ok "the range bundle carries the revocation in its key history" || bad "range key history: $(grep 'key history' "$work/out")"

# --- epochs --------------------------------------------------------------------------------------------------
export SEALTRAIL_FAKE_TIME=2025-11-21T01:00:00Z
ep() { "$SEALTRAIL" --dir "$work/e" "$@"; }
ep init --origin example.com/epochs > "$work/first-e.vkey" 2>/dev/null
echo "$ev" | ep append >/dev/null
ep key request --current > "$work/ereq0" 2>/dev/null                         # under the root from the start
"$SEALTRAIL" key certify --root "$work/root.key" "$work/ereq0" > "$work/ecert0"
ep key install --root-vkey "$work/root.vkey" "$work/ecert0" >/dev/null 2>&1
ep key epochs --count 2 --length 1d > "$work/ereq" 2>/dev/null
"$SEALTRAIL" key certify --root "$work/root.key" "$work/ereq" > "$work/ecert"
ep key install "$work/ecert" >/dev/null 2>&1
ep key rotate >/dev/null 2>&1
echo "$ev" | ep append >/dev/null; ep seal >/dev/null
export SEALTRAIL_FAKE_TIME=2025-11-22T01:00:00Z
echo "$ev" | ep append >/dev/null; ep seal >/dev/null
ep export --out "$work/epochs.stb" >/dev/null 2>&1
verify "an epoch-mode bundle verifies with the root across two epochs" 0 "" -- "$work/epochs.stb" --trust "$work/root.vkey"
grep -q "2 epoch key(s) in 1 schedule(s)" "$work/out" && ok "the report counts the epoch keys" || bad "epoch report: $(grep 'key history' "$work/out")"
verify "epoch keys need the root: the store's first key alone does not verify the second epoch" 3 "epoch certificate \(entry [0-9]+\) is signed by example.com/security-root\+[0-9a-f]{8}, which is not a trusted root" -- "$work/epochs.stb" --trust "$work/first-e.vkey"

# --- the report's key summary right after a rotation (simple mode, the first key pinned) ----------------------
# The new key's only signature is on the handover checkpoint (signed by both keys); the rotation lets it sign
# that size [KEYS-10], so the summary lists it as valid by the key history with that checkpoint counted.
export SEALTRAIL_FAKE_TIME=2025-11-21T12:00:00Z
sm() { "$SEALTRAIL" --dir "$work/m" "$@"; }
sm init --origin example.com/simple > "$work/m-first.vkey" 2>/dev/null
echo "$ev" | sm append >/dev/null; sm seal >/dev/null
sm key rotate > "$work/m-new.vkey" 2>/dev/null
sm export --out "$work/handover.stb" >/dev/null 2>&1
verify "a bundle ending at the handover verifies with the first key pinned" 0 "" -- "$work/handover.stb" --trust "$work/m-first.vkey"
grep -qF "$(cat "$work/m-new.vkey"): valid by the key history, signed 1 checkpoint(s)" "$work/out" \
  && ok "the new key, which signed only the handover, is valid by the key history" || bad "keys: $(grep -A1 '^  keys' "$work/out")"
grep -q "NOT trusted" "$work/out" && bad "a key that signed the handover is listed as NOT trusted" || ok "no key listed as NOT trusted"
grep -qF "$(cat "$work/m-first.vkey"): trusted (--trust), signed 2 checkpoint(s)" "$work/out" && ok "the pinned key signed both checkpoints" \
  || bad "keys: $(grep -A1 '^  keys' "$work/out")"
echo "$ev" | sm append >/dev/null; sm seal >/dev/null
sm export --out "$work/after.stb" >/dev/null 2>&1
verify "a bundle past the handover verifies with the first key pinned" 0 "" -- "$work/after.stb" --trust "$work/m-first.vkey"
grep -qF "$(cat "$work/m-new.vkey"): valid by the key history, signed 2 checkpoint(s)" "$work/out" \
  && ok "the new key's count includes the handover" || bad "keys: $(grep -A1 '^  keys' "$work/out")"
"$AUDITVERIFY" "$work/after.stb" --trust "$work/m-first.vkey" --json | NEW="$(cat "$work/m-new.vkey")" python3 -c '
import json, os, sys
r = json.load(sys.stdin)
k = {x["vkey"]: x for x in r["keys"]}
assert k[os.environ["NEW"]]["signed_checkpoints"] == 2 and not k[os.environ["NEW"]]["trusted"], k
assert sum(x["signed_checkpoints"] for x in r["keys"]) == r["checkpoints"]["count"] + 1, r   # the handover: two signers
' && ok "--json counts both signers of the handover checkpoint" || bad "json keys: $("$AUDITVERIFY" "$work/after.stb" --trust "$work/m-first.vkey" --json | grep -o '"keys":[^]]*]')"

e2e_end
