#!/usr/bin/env bash
# DreamerV3 learning runs (bench/dreamer_cartpole.sh and bench/dreamer_pendulum.sh call this).
# usage: dreamer_learning.sh NAME CONFIG THRESHOLD MARKS [train options]
# Trains SEEDS (default 1), JOBS at a time (default 2: one core and 1 thread each), and writes
# bench/results/NAME.json with bench/dreamer_summary.py: the mean of the last 10 training episode
# returns at each of MARKS (comma-separated env steps; the official scores: stochastic policy),
# the first step where it reached THRESHOLD, the evaluation curve, wall-clock and updates per
# second. RUNS=DIR keeps the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
NAME=$1 CONFIG=$2 THRESHOLD=$3 MARKS=$4
shift 4
WORK=${RUNS:-$(mktemp -d)}
mkdir -p bench/results "$WORK"
printf '%s\n' ${SEEDS:-1} | xargs -P "${JOBS:-2}" -I{} \
  build/rlforge train --config "$CONFIG" --seed {} --set progress=false --overwrite \
  --run-dir "$WORK/seed{}" "$@" > /dev/null
/usr/bin/python3 bench/dreamer_summary.py "bench/results/$NAME.json" "$NAME" "$CONFIG" \
  "$THRESHOLD" "$MARKS" "$WORK"/seed*
