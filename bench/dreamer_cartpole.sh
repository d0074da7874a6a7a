#!/usr/bin/env bash
# DreamerV3 on CartPole-v1 (configs/dreamer/cartpole.yaml), SEEDS (default 1 2 3), JOBS runs at a
# time (default 2: one core each, 1 thread). For each seed: the mean of the last 10 training
# episode returns at 5k, 10k, 15k and 20k env steps (the official scores: stochastic policy),
# the first step where it reached 400, wall-clock seconds and updates per second. Target (issue
# 20): >= 400 within 20k steps on at least 2 of 3 seeds (XUANCE's PyTorch DreamerV3, 1M
# parameters: 500 in 6-20k steps). Writes bench/results/dreamer_cartpole.json (bench/
# dreamer_summary.py). RUNS=DIR keeps the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=${RUNS:-$(mktemp -d)}
CONFIG=${CONFIG:-configs/dreamer/cartpole.yaml}
mkdir -p bench/results "$WORK"
printf '%s\n' ${SEEDS:-1 2 3} | xargs -P "${JOBS:-2}" -I{} \
  build/rlforge train --config "$CONFIG" --seed {} --set progress=false --overwrite \
  --run-dir "$WORK/seed{}" "$@" > /dev/null
/usr/bin/python3 bench/dreamer_summary.py bench/results/dreamer_cartpole.json dreamer_cartpole \
  "$CONFIG" 400 5000,10000,15000,20000 "$WORK"/seed*
