#!/usr/bin/env bash
# Data-parallel PPO over mpirun ranks on this machine, into bench/results/mpi_scaling.json:
#   ppo_halfcheetah  configs/ppo/halfcheetah.yaml with its 2048-step rollout as 2 envs x 1024
#                    steps: SPS with 1 process and with 2 ranks (one env each), median of RUNS,
#                    the speed-up (ratio of the medians, and the median of the side-by-side
#                    pairs' ratios), and the seconds per update spent in collectives (2 ranks)
#   combine          the gradient combination alone (bench_mpi_combine) for PPO's and SAC's
#                    HalfCheetah parameter counts, 2 and 3 ranks
# usage: bench/mpi_scaling.sh [RUNS=5] [STEPS=102400]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-5}" steps="${2:-102400}"
for b in rlforge bench_mpi_combine; do
  [[ -x build/$b ]] || { echo "build first: make build (needs libopenmpi-dev)" >&2; exit 1; }
done
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=yes
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
cfg=(--config configs/ppo/halfcheetah.yaml --set env.num_envs=2 --set ppo.num_steps=1024
     --set total_timesteps="$steps" --set eval.every_steps=0 --set checkpoint.every_steps=0
     --set progress=false --set report=false)
sps() { sed -n 's/.*(\([0-9.]*\) SPS).*/\1/p' "$1"; }
one=() two=() comm=()
for ((k = 0; k < runs; ++k)); do
  build/rlforge train "${cfg[@]}" --run-dir "$work/one$k" > "$work/one$k.log"
  one+=("$(sps "$work/one$k.log")")
  mpirun -np 2 --bind-to core build/rlforge train "${cfg[@]}" --run-dir "$work/two$k" > "$work/two$k.log"
  two+=("$(sps "$work/two$k.log")")
  comm+=("$(awk -F, '$3 == "charts/comm_seconds" { s += $4; n++ } END { printf "%.6f", s / n }' "$work/two$k/metrics.csv")")
done
mpirun -np 2 --bind-to core build/bench_mpi_combine > "$work/combine2.json"
mpirun -np 3 --bind-to none build/bench_mpi_combine > "$work/combine3.json"
python3 - "$work" "${one[*]}" "${two[*]}" "${comm[*]}" "$steps" << 'PY' > bench/results/mpi_scaling.json.tmp
import json, statistics, sys
work, one, two, comm, steps = sys.argv[1], *[[float(x) for x in a.split()] for a in sys.argv[2:5]], int(sys.argv[5])
print(json.dumps({
    "machine": "this 2-core machine, one training thread per rank",
    "ppo_halfcheetah": {
        "config": "configs/ppo/halfcheetah.yaml, env.num_envs=2, ppo.num_steps=1024",
        "env_steps": steps,
        "sps_1_process": statistics.median(one), "sps_2_ranks": statistics.median(two),
        "speedup": statistics.median(two) / statistics.median(one),
        # each run of 2 ranks against the 1-process run just before it (drift cancels)
        "speedup_median_of_pairs": statistics.median(b / a for a, b in zip(one, two)),
        "target_speedup": 1.7,
        "comm_seconds_per_update_2_ranks": statistics.median(comm),
        "runs": {"sps_1_process": one, "sps_2_ranks": two, "comm_seconds_per_update": comm}},
    "combine": {"2_ranks": json.load(open(f"{work}/combine2.json")),
                "3_ranks_oversubscribed": json.load(open(f"{work}/combine3.json"))},
}, indent=2))
PY
mv bench/results/mpi_scaling.json.tmp bench/results/mpi_scaling.json
echo "wrote bench/results/mpi_scaling.json"
