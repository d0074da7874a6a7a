#!/usr/bin/env bash
# Start-up time and memory of `rlforge envs` (median of 5 fresh processes): writes
# bench/results/startup.json. Run on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
/usr/bin/python3 bench/startup.py build/rlforge bench/results/startup.json "${RUNS:-5}"
