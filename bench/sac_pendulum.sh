#!/usr/bin/env bash
# SAC on Pendulum-v1: CleanRL defaults (configs/sac/pendulum.yaml) and the fast preset, several
# seeds: env steps and wall-clock seconds until the mean of the last 10 episode returns first
# reaches -200, and SPS. Writes bench/results/sac_pendulum.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/rlforge
[[ -x $BIN ]] || { echo "build first: make build" >&2; exit 1; }
OUT=bench/results/sac_pendulum.json
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SEEDS=${SEEDS:-"1 2 3 4 5"}
for preset in pendulum pendulum_fast; do
  for seed in $SEEDS; do
    start=$(date +%s.%N)
    $BIN train --config configs/sac/$preset.yaml --seed "$seed" --set progress=false --set eval.every_steps=0 \
      --set checkpoint.every_steps=0 --set checkpoint.save_replay_buffer=false --set total_timesteps=${STEPS:-20000} \
      --run-dir "$WORK/$preset-$seed" > /dev/null
    echo "$preset $seed $start $(date +%s.%N)" >> "$WORK/times"
  done
done
/usr/bin/python3 - "$WORK" "$OUT" <<'PY'
import csv, json, statistics, sys
work, out = sys.argv[1], sys.argv[2]
runs = []
for line in open(f"{work}/times"):
    preset, seed, start, end = line.split()
    returns, hit, steps = [], None, 0
    for r in csv.DictReader(open(f"{work}/{preset}-{seed}/metrics.csv")):
        if r["tag"] == "charts/episodic_return":
            returns.append(float(r["value"]))
            steps = int(r["step"])
            if hit is None and len(returns) >= 10 and sum(returns[-10:]) / 10 >= -200:
                hit = {"steps": steps, "seconds": round(float(r["wall_time"]) - float(start), 2)}
    total = float(end) - float(start)
    runs.append({"preset": preset, "seed": int(seed), "steps_to_minus200": hit and hit["steps"],
                 "seconds_to_minus200": hit and hit["seconds"], "sps": round(steps / total), "run_seconds": round(total, 1)})
summary = {"benchmark": "sac_pendulum", "runs": runs,
           "cleanrl_reference": {"sps": 110, "steps_to_minus200": "9.4k-10.6k", "seconds_to_minus200_median": 51}}
for preset in ("pendulum", "pendulum_fast"):
    hits = [r for r in runs if r["preset"] == preset and r["steps_to_minus200"]]
    summary[preset] = {"reached": f"{len(hits)}/{len([r for r in runs if r['preset'] == preset])}",
                       "median_steps_to_minus200": statistics.median([r["steps_to_minus200"] for r in hits]) if hits else None,
                       "median_seconds_to_minus200": statistics.median([r["seconds_to_minus200"] for r in hits]) if hits else None,
                       "median_sps": statistics.median([r["sps"] for r in runs if r["preset"] == preset])}
json.dump(summary, open(out, "w"), indent=1)
for r in runs:
    print(r)
print({k: v for k, v in summary.items() if k != "runs"})
PY
echo "wrote $OUT"
