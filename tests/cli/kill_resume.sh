#!/usr/bin/env bash
# A SAC run with its replay buffer saved, SIGKILLed at 5 random (seeded) moments and resumed each
# time, ends with the same checkpoint as a run that never stopped: every tensor (weights,
# optimizer, replay position, env states, counters), bit for bit.
# usage: kill_resume.sh RLFORGE_BIN WORK_DIR [SEED]
set -u
bin="$1"; work="$2"; RANDOM="${3:-7}"
rm -rf "$work"; mkdir -p "$work"
cfg=(--config "$(dirname "$0")/../../configs/sac/pendulum_fast.yaml"
     --set total_timesteps=8000 --set sac.learning_starts=500 --set checkpoint.every_steps=100
     --set eval.every_steps=1000 --set eval.episodes=2 --set progress=false)
"$bin" train "${cfg[@]}" --run-dir "$work/full" > "$work/full.log" 2>&1 || { cat "$work/full.log"; exit 1; }

run="$work/killed"
kills=0
while (( kills < 5 )); do
  if [[ -f "$run/checkpoints/latest.safetensors" ]]; then
    "$bin" train --resume "$run" > "$work/part.log" 2>&1 &
  else  # killed before its first checkpoint: a fresh start, as a user would
    rm -rf "$run"
    "$bin" train "${cfg[@]}" --run-dir "$run" > "$work/part.log" 2>&1 &
  fi
  pid=$!
  sleep "0.$(( 20 + RANDOM % 50 ))"
  if kill -KILL "$pid" 2> /dev/null; then
    wait "$pid" 2> /dev/null
    kills=$((kills + 1))
    echo "kill_resume.sh: killed at $(grep -c . "$run/metrics.csv" 2> /dev/null || echo 0) metric lines"
  else
    wait "$pid"; echo "kill_resume.sh: the run ended before kill $((kills + 1)); it must be slower"
    cat "$work/part.log"; exit 1
  fi
done
"$bin" train --resume "$run" > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
cmp "$work/full/checkpoints/latest.safetensors" "$run/checkpoints/latest.safetensors" \
  || { echo "kill_resume.sh: the resumed run's final checkpoint differs"; exit 1; }
echo "kill_resume.sh: ok, 5 kills, final checkpoint identical"
