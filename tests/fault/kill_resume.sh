#!/usr/bin/env bash
# A run SIGKILLed at 10 seeded moments and resumed each time ends with the same final checkpoint
# as a run that never stopped: every tensor (weights, optimizer, replay buffer position, env
# states, counters), bit for bit. Half the kills come at a random time; the other half inside a
# checkpoint write, through kill_shim.so: halfway through writing a temp file, at a sync, or just
# before a finished temp file is renamed into place.
# usage: kill_resume.sh RLFORGE_BIN KILL_SHIM WORK_DIR sac|ppo [SEED]
set -u
bin="$1"; shim="$2"; work="$3"; algo="$4"; RANDOM="${5:-7}"
here="$(cd "$(dirname "$0")/../.." && pwd)"
case "$algo" in
  sac) cfg=(--config "$here/configs/sac/pendulum_fast.yaml" --set total_timesteps=3000
            --set sac.learning_starts=500 --set checkpoint.every_steps=100
            --set eval.every_steps=1000 --set eval.episodes=2) ;;  # saves its replay buffer
  ppo) cfg=(--config "$here/configs/ppo/cartpole_fast.yaml" --set total_timesteps=100000
            --set checkpoint.every_steps=512 --set eval.every_steps=50000 --set eval.episodes=2) ;;
  *) echo "kill_resume.sh: algo must be sac or ppo"; exit 2 ;;
esac
cfg+=(--set progress=false)
rm -rf "$work"; mkdir -p "$work"
start=$(date +%s%N)
"$bin" train "${cfg[@]}" --run-dir "$work/full" > "$work/full.log" 2>&1 || { cat "$work/full.log"; exit 1; }
full_ms=$((($(date +%s%N) - start) / 1000000))  # random kills come at 2-12% of this (any build)

# ASan wants its runtime first among the libraries; the shim only wraps a few C calls
export ASAN_OPTIONS="${ASAN_OPTIONS:-}:verify_asan_link_order=0"
run="$work/killed"
kinds=(write sync rename)
for ((k = 0; k < 10; k++)); do
  if [[ -f "$run/checkpoints/latest.safetensors" ]]; then
    cmd=("$bin" train --resume "$run")
  else  # killed before its first checkpoint: a fresh start, as a user would
    rm -rf "$run"
    cmd=("$bin" train "${cfg[@]}" --run-dir "$run")
  fi
  if ((k % 2 == 0)); then  # at a random time
    "${cmd[@]}" > "$work/part.log" 2>&1 &
    pid=$!
    sleep "$(awk -v ms="$full_ms" -v p="$((2 + RANDOM % 11))" 'BEGIN { printf "%.3f", ms * p / 100000 }')"
    kill -KILL "$pid" 2> /dev/null
    wait "$pid"; rc=$?
    moment="after a random time"
  else  # inside a checkpoint write
    moment="${kinds[$(((k / 2) % 3))]}:$((1 + RANDOM % 10))"
    RLFORGE_KILL_AT="$moment" LD_PRELOAD="$shim" "${cmd[@]}" > "$work/part.log" 2>&1
    rc=$?
  fi
  if ((rc != 137)); then
    echo "kill_resume.sh: kill $((k + 1)) ($moment) did not happen: exit $rc"
    cat "$work/part.log"; exit 1
  fi
  echo "kill_resume.sh: killed at $moment, $(grep -c . "$run/metrics.csv" 2> /dev/null || echo 0) metric lines" \
    "$(grep -h kill_shim "$work/part.log")"
done
"$bin" train --resume "$run" > "$work/last.log" 2>&1 || { cat "$work/last.log"; exit 1; }
cmp "$work/full/checkpoints/latest.safetensors" "$run/checkpoints/latest.safetensors" \
  || { echo "kill_resume.sh: the resumed run's final checkpoint differs"; exit 1; }
echo "kill_resume.sh: ok, $algo, 10 kills, final checkpoint identical"
