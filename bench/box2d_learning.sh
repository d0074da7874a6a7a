#!/usr/bin/env bash
# Learning on Box2D (issue 7), one seed each:
#   ppo: PPO on LunarLander-v3 with the SB3 zoo's hyperparameters (configs/ppo/lunarlander.yaml,
#        1M steps, about 5 minutes on 2 cores), threshold 200;
#   sac: SAC on BipedalWalker-v3 with the zoo's hyperparameters (configs/sac/bipedalwalker.yaml,
#        500k steps, 1.5-3 hours here), threshold 250.
# WHICH=ppo|sac|all (default all). Summaries in bench/results/box2d_learning_*.json. RUNS=DIR
# keeps the runs.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=${RUNS:-$(mktemp -d)}
WHICH=${WHICH:-all}
mkdir -p bench/results
run() {  # name config threshold
  build/rlforge train --config "$2" --set progress=false --run-dir "$WORK/$1" > /dev/null
  /usr/bin/python3 bench/learning_summary.py "bench/results/box2d_learning_$1.json" "$1" "$3" \
    "$WORK/$1"
}
[[ $WHICH == ppo || $WHICH == all ]] && run ppo_lunarlander configs/ppo/lunarlander.yaml 200
[[ $WHICH == sac || $WHICH == all ]] && run sac_bipedalwalker configs/sac/bipedalwalker.yaml 250
true
