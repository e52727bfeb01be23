#!/usr/bin/env bash
# The main job: set up, build, then evaluate a spec (default specs/index_lookup.task).
# Extra arguments go to `handwire eval`, e.g. scripts/run.sh specs/index_lookup.task -N 65536 -n 200
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
echo "building handwire (first time: several minutes; log in build/build.log)..." >&2
if ! ./scripts/build.sh >build/build.log 2>&1; then
  tail -n 40 build/build.log >&2
  echo "build failed; full log in build/build.log" >&2
  exit 1
fi
if [ $# -eq 0 ]; then set -- specs/index_lookup.task; fi
./build/tools/handwire/handwire inspect --no-tensors "$1"
echo
exec ./build/tools/handwire/handwire eval "$@"
