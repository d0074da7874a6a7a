#!/usr/bin/env bash
# DreamerV3 on Pendulum-v1 (configs/dreamer/pendulum.yaml: continuous actions), 30k env steps,
# seed 1 (SEEDS): the mean of the last 10 training episode returns every 2.5k steps, evaluation
# every 5k, the first step where it reached -200, wall-clock and updates per second. Writes
# bench/results/dreamer_pendulum.json. RUNS=DIR keeps the runs.
exec bash "$(dirname "$0")/dreamer_learning.sh" dreamer_pendulum configs/dreamer/pendulum.yaml \
  -200 "$(seq -s, 2500 2500 30000)" "$@"
