#!/usr/bin/env bash
# expect.sh STATUS REGEX CMD...: runs CMD, checks its exit status (a number, or "nonzero") and
# that its combined output matches the extended REGEX.
set -u
want="$1"; regex="$2"; shift 2
out="$("$@" 2>&1)"; status=$?
printf '%s\n' "$out" | tail -n 20
if [[ "$want" == nonzero ]]; then
  [[ $status -ne 0 ]] || { echo "expect.sh: expected a non-zero exit, got 0"; exit 1; }
else
  [[ $status -eq $want ]] || { echo "expect.sh: expected exit $want, got $status"; exit 1; }
fi
printf '%s' "$out" | tr '\n' ' ' | grep -Eq -- "$regex" || { echo "expect.sh: output does not match: $regex"; exit 1; }
echo "expect.sh: ok"
