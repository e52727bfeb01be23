#!/usr/bin/env bash
# Loads handwire's exported models in other runtimes and checks that they make
# the same decisions as handwire's JIT on 1,000 generated inputs per model, for
# every model of every shipped spec (at a small N, to keep CI fast).
#   onnxruntime: `compile --emit onnx`, ONNX Runtime (onnxruntime-node)
#   torch:       `compile` (safetensors + JSON), PyTorch (torch_forward.py);
#                python3-onnx's full checker on every .onnx file
# plus nearest neighbour on the sphere at N = 64 (200 inputs), whose points are
# continuous inputs replayed from the decision file's sidecar. Every model is
# also exported with a batch axis and its weights in an external data file
# (`--onnx-batch --onnx-external-data`): onnxruntime replays those in batches
# of 64 inputs of one length, torch runs python3-onnx's full checker on them.
# Usage: crosscheck.sh HANDWIRE SOURCE_DIR onnxruntime|torch
# Exit 0: all decisions agree; 1: a mismatch or an error; 77: a tool is
# missing (CTest reports SKIP; scripts/setup.sh installs them).
set -uo pipefail
HW=$1
SRC=$2
CASE=$3
N=${HANDWIRE_CROSSCHECK_N:-16}
SAMPLES=1000
BATCH=64
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$SRC"

fail() { echo "FAIL: $*"; exit 1; }
skip() { echo "SKIP: $* (scripts/setup.sh installs it)"; exit 77; }

PY=/usr/bin/python3 # Debian's python: the one that sees python3-torch
case "$CASE" in
onnxruntime)
  command -v node >/dev/null || skip "node is not installed"
  (cd tests/onnx && node -e "require('onnxruntime-node')" >/dev/null 2>&1) ||
    skip "onnxruntime-node is not installed in tests/onnx/node_modules"
  ;;
torch)
  [ -x "$PY" ] && "$PY" -c "import torch" 2>/dev/null || skip "python3-torch is not installed"
  "$PY" -c "import onnx" 2>/dev/null || skip "python3-onnx is not installed"
  ;;
*) fail "unknown case '$CASE'" ;;
esac

# run CMD...: runs a command, prints its output, fails the test if it fails.
run() {
  "$@" >"$TMP/out" 2>&1
  local rc=$?
  cat "$TMP/out"
  [ "$rc" -eq 0 ] || fail "'$*' exited $rc"
}

