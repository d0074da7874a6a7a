#!/usr/bin/env bash
# PPO on CartPole-v1 with CleanRL's default hyperparameters (configs/ppo/cartpole.yaml), 5 seeds:
# env steps and wall-clock seconds until the mean of the last 20 episode returns first reaches 475,
# and SPS. Writes bench/results/ppo_cartpole.json.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=build/rlforge
[[ -x $BIN ]] || { echo "build first: make build" >&2; exit 1; }
OUT=bench/results/ppo_cartpole.json
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
SEEDS=${SEEDS:-"1 2 3 4 5"}
for seed in $SEEDS; do
  start=$(date +%s.%N)
  $BIN train --config configs/ppo/cartpole.yaml --seed "$seed" --set progress=false --set eval.every_steps=0 \
    --set checkpoint.every_steps=0 --run-dir "$WORK/s$seed" > /dev/null
  end=$(date +%s.%N)
  echo "$seed $start $end" >> "$WORK/times"
done
/usr/bin/python3 - "$WORK" "$OUT" <<'PY'
import csv, json, statistics, sys
work, out = sys.argv[1], sys.argv[2]
rows = []
for line in open(f"{work}/times"):
    seed, start, end = line.split()
    returns, sps, first_wall, hit = [], [], None, None
    for r in csv.DictReader(open(f"{work}/s{seed}/metrics.csv")):
        wall = float(r["wall_time"])
        first_wall = first_wall if first_wall is not None else wall
        if r["tag"] == "charts/episodic_return":
            returns.append(float(r["value"]))
            if hit is None and len(returns) >= 20 and sum(returns[-20:]) / 20 >= 475:
                hit = {"steps": int(r["step"]), "seconds": wall - float(start)}
        elif r["tag"] == "charts/SPS":
            sps.append(float(r["value"]))
    rows.append({"seed": int(seed), "steps_to_475": hit and hit["steps"], "seconds_to_475": hit and round(hit["seconds"], 2),
                 "sps": round(sps[-1]), "run_seconds": round(float(end) - float(start), 2)})
hits = [r for r in rows if r["steps_to_475"]]
summary = {"benchmark": "ppo_cartpole_cleanrl_defaults", "runs": rows,
           "median_steps_to_475": statistics.median([r["steps_to_475"] for r in hits]) if hits else None,
           "median_seconds_to_475": statistics.median([r["seconds_to_475"] for r in hits]) if hits else None,
           "median_sps": statistics.median([r["sps"] for r in rows]),
           "reached": f"{len(hits)}/{len(rows)}",
           "cleanrl_reference": {"sps": 7000, "steps_to_475": "107k-214k", "seconds_to_475_median": 27}}
json.dump(summary, open(out, "w"), indent=1)
for r in rows:
    print(r)
print({k: v for k, v in summary.items() if k != "runs"})
PY
echo "wrote $OUT"
