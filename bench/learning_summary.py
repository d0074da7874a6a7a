#!/usr/bin/python3
"""Learning-curve summary of run directories (used by bench/mujoco_learning.sh, box2d_learning.sh,
pebble.sh).

usage: learning_summary.py OUT NAME THRESHOLD RUN_DIR [RUN_DIR ...]
For each run: env steps, wall-clock seconds and SPS (from metrics.csv wall times), the evaluation
curve (eval/episodic_return by step), the mean of the last 10 training episode returns, and the
first step where that 10-episode mean reached THRESHOLD (with its wall-clock seconds), and the first
evaluation step at or above THRESHOLD.
"""
import csv
import json
import os
import sys

out, name, threshold = sys.argv[1], sys.argv[2], float(sys.argv[3])
runs = []
for run in sys.argv[4:]:
    rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
    start = float(rows[0]["wall_time"])
    returns, curve, hit, model_curve = [], [], None, []
    for r in rows:
        if r["tag"] == "charts/episodic_return":
            returns.append(float(r["value"]))
            mean = sum(returns[-10:]) / min(10, len(returns))
            if hit is None and len(returns) >= 10 and mean >= threshold:
                hit = {"steps": int(r["step"]), "seconds": round(float(r["wall_time"]) - start, 1)}
        elif r["tag"] == "eval/episodic_return":
            curve.append([int(r["step"]), round(float(r["value"]), 1)])
    steps = max(int(r["step"]) for r in rows)
    seconds = float(rows[-1]["wall_time"]) - start
    runs.append({
        "run": os.path.basename(os.path.normpath(run)),
        "steps": steps,
        "seconds": round(seconds, 1),
        "sps": round(steps / max(seconds, 1e-9), 1),
        "last10_mean_return": round(sum(returns[-10:]) / max(1, len(returns[-10:])), 1),
        "eval_curve": curve,
        "threshold_reached_at": hit,
        "eval_threshold_reached_at": next((s for s, v in curve if v >= threshold), None),
    })
json.dump({"benchmark": name, "threshold": threshold, "runs": runs}, open(out, "w"), indent=1)
print(f"wrote {out}")
