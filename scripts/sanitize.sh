#!/usr/bin/env bash
# Builds the whole project and test suite with AddressSanitizer +
# UndefinedBehaviorSanitizer (clang-19) in build-asan/ and runs CTest there.
# Any sanitizer report aborts the test that triggered it (-fno-sanitize-recover),
# so a green run means no report. Extra arguments go to ctest (e.g. -R codes).
#
# The build also has the libFuzzer targets (HANDWIRE_FUZZ: coverage counters
# everywhere), so scripts/fuzz.sh reuses it instead of building a third tree.
#
# Heavy tests run fewer inputs in this build (tests/unit/TestScale.h; instrumented
# code is 2-10x slower); every test still runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}

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
cmake --build "$BUILD_DIR" -j "$JOBS"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 1200 "$@"
