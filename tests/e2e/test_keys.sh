#!/usr/bin/env bash
# Key management as the security team and the log host run it (docs/KEYS.md):
# root-init, request, certify, install (pins the root), three rotations while
# 8 processes append (nothing lost, nothing unsealed, check passes), refusals
# with messages that say which (no root, root mismatch, another origin,
# expired, not yet valid, a request installed), loose permissions on the root
# key and on key files, revocation before and after a checkpoint, and epoch
# keys (rotation into epochs, the ended epoch's key wiped, seals by the epoch
# key, no key after the last epoch), and a crash between a rotation's commit
# and its file change (the next seal finishes it, log.vkey included).
# Verification of exported bundles across the history is test_keys_verify.sh.
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin keys
export SEALTRAIL_FAKE_TIME=2025-11-21T12:00:00Z
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
team() { "$SEALTRAIL" key "$@"; }
ev='{"hook_event_name":"PostToolUse","tool_name":"Bash","tool_input":{"command":"ls"},"tool_response":{"stdout":"a"},"session_id":"s1"}'

# --- the root, on the security team's machine ----------------------------------------------
mkdir -m 700 "$work/team"
team root-init --out "$work/team/root.key" --name example.com/security-root > "$work/team/root.vkey" 2>"$work/err"
[[ "$(cat "$work/team/root.vkey")" =~ ^example\.com/security-root\+[0-9a-f]{8}\+ ]] && ok "root-init prints the root's vkey" || bad "root vkey: $(cat "$work/team/root.vkey")"
[ "$(stat -c %a "$work/team/root.key")" = 600 ] && ok "root key file is 0600" || bad "root key mode"
expect "root-init never overwrites a key" 1 "already exists" -- team root-init --out "$work/team/root.key"
team root-init --out "$work/team/other-root.key" --name evil.example/root > "$work/team/other-root.vkey" 2>/dev/null

# --- a log host in simple mode, brought under the root ------------------------------------------
st init --origin example.com/log >/dev/null 2>&1
for i in 1 2 3; do echo "$ev" | st append >/dev/null; done
st seal >/dev/null
st status | grep -q "^key mode:      simple$" && ok "status shows simple key mode" || bad "status key mode: $(st status)"
st key request > "$work/req1" 2>"$work/err"
grep -q "^sealtrail key-request v1$" "$work/req1" && ok "request is a key-request note" || bad "request: $(cat "$work/req1")"
ls "$work/s/keys"/next-*.key >/dev/null && [ "$(stat -c %a "$work/s/keys"/next-*.key)" = 600 ] && ok "requested key is in keys/ with mode 0600" || bad "next key file"

chmod 644 "$work/team/root.key"
expect "certify refuses a root key others can read" 1 "permissions 0644 are too open" -- team certify --root "$work/team/root.key" "$work/req1"
chmod 600 "$work/team/root.key"
team certify --root "$work/team/root.key" --origin example.com/log "$work/req1" > "$work/cert1"
grep -q "^sealtrail key-certificate v1$" "$work/cert1" && grep -q "^— example.com/security-root " "$work/cert1" && ok "certify prints a root-signed certificate" || bad "cert: $(cat "$work/cert1")"
expect "certify --origin guards against the wrong log" 1 "is for origin example.com/log, not example.com/other" -- team certify --root "$work/team/root.key" --origin example.com/other "$work/req1"
sed 's/not-after 1/not-after 2/' "$work/req1" > "$work/req-tampered"
expect "certify refuses a tampered request" 1 "proof of possession|does not verify" -- team certify --root "$work/team/root.key" "$work/req-tampered"

