#!/usr/bin/env bash
# Everything CI runs (.ci/run calls this): set up, build, run the whole test
# suite through CTest; then the unit tests and the hostile-input corpus under
# ASan + UBSan, and 45-second fuzz runs of the front end and of model files
# (docs/reliability.md), in the same sanitizer tree.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/build.sh
ctest --test-dir "${BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" --timeout 1200
# Under the sanitizers: every unit test and the emit goldens; the cli, export,
# stability and bench end-to-end tests (many processes of the same code,
# already run above) and the source-text checks are left to the Release pass to
# keep CI under 20 minutes.
./scripts/sanitize.sh -E '^(cli|export|stability|style|bench)\.'
./scripts/fuzz.sh 45
./scripts/fuzz_model.sh 45
