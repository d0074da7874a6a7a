#!/usr/bin/env bash
# The dense kernels on one thread each against OpenBLAS's sgemm, into bench/results/:
#   gemm.json        the GEMM shape by shape (the SAC, DQN and PPO updates' shapes), GFLOP/s
#   sac_update.json  one SAC update at CleanRL's and the fast preset's sizes, 1 and 2 threads
set -euo pipefail
cd "$(dirname "$0")/.."
for bench in gemm sac_update; do
  [[ -x build/bench_$bench ]] || { echo "build first: make build (needs BLAS: libblas-dev)" >&2; exit 1; }
  OPENBLAS_NUM_THREADS=1 "build/bench_$bench" > "bench/results/$bench.json.tmp"
  mv "bench/results/$bench.json.tmp" "bench/results/$bench.json"
  echo "wrote bench/results/$bench.json"
done
