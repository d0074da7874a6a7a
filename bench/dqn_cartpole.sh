#!/usr/bin/env bash
# DQN on CartPole-v1 with CleanRL's default hyperparameters (configs/dqn/cartpole.yaml), 5 seeds:
# env steps and wall-clock seconds until the mean of the last 20 episode returns first reaches 475,
# and SPS. Writes bench/results/dqn_cartpole.json, or with THREADS=N (`--threads N`: each batch
# split in N row lanes) dqn_cartpole_Nthreads.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
bash bench/train_runs.sh "$WORK" dqn configs/dqn/cartpole.yaml "${SEEDS:-1 2 3 4 5}" --set checkpoint.save_replay_buffer=false \
  --threads "${THREADS:-1}"
/usr/bin/python3 bench/threshold.py "$WORK" "bench/results/dqn_cartpole$([[ ${THREADS:-1} == 1 ]] || echo _${THREADS}threads).json" dqn_cartpole_cleanrl_defaults 475 20 \
  '{"cleanrl_dqn_sps": 6300, "steps_to_475": "225k", "seconds_to_475": 36}'
