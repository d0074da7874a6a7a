#!/usr/bin/env bash
# DreamerV3 on CartPole-v1 (configs/dreamer/cartpole.yaml), seeds 1 2 3 (SEEDS), two at a time
# (JOBS): the mean of the last 10 training episode returns at 5k, 10k, 15k and 20k env steps, the
# first step where it reached 400, wall-clock and updates per second. Target (issue 20): >= 400
# within 20k steps on at least 2 of 3 seeds (XUANCE's PyTorch DreamerV3, 1M parameters: 500 in
# 6-20k steps). Writes bench/results/dreamer_cartpole.json. RUNS=DIR keeps the runs.
SEEDS=${SEEDS:-1 2 3} exec bash "$(dirname "$0")/dreamer_learning.sh" dreamer_cartpole \
  configs/dreamer/cartpole.yaml 400 5000,10000,15000,20000 "$@"