# check LABEL SPEC [ARGS...]: export, record the JIT's decisions, replay them.
check() {
  local dir="$TMP/$1" spec=$2
  shift 2
  mkdir -p "$dir"
  if [ "$CASE" = torch ]; then
    run "$HW" compile "$spec" -N "$N" -o "$dir" "$@"
  fi
  run "$HW" compile "$spec" -N "$N" --emit onnx -o "$dir" "$@"
  run "$HW" compile "$spec" -N "$N" --emit onnx --onnx-batch --onnx-external-data -o "$dir/batch" "$@"
  # eval exits 3 when decisions are wrong (expected for uncertified models):
  # what must hold is that the other runtime makes the same decisions.
  "$HW" eval "$spec" -N "$N" -n "$SAMPLES" --backend jit \
    --write-decisions "$dir/decisions.txt" "$@" >"$TMP/out" 2>&1
  local rc=$?
  [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { cat "$TMP/out"; fail "eval of $spec exited $rc"; }
  local models
  models=$(grep -v '^#' "$dir/decisions.txt" | cut -d' ' -f1 | sort -u)
  [ -n "$models" ] || fail "no decisions written for $spec"
  local configs=() onnx=()
  for m in $models; do
    [ "$(grep -c "^$m " "$dir/decisions.txt")" -eq "$SAMPLES" ] || fail "$spec: $m: not $SAMPLES inputs"
    # Files are named TASK.MODEL after the spec's task kind.
    local base
    base=$(ls "$dir"/*."$m".onnx 2>/dev/null | head -n 1)
    base=${base%.onnx}
    [ -n "$base" ] && [ -f "$base.onnx" ] || fail "$spec: no TASK.$m.onnx written"
    local batched
    batched="$dir/batch/$(basename "$base").onnx"
    [ -f "$batched.data" ] || fail "$spec: no external data file $batched.data" # empty if every tensor < 1 KiB
    if [ "$CASE" = onnxruntime ]; then
      run node tests/onnx/replay.js "$base.onnx" "$dir/decisions.txt" "$m"
      run node tests/onnx/replay.js "$batched" "$dir/decisions.txt" "$m" --batch "$BATCH"
    fi
    configs+=("$base.json")
    onnx+=("$base.onnx" "$batched")
    ((checked++))
  done
  if [ "$CASE" = torch ]; then
    run "$PY" tests/export/torch_forward.py "$dir/decisions.txt" "${configs[@]}" --check-onnx "${onnx[@]}"
  fi
}

checked=0
start=$(date +%s)
for spec in specs/*.task; do
  check "$(basename "$spec" .task)" "$spec"
done
# A deeper model than its construction: identity layers (0 heads, no MLP) in the
# model file and no node for them in the ONNX graph.
check two_layers specs/index_lookup.task --model transformer -D model.transformer.layers=3
# expect_flip_reported DIR BASE SAME: flips the first recorded decision of the
# transformer in DIR/decisions.txt (into a copy, flipped.txt) and expects the
# replay of DIR/BASE.{onnx,json} to report it: SAME same decisions, 1 different
# (onnxruntime: also the batched DIR/batch/BASE.onnx).
expect_flip_reported() {
  local d=$1 base=$2 same=$3
  awk 'BEGIN { done = 0 } !/^#/ && $1 == "transformer" && !done { $2 = ($2 + 1) % 4; done = 1 } { print }' \
    "$d/decisions.txt" >"$d/flipped.txt"
  if [ "$CASE" = onnxruntime ]; then
    node tests/onnx/replay.js "$d/batch/$base.onnx" "$d/flipped.txt" transformer --batch "$BATCH" >"$TMP/out" 2>&1
    local rc=$?
    [ "$rc" -eq 1 ] && grep -q "$same same decisions, 1 different" "$TMP/out" ||
      { cat "$TMP/out"; fail "a flipped decision in $d was not reported by the batched replay (exit $rc)"; }
    node tests/onnx/replay.js "$d/$base.onnx" "$d/flipped.txt" transformer >"$TMP/out" 2>&1
  else
    "$PY" tests/export/torch_forward.py "$d/flipped.txt" "$d/$base.json" >"$TMP/out" 2>&1
  fi
  local rc=$?
  [ "$rc" -eq 1 ] && grep -q "$same same decisions, 1 different" "$TMP/out" ||
    { cat "$TMP/out"; fail "a flipped decision in $d was not reported (exit $rc)"; }
}
# The comparison itself must catch a difference.
expect_flip_reported "$TMP/index_lookup" index_lookup.transformer 999
# External data without the batch axis: the graph of one sequence, its weights
# in index_lookup.MODEL.onnx.data.
if [ "$CASE" = onnxruntime ]; then
  d=$TMP/index_lookup
  run "$HW" compile specs/index_lookup.task -N "$N" --emit onnx --onnx-external-data -o "$d/external"
  for m in transformer rnn; do
    [ -s "$d/external/index_lookup.$m.onnx.data" ] || fail "no external data file for $m"
    run node tests/onnx/replay.js "$d/external/index_lookup.$m.onnx" "$d/decisions.txt" "$m"
  done
fi

# Continuous inputs: the sphere's points reach the exported model only through
# the decision file's binary sidecar (FILE.features) and the graph's input
# `features` (PyTorch: embed.feature), so 0 mismatches means they were read.
N=64 SAMPLES=200 check sphere_n64 specs/nearest_neighbour_sphere.task
d=$TMP/sphere_n64
grep -q '^# features: F transformer=16; .*; sidecar: decisions.txt.features$' "$d/decisions.txt" ||
  fail "no '# features:' line naming the sidecar in $d/decisions.txt"
[ -s "$d/decisions.txt.features" ] || fail "no features sidecar next to $d/decisions.txt"
# The copy flipped.txt still finds the sidecar its '# features:' line names.
expect_flip_reported "$d" nearest_neighbour.transformer 199

# An uncertified Transformer (softmax scale 1) gets most answers wrong: the
# exported model must reproduce those wrong decisions too, input by input.
check uncertified specs/index_lookup.task --model transformer -D model.transformer.scale=1 --allow-uncertified
wrong=$(grep -v '^#' "$TMP/uncertified/decisions.txt" | awk '$2 != $3' | wc -l)
[ "$wrong" -gt 100 ] || fail "the uncertified model was expected to err often, erred $wrong times"
if [ "$CASE" = onnxruntime ]; then
  also="each also batched with external data, $BATCH inputs of one length per call"
else
  also="each also batched with external data, accepted by the full checker"
fi
echo "$checked models, $SAMPLES inputs each, N = $N (the sphere's at N = 64: 200, features from the sidecar);" \
  "$also: same decisions in $CASE ($(($(date +%s) - start)) s; the uncertified one errs on $wrong inputs, identically)"
