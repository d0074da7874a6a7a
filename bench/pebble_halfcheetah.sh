#!/usr/bin/env bash
# PEBBLE vs SAC on HalfCheetah-v4 (issue 8), same seed, steps and network sizes: PEBBLE with the
# oracle teacher and 1,000 queries (configs/pebble/halfcheetah.yaml; TEACHER=mistake or
# SCHEME=uniform for the variants) and SAC on the true reward (configs/sac/halfcheetah.yaml).
# STEPS (default 300000) caps both. Several hours on 2 cores. Summaries (eval curves, wall-clock,
# SPS) in bench/results/pebble_halfcheetah_*.json. RUNS=DIR keeps the run directories.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
WORK=${RUNS:-$(mktemp -d)}
STEPS=${STEPS:-300000}
TEACHER=${TEACHER:-oracle}
SCHEME=${SCHEME:-disagreement}
mkdir -p bench/results
name="pebble_halfcheetah_${TEACHER}_${SCHEME}"
build/rlforge train --config configs/pebble/halfcheetah.yaml --set progress=false \
  --set total_timesteps="$STEPS" --set pebble.teacher.preset="$TEACHER" \
  --set pebble.query_scheme="$SCHEME" --run-dir "$WORK/$name" > /dev/null
/usr/bin/python3 bench/learning_summary.py "bench/results/$name.json" "$name" 5000 "$WORK/$name"
if [[ ! -f bench/results/pebble_halfcheetah_sac.json ]]; then
  build/rlforge train --config configs/sac/halfcheetah.yaml --set progress=false \
    --set total_timesteps="$STEPS" --run-dir "$WORK/sac" > /dev/null
  /usr/bin/python3 bench/learning_summary.py bench/results/pebble_halfcheetah_sac.json sac 5000 "$WORK/sac"
fi
