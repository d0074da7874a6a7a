#!/usr/bin/env bash
# MuJoCo env throughput: env steps/s of every v4 env against the raw frame_skip x mj_step cost of
# the same trajectory (ratio; target >= 0.9), and 8-env vector envs with 1 and 2 threads.
# Median of REPEAT runs. Writes bench/results/mujoco_throughput.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/bench_mujoco ]] || { echo "build first: make build" >&2; exit 1; }
mkdir -p bench/results
build/bench_mujoco --steps "${STEPS:-20000}" --repeat "${REPEAT:-5}" > bench/results/mujoco_throughput.json
echo "wrote bench/results/mujoco_throughput.json"
