#!/usr/bin/env bash
# Learning on MuJoCo (issue 6), one seed each: SAC on HalfCheetah-v4 and Hopper-v4 (300k steps,
# CleanRL defaults) and PPO on HalfCheetah-v4 (1M steps, CleanRL defaults). Summaries (eval
# curves, wall-clock, SPS, steps to the thresholds) in bench/results/mujoco_learning_*.json.
# About 2 hours on 2 cores; RUNS=DIR keeps the run directories.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=${RUNS:-$(mktemp -d)}
mkdir -p bench/results
run() {  # NAME CONFIG THRESHOLD
  build/rlforge train --config "$2" --set progress=false --run-dir "$WORK/$1" > /dev/null
  /usr/bin/python3 bench/learning_summary.py "bench/results/mujoco_learning_$1.json" "$1" "$3" "$WORK/$1"
}
run sac_halfcheetah configs/sac/halfcheetah.yaml 5000
run sac_hopper configs/sac/hopper.yaml 2000
run ppo_halfcheetah configs/ppo/halfcheetah.yaml 1400
