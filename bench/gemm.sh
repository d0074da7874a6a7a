#!/usr/bin/env bash
# The dense kernels' GEMM against OpenBLAS's sgemm (one thread each) on the shapes of the SAC,
# DQN and PPO updates: writes bench/results/gemm.json (GFLOP/s per shape, median of 5 loops).
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/bench_gemm ]] || { echo "build first: make build (needs BLAS: libblas-dev)" >&2; exit 1; }
OPENBLAS_NUM_THREADS=1 build/bench_gemm > bench/results/gemm.json.tmp
mv bench/results/gemm.json.tmp bench/results/gemm.json
echo "wrote bench/results/gemm.json"
