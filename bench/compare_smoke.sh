#!/usr/bin/env bash
# ctest bench.compare_smoke: bench/compare runs end to end on two small models
# and the three runtimes agree; with one recorded decision flipped, it must
# report every runtime as disagreeing and exit 1. Checks decisions, never
# times. Exit 77 (SKIP) when ONNX Runtime or PyTorch is missing.
# Usage: compare_smoke.sh BUILD_DIR OUT_DIR
set -uo pipefail
BUILD=$1
OUT=$2
CMP="$(dirname "$0")/compare"
ARGS=(--n 16 --samples 4 --reps 1 --timeout 200 --models index_lookup:transformer,index_lookup:rnn --build "$BUILD")

"$CMP" "${ARGS[@]}" --json "$OUT/compare_smoke.json" >"$OUT/compare_smoke.md"
rc=$?
cat "$OUT/compare_smoke.md"
[ "$rc" -eq 77 ] && exit 77
[ "$rc" -eq 0 ] || { echo "FAIL: bench/compare exited $rc"; exit 1; }
[ "$(grep -c '| agree, 4/4 right |' "$OUT/compare_smoke.md")" -eq 2 ] ||
  { echo "FAIL: expected two rows in agreement"; exit 1; }

"$CMP" "${ARGS[@]}" --flip-one --json "$OUT/compare_flipped.json" >"$OUT/compare_flipped.md"
rc=$?
[ "$rc" -eq 1 ] && [ "$(grep -c 'DISAGREE {"jit": 1, "onnxruntime": 1, "pytorch": 1}' "$OUT/compare_flipped.md")" -eq 2 ] ||
  { cat "$OUT/compare_flipped.md"; echo "FAIL: a flipped decision was not reported (exit $rc)"; exit 1; }
echo "bench/compare: 2 models agree in 3 runtimes; a flipped decision is caught"
