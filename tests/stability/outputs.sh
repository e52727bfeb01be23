#!/usr/bin/env bash
# The outputs a refactoring must not change: for every shipped spec, the model
# files `compile` writes (safetensors + JSON, and ONNX), and the results of
# `eval --json` (every field but timings and the machine's thread count).
#
#   tests/stability/outputs.sh HANDWIRE OUT_DIR
#
# writes OUT_DIR/SHA256SUMS (one line per model file) and OUT_DIR/eval/*.json.
# tests/stability/expected/ holds what the code before the pipeline redesign
# wrote (recorded with this script; re-record only for an intended change, and
# say why in the commit), re-recorded since: 2026-12-07, when the two-layer
# equality, disjointness and nearest-neighbour specs moved to `code = ext_bch`
# (their Transformer files and certificates changed; nothing else); when
# provenance.result stopped citing internal labels (B24, T8, T9) and cites the
# paper and the result in words (every .json and .onnx; no .safetensors, no
# eval result); for issue #19, when index lookup's position code lost the
# index token's own codeword (N codewords, not N + 1); and when every
# selection head's scale became the smallest format number at which its
# rounding chain holds (every Transformer with a selection head: scales move
# by parts in 10^5 in fp32, more in 16 bits); and for issue #21, when configs
# gained vocabulary.tokens and .roles, input_layout and classes (every .json,
# nothing else); and on 2026-12-08, when the nearest-neighbour RNN's head
# gained a layer of distances (its three files and its eval certificate
# lines; nothing else). The ctest `stability.outputs` compares.
set -euo pipefail
HW=$1
OUT=$2
SRC=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$OUT"
mkdir -p "$OUT/models" "$OUT/eval"
cd "$SRC"
for spec in specs/*.task; do
  name=$(basename "$spec" .task)
  "$HW" compile "$spec" -o "$OUT/models/$name" >/dev/null
  "$HW" compile "$spec" --emit onnx -o "$OUT/models/$name" >/dev/null
  # 300 inputs per model: every construction, a few seconds in all.
  "$HW" eval "$spec" -n 300 -j 1 --json >"$OUT/eval/$name.raw.json" || true
  python3 - "$OUT/eval/$name.raw.json" "$OUT/eval/$name.json" <<'PY'
import json, sys
TIMING = ("seconds", "_ms", "per_second", "inputs_per_s", "jit_tables", "threads", "flops")
def strip(v):
    if isinstance(v, dict):
        return {k: strip(x) for k, x in v.items() if not any(t in k for t in TIMING)}
    if isinstance(v, list):
        return [strip(x) for x in v]
    return v
data = strip(json.load(open(sys.argv[1])))
json.dump(data, open(sys.argv[2], "w"), indent=1, sort_keys=True)
PY
  rm "$OUT/eval/$name.raw.json"
done
(cd "$OUT/models" && find . -type f | sort | xargs sha256sum) >"$OUT/SHA256SUMS"
# Recorded: the five first tasks' specs before the redesign (54ecd79), from
# the code of b9a36d8; specs/associative_recall.task when it was added.
