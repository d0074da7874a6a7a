#!/usr/bin/env bash
# train_runs.sh WORK LABEL CONFIG SEEDS [--set ...]: trains one run per seed into WORK/LABEL-SEED
# (no evaluation, no checkpoints) and appends "LABEL SEED START END" to WORK/times.
set -euo pipefail
work="$1"; label="$2"; config="$3"; seeds="$4"; shift 4
for seed in $seeds; do
  start=$(date +%s.%N)
  build/rlforge train --config "$config" --seed "$seed" --set progress=false --set eval.every_steps=0 \
    --set checkpoint.every_steps=0 --run-dir "$work/$label-$seed" "$@" > /dev/null
  echo "$label $seed $start $(date +%s.%N)" >> "$work/times"
done
