#!/usr/bin/env bash
# Builds the whole project and test suite with AddressSanitizer +
# UndefinedBehaviorSanitizer (clang-19) in build-asan/ and runs CTest there.
# Any sanitizer report aborts the test that triggered it (-fno-sanitize-recover),
# so a green run means no report. Extra arguments go to ctest (e.g. -R codes).
#
# The tree (scripts/asan_tree.sh) also has the libFuzzer targets, so
# scripts/fuzz.sh and fuzz_model.sh reuse it instead of building a third one.
#
# Heavy tests run fewer inputs in this build (tests/unit/TestScale.h; instrumented
# code is 2-10x slower); every test still runs.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${ASAN_BUILD_DIR:-build-asan}
JOBS=${JOBS:-$(nproc)}
export ASAN_BUILD_DIR=$BUILD_DIR

./scripts/asan_tree.sh

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:check_initialization_order=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" --timeout 1200 "$@"
