#!/usr/bin/env bash
# Fuzzes the front end (parse + sema + construction selection) with libFuzzer,
# ASan and UBSan, for SECONDS seconds (default 60; the bar for a release is a
# 10-minute run: ./scripts/fuzz.sh 600).
#
#   ./scripts/fuzz.sh [SECONDS] [extra libFuzzer flags...]
#
# Builds its target in the sanitizer tree, build-asan/ (scripts/asan_tree.sh).
# The working corpus (build-asan/corpus) is seeded from specs/*.task and tests/golden/errors/*.task and kept between
# runs. Crashing inputs are written to build-asan/artifacts/; turn each into a
# golden error test (tests/golden/errors) or a unit test, then fix the bug.
# Exit status: 0 if the run ended without a finding, non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-${ASAN_BUILD_DIR:-build-asan}}

# HANDWIRE_FUZZ_BUILT=1: the caller built the tree (scripts/test.sh runs
# both fuzzers at once, which must not both run ninja in it).
if [ -z "${HANDWIRE_FUZZ_BUILT:-}" ]; then
  ASAN_BUILD_DIR=$BUILD_DIR ./scripts/asan_tree.sh handwire_fuzz_frontend
fi

mkdir -p "$BUILD_DIR/corpus" "$BUILD_DIR/artifacts"
cp -n specs/*.task tests/golden/errors/*.task "$BUILD_DIR/corpus/" 2>/dev/null || true

# -timeout: one input taking over 10 s is a hang. -rss_limit_mb: a spec must
# never make the front end allocate much (memory is refused before building).
# -max_len: the seeds are small except long_line.task (10 KB).
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$BUILD_DIR/tests/fuzz/handwire_fuzz_frontend" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
  -max_len=16384 -dict=tests/fuzz/task.dict \
  -artifact_prefix="$BUILD_DIR/artifacts/" -print_final_stats=1 \
  "$@" "$BUILD_DIR/corpus"
