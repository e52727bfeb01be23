#!/usr/bin/env bash
# Everything CI runs (.ci/run calls this): set up, build, run the whole test
# suite through CTest; then the same suite under ASan + UBSan, and a one-minute
# fuzz run of the front end (docs/reliability.md).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 1200
./scripts/sanitize.sh
./scripts/fuzz.sh 60
