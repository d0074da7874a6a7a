#!/usr/bin/env bash
# DreamerV3 on Pendulum-v1 (configs/dreamer/pendulum.yaml: continuous actions), 30k env steps,
# SEEDS (default 1): the return curve (mean of the last 10 training episodes every 2.5k steps,
# evaluation every 5k), wall-clock and updates per second. Writes
# bench/results/dreamer_pendulum.json. RUNS=DIR keeps the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=${RUNS:-$(mktemp -d)}
CONFIG=${CONFIG:-configs/dreamer/pendulum.yaml}
mkdir -p bench/results "$WORK"
printf '%s\n' ${SEEDS:-1} | xargs -P "${JOBS:-2}" -I{} \
  build/rlforge train --config "$CONFIG" --seed {} --set progress=false --overwrite \
  --run-dir "$WORK/seed{}" "$@" > /dev/null
/usr/bin/python3 bench/dreamer_summary.py bench/results/dreamer_pendulum.json dreamer_pendulum \
  "$CONFIG" -200 "$(seq -s, 2500 2500 30000)" "$WORK"/seed*
