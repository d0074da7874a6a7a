#!/usr/bin/env bash
# SIGINT during training writes a checkpoint and exits 0; --resume then finishes the run.
set -u
bin="$1"; dir="$2"
rm -rf "$dir"
"$bin" train --set total_timesteps=400000 --set progress=false --set eval.every_steps=0 --run-dir "$dir" > "$dir.log" 2>&1 &
pid=$!
for _ in $(seq 1 100); do  # wait until training has begun (metrics appear)
  [[ -s "$dir/metrics.csv" ]] && grep -q "charts/SPS" "$dir/metrics.csv" && break
  sleep 0.1
done
kill -INT "$pid"
wait "$pid"; status=$?
cat "$dir.log" | tail -n 3
[[ $status -eq 0 ]] || { echo "sigint.sh: exit status $status, expected 0"; exit 1; }
grep -q "stopped by signal 2" "$dir.log" || { echo "sigint.sh: no stop message"; exit 1; }
[[ -f "$dir/checkpoints/latest.safetensors" ]] || { echo "sigint.sh: no checkpoint"; exit 1; }
"$bin" train --resume "$dir" --stop-after 1 > "$dir.resume.log" 2>&1 || { cat "$dir.resume.log"; echo "sigint.sh: resume failed"; exit 1; }
grep -q "resumed" "$dir.resume.log" || { echo "sigint.sh: resume did not report"; exit 1; }
echo "sigint.sh: ok"
