#!/usr/bin/env bash
# Learning on Box2D (issue 7), one seed: PPO on LunarLander-v3 with the SB3 zoo's
# hyperparameters (configs/ppo/lunarlander.yaml, 1M steps, about 5 minutes on 2 cores).
# Summary in bench/results/box2d_learning_ppo_lunarlander.json. RUNS=DIR keeps the run.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=${RUNS:-$(mktemp -d)}
mkdir -p bench/results
build/rlforge train --config configs/ppo/lunarlander.yaml --set progress=false \
  --run-dir "$WORK/ppo_lunarlander" > /dev/null
/usr/bin/python3 bench/learning_summary.py bench/results/box2d_learning_ppo_lunarlander.json \
  ppo_lunarlander 200 "$WORK/ppo_lunarlander"