expect "install without a pinned root asks for --root-vkey" 1 "no root is pinned yet" -- st key install "$work/cert1"
team certify --root "$work/team/other-root.key" "$work/req1" > "$work/cert-evil"
expect "install refuses a root mismatch (first install)" 1 "root mismatch: .*signed by evil.example/root" -- st key install --root-vkey "$work/team/root.vkey" "$work/cert-evil"
st key install --root-vkey "$work/team/root.vkey" "$work/cert1" > "$work/out" 2>"$work/err"
grep -q "key-certificate recorded as entry 3 (sealed)" "$work/out" && grep -q "pinned the root" "$work/err" && ok "install records the certificate and pins the root" || bad "install: $(cat "$work/out" "$work/err")"
expect "install refuses another root once pinned" 1 "root mismatch: this store pins the root example.com/security-root" -- st key install --root-vkey "$work/team/other-root.vkey" "$work/cert1"
st key install "$work/cert1" > "$work/out" 2>&1
grep -q "already installed as entry 3" "$work/out" && ok "installing twice appends nothing" || bad "reinstall: $(cat "$work/out")"
expect "install refuses a request (bad input: exit 2)" 2 "key certify" -- st key install "$work/req1"

# another origin, expired, not yet valid
"$SEALTRAIL" --dir "$work/o" init --origin example.org/other >/dev/null 2>&1
"$SEALTRAIL" --dir "$work/o" key request 2>/dev/null > "$work/req-other"
team certify --root "$work/team/root.key" "$work/req-other" > "$work/cert-other"
expect "install refuses a certificate for another origin" 1 "is for origin example.org/other; this store's origin is example.com/log" -- st key install "$work/cert-other"
SEALTRAIL_FAKE_TIME=2025-10-01T00:00:00Z st key request --valid 10d > "$work/req-old" 2>/dev/null
SEALTRAIL_FAKE_TIME=2025-10-01T00:00:00Z team certify --root "$work/team/root.key" "$work/req-old" > "$work/cert-old"
expect "install refuses an expired certificate" 1 "expired at 2025-10-11T00:00:00Z" -- st key install "$work/cert-old"
st key request --not-before 2025-12-01T00:00:00Z --valid 30d > "$work/req-future" 2>/dev/null
team certify --root "$work/team/root.key" "$work/req-future" > "$work/cert-future"
expect "install refuses a certificate that is not valid yet" 1 "not valid yet: valid from 2025-12-01T00:00:00Z" -- st key install "$work/cert-future"
st key list > "$work/list"
grep -q "mode:         root-certified" "$work/list" && grep -q "entry 3 .*key-certificate" "$work/list" && ok "key list shows the mode and the history" || bad "list: $(cat "$work/list")"
st status --json | grep -q '"key_mode":"root-certified"' && ok "status --json shows the root-certified key mode" || bad "status json: $(st status --json)"

# --- three rotations while 8 processes append -------------------------------------------------------
# the expired and future requests left key files behind; each rotation picks the newest certified one
for k in 2 3; do
  st key request > "$work/req$k" 2>/dev/null
  team certify --root "$work/team/root.key" "$work/req$k" > "$work/cert$k"
  st key install "$work/cert$k" >/dev/null 2>&1
  sleep 1.1      # distinct file times: rotation takes the newest certified request
done
before=$(st status --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["size"])')
for p in 1 2 3 4 5 6 7 8; do
  ( for i in $(seq 1 12); do echo "$ev" | "$SEALTRAIL" --dir "$work/s" append >> "$work/acked.$p"; done ) &
done
rot=0
for k in 1 2 3; do
  sleep 0.05
  if st key rotate > "$work/rot$k" 2>"$work/err"; then rot=$((rot + 1)); else bad "rotation $k: $(cat "$work/err")"; fi
