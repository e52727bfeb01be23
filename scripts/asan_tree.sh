#!/usr/bin/env bash
# Configures (once) and builds the sanitizer tree, build-asan/ (ASAN_BUILD_DIR):
# clang-19, ASan + UBSan, and the libFuzzer targets (HANDWIRE_FUZZ: coverage
# counters everywhere, libFuzzer's main only in the fuzz targets), so that
# scripts/sanitize.sh, fuzz.sh and fuzz_model.sh share one tree.
#
#   ./scripts/asan_tree.sh [TARGET...]     (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}

./scripts/setup.sh
if [ ! -f "$BUILD_DIR/build.ninja" ]; then
  # -gline-tables-only: file:line in reports at a fraction of -g's cost.
  cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_C_COMPILER=clang-19 -DCMAKE_CXX_COMPILER=clang++-19 \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
    -DCMAKE_C_FLAGS_RELWITHDEBINFO="-O2 -gline-tables-only -DNDEBUG" \
    -DHANDWIRE_SANITIZE=ON -DHANDWIRE_FUZZ=ON
elif ! grep -q '^HANDWIRE_FUZZ:BOOL=ON' "$BUILD_DIR/CMakeCache.txt"; then
  cmake "$BUILD_DIR" -DHANDWIRE_FUZZ=ON # a tree configured before the fuzz targets
fi
targets=()
for t in "$@"; do targets+=(--target "$t"); done
cmake --build "$BUILD_DIR" -j "${JOBS:-$(nproc)}" "${targets[@]}"
