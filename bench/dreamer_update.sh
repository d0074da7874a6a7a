#!/usr/bin/env bash
# Seconds per DreamerV3 gradient step, size1m on vector observations (CartPole's shapes), B 16 x
# T 64, horizon 15, from all 1024 replayed states (official) and from the last 16 of each sequence
# (256, configs/dreamer/pendulum.yaml), and at B 16 x T 32 from the last 8 (128,
# configs/dreamer/cartpole.yaml), with 1 and 2 threads; at NaturalDreamer's CarRacing
# size (configs/dreamer/carracing_natural.yaml: 64 x 64 x 3 frames, B 32 x T 64, 2048 starts,
# deter 512, 16 x 16 latents, strided CNN depth 16, 5.4M parameters; NaturalDreamer's own update
# took 24.7 s here, 1 thread; target 1.5x faster), with 1 and 2 threads; the split into world model,
# imagination (+ actor-critic forward) and backward + optimizer; and where the time goes: one
# update under LibTorch's profiler, its ops grouped into GEMMs and the rest, with the op count
# (per-op dispatch) beside the GEMM FLOP rate. Writes bench/results/dreamer_update.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/bench_dreamer_update ]] || { echo "build first: make build" >&2; exit 1; }
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
UPDATES=${UPDATES:-5}
for starts in 0 16; do
  for threads in 1 2; do
    OMP_WAIT_POLICY=PASSIVE build/bench_dreamer_update --threads $threads --updates "$UPDATES" \
      --set dreamer.imag_last=$starts > "$WORK/run_${starts}_${threads}.json"
  done
done
for threads in 1 2; do  # the CartPole preset's shapes
  OMP_WAIT_POLICY=PASSIVE build/bench_dreamer_update --threads $threads --updates "$UPDATES" \
    --set dreamer.batch_length=32 --set dreamer.imag_last=8 > "$WORK/run_t32_8_${threads}.json"
done
# NaturalDreamer's CarRacing size (its config's keys in carracing_natural.yaml)
NATURAL="--image 64 --set dreamer.batch_size=32 --set dreamer.batch_length=64 --set dreamer.deter=512
  --set dreamer.hidden=200 --set dreamer.units=400 --set dreamer.stoch=16 --set dreamer.classes=16
  --set dreamer.depth=16 --set dreamer.cnn=strided"
for threads in 1 2; do
  # shellcheck disable=SC2086
  OMP_WAIT_POLICY=PASSIVE build/bench_dreamer_update --threads $threads --updates "${NATURAL_UPDATES:-3}" \
    $NATURAL > "$WORK/run_natural_${threads}.json"
done
build/bench_dreamer_update --threads 1 --updates 1 --set dreamer.imag_last="${PROFILE_STARTS:-0}" \
  --profile "$WORK/trace.json" > /dev/null
/usr/bin/python3 - "$WORK" <<'PY'
import collections, glob, json, os, sys
work = sys.argv[1]
runs = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(work, "run_*.json")))]
trace = json.load(open(os.path.join(work, "trace.json")))
events = [e for e in (trace["traceEvents"] if isinstance(trace, dict) else trace)
          if e.get("ph") == "X"]
# top-level ops only: an event inside another one on the same thread is part of it
events.sort(key=lambda e: (e.get("tid"), e["ts"], -e["dur"]))
top, end = [], {}
for e in events:
    tid = e.get("tid")
    if e["ts"] >= end.get(tid, -1):
        top.append(e)
        end[tid] = e["ts"] + e["dur"]
gemm = ("aten::mm", "aten::addmm", "aten::bmm", "aten::matmul", "aten::linear", "MmBackward0",
        "AddmmBackward0", "BmmBackward0")  # forward GEMMs and their backward nodes
by_op = collections.defaultdict(lambda: [0, 0.0])
for e in top:
    by_op[e["name"]][0] += 1
    by_op[e["name"]][1] += e["dur"] / 1e3
total_ms = sum(v[1] for v in by_op.values())
gemm_ms = sum(v[1] for k, v in by_op.items() if any(g in k for g in gemm))
small = [e for e in top if e["dur"] < 10]  # ops that cost about their dispatch
ops = sum(v[0] for v in by_op.values())
out = {"benchmark": "dreamer_update", "machine": "this 2-core machine", "runs": runs,
       "profile_one_update_1_thread": {
           "top_level_ops": ops, "profiled_ms": round(total_ms, 1),
           "gemm_ms": round(gemm_ms, 1), "other_ms": round(total_ms - gemm_ms, 1),
           "mean_us_per_op": round(1e3 * total_ms / max(ops, 1), 1),
           "ops_under_10us": len(small),
           "ops_under_10us_ms": round(sum(e["dur"] for e in small) / 1e3, 1),
           "top_ops_ms": {k: [v[0], round(v[1], 1)] for k, v in
                          sorted(by_op.items(), key=lambda kv: -kv[1][1])[:15]}},
       "reference": {"naturaldreamer_carracing_update_1_thread_s": 24.7,
                     "notes_dreamerv3_cpu_probe_size1m_1024_starts_s": 2.0,
                     "notes_dreamerv3_cpu_probe_size1m_256_starts_s": 0.85,
                     "official_jax_size1m_gb200_s": 0.022}}
json.dump(out, open("bench/results/dreamer_update.json", "w"), indent=1)
print(json.dumps(out, indent=1))
PY
