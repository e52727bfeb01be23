#!/usr/bin/env bash
# End-to-end checks of the handwire command line: exit codes and the lines a
# user reads. Usage: cli_test.sh HANDWIRE SOURCE_DIR CASE
set -uo pipefail
HW=$1
SRC=$2
CASE=$3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$SRC"

fail() { echo "FAIL: $*"; exit 1; }
# expect CODE PATTERN -- command...: runs the command, checks exit code and output.
expect() {
  local code=$1 pattern=$2
  shift 3
  "$@" >"$TMP/out" 2>&1
  local rc=$?
  [ "$rc" -eq "$code" ] || { cat "$TMP/out"; fail "'$*' exited $rc, expected $code"; }
  grep -qE -- "$pattern" "$TMP/out" || { cat "$TMP/out"; fail "'$*' output lacks /$pattern/"; }
}

case "$CASE" in
eval_default_spec)
  expect 0 "eval jit +2000 inputs \(1000 adversarial\): 2000 correct, 0 mismatches" -- \
    "$HW" eval specs/index_lookup.task -n 2000 --model transformer
  expect 0 "backends     0 disagreements, max logit difference .*: agree" -- \
    "$HW" eval specs/index_lookup.task -n 300 --backend both
  expect 0 "jit          compiled in" -- "$HW" eval specs/bounded_dyck.task -n 500
  expect 0 "all models exact" -- "$HW" eval specs/index_lookup.task -n 300
  ;;
eval_large_n_transformer)
  expect 0 "300 correct, 0 mismatches" -- \
    "$HW" eval specs/index_lookup.task -N 65536 -n 300 --model transformer
  ;;
compile_then_eval_model_file)
  expect 0 "wrote $TMP/index_lookup.transformer.safetensors" -- \
    "$HW" compile specs/index_lookup.task -N 64 -o "$TMP"
  [ -f "$TMP/index_lookup.rnn.json" ] || fail "no rnn config written"
  expect 0 "0 mismatches" -- "$HW" eval "$TMP/index_lookup.rnn.json" -n 500
  expect 0 "state bits +14336 at 32-bit precision" -- "$HW" inspect "$TMP/index_lookup.rnn.json"
  ;;
inspect_reports_bounds)
  expect 0 "lower bound  state bits >= N log2\|alphabet\| = 2048 bits" -- \
    "$HW" inspect specs/index_lookup.task
  expect 0 "verdict      respects bound \(229376 >= 2048" -- "$HW" inspect specs/index_lookup.task
  expect 0 "\"respects_bound\": true" -- "$HW" inspect specs/index_lookup.task --json -N 128
  ;;
uncertified_scale_is_refused)
  # The override came from the command line, so that is where the error points.
  expect 1 "<command line>:1:25: error: model 'transformer' cannot be certified: layers.0.heads.0: softmax scale 1 is below" -- \
    "$HW" compile specs/index_lookup.task -D model.transformer.scale=1 -o "$TMP"
  printf 'task index_lookup {\n  alphabet = [a, b];\n  max_length = 64;\n}\nmodel transformer {\n  scale = 1;\n}\n' >"$TMP/s.task"
  expect 1 "s.task:6:11: error: model 'transformer' cannot be certified" -- "$HW" compile "$TMP/s.task" -o "$TMP"
  expect 3 "MISMATCHES FOUND" -- "$HW" eval specs/index_lookup.task -D model.transformer.scale=1 \
    --allow-uncertified --model transformer --inputs adversarial -n 200
  ;;
bad_inputs_exit_nonzero)
  printf 'task index_lookup {\n  alphabet = [a, b];\n  max_length = 1;\n}\nmodel rnn {}\n' >"$TMP/bad.task"
  expect 1 "bad.task:3:16: error: .*max_length" -- "$HW" eval "$TMP/bad.task"
  expect 1 "cannot open" -- "$HW" eval "$TMP/missing.task"
  expect 1 "no model named 'nope'" -- "$HW" eval specs/index_lookup.task --model nope
  expect 1 "memory-limit" -- "$HW" compile specs/index_lookup.task -N 1000000 --memory-limit 64M -o "$TMP"
  printf 'garbage' >"$TMP/x.json"
  expect 1 "not valid JSON" -- "$HW" inspect "$TMP/x.json"
  expect 1 "cannot create output directory|cannot write" -- \
    "$HW" compile specs/index_lookup.task -N 16 -o /proc/forbidden
  ;;
emit_code)
  expect 0 "define void @hw_forward" -- \
    "$HW" compile specs/index_lookup.task -N 64 --model transformer --emit=llvm
  expect 0 "vfmadd|vmulps|vaddps" -- \
    "$HW" compile specs/index_lookup.task -N 64 --model transformer --emit=asm
  ;;
threads_do_not_change_output)
  # -j sets the threads that measure the code's coherence: same bytes anyway.
  for j in 1 2 3; do
    expect 0 "wrote" -- "$HW" compile specs/string_equality.task -N 200 -j $j -o "$TMP/j$j"
  done
  for j in 2 3; do
    for f in "$TMP"/j1/*; do
      cmp "$f" "$TMP/j$j/$(basename "$f")" || fail "-j $j changed $(basename "$f")"
    done
  done
  [ "$(ls "$TMP/j1" | wc -l)" -eq 6 ] || fail "too few model files written"
  ;;
ctrl_c_stops_eval)
  # SIGINT mid-run: eval stops cleanly, reports what ran, exits 130.
  "$HW" eval specs/index_lookup.task --model rnn -n 100000000 -j 1 >"$TMP/out" 2>&1 &
  pid=$!
  sleep 2 # (a SIGINT before the handler is installed would also give 130,
          #  but no "interrupted after" line)
  kill -INT $pid
  status=0; wait $pid || status=$?
  [ "$status" -eq 130 ] || { cat "$TMP/out"; fail "exit $status after SIGINT, want 130"; }
  grep -q "interrupted after [0-9]* inputs" "$TMP/out" || { cat "$TMP/out"; fail "no interruption report"; }
  ;;
help)
  for cmd in compile eval inspect; do
    expect 0 "Usage" -- "$HW" $cmd --help
  done
  expect 0 "compile" -- "$HW" --help
  ;;
*) fail "unknown case $CASE" ;;
esac
echo "PASS: $CASE"
