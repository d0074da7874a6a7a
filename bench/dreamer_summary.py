#!/usr/bin/python3
"""Summary of DreamerV3 run directories (bench/dreamer_cartpole.sh, bench/dreamer_pendulum.sh).

usage: dreamer_summary.py OUT NAME CONFIG THRESHOLD MARKS RUN_DIR [RUN_DIR ...]
MARKS: comma-separated env steps. For each run: the mean of the last 10 training episode returns
at each mark (the official scores: the stochastic policy's training episodes), the first step at
which that mean reached THRESHOLD (and its best value up to the last mark), the evaluation curve,
wall-clock seconds and updates per second.
"""
import csv
import json
import os
import sys

out, name, config, threshold = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
marks = [int(m) for m in sys.argv[5].split(",")]
runs = []
for run in sys.argv[6:]:
    rows = list(csv.DictReader(open(os.path.join(run, "metrics.csv"))))
    start = float(rows[0]["wall_time"])
    returns, at, hit, best = [], {}, None, None
    for r in rows:
        if r["tag"] != "charts/episodic_return" or int(r["step"]) > marks[-1]:
            continue
        returns.append(float(r["value"]))
        mean = sum(returns[-10:]) / min(10, len(returns))
        if len(returns) >= 10:
            best = mean if best is None else max(best, mean)
            if hit is None and mean >= threshold:
                hit = {"steps": int(r["step"]), "seconds": round(float(r["wall_time"]) - start, 1)}
    episodes = [(int(r["step"]), float(r["value"])) for r in rows
                if r["tag"] == "charts/episodic_return"]
    for mark in marks:
        done = [v for s, v in episodes if s <= mark][-10:]
        at[str(mark)] = round(sum(done) / len(done), 1) if done else None
    updates = max((float(r["value"]) for r in rows if r["tag"] == "train/updates"), default=0)
    seconds = float(rows[-1]["wall_time"]) - start
    runs.append({
        "run": os.path.basename(os.path.normpath(run)),
        "last10_mean_return_at": at,
        "best_last10_mean": round(best, 1) if best is not None else None,
        "threshold_reached_at": hit,
        "eval_curve": [[int(r["step"]), round(float(r["value"]), 1)] for r in rows
                       if r["tag"] == "eval/episodic_return"],
        "seconds": round(seconds, 1),
        "updates": int(updates),
        "updates_per_second": round(updates / max(seconds, 1e-9), 2),
    })
result = {"benchmark": name, "config": config, "threshold": threshold, "runs": runs,
          "runs_reaching_threshold": sum(r["threshold_reached_at"] is not None for r in runs)}
json.dump(result, open(out, "w"), indent=1)
print(json.dumps(result, indent=1))
