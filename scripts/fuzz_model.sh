#!/usr/bin/env bash
# Fuzzes compiled model files (JSON config + safetensors weights: reading,
# then what inspect and eval do with a model that loads) with libFuzzer, ASan
# and UBSan, for SECONDS seconds (default 60; the bar for a release is a
# 10-minute run: ./scripts/fuzz_model.sh 600). The target's custom mutator is
# structure-aware (tests/fuzz/FuzzModelFile.cpp).
#
#   ./scripts/fuzz_model.sh [SECONDS] [extra libFuzzer flags...]
#
# Builds its target in the sanitizer tree, build-asan/ (scripts/asan_tree.sh). The working
# corpus (build-asan/corpus-model) is seeded from tests/fuzz/corpus/model_file
# (tiny models; tests/fuzz/make_model_seeds.sh remakes them) and kept between
# runs. Crashing inputs are written to build-asan/artifacts-model/; turn each
# into a test (tests/unit/ModelFileValidationTest.cpp or
# tests/hostile/model_files), then fix the bug.
# Exit status: 0 if the run ended without a finding, non-zero otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_TO_RUN=${1:-60}
shift || true
BUILD_DIR=${FUZZ_BUILD_DIR:-${ASAN_BUILD_DIR:-build-asan}}

# HANDWIRE_FUZZ_BUILT=1: the caller built the tree (scripts/test.sh runs
# both fuzzers at once, which must not both run ninja in it).
if [ -z "${HANDWIRE_FUZZ_BUILT:-}" ]; then
  ASAN_BUILD_DIR=$BUILD_DIR ./scripts/asan_tree.sh handwire_fuzz_model_file
fi

mkdir -p "$BUILD_DIR/corpus-model" "$BUILD_DIR/artifacts-model"
cp -n tests/fuzz/corpus/model_file/* "$BUILD_DIR/corpus-model/" 2>/dev/null || true

# -timeout: one input taking over 10 s is a hang (the target evaluates only
# small models). -rss_limit_mb: a model file must never make the reader
# allocate beyond what its own bytes justify. -max_len: the seeds are up to
# 15 KB; room to grow.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
exec "$BUILD_DIR/tests/fuzz/handwire_fuzz_model_file" \
  -max_total_time="$SECONDS_TO_RUN" -timeout=10 -rss_limit_mb=2048 \
  -max_len=65536 -dict=tests/fuzz/model.dict \
  -artifact_prefix="$BUILD_DIR/artifacts-model/" -print_final_stats=1 \
  "$@" "$BUILD_DIR/corpus-model"
