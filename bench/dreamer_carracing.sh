#!/usr/bin/env bash
# DreamerV3's world model on CarRacing-v3 from pixels (configs/dreamer/carracing.yaml, 1 seed,
# STEPS env steps, 22k by default: 7,437 updates): the reconstruction loss (loss/dec, summed over
# 64 x 64 x 3 pixels) over the run, and at each evaluation the open-loop prediction error over 15
# imagined steps beside the baseline that repeats the last observed frame (openloop/mse,
# openloop/repeat_last_mse: mean squared error per pixel value in [0, 1]). Writes
# bench/results/dreamer_carracing.json and two frames of the last open-loop prediction (the last
# observed and the last imagined step) to bench/results/dreamer_carracing_openloop.png.
# RUN=DIR keeps the run there; NAME=x writes bench/results/dreamer_carracing_x.{json,png} instead;
# further arguments go to `rlforge train` (e.g. --set dreamer.train_ratio=128).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/rlforge ]] || { echo "build first: make build" >&2; exit 1; }
STEPS=${STEPS:-22000}
RUN=${RUN:-$(mktemp -d)/carracing}
OUT=bench/results/dreamer_carracing${NAME:+_$NAME}
start=$(date +%s%N)
build/rlforge train --config configs/dreamer/carracing.yaml --set total_timesteps="$STEPS" \
  --set eval.every_steps=2000 --set eval.video=false --set checkpoint.every_steps=0 \
  --set checkpoint.save_replay_buffer=true --set dreamer.buffer_size="$STEPS" \
  --set progress=false --overwrite --run-dir "$RUN" "$@"
seconds=$(( ($(date +%s%N) - start) / 1000000 ))e-3
build/rlforge dreamer openloop "$RUN" --out "${OUT}_openloop.png" | tee "$RUN/openloop_final.txt"
/usr/bin/python3 - "$RUN" "$seconds" "$OUT" "$*" <<'PY'
import collections, csv, json, sys
run, seconds, out_stem, extra = sys.argv[1], float(sys.argv[2]), sys.argv[3], sys.argv[4]
final = dict(line.split() for line in open(run + "/openloop_final.txt") if line.startswith("openloop/"))
series = collections.defaultdict(list)
for row in csv.DictReader(open(run + "/metrics.csv")):
    series[row["tag"]].append((int(row["step"]), float(row["value"])))
openloop = [{"step": s, "prediction_mse": p, "repeat_last_mse": r}
            for (s, p), (_, r) in zip(series["openloop/mse"], series["openloop/repeat_last_mse"])]
out = {"benchmark": "dreamer_carracing", "config": "configs/dreamer/carracing.yaml",
       "overrides": extra,
       "machine": "this 2-core machine, 1 thread", "env_steps": series["train/updates"][-1][0],
       "updates": int(series["train/updates"][-1][1]), "seconds": round(seconds, 1),
       "reconstruction_loss": series["loss/dec"], "openloop": openloop,
       "final_openloop": {"prediction_mse": float(final["openloop/mse"]),
                          "repeat_last_mse": float(final["openloop/repeat_last_mse"])},
       "final_openloop_below_repeat_last": float(final["openloop/mse"]) <
                                           float(final["openloop/repeat_last_mse"]),
       "episodic_return": series["charts/episodic_return"]}
json.dump(out, open(out_stem + ".json", "w"), indent=1)
print(json.dumps({k: v for k, v in out.items() if k not in ("reconstruction_loss",
                                                          "episodic_return")}, indent=1))
PY
