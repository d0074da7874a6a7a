#!/usr/bin/env bash
# Box2D env throughput: random-action steps/s (resets included), median of REPEAT runs, single env
# and an 8-env vector env with 2 threads. CarRacing is timed with its 96x96 pixel observation and
# without it (draw_observation=false: the physics and tile bookkeeping alone).
# Writes bench/results/box2d_throughput.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/rlforge
[[ -x $BIN ]] || { echo "build first: make build" >&2; exit 1; }
cases=(
  "LunarLander-v3 continuous=false ${STEPS:-200000}"
  "LunarLander-v3 continuous=true ${STEPS:-200000}"
  "BipedalWalker-v3 hardcore=false ${STEPS:-100000}"
  "CarRacing-v3 draw_observation=true ${CAR_STEPS:-20000}"
  "CarRacing-v3 draw_observation=false ${CAR_STEPS:-20000}"
)
rows=()
for c in "${cases[@]}"; do
  read -r id kw steps <<<"$c"
  for cfg in "1 1" "8 2"; do
    read -r n t <<<"$cfg"
    rows+=("$($BIN env bench "$id" --kwarg "$kw" --steps "$steps" --num-envs "$n" \
      --threads "$t" --repeat "${REPEAT:-5}" --json)")
  done
done
mkdir -p bench/results
(IFS=,; echo "{\"benchmark\":\"box2d_throughput\",\"results\":[${rows[*]}]}") > bench/results/box2d_throughput.json
echo "wrote bench/results/box2d_throughput.json"
