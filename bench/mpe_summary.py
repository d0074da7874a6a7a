#!/usr/bin/python3
"""Summary of bench/mpe.sh: stepping speed against MPE2 and, per run, the mean of the last 100
(and 1000) training episode returns (PettingZoo per-agent scale) at the end, and the env steps and
seconds until the 100-episode mean first reached -15 and the issue's target (-9 for MAPPO/IPPO,
-11 for VDN/QMIX).

usage: mpe_summary.py WORK MPE2_STEPS_PER_SECOND OUT
"""
import csv
import json
import statistics
import sys

work, mpe2, out = sys.argv[1], float(sys.argv[2]), sys.argv[3]
step = json.load(open(f"{work}/step.json"))
TARGET = {"mappo": -9.0, "ippo": -9.0, "vdn": -11.0, "qmix": -11.0}
runs = []
for line in open(f"{work}/times"):
    label, seed, start, end = line.split()
    returns, hits, last_step = [], {}, 0
    for r in csv.DictReader(open(f"{work}/{label}-{seed}/metrics.csv")):
        if r["tag"] != "charts/episodic_return":
            continue
        returns.append(float(r["value"]))
        last_step = int(r["step"])
        mean = sum(returns[-100:]) / min(100, len(returns))
        for name, threshold in (("minus15", -15.0), ("target", TARGET.get(label, -9.0))):
            if name not in hits and len(returns) >= 100 and mean >= threshold:
                hits[name] = {"steps": last_step,
                              "seconds": round(float(r["wall_time"]) - float(start), 1)}
    runs.append({"algo": label, "seed": int(seed), "env_steps": last_step,
                 "final_last100_return": round(sum(returns[-100:]) / min(100, len(returns)), 2),
                 "final_last1000_return": round(sum(returns[-1000:]) / min(1000, len(returns)), 2),
                 "target": TARGET.get(label, -9.0), "reached_target": hits.get("target"),
                 "reached_minus15": hits.get("minus15"),
                 "wall_seconds": round(float(end) - float(start), 1)})
summary = {
    "benchmark": "mpe_simple_spread",
    "step": {"steps_per_second": step["steps_per_second"], "mpe2_steps_per_second": mpe2,
             "speedup_vs_mpe2": round(step["steps_per_second"] / mpe2, 1)},
    "scale": "PettingZoo per-agent (random -26.4, scripted -7.5)",
    "runs": runs,
    "median_final_by_algo": {a: statistics.median(r["final_last100_return"] for r in runs
                                                   if r["algo"] == a)
                             for a in sorted({r["algo"] for r in runs})},
    "note": "learning runs use the presets as they are; steps are env (world) steps over all envs",
}
json.dump(summary, open(out, "w"), indent=1)
print(json.dumps(summary, indent=1))
