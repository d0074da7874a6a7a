#!/usr/bin/env bash
# PEBBLE against SAC on the true reward (issue 8), same seed, steps and network sizes. One run per
# call, so two can run at once on two cores:
#   ENV=halfcheetah|walker2d  ALGO=pebble|sac  TEACHER=oracle|mistake|...  SCHEME=disagreement|uniform|...
#   HIDDEN='[128,128]' (SAC's actor and critics; default: the preset's [256, 256])  STEPS (300000)
#   SEED (1)  RUNS=DIR keeps the run directories.  RLFORGE=BINARY (build/rlforge)
#   VARIANT=NAME with SET='key=value ...': more --set overrides for PEBBLE, NAME in the file name
# PEBBLE runs configs/pebble/$ENV.yaml, SAC configs/sac/$ENV.yaml. The summary (eval curve, last-10
# training returns -- the true reward for both --, wall-clock, SPS) goes to
# bench/results/pebble_$ENV_<variant>.json. A 300k-step run takes 25-80 min on one core.
set -euo pipefail
cd "$(dirname "$0")/.."
RLFORGE=${RLFORGE:-build/rlforge}
[[ -x "$RLFORGE" ]] || { echo "build first: make build" >&2; exit 1; }
WORK=${RUNS:-$(mktemp -d)}
ENV=${ENV:-halfcheetah}
ALGO=${ALGO:-pebble}
STEPS=${STEPS:-300000}
SEED=${SEED:-1}
TEACHER=${TEACHER:-oracle}
SCHEME=${SCHEME:-disagreement}
args=(--set progress=false --set total_timesteps="$STEPS" --seed "$SEED")
if [[ -n "${HIDDEN:-}" ]]; then args+=(--set "sac.hidden=$HIDDEN"); fi
width=$(tr -d '[] ' <<< "${HIDDEN:-256,256}" | tr , x)
if [[ "$ALGO" == pebble ]]; then
  name="pebble_${ENV}_${TEACHER}_${SCHEME}_${width}_seed${SEED}"
  args+=(--set pebble.teacher.preset="$TEACHER" --set pebble.query_scheme="$SCHEME")
  for kv in ${SET:-}; do args+=(--set "$kv"); done
  if [[ -n "${VARIANT:-}" ]]; then name="${name}_${VARIANT}"; fi
else
  name="pebble_${ENV}_sac_${width}_seed${SEED}"
fi
mkdir -p bench/results
"$RLFORGE" train --config "configs/$ALGO/$ENV.yaml" "${args[@]}" --run-dir "$WORK/$name" > /dev/null
/usr/bin/python3 bench/learning_summary.py "bench/results/$name.json" "$name" 5000 "$WORK/$name"
