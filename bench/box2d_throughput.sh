#!/usr/bin/env bash
# Box2D env throughput: random-action steps/s (resets included), median of REPEAT runs, single env
# and an 8-env vector env with 2 threads. Writes bench/results/box2d_throughput.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/rlforge
[[ -x $BIN ]] || { echo "build first: make build" >&2; exit 1; }
rows=()
for kw in "continuous=false" "continuous=true"; do
  for cfg in "1 1" "8 2"; do
    read -r n t <<<"$cfg"
    rows+=("$($BIN env bench LunarLander-v3 --kwarg "$kw" --steps "${STEPS:-200000}" --num-envs "$n" \
      --threads "$t" --repeat "${REPEAT:-5}" --json)")
  done
done
mkdir -p bench/results
(IFS=,; echo "{\"benchmark\":\"box2d_throughput\",\"results\":[${rows[*]}]}") > bench/results/box2d_throughput.json
echo "wrote bench/results/box2d_throughput.json"
