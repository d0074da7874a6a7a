#!/usr/bin/env bash
# Idempotent set-up: installs every Debian package rlforge needs, then configures and builds.
# Usage: scripts/setup.sh [--deps-only]
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  build-essential cmake ninja-build ccache pkg-config git
  clang-format clang-tidy
  libtorch-dev libopenblas0-pthread libblas-dev
  openmpi-bin libopenmpi-dev iproute2 util-linux
  libyaml-cpp-dev libcli11-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libcairo2-dev fonts-dejavu-core
  libavcodec-dev libavformat-dev libswscale-dev libavutil-dev
  libcpp-httplib-dev
  chromium
  libmujoco-dev libqhull-dev libosmesa6-dev libbox2d-dev
  python3 python3-numpy python3-pil protobuf-compiler
  rclone
  clang libclang-rt-14-dev libfuzzer-14-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  echo "setup: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# node and npm: Debian's, unless a node with its own npm is installed already (NodeSource's
# nodejs bundles npm and conflicts with Debian's npm package)
if ! command -v npm > /dev/null; then
  SUDO=""
  [[ $(id -u) -ne 0 ]] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm
fi
# Plotly's bundle for run reports, pinned by web/report/package-lock.json (embedded at build time)
if [[ ! -f web/report/node_modules/plotly.js-cartesian-dist-min/plotly-cartesian.min.js ]]; then
  (cd web/report && npm ci --no-audit --no-fund --silent)
fi
# playwright-core drives Debian's chromium in the browser test (no browser download)
if [[ ! -d tests/web/node_modules/playwright-core ]]; then
  (cd tests/web && npm install --no-audit --no-fund --silent)
fi

[[ "${1:-}" == "--deps-only" ]] && exit 0

if [[ ! -f build/build.ninja ]]; then
  cmake -S . -B build -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
cmake --build build -j "${RLFORGE_JOBS:-2}"
