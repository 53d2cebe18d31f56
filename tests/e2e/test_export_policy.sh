#!/usr/bin/env bash
# The retention policy in force travels with every kind of selection,
# filtered ones included (a filter selects entries, never the policy away).
set -euo pipefail
: "${SEALTRAIL:?}" "${AUDITVERIFY:?}"
. "$(dirname "$0")/lib.sh"
e2e_begin export_policy
st() { "$SEALTRAIL" --dir "$work/s" "$@"; }
vkey=$(st init --origin example.com/policy 2>/dev/null | tail -n 1)
st retention set --min 7y --reason "SOX 802" >/dev/null 2>&1
for t in Bash Edit Bash Read; do
  printf '{"hook_event_name":"PostToolUse","tool_name":"%s","tool_input":{"command":"x"},"session_id":"s1"}\n' "$t" | st append >/dev/null
done
st seal >/dev/null
n=0
for sel in "" "--tool Bash" "--from 2 --to 3"; do
  n=$((n + 1))
  # shellcheck disable=SC2086
  st export --out "$work/b$n.stb" $sel >/dev/null 2>&1 || { bad "export ${sel:-(full)} failed"; continue; }
  out=$("$AUDITVERIFY" "$work/b$n.stb" --trust "$vkey" 2>/dev/null) || { bad "export ${sel:-(full)}: does not verify"; continue; }
  if printf '%s\n' "$out" | grep -qE '^  retention +retention-policy entry 0'; then
    ok "export ${sel:-(full)}: the bundle carries the retention policy"
  else
    bad "export ${sel:-(full)}: no retention policy in the bundle: $(printf '%s\n' "$out" | grep retention)"
  fi
done
e2e_end
