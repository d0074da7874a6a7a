#!/usr/bin/env bash
# One SAC update at CleanRL's sizes and the fast preset's, 1 and 2 threads: ms per update and
# achieved GFLOP/s beside OpenBLAS's sgemm rate, into bench/results/sac_update.json.
set -euo pipefail
cd "$(dirname "$0")/.."
[[ -x build/bench_sac_update ]] || { echo "build first: make build (needs BLAS: libblas-dev)" >&2; exit 1; }
OPENBLAS_NUM_THREADS=1 build/bench_sac_update > bench/results/sac_update.json.tmp
mv bench/results/sac_update.json.tmp bench/results/sac_update.json
echo "wrote bench/results/sac_update.json"
