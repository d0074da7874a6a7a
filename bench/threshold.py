#!/usr/bin/python3
"""Time-to-threshold summary of training runs (used by the bench/*.sh scripts).

usage: threshold.py WORK OUT NAME THRESHOLD WINDOW REFERENCE_JSON
WORK/times has one line per run: "LABEL SEED START_EPOCH END_EPOCH", and WORK/LABEL-SEED/metrics.csv
is that run's metrics. A run reaches the threshold at the first episode where the mean of the last
WINDOW episode returns is >= THRESHOLD. Seconds are counted from the process launch
(seconds_to_threshold, with LibTorch's ~0.8 s start-up) and from the trainer's own start
(training_seconds_to_threshold: after envs and networks are built, where CleanRL starts its clock;
recovered from the first charts/SPS row as wall_time - step / SPS).
"""
import csv
import json
import statistics
import sys

work, out, name, threshold, window, reference = sys.argv[1:7]
threshold, window = float(threshold), int(window)
runs = []
for line in open(f"{work}/times"):
    label, seed, start, end = line.split()
    returns, hit, steps, trainer_start = [], None, 0, None
    for r in csv.DictReader(open(f"{work}/{label}-{seed}/metrics.csv")):
        if r["tag"] == "charts/SPS" and trainer_start is None:
            trainer_start = float(r["wall_time"]) - int(r["step"]) / float(r["value"])
        if r["tag"] != "charts/episodic_return":
            continue
        returns.append(float(r["value"]))
        steps = int(r["step"])
        if hit is None and len(returns) >= window and sum(returns[-window:]) / window >= threshold:
            hit = {"steps": steps, "seconds": round(float(r["wall_time"]) - float(start), 2),
                   "wall": float(r["wall_time"])}
    total = float(end) - float(start)
    runs.append({"preset": label, "seed": int(seed), "steps_to_threshold": hit and hit["steps"],
                 "seconds_to_threshold": hit and hit["seconds"],
                 "training_seconds_to_threshold":
                     hit and trainer_start and round(hit["wall"] - trainer_start, 2),
                 "sps": round(steps / total),
                 "run_seconds": round(total, 1)})
summary = {"benchmark": name, "threshold": threshold, "window": window, "runs": runs,
           "reference": json.loads(reference)}
for label in sorted({r["preset"] for r in runs}):
    mine = [r for r in runs if r["preset"] == label]
    hits = [r for r in mine if r["steps_to_threshold"]]
    summary[label] = {
        "reached": f"{len(hits)}/{len(mine)}",
        "median_steps_to_threshold": statistics.median([r["steps_to_threshold"] for r in hits]) if hits else None,
        "median_seconds_to_threshold": statistics.median([r["seconds_to_threshold"] for r in hits]) if hits else None,
        "median_training_seconds_to_threshold": statistics.median(
            [r["training_seconds_to_threshold"] for r in hits]) if hits and all(
            r["training_seconds_to_threshold"] for r in hits) else None,
        "median_sps": statistics.median([r["sps"] for r in mine]),
    }
json.dump(summary, open(out, "w"), indent=1)
for r in runs:
    print(r)
print({k: v for k, v in summary.items() if k not in ("runs",)})