done
wait
[ "$rot" = 3 ] && ok "three rotations while 8 processes append"
acked=$(cat "$work"/acked.* | wc -l)
[ "$acked" = 96 ] && ok "all 96 appends acknowledged" || bad "acknowledged $acked of 96"
st seal >/dev/null
size=$(st status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["size"], d["sealed_size"])')
[ "$size" = "$((before + 99)) $((before + 99))" ] && ok "nothing lost, nothing unsealed ($size)" || bad "size/sealed $size, want $((before + 99))"
st check > "$work/check" 2>&1 && ok "check passes across the three rotations" || bad "check: $(cat "$work/check")"
cat "$work"/acked.* | sort -n | uniq -d | grep -q . && bad "an index acknowledged twice" || ok "no index acknowledged twice"
[ "$(st verifier-key)" = "$(cat "$work/rot3")" ] && ok "the store's verifier key is the last rotation's" || bad "vkey after rotations"
[ "$(grep -c 'key-rotation' <(st key list))" = 3 ] && ok "three key-rotation entries in the history" || bad "rotation entries"
ls "$work/s/keys"/retired-*.key >/dev/null 2>&1 && bad "an old key was kept without --keep-old" || ok "old keys wiped"
[ "$(st log | python3 -c 'import json,sys; print(sum(1 for l in sys.stdin if json.loads(l)["kind"].startswith("key-")))')" = 6 ] && ok "log shows 3 certificates and 3 rotations" || bad "key entries in log"

# --- loose permissions on the log key: seal refuses it, with the fix ----------------------------------
chmod 640 "$work/s/log.key"
echo "$ev" | st append >/dev/null
expect "seal refuses a log.key group can read" 1 "permissions 0640 are too open.*chmod 600" -- st seal
chmod 600 "$work/s/log.key"
st seal >/dev/null && ok "seal works again after chmod 600" || bad "seal after chmod"

# --- revocation before and after a checkpoint -----------------------------------------------------------
export SEALTRAIL_FAKE_TIME=2025-11-21T13:00:00Z
echo "$ev" | st append >/dev/null; st seal >/dev/null          # 13:00: before the compromise
export SEALTRAIL_FAKE_TIME=2025-11-21T15:00:00Z
echo "$ev" | st append >/dev/null; st seal >/dev/null          # 15:00: after it
team revoke --root "$work/team/root.key" --key "$(st verifier-key)" --after 2025-11-21T14:00:00Z --reason "laptop stolen" > "$work/rev"
grep -q "^after 1763733600$" "$work/rev" && grep -q "^reason laptop stolen$" "$work/rev" && ok "revoke prints a revocation" || bad "rev: $(cat "$work/rev")"
expect "install of a revocation of the key in use warns" 0 "revokes the key in use" -- st key install "$work/rev"
expect "check fails on the checkpoint after the revocation time" 1 "checkpoint $((before + 99 + 3))" -- st check
echo "$ev" | st append >/dev/null && ok "appends continue after the revocation"
expect "seal refuses to sign with the revoked key" 1 "may not sign now: it was revoked .* after 2025-11-21T14:00:00Z" -- st seal
st key request > "$work/req4" 2>/dev/null
team certify --root "$work/team/root.key" "$work/req4" > "$work/cert4"
st key install "$work/cert4" >/dev/null 2>&1
expect "rotation away from a revoked key works" 0 "signed by both keys" -- st key rotate

