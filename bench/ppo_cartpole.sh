#!/usr/bin/env bash
# PPO on CartPole-v1 with CleanRL's default hyperparameters (configs/ppo/cartpole.yaml), 5 seeds:
# env steps and wall-clock seconds until the mean of the last 20 episode returns first reaches 475,
# and SPS, with one training thread (the default) and with two (`--threads 2`: each minibatch's
# per-env gradient shards shared by the two, the same bits as one thread). Writes
# bench/results/ppo_cartpole.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
bash bench/train_runs.sh "$WORK" ppo configs/ppo/cartpole.yaml "${SEEDS:-1 2 3 4 5}"
bash bench/train_runs.sh "$WORK" ppo_2threads configs/ppo/cartpole.yaml "${SEEDS:-1 2 3 4 5}" --threads 2
/usr/bin/python3 bench/threshold.py "$WORK" bench/results/ppo_cartpole.json ppo_cartpole_cleanrl_defaults 475 20 \
  '{"cleanrl_ppo_sps": 7000, "steps_to_475": "107k-214k", "seconds_to_475_median": 27}'
