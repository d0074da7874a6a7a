#!/usr/bin/env bash
# The minimal configuration: every optional component off (MuJoCo, Box2D, Cairo, FFmpeg videos, the
# trainer with its CLI, web UI and reports, MPI), so that only a compiler, CMake, a LibTorch,
# yaml-cpp and nlohmann-json are needed. Builds the classic-control and MPE envs, the buffers, the
# dense kernels, the DreamerV3 model library and its update benchmark in BUILD_DIR, checks that
# nothing optional was found or linked, and times one small update (JSON on stdout).
# Usage: scripts/minimal_build.sh [BUILD_DIR] [extra cmake arguments, e.g. -DTorch_DIR=...]
set -euo pipefail
cd "$(dirname "$0")/.."
dir=${1:-build-minimal}
shift || true

cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DRLFORGE_MUJOCO=OFF -DRLFORGE_BOX2D=OFF -DRLFORGE_CAIRO=OFF -DRLFORGE_VIDEO=OFF \
  -DRLFORGE_TRAINER=OFF -DRLFORGE_MPI=OFF -DBUILD_TESTING=OFF -DRLFORGE_BUILD_BENCH=OFF \
  -DCMAKE_DISABLE_FIND_PACKAGE_box2d=ON -DCMAKE_DISABLE_FIND_PACKAGE_mujoco=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_CLI11=ON -DCMAKE_DISABLE_FIND_PACKAGE_MPI=ON \
  -DCMAKE_DISABLE_FIND_PACKAGE_GTest=ON "$@" > "$dir.configure.log"
cmake --build "$dir" -j "${RLFORGE_JOBS:-2}" --target rlforge_core rlforge_dreamer_model bench_dreamer_update

# nothing optional looked up, nothing optional linked
if grep -E '^(CAIRO|FFMPEG|HTTPLIB|OSMESA)_FOUND:' "$dir/CMakeCache.txt"; then
  echo "minimal_build: an optional component was looked up (above)" >&2
  exit 1
fi
# (the direct dependencies: a LibTorch may pull in anything of its own)
linked=$(for f in "$dir"/librlforge_*.so "$dir"/bench_dreamer_update; do
  readelf -d "$f" | grep NEEDED | sed "s|^|$f: |"
done)
if grep -E 'libcairo|libmujoco|libbox2d|libavcodec|libmpi|libcpp-httplib' <<< "$linked"; then
  echo "minimal_build: an optional library is linked (above)" >&2
  exit 1
fi
for lib in rlforge_feedback rlforge_train rlforge_video rlforge_dreamer; do
  if [[ -e "$dir/lib$lib.so" ]]; then
    echo "minimal_build: lib$lib.so was built" >&2
    exit 1
  fi
done
# one small update on the CPU: the library runs, and the benchmark prints its JSON
"$dir/bench_dreamer_update" --updates 1 --set dreamer.batch_size=2 --set dreamer.batch_length=8 \
  --set dreamer.deter=64 --set dreamer.hidden=16 --set dreamer.units=16 --set dreamer.classes=4