# --- epochs ------------------------------------------------------------------------------------------------
export SEALTRAIL_FAKE_TIME=2025-11-21T01:00:00Z
"$SEALTRAIL" --dir "$work/e" init --origin example.com/epochs >/dev/null 2>&1
ep() { "$SEALTRAIL" --dir "$work/e" "$@"; }
echo "$ev" | ep append >/dev/null
ep key epochs --count 3 --length 1d > "$work/ereq" 2>/dev/null
[ "$(grep -c '^epoch 176' "$work/ereq")" = 3 ] && grep -q "^epoch 1763683200 1763769600 " "$work/ereq" && ok "epochs: three daily windows from midnight" || bad "ereq: $(cat "$work/ereq")"
[ "$(ls "$work/e/keys"/epoch-*.key | wc -l)" = 3 ] && ok "epochs: three key files" || bad "epoch files"
team certify --root "$work/team/root.key" "$work/ereq" > "$work/ecert"
grep -q "^sealtrail key-epochs v1$" "$work/ecert" && ok "certify turns a batch request into an epoch schedule" || bad "ecert"
ep key install --root-vkey "$work/team/root.vkey" "$work/ecert" >/dev/null 2>&1 && ok "epoch schedule installed" || bad "install epochs"
cp -p "$work/e/log.key" "$work/e-old.key"; cp -p "$work/e/log.vkey" "$work/e-old.vkey"
expect "rotate hands over to the epoch keys" 0 "epoch mode" -- ep key rotate
[ ! -e "$work/e/log.key" ] && ok "the long-lived log key is wiped" || bad "log.key still there"
[ "$(cat "$work/e/log.vkey")" = "$(ep verifier-key)" ] && ok "rotate into epochs rewrites log.vkey" || bad "log.vkey after the epoch rotation"
# a crash between the commit and the file change (keyhist_rotate.c): the old log.key and log.vkey are still there
cp -p "$work/e-old.key" "$work/e/log.key"; cp -p "$work/e-old.vkey" "$work/e/log.vkey"
ep status | grep -q "^key mode:      epochs$" && ok "status shows epoch key mode" || bad "status epochs: $(ep status)"
echo "$ev" | ep append >/dev/null; ep seal > "$work/ecp1"
[ ! -e "$work/e/log.key" ] && [ "$(cat "$work/e/log.vkey")" = "$(ep verifier-key)" ] && [ "$(stat -c %a "$work/e/log.vkey")" = 600 ] \
  && ok "the seal after an interrupted rotation into epochs wipes log.key and rewrites log.vkey (0600)" \
  || bad "after the interrupted epoch rotation: log.vkey $(cat "$work/e/log.vkey"), verifier-key $(ep verifier-key), $(ls "$work/e")"
export SEALTRAIL_FAKE_TIME=2025-11-22T01:00:00Z
echo "$ev" | ep append >/dev/null
[ "$(ls "$work/e/keys"/epoch-*.key | wc -l)" = 2 ] && ! ls "$work/e/keys"/epoch-1763683200-*.key >/dev/null 2>&1 && ok "an append after the epoch ended wiped its key" || bad "epoch 0 key still there: $(ls "$work/e/keys")"
ep seal > "$work/ecp2"
[ "$(sed -n 4p "$work/ecp2")" = "time 1763773200" ] && ok "day-1 checkpoint" || bad "ecp2"
[ "$(tail -n 1 "$work/ecp1" | cut -c1-40)" != "$(tail -n 1 "$work/ecp2" | cut -c1-40)" ] && ok "each day signs with its own key" || bad "same signer"
ep check >/dev/null 2>&1 && ok "check passes across epochs" || bad "epoch check: $(ep check 2>&1)"
export SEALTRAIL_FAKE_TIME=2025-11-23T12:00:00Z
ep key list > "$work/elist"
grep -q "wiped 1 key file of ended epochs" "$work/elist" && [ "$(ls "$work/e/keys"/epoch-*.key | wc -l)" = 1 ] && ok "key list wipes ended epoch keys" || bad "elist: $(cat "$work/elist")"
export SEALTRAIL_FAKE_TIME=2025-11-24T00:00:01Z
echo "$ev" | ep append >/dev/null && ok "appends continue after the last epoch" || bad "append after epochs"
expect "seal says no epoch key covers now" 1 "no epoch key covers 2025-11-24T00:00:01" -- ep seal
# the next batch, already in epoch mode: installing the schedule is all it takes (no rotation)
ep key epochs --count 2 --length 1d > "$work/ereq2" 2>"$work/err"
! grep -q "key rotate" "$work/err" && grep -q "in epoch mode" "$work/err" && ok "epochs in epoch mode: no rotation asked for" || bad "epochs 2: $(cat "$work/err")"
team certify --root "$work/team/root.key" "$work/ereq2" > "$work/ecert2"
ep key install "$work/ecert2" > "$work/out" 2>"$work/err"
! grep -q "key rotate" "$work/err" && grep -q "the next seal signs with the current epoch's key" "$work/err" && ok "install of the next schedule: no rotation asked for" || bad "install 2: $(cat "$work/out" "$work/err")"
ep seal > /dev/null 2>&1 && ok "seal signs with the new schedule's key" || bad "seal after the second schedule: $(ep seal 2>&1)"
expect "rotate is not needed (and says so)" 2 "the new key is the key in use" -- ep key rotate

