#!/usr/bin/env bash
# Env throughput: random-action steps/s (resets included), median of 5 runs, for every classic
# control env as a single env and as 8-env vector envs (sync and 2 threads).
# Writes bench/results/env_throughput.json (and prints a table).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/rlforge
[[ -x $BIN ]] || { echo "build first: make build" >&2; exit 1; }
REPEAT=${REPEAT:-5}
STEPS=${STEPS:-2000000}
OUT=bench/results/env_throughput.json
mkdir -p bench/results
# Gymnasium 1.3 (Python), single env, random actions, same machine: steps/s (from the issue).
declare -A GYMNASIUM=([CartPole-v1]=109000 [Pendulum-v1]=23000 [MountainCar-v0]=53000
                      [MountainCarContinuous-v0]=38000 [Acrobot-v1]=21000)
rows=()
for id in CartPole-v1 Pendulum-v1 MountainCar-v0 MountainCarContinuous-v0 Acrobot-v1; do
  for cfg in "1 1" "8 1" "8 2"; do
    read -r n t <<<"$cfg"
    json=$($BIN env bench "$id" --steps "$STEPS" --num-envs "$n" --threads "$t" --repeat "$REPEAT" --json)
    sps=$(sed -E 's/.*"steps_per_second":([0-9.e+]+).*/\1/' <<<"$json")
    ratio=$(awk -v a="$sps" -v b="${GYMNASIUM[$id]}" 'BEGIN { printf "%.1f", a / b }')
    printf '%-26s envs=%d threads=%d  %12.0f steps/s  (%sx Gymnasium single env)\n' "$id" "$n" "$t" "$sps" "$ratio"
    rows+=("${json%\}},\"gymnasium_single_env_steps_per_second\":${GYMNASIUM[$id]},\"speedup_vs_gymnasium\":$ratio}")
  done
done
{
  echo "{\"benchmark\":\"env_throughput\",\"machine\":\"$(nproc) cores, $(uname -m)\",\"repeat\":$REPEAT,\"results\":["
  (IFS=,; echo "${rows[*]}")
  echo "]}"
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "wrote $OUT"
