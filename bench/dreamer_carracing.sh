#!/usr/bin/env bash
# DreamerV3's world model on CarRacing-v3 from pixels (configs/dreamer/carracing.yaml, 1 seed,
# STEPS env steps, 16k by default: 2,000 updates): the reconstruction loss (loss/dec, summed over
# 64 x 64 x 3 pixels) over the run, and at each evaluation the open-loop prediction error over 15
# imagined steps beside the baseline that repeats the last observed frame (openloop/mse,
# openloop/repeat_last_mse: mean squared error per pixel value in [0, 1]). Writes
# bench/results/dreamer_carracing.json and two frames of the last open-loop prediction (the last
# observed and the last imagined step) to bench/results/dreamer_carracing_openloop.png.
# RUN=DIR keeps the run there.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
STEPS=${STEPS:-16000}
RUN=${RUN:-$(mktemp -d)/carracing}
start=$(date +%s%N)
build/rlforge train --config configs/dreamer/carracing.yaml --set total_timesteps="$STEPS" \
  --set eval.every_steps=2000 --set eval.video=false --set checkpoint.every_steps=0 \
  --set checkpoint.save_replay_buffer=true --set dreamer.buffer_size="$STEPS" \
  --set progress=false --overwrite --run-dir "$RUN"
seconds=$(( ($(date +%s%N) - start) / 1000000 ))e-3
build/rlforge dreamer openloop "$RUN" --out bench/results/dreamer_carracing_openloop.png
/usr/bin/python3 - "$RUN" "$seconds" <<'PY'
import collections, csv, json, sys
run, seconds = sys.argv[1], float(sys.argv[2])
series = collections.defaultdict(list)
for row in csv.DictReader(open(run + "/metrics.csv")):
    series[row["tag"]].append((int(row["step"]), float(row["value"])))
openloop = [{"step": s, "prediction_mse": p, "repeat_last_mse": r}
            for (s, p), (_, r) in zip(series["openloop/mse"], series["openloop/repeat_last_mse"])]
out = {"benchmark": "dreamer_carracing", "config": "configs/dreamer/carracing.yaml",
       "machine": "this 2-core machine, 1 thread", "env_steps": series["train/updates"][-1][0],
       "updates": int(series["train/updates"][-1][1]), "seconds": round(seconds, 1),
       "reconstruction_loss": series["loss/dec"], "openloop": openloop,
       "final_openloop_below_repeat_last": bool(openloop and
                                                openloop[-1]["prediction_mse"] <
                                                openloop[-1]["repeat_last_mse"]),
       "episodic_return": series["charts/episodic_return"]}
json.dump(out, open("bench/results/dreamer_carracing.json", "w"), indent=1)
print(json.dumps({k: v for k, v in out.items() if k not in ("reconstruction_loss",
                                                          "episodic_return")}, indent=1))
PY
