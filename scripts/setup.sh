#!/usr/bin/env bash
# Installs every build and test dependency of handwire: Debian packages, and
# onnxruntime-node (npm) into tests/onnx/node_modules for the ONNX loading test.
# Idempotent: what is already present is skipped, so a second run costs ~1 s.
# HANDWIRE_SKIP_CROSSCHECK=1 skips the cross-checkers (PyTorch, python3-onnx,
# onnxruntime-node: ~800 MB + 290 MB); the tests that need them then SKIP.
set -euo pipefail
cd "$(dirname "$0")/.."

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  llvm-19-dev libzstd-dev clang-19 libclang-rt-19-dev
  antlr4 libantlr4-runtime-dev uuid-dev
  libeigen3-dev nlohmann-json3-dev libcli11-dev
  libonnx-dev libprotobuf-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # The Python package (python/, docs/python.md) and its tests.
  pybind11-dev python3-dev python3-numpy python3-pytest python3-matplotlib
  python3-setuptools python3-wheel python3-pip
  # Sweeps on a Dask cluster (docs/examples/dask_sweep.py, ctest scale.dask_sweep).
  python3-distributed
)
CROSSCHECK=${HANDWIRE_SKIP_CROSSCHECK:-0}
if [ "$CROSSCHECK" != 1 ]; then
  # Loaders the export tests compare against (tests/export, tests/onnx).
  PACKAGES+=(python3-torch python3-onnx)
  command -v node >/dev/null && command -v npm >/dev/null || PACKAGES+=(nodejs npm)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
else
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  echo "setup: packages done"
fi

# onnxruntime-node ships its CPU binaries inside the npm package; its
# postinstall would fetch a CUDA provider from elsewhere, hence the skip.
if [ "$CROSSCHECK" != 1 ] && [ ! -f tests/onnx/node_modules/onnxruntime-node/package.json ]; then
  echo "setup: installing onnxruntime-node into tests/onnx/node_modules"
  (cd tests/onnx && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "setup: onnxruntime-node done"
fi
