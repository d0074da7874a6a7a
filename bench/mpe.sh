#!/usr/bin/env bash
# Multi-agent: simple_spread_v3 (N=3, 25 steps) stepping speed against MPE2, and learning with the
# presets (configs/{mappo,ippo,vdn,qmix}/simple_spread.yaml: 10M env steps for the PPOs, 5M for
# the value-decomposition ones, or STEPS) over SEEDS (default 1 2 3). Returns are on
# PettingZoo's per-agent scale (random -26.4, a scripted assign-and-steer controller -7.5).
# Writes bench/results/mpe.json. ALGOS= (empty) measures the stepping speed only.
#   ALGOS="mappo ippo vdn qmix" SEEDS="1 2 3" STEPS=10000000 bash bench/mpe.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/rlforge
[[ -x $BIN ]] || { echo "build first: make build" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
# MPE2 1.1.0 with PettingZoo's wrappers stubbed out, one env, this machine (the issue's figure)
MPE2_STEPS_PER_SECOND=6500
$BIN env bench simple_spread_v3 --steps 2000000 --repeat 5 --json > "$WORK/step.json"
for algo in ${ALGOS-mappo ippo vdn qmix}; do
  extra=()
  [[ -n ${STEPS:-} ]] && extra=(--set "total_timesteps=$STEPS")
  bash bench/train_runs.sh "$WORK" "$algo" "configs/$algo/simple_spread.yaml" "${SEEDS:-1 2 3}" \
    --set report=false "${extra[@]}"
done
touch "$WORK/times"
/usr/bin/python3 bench/mpe_summary.py "$WORK" "$MPE2_STEPS_PER_SECOND" bench/results/mpe.json