# a certificate for the key already in use (request --current) needs no rotation either
"$SEALTRAIL" --dir "$work/c" init --origin example.com/current >/dev/null 2>&1
echo "$ev" | "$SEALTRAIL" --dir "$work/c" append >/dev/null
"$SEALTRAIL" --dir "$work/c" key request --current > "$work/creq" 2>/dev/null
team certify --root "$work/team/root.key" "$work/creq" > "$work/ccert"
"$SEALTRAIL" --dir "$work/c" key install --root-vkey "$work/team/root.vkey" "$work/ccert" > "$work/out" 2>"$work/err"
! grep -q "key rotate" "$work/err" && grep -q "certifies the key in use" "$work/err" && ok "install of a --current certificate: no rotation asked for" || bad "install --current: $(cat "$work/out" "$work/err")"

# --- a crash between rotate's commit and its file change: the next seal finishes it, log.vkey included ------
"$SEALTRAIL" --dir "$work/x" init --origin example.com/crash >/dev/null 2>&1
x() { "$SEALTRAIL" --dir "$work/x" "$@"; }
echo "$ev" | x append >/dev/null; x seal >/dev/null
cp -p "$work/x/log.key" "$work/x-old.key"; cp -p "$work/x/log.vkey" "$work/x-old.vkey"
x key rotate > "$work/xrot" 2>/dev/null
[ "$(cat "$work/x/log.vkey")" = "$(cat "$work/xrot")" ] && ok "rotate rewrites log.vkey" || bad "log.vkey after rotate: $(cat "$work/x/log.vkey")"
# The state keyhist_rotate.c leaves if it dies after st_db_write: meta holds the new key, log.key and
# log.vkey are still the old ones, the new key waits in keys/next-<id>.key.
xid=$(cut -d+ -f2 "$work/xrot")
mv "$work/x/log.key" "$work/x/keys/next-$xid.key"
cp -p "$work/x-old.key" "$work/x/log.key"; cp -p "$work/x-old.vkey" "$work/x/log.vkey"
[ "$(cat "$work/x/log.vkey")" != "$(x verifier-key)" ] && ok "crash state: log.vkey shows the old key, meta the new" || bad "crash state not set up"
echo "$ev" | x append >/dev/null
x seal > "$work/xcp" 2>"$work/err" && ok "the seal after the crash works" || bad "seal after the crash: $(cat "$work/err")"
[ ! -e "$work/x/keys/next-$xid.key" ] && grep -q "+$xid+" "$work/x/log.key" && ok "the seal finished the file change" || bad "files: $(ls "$work/x" "$work/x/keys")"
[ "$(cat "$work/x/log.vkey")" = "$(x verifier-key)" ] && ok "the seal that finished the rotation rewrote log.vkey" \
  || bad "stale log.vkey: $(cat "$work/x/log.vkey"), verifier-key $(x verifier-key)"
[ "$(stat -c %a "$work/x/log.vkey")" = 600 ] && ok "log.vkey keeps mode 0600" || bad "log.vkey mode $(stat -c %a "$work/x/log.vkey")"
ls -a "$work/x" | grep -q '\.tmp$' && bad "a temporary file left behind: $(ls -a "$work/x")" || ok "no temporary file left behind"
x check > "$work/xcheck" 2>&1 && ok "check passes after the finished rotation" || bad "check: $(cat "$work/xcheck")"
x export --out "$work/x.stb" >/dev/null 2>&1 \
  && "$AUDITVERIFY" "$work/x.stb" --trust "$work/x-old.vkey" > "$work/xav" 2>&1 && ok "the export verifies with the pre-rotation key pinned" \
  || bad "auditverify: $(head -5 "$work/xav")"

e2e_end
