#!/usr/bin/env bash
# DreamerV3's gradient step on a GPU: builds the minimal configuration (scripts/minimal_build.sh)
# against the LibTorch inside the machine's PyTorch (CUDA) and times the update at NaturalDreamer's
# CarRacing size (batch 32 x 64, horizon 15, recurrent 512, 16x16 latents, 64x64x3 frames,
# strided CNN depth 16) on `cuda`, and on all CPU cores beside it, writing JSON to
# $OUT/gpu_check.json (or ./gpu_check.json).
#
# The GPU machine has a compiler, CMake, ninja and PyTorch but not yaml-cpp or nlohmann-json: they
# travel as Debian packages, unpacked into .gpu/root (not into /). Two steps:
#   here (Debian):         scripts/gpu_check.sh fetch   # apt-get download into .gpu/debs
#   there (device tool):   run with carry [".gpu"]:  bash scripts/gpu_check.sh
# Not a test: CI never has a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
debs=(libyaml-cpp-dev libyaml-cpp0.7 nlohmann-json3-dev)

if [[ "${1:-}" == "fetch" ]]; then
  mkdir -p .gpu/debs
  (cd .gpu/debs && apt-get download "${debs[@]}")
  exit 0
fi

out=${OUT:-.}
root=$PWD/.gpu/root
mkdir -p "$root"
for deb in .gpu/debs/*.deb; do dpkg -x "$deb" "$root"; done
torch_prefix=$(python3 -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)' | tee -a "$out/gpu.txt"

export LD_LIBRARY_PATH="$root/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
# LibTorch's CMake config looks for the CUDA toolkit (nvcc)
[[ -d /usr/local/cuda/bin ]] && export PATH="$PATH:/usr/local/cuda/bin"
RLFORGE_JOBS=$(nproc) bash scripts/minimal_build.sh build-gpu \
  -DCMAKE_PREFIX_PATH="$root/usr;$torch_prefix" -DCMAKE_CUDA_ARCHITECTURES=90 \
  > "$out/minimal_build.log" 2>&1 || {
  tail -50 "$out/minimal_build.log"
  cat build-gpu.configure.log > "$out/configure.log" 2> /dev/null || true
  exit 1
}

# NaturalDreamer's CarRacing update (configs/dreamer/carracing_natural.yaml's sizes) on cuda
# (the same settings as bench/dreamer_update.sh's CPU figure)
natural=(--set dreamer.batch_size=32 --set dreamer.batch_length=64 --set dreamer.deter=512
  --set dreamer.hidden=200 --set dreamer.units=400 --set dreamer.stoch=16 --set dreamer.classes=16
  --set dreamer.depth=16 --set dreamer.cnn=strided)
for dev in cuda cpu; do
  threads=1
  [[ $dev == cpu ]] && threads=$(nproc)
  ./build-gpu/bench_dreamer_update --image 64 --threads "$threads" --updates 10 \
    --set dreamer.device=$dev "${natural[@]}" > "$out/update_$dev.json"
  cat "$out/update_$dev.json"
done
python3 - "$out" <<'EOF'
import json, sys
out = sys.argv[1]
runs = {d: json.load(open(f"{out}/update_{d}.json")) for d in ("cuda", "cpu")}
gpu = open(f"{out}/gpu.txt").read().strip().splitlines()
json.dump({"gpu": gpu, "natural_dreamer_s_per_update": {"h200_gpu": 0.45, "cpu_16_cores": 2.0},
           "rlforge": runs}, open(f"{out}/gpu_check.json", "w"), indent=2)
EOF
