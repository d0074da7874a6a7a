#!/usr/bin/env bash
# SAC on Pendulum-v1: CleanRL defaults (configs/sac/pendulum.yaml) and the fast preset
# (configs/sac/pendulum_fast.yaml), several seeds: env steps and wall-clock seconds until the mean
# of the last 10 episode returns first reaches -200, and SPS. Writes bench/results/sac_pendulum.json,
# or with THREADS=N (`--threads N`: each batch split in N row lanes) sac_pendulum_Nthreads.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
for preset in pendulum pendulum_fast; do
  bash bench/train_runs.sh "$WORK" "$preset" "configs/sac/$preset.yaml" "${SEEDS:-1 2 3 4 5}" \
    --set checkpoint.save_replay_buffer=false --set total_timesteps="${STEPS:-20000}" \
    --threads "${THREADS:-1}"
done
/usr/bin/python3 bench/threshold.py "$WORK" "bench/results/sac_pendulum$([[ ${THREADS:-1} == 1 ]] || echo _${THREADS}threads).json" \
  sac_pendulum -200 10 \
  '{"cleanrl_sac_sps": 110, "steps_to_minus200": "9.4k-10.6k", "seconds_to_minus200_median": 51}'
