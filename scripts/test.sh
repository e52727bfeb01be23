#!/usr/bin/env bash
# Everything CI runs (.ci/run calls this): set up, build, run the whole test
# suite through CTest; then the unit tests and the hostile-input corpus under
# ASan + UBSan, and 45-second fuzz runs of the front end and of model files
# (docs/reliability.md), in the same sanitizer tree.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each phase's wall time goes to the log, to see where CI's time goes.
phase() { echo "== $1 done at ${SECONDS} s"; }
./scripts/build.sh
phase "Release build"
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 1200
phase "Release suite"
# Under the sanitizers: every unit test (loops over many random models run a
# third of them: tests/unit/TestScale.h), the hostile inputs and the emit
# goldens; the cli, export, stability, scale and bench end-to-end tests (many
# processes of the same code, already run above) and the source-text checks
# are left to the Release pass to keep CI under 20 minutes.
./scripts/asan_tree.sh
phase "sanitizer build"
./scripts/sanitize.sh -E '^(cli|export|stability|style|bench|scale)\.'
phase "sanitizer suite"
# The two fuzz runs at once, one core each (libFuzzer runs one thread), in
# the tree built above; each one's output goes to its log, shown at the end
# (all of it if it found something).
asan=${ASAN_BUILD_DIR:-build-asan}
export HANDWIRE_FUZZ_BUILT=1
./scripts/fuzz.sh 45 >"$asan/fuzz-frontend.log" 2>&1 &
frontend=$!
./scripts/fuzz_model.sh 45 >"$asan/fuzz-model.log" 2>&1 &
model=$!
failed=0
for run in "frontend $frontend" "model $model"; do
  set -- $run
  if wait "$2"; then
    echo "== fuzz $1: no finding"
    tail -n 12 "$asan/fuzz-$1.log"
  else
    echo "== fuzz $1: FAILED"
    cat "$asan/fuzz-$1.log"
    failed=1
  fi
done
phase "fuzz runs"
exit "$failed"
