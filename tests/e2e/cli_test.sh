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

# CSV look-ups (RFC 4180 quoting; plain awk, no gawk extension).
CSVAWK='function split_csv(line, f,   n, i, c, field, q) {
  n = 0; field = ""; q = 0
  for (i = 1; i <= length(line); i++) {
    c = substr(line, i, 1)
    if (q) {
      if (c == "\"") { if (substr(line, i + 1, 1) == "\"") { field = field c; i++ } else q = 0 }
      else field = field c
    } else if (c == "\"") q = 1
    else if (c == ",") { f[++n] = field; field = "" }
    else field = field c
  }
  f[++n] = field
  return n
}'
# col CSV NAME: the column number of NAME in the CSV's header (empty if absent).
col() {
  awk -v name="$2" "$CSVAWK"'
    NR == 1 { n = split_csv($0, f); for (i = 1; i <= n; i++) if (f[i] == name) print i; exit }' "$1"
}
# cell CSV MODEL N NAME: the value of column NAME in the row of MODEL at N.
cell() {
  awk -v m="$(col "$1" model)" -v n="$(col "$1" N)" -v c="$(col "$1" "$4")" \
    -v model="$2" -v N="$3" "$CSVAWK"'
    NR > 1 { split_csv($0, f); if (f[m] == model && f[n] == N) print f[c] }' "$1"
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
  expect 0 "state bits +10240 at 32-bit precision" -- "$HW" inspect "$TMP/index_lookup.rnn.json"
  # Every task's model files carry their task: Dyck-(3,2) and nearest
  # neighbour with d = 5 are evaluated from the files alone.
  expect 0 "wrote" -- "$HW" compile specs/bounded_dyck.task -N 12 -D task.brackets=3 -o "$TMP"
  for m in rnn hewitt transformer; do
    expect 0 "500 correct, 0 mismatches" -- "$HW" eval "$TMP/bounded_dyck.$m.json" -n 500
  done
  expect 0 "wrote" -- "$HW" compile specs/nearest_neighbour.task -N 12 -D task.dimension=5 -o "$TMP"
  for m in rnn transformer; do
    expect 0 "500 correct, 0 mismatches" -- "$HW" eval "$TMP/nearest_neighbour.$m.json" -n 500
  done
  ;;
rnn_head_model_file)
  # Give the index-lookup RNN a read-out head by hand (the nearest-neighbour
  # RNN has its own), z = relu(2 h - 1), which is h again on its 0/1 states, and run
  # it through every consumer: the same decisions and margins as without it.
  expect 0 "wrote" -- "$HW" compile specs/index_lookup.task -N 16 --model rnn -o "$TMP"
  /usr/bin/python3 - "$TMP/index_lookup.rnn.json" <<'PY' || fail "could not add a head"
import json, struct, sys
cfg_path = sys.argv[1]
cfg = json.load(open(cfg_path))
st = cfg_path[:-len(".json")] + ".safetensors"
raw = open(st, "rb").read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
meta = header.pop("__metadata__", None)
data = {k: raw[8 + n + v["data_offsets"][0]:8 + n + v["data_offsets"][1]] for k, v in header.items()}
H = cfg["width"]
# 2I in CSR, like rnn.recurrent: row r holds column r.
data["rnn.head.0.weight.row_offsets"] = struct.pack(f"<{H + 1}i", *range(H + 1))
data["rnn.head.0.weight.columns"] = struct.pack(f"<{H}i", *range(H))
data["rnn.head.0.weight.values"] = struct.pack(f"<{H}f", *[2.0] * H)
data["rnn.head.0.bias"] = struct.pack(f"<{H}f", *[-1.0] * H)
header["rnn.head.0.weight.row_offsets"] = {"dtype": "I32", "shape": [H + 1]}
header["rnn.head.0.weight.columns"] = {"dtype": "I32", "shape": [H]}
header["rnn.head.0.weight.values"] = {"dtype": "F32", "shape": [H]}
header["rnn.head.0.bias"] = {"dtype": "F32", "shape": [H]}
off, out = 0, {}
for k in sorted(data):
    out[k] = dict(header[k], data_offsets=[off, off + len(data[k])])
    off += len(data[k])
if meta:
    out["__metadata__"] = meta
h = json.dumps(out).encode()
h += b" " * (-len(h) % 8)
open(st, "wb").write(struct.pack("<Q", len(h)) + h + b"".join(data[k] for k in sorted(data)))
cfg["head_layers"] = 1
json.dump(cfg, open(cfg_path, "w"), indent=2)
PY
  M="$TMP/index_lookup.rnn.json"
  expect 0 "model rnn: Elman RNN, 80 hidden units, read-out head 80 ReLU" -- "$HW" inspect "$M"
  expect 0 "rnn.head.0.weight.values +F32  \[80\]" -- "$HW" inspect "$M"
  expect 0 "backends     0 disagreements, max logit difference 0 \(tolerance" -- \
    "$HW" eval "$M" -n 500 --backend both
  expect 0 "eval jit .* 0 mismatches, accuracy 100%, min margin 1," -- "$HW" eval "$M" -n 500
  # bf16: the JIT's native pass (head pre-activations rounded too) and the emulated one agree.
  expect 0 "eval jit-bf16 +300 inputs .*0 mismatches" -- "$HW" eval "$M" -n 300 --precision bf16
  expect 0 "backends     0 disagreements, max logit difference .*: agree" -- \
    "$HW" eval "$M" -n 300 --precision bf16 --backend both
  expect 0 "wrote" -- "$HW" compile "$M" --emit onnx -o "$TMP/onnx"
  ;;
inspect_reports_bounds)
  expect 0 "lower bound  state bits >= N log2\|alphabet\| = 2048 bits" -- \
    "$HW" inspect specs/index_lookup.task
  expect 0 "verdict      respects bound \(163840 >= 2048" -- "$HW" inspect specs/index_lookup.task
  expect 0 "\"respects_bound\": true" -- "$HW" inspect specs/index_lookup.task --json -N 128
  # A second layer is an identity layer after the one-layer construction, counted.
  expect 0 "2-layer transformer \(1 identity layer: no head, no MLP, 0 parameters\)" -- \
    "$HW" inspect specs/index_lookup.task -D model.transformer.layers=2 --no-tensors
  expect 0 "sizes        layers 2 \(1 identity\), heads 1" -- \
    "$HW" inspect specs/index_lookup.task -D model.transformer.layers=2 --no-tensors
  expect 0 "eval jit +300 inputs .*0 mismatches" -- \
    "$HW" eval specs/index_lookup.task -D model.transformer.layers=2 --model transformer -n 300
  ;;
codes_and_precision)
  # code = auto picks a certified algebraic code far narrower than Rademacher; 2^16
  # positions are 2^16 codewords (the index token's own position needs none), 32 dims.
  expect 0 "code         ext_bch \(m = 5, designed distance 7: \[32, 16\]\), 65536 vectors in 32 dims, chosen by code = auto" -- \
    "$HW" inspect specs/certified_codes.task -D task.max_length=65536 --no-tensors
  # Next to it, the one-sided lower limit (Levenshtein's LP bound, docs/codes.md).
  expect 0 "Levenshtein LP: any 65536 vectors with one-sided max inner product <= 0.5 need >= 22 dims; certified width is 1.5x that" -- \
    "$HW" inspect specs/certified_codes.task -D task.max_length=65536 --no-tensors
  # Model files from before the bound's name still load, with the old two-sided line.
  expect 0 "wrote $TMP/index_lookup.transformer.json" -- "$HW" compile specs/certified_codes.task -N 64 -o "$TMP"
  grep -v '"lower_limit_bound"' "$TMP/index_lookup.transformer.json" > "$TMP/old.json"
  expect 0 "Welch/Levenshtein: any 64 vectors with two-sided coherence <= 0.5 need >= 6 dims" -- \
    "$HW" inspect "$TMP/old.json" --no-tensors
  # 2^16 positions at gap 3/4: the extended BCH [64, 16, 24] code, 13x narrower.
  expect 0 "widths per family: ext_bch 64 dual_bch 128 binary - kerdock 1024 random_linear [0-9]+ rademacher 858" -- \
    "$HW" inspect specs/certified_codes.task -D task.max_length=65536 -D model.transformer.coherence=0.25 --no-tensors
  # At coherence 1/8, 2048 positions: the whole Kerdock code K(6), half of Gold's width.
  expect 0 "code         kerdock \(m = 6: 32 of 32 cosets of RM\(1, 6\)\), 2048 vectors in 64 dims, chosen by code = auto" -- \
    "$HW" inspect specs/certified_codes.task -N 2048 -D model.transformer.coherence=0.125 --no-tensors
  expect 0 "eval jit-bf16 +300 inputs .*0 mismatches" -- \
    "$HW" eval specs/certified_codes.task -N 2048 -D model.transformer.code=kerdock -D model.transformer.coherence=0.125 -n 300 --backend jit
  # The model file keeps the Kerdock certificate, and runs from it.
  expect 0 "wrote $TMP/index_lookup.transformer.json" -- \
    "$HW" compile specs/certified_codes.task -N 2048 -D model.transformer.code=kerdock -D model.transformer.coherence=0.125 -o "$TMP"
  grep -q '"family": "kerdock"' "$TMP/index_lookup.transformer.json" || fail "model file lacks the kerdock family"
  expect 0 "0 mismatches" -- "$HW" eval "$TMP/index_lookup.transformer.json" -n 300
  expect 0 "precision    f32 exact; f16 exact; bf16 exact" -- "$HW" inspect specs/certified_codes.task --no-tensors
  # The spec's bf16 model runs in bf16: natively in the JIT (the default), emulated exactly by
  # the reference evaluator, and the two agree.
  expect 0 "eval jit-bf16 +300 inputs .*0 mismatches" -- "$HW" eval specs/certified_codes.task -n 300
  expect 0 "eval reference-bf16 +300 inputs .*0 mismatches" -- \
    "$HW" eval specs/certified_codes.task -n 300 --backend reference
  expect 0 "eval jit-f16 +200 inputs .*0 mismatches" -- "$HW" eval specs/string_equality.task -N 64 -n 200 --precision f16
  expect 0 "backends     0 disagreements, max logit difference .*: agree" -- \
    "$HW" eval specs/index_lookup.task -N 256 -n 300 --precision bf16 --backend both
  grep -c ": agree" "$TMP/out" | grep -qx 2 || { cat "$TMP/out"; fail "both models must agree in bf16"; }
  # A scale beyond f16's range: refused for f16 with the reason, and really wrong there.
  expect 2 "error: model 'transformer' cannot be certified: not exact in f16: weight 70000 in layers.0.heads.0.query overflows f16" -- \
    "$HW" inspect specs/certified_codes.task -D model.transformer.scale=70000 -D model.transformer.precision=f16
  expect 3 "MISMATCHES FOUND" -- "$HW" eval specs/certified_codes.task -D model.transformer.scale=70000 -n 100 --precision f16
  expect 3 "eval reference-f16 .* [1-9][0-9]* mismatches" -- \
    "$HW" eval specs/certified_codes.task -D model.transformer.scale=70000 -n 100 --precision f16 --backend both
  grep -qE "eval jit-f16 .* [1-9][0-9]* mismatches" "$TMP/out" || { cat "$TMP/out"; fail "jit-f16 must mismatch too"; }
  expect 1 "code = binary cannot be used here: .*raise coherence to at least 0.8" -- \
    "$HW" inspect specs/certified_codes.task -D model.transformer.code=binary
  ;;
uncertified_scale_is_refused)
  # The override came from the command line, so that is where the error points.
  expect 2 "<command line>:1:25: error: model 'transformer' cannot be certified: layers.0.heads.0: softmax scale 1 is below" -- \
    "$HW" compile specs/index_lookup.task -D model.transformer.scale=1 -o "$TMP"
  printf 'task index_lookup {\n  alphabet = [a, b];\n  max_length = 64;\n}\nmodel transformer {\n  scale = 1;\n}\n' >"$TMP/s.task"
  expect 2 "s.task:6:11: error: model 'transformer' cannot be certified" -- "$HW" compile "$TMP/s.task" -o "$TMP"
  expect 3 "MISMATCHES FOUND" -- "$HW" eval specs/index_lookup.task -D model.transformer.scale=1 \
    --allow-uncertified --model transformer --inputs adversarial -n 200
  ;;
bad_inputs_exit_nonzero)
  printf 'task index_lookup {\n  alphabet = [a, b];\n  max_length = 1;\n}\nmodel rnn {}\n' >"$TMP/bad.task"
  expect 1 "bad.task:3:16: error: .*max_length" -- "$HW" eval "$TMP/bad.task"
  expect 1 "cannot open" -- "$HW" eval "$TMP/missing.task"
  expect 1 "no model named 'nope'" -- "$HW" eval specs/index_lookup.task --model nope
  expect 1 "memory-limit" -- "$HW" compile specs/index_lookup.task -N 1000000 --memory-limit 64M -o "$TMP"
  # A sparse model whose JIT plan would expand it dense past 8 GiB (16-bit plans do).
  expect 1 "the JIT's 16-bit and multi-layer plans run .* 384 GiB dense .*--backend reference" -- \
    "$HW" eval specs/string_equality.task -N 65536 -m one_layer --precision bf16 -n 1
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
  # A 16-bit model rounds with the host's conversions (F16C; AVX512-BF16 where present).
  expect 0 "vcvtps2ph" -- "$HW" compile specs/certified_codes.task -N 64 -D model.transformer.precision=f16 --emit=asm
  if grep -q avx512_bf16 /proc/cpuinfo; then
    expect 0 "vcvtneps2bf16" -- "$HW" compile specs/certified_codes.task -N 64 --emit=asm
  fi
  ;;
emit_onnx_and_write_decisions)
  expect 0 "wrote $TMP/bounded_dyck.rnn.onnx \(ONNX opset 13, checked\)" -- \
    "$HW" compile specs/bounded_dyck.task -N 16 --emit onnx -o "$TMP"
  [ -s "$TMP/bounded_dyck.rnn.onnx" ] || fail "no .onnx written"
  expect 0 "\"opset\": 13" -- "$HW" compile specs/index_lookup.task -N 16 --emit onnx -o "$TMP" --json
  [ -s "$TMP/index_lookup.transformer.onnx" ] && [ -s "$TMP/index_lookup.rnn.onnx" ] || fail "index_lookup .onnx missing"
  # 11.6 MiB of weights: the model fits in 16M, its ONNX export (held twice) does not.
  expect 1 "cannot export model 'transformer' to ONNX: its weights need .* bytes\), held twice .* above --memory-limit" -- \
    "$HW" compile specs/index_lookup.task -N 4096 --model transformer --emit onnx --memory-limit 16M -o "$TMP"
  # With external data the weights are streamed to the data file, held once: 16M suffices.
  expect 0 "wrote $TMP/ext/index_lookup.transformer.onnx.data \(its external data\)" -- \
    "$HW" compile specs/index_lookup.task -N 4096 --model transformer --emit onnx --memory-limit 16M \
    --onnx-external-data -o "$TMP/ext"
  [ "$(stat -c %s "$TMP/ext/index_lookup.transformer.onnx")" -lt 65536 ] || fail "weights left inside the .onnx"
  [ "$(stat -c %s "$TMP/ext/index_lookup.transformer.onnx.data")" -gt 10000000 ] || fail "external data file too small"
  ls -a "$TMP/ext" | grep -q staging && fail "staging directory left behind"
  expect 0 "\"external_data\": \"$TMP/batch/index_lookup.rnn.onnx.data\"" -- \
    "$HW" compile specs/index_lookup.task -N 16 --emit onnx --onnx-batch --onnx-external-data --json -o "$TMP/batch"
  expect 0 "wrote $TMP/batch/bounded_dyck.rnn.onnx \(ONNX opset 13, batch axis, checked\)" -- \
    "$HW" compile specs/bounded_dyck.task -N 16 --emit onnx --onnx-batch -o "$TMP/batch"
  [ -e "$TMP/batch/bounded_dyck.rnn.onnx.data" ] && fail "external data written without being asked for"
  expect 1 "--onnx-batch and --onnx-external-data need --emit onnx" -- \
    "$HW" compile specs/bounded_dyck.task -N 16 --onnx-batch -o "$TMP/batch"
  expect 0 "0 mismatches" -- "$HW" eval specs/index_lookup.task -N 16 -n 50 --write-decisions "$TMP/d.txt"
  [ "$(grep -c '^transformer ' "$TMP/d.txt")" -eq 50 ] || fail "not 50 transformer lines"
  [ "$(grep -c '^rnn ' "$TMP/d.txt")" -eq 50 ] || fail "not 50 rnn lines"
  # MODEL DECISION EXPECTED TOKEN...: a correct model's decision is the expected one.
  awk '!/^#/ && $2 != $3 { bad = 1 } END { exit bad }' "$TMP/d.txt" || fail "decision != expected"
  expect 1 "cannot write '/proc/forbidden/d.txt'" -- \
    "$HW" eval specs/index_lookup.task -N 16 -n 5 --write-decisions /proc/forbidden/d.txt
  ;;
nearest_neighbour)
  # d = 8 keeps the point table small (256 tokens); margin 0.25 = Hamming 1.
  NN=(-N 64 -D task.dimension=8 -D task.margin=0.25)
  expect 0 "backends     0 disagreements, max logit difference .*: agree" -- \
    "$HW" eval specs/nearest_neighbour.task "${NN[@]}" -n 300 --backend both
  expect 0 "300 correct, 0 mismatches" -- \
    "$HW" eval specs/nearest_neighbour.task "${NN[@]}" -n 300
  expect 0 "lower bound  none" -- "$HW" inspect specs/nearest_neighbour.task "${NN[@]}" --no-tensors
  expect 0 "construction nearest_neighbour/transformer-2layer" -- \
    "$HW" inspect specs/nearest_neighbour.task "${NN[@]}" --no-tensors
  expect 0 "construction nearest_neighbour/rnn-memory" -- \
    "$HW" inspect specs/nearest_neighbour.task "${NN[@]}" -m rnn --no-tensors
  expect 0 "verdict      respects bound" -- \
    "$HW" inspect specs/nearest_neighbour.task "${NN[@]}" -m rnn --no-tensors
  expect 0 "wrote" -- "$HW" compile specs/nearest_neighbour.task "${NN[@]}" -o "$TMP"
  [ -s "$TMP/nearest_neighbour.transformer.safetensors" ] || fail "no .safetensors written"
  expect 0 "ONNX opset 13, checked" -- \
    "$HW" compile specs/nearest_neighbour.task "${NN[@]}" --emit onnx -o "$TMP"
  [ -s "$TMP/nearest_neighbour.transformer.onnx" ] && [ -s "$TMP/nearest_neighbour.rnn.onnx" ] ||
    fail "no .onnx written"
  expect 1 "<command line>:1:13: error: 'margin' must be at most 2" -- \
    "$HW" eval specs/nearest_neighbour.task -D task.margin=2.5
  expect 1 "<command line>:2:13: error: margin 0.25 .* within the rounding of its scores in bf16" -- \
    "$HW" eval specs/nearest_neighbour.task "${NN[@]}" -D model.precision=bf16
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
  for cmd in bound compile eval inspect merge sweep; do
    expect 0 "Usage" -- "$HW" $cmd --help
  done
  expect 0 "compile" -- "$HW" --help
  ;;
report_labels)
  # Reports cite results the way a reader finds them (the paper and the result
  # in words): no label /work/shared/theory does not have, i.e. no internal ID
  # such as "B24" or "T9", and "Theorem" only as index lookup's Theorem 1.
  # Every shipped spec, text and JSON, inspect and bound.
  : >"$TMP/labels.txt"
  for spec in specs/*.task; do
    "$HW" inspect "$spec" --no-tensors >>"$TMP/labels.txt" 2>&1 || fail "inspect $spec"
    "$HW" inspect "$spec" --no-tensors --json >>"$TMP/labels.txt" 2>&1 || fail "inspect --json $spec"
  done
  "$HW" bound specs/*.task --state "lstm hidden=512" >>"$TMP/labels.txt" 2>&1 || fail "bound"
  "$HW" bound specs/*.task --state "lstm hidden=512" --json >>"$TMP/labels.txt" 2>&1 || fail "bound --json"
  if grep -nE '(^|[^A-Za-z0-9_])(B24|T[0-9]+|Thm)([^A-Za-z0-9_]|$)' "$TMP/labels.txt"; then
    fail "a report cites an internal label (above)"
  fi
  if grep -nE 'Theorem ([02-9]|1[0-9])' "$TMP/labels.txt"; then
    fail "a report cites a theorem number other than index lookup's Theorem 1"
  fi
  grep -q "Bhattamishra et al. 2024, Theorem 1: one-layer Transformer for index lookup" "$TMP/labels.txt" ||
    fail "index lookup's Transformer does not cite Theorem 1"
  # Every lower bound says its kind and precision assumption.
  expect 0 "state-size bound on an RNN's m p" -- "$HW" inspect specs/index_lookup.task --no-tensors
  expect 0 "precision: p bits per state unit .*evaluated at p = 32" -- \
    "$HW" inspect specs/index_lookup.task --no-tensors
  expect 0 "\"bound_kind\": \"cut\"" -- "$HW" inspect specs/string_equality.task --no-tensors --json
  # RNN state two ways: stored and information bits, each against the bound.
  expect 0 "information: 5120 bits, 2.5x the bound: 5120 units x 1 bit" -- \
    "$HW" inspect specs/index_lookup.task --no-tensors -m rnn
  expect 0 "\"information_bits\": 5120" -- "$HW" inspect specs/index_lookup.task --json -m rnn
  ;;
bound)
  # An LSTM with 512 units at 16 bits: 1024 numbers (h and c), S = 16384.
  expect 0 "S       units x bits = 1024 x 16 = 16384 state bits" -- \
    "$HW" bound specs/index_lookup.task --state "lstm hidden=512 bits=16"
  expect 0 "=> largest N = 8192 \(the spec's N = 1024 is within it\)" -- \
    "$HW" bound specs/index_lookup.task --state "lstm hidden=512 bits=16"
  expect 0 "N_max   floor\(16384 / 2\) = 8192" -- \
    "$HW" bound specs/index_lookup.task --state "lstm hidden=512 bits=16"
  expect 0 "=> any N" -- "$HW" bound specs/bounded_dyck.task --state "gru hidden=4"
  expect 0 "=> largest N = 16384" -- \
    "$HW" bound specs/string_equality.task --state "lstm hidden=512 bits=16"
  expect 0 '"max_length": 8192' -- \
    "$HW" bound specs/index_lookup.task --state "lstm hidden=512" --json
  expect 0 "units   layers x expand x d_model x \(d_state \+ d_conv - 1\) = 24 x 2 x 768 x \(16 \+ 4 - 1\) = 700416" -- \
    "$HW" bound specs/index_lookup.task --state "mamba d_model=768 d_state=16 layers=24 bits=16"
  # Every shipped spec at once.
  "$HW" bound specs/*.task --state "lstm hidden=512 layers=2" >"$TMP/all" 2>&1 || { cat "$TMP/all"; fail "bound specs/*.task"; }
  [ "$(grep -c '^  => ' "$TMP/all")" -eq "$(ls specs/*.task | wc -l)" ] || { cat "$TMP/all"; fail "one result per spec"; }
  # Malformed states: exit 1, naming the key, the family and its keys.
  expect 1 "unknown key 'hiden' for lstm; its keys are hidden \(required\), layers \(default 1\), bits \(default 16\)" -- \
    "$HW" bound specs/index_lookup.task --state "lstm hiden=512"
  expect 1 "unknown family 'transformer'" -- "$HW" bound specs/index_lookup.task --state "transformer width=4"
  expect 1 "lstm needs hidden=" -- "$HW" bound specs/index_lookup.task --state "lstm layers=2"
  expect 1 "hidden=-3 for gru: must be an integer" -- "$HW" bound specs/index_lookup.task --state "gru hidden=-3"
  expect 1 "state.*required" -- "$HW" bound specs/index_lookup.task
  expect 1 "is a model file" -- "$HW" bound x.json --state "gru hidden=4"
  ;;
sweep_index_lookup)
  # A small sweep: every point exact, Transformer width ~ log N, RNN state ~ N.
  "$HW" sweep specs/index_lookup.task --from 16 --to 256 -n 200 -o "$TMP/il" \
    >"$TMP/out" 2>"$TMP/err"
  rc=$?
  [ "$rc" -eq 0 ] || { cat "$TMP/out" "$TMP/err"; fail "sweep exited $rc"; }
  grep -q "10 of 10 points" "$TMP/out" || { cat "$TMP/out"; fail "summary line"; }
  # Piped: no progress bar on stderr.
  ! grep -q $'\r' "$TMP/err" || fail "progress bar written to a pipe"
  CSV=$TMP/il.csv
  [ "$(wc -l <"$CSV")" -eq 11 ] || { cat "$CSV"; fail "expected 10 rows"; }
  for c in model N status width parameters size_bits plot_bits bound_bits accuracy \
    mismatches; do
    [ -n "$(col "$CSV" "$c")" ] || fail "no column $c"
  done
  # Wall-clock measurements go to their own file (the CSV is deterministic).
  for c in model N threads compile_ms eval_seconds inputs_per_second; do
    [ -n "$(col "$TMP/il.timings.csv" "$c")" ] || fail "no column $c in the timings"
  done
  [ -z "$(col "$CSV" compile_ms)" ] || fail "timings in the results CSV"
  [ "$(wc -l <"$TMP/il.timings.csv")" -eq 11 ] || fail "expected 10 timing rows"
  grep -q '"format": "handwire sweep"' "$TMP/il.json" || fail "no JSON document"
  for m in transformer rnn; do
    for n in 16 32 64 128 256; do
      [ "$(cell "$CSV" $m $n status)" = ok ] || fail "$m N=$n: status $(cell "$CSV" $m $n status)"
      [ "$(cell "$CSV" $m $n accuracy)" = 1.000000 ] || fail "$m N=$n: accuracy not 100%"
      [ "$(cell "$CSV" $m $n mismatches)" = 0 ] || fail "$m N=$n: mismatches"
      [ "$(cell "$CSV" $m $n samples)" -ge 2 ] || fail "$m N=$n: too few inputs"
    done
  done
  tw16=$(cell "$CSV" transformer 16 width); tw256=$(cell "$CSV" transformer 256 width)
  rs16=$(cell "$CSV" rnn 16 size_bits); rs256=$(cell "$CSV" rnn 256 size_bits)
  echo "transformer width $tw16 -> $tw256, rnn state bits $rs16 -> $rs256"
  # N grows 16x: the Transformer's width grows (log N), by far less than 2x;
  # the RNN's state grows 16x, and stays above its bound N log2|alphabet|.
  [ "$tw256" -gt "$tw16" ] && [ $((tw256 * 2)) -lt $((tw16 * 4)) ] ||
    fail "transformer width $tw16 -> $tw256 is not logarithmic"
  [ $((rs256 * 10)) -ge $((rs16 * 150)) ] && [ $((rs256 * 10)) -le $((rs16 * 170)) ] ||
    fail "rnn state bits $rs16 -> $rs256 is not linear"
  [ "$(cell "$CSV" rnn 256 bound_bits)" = 512.00 ] || fail "rnn bound at 256"
  [ "$(cell "$CSV" rnn 256 respects_bound)" = true ] || fail "rnn respects bound"
  # The plot: well-formed XML, one polyline per model, the RNN bound dashed.
  SVG=$TMP/il.svg
  if command -v xmllint >/dev/null; then
    xmllint --noout "$SVG" || fail "SVG is not well-formed XML"
  else
    head -c 5 "$SVG" | grep -q '<?xml' && tail -1 "$SVG" | grep -q '</svg>' ||
      fail "SVG does not look like an SVG document"
  fi
  [ "$(grep -c '<polyline class="series"' "$SVG")" -eq 2 ] || fail "expected 2 model lines"
  [ "$(grep -c '<polyline class="bound".*stroke-dasharray' "$SVG")" -eq 1 ] ||
    fail "expected 1 dashed bound"
  grep -q "rnn: lower bound" "$SVG" && grep -q "state bits ≥ N" "$SVG" || fail "bound not in the legend"
  grep -q "N (task.max_length)" "$SVG" || fail "no x label"
  # --replot draws the same plot from the CSV, without compiling.
  expect 0 "replotted 10 rows" -- "$HW" sweep specs/index_lookup.task --replot "$CSV" -o "$TMP/re"
  cmp -s "$TMP/re.svg" "$SVG" || fail "--replot gives another plot"
  printf 'model,N\nrnn,16\n' >"$TMP/bad.csv"
  expect 1 "no column 'status'" -- "$HW" sweep --replot "$TMP/bad.csv"
  # --parallel points: the same points, sizes and decisions.
  expect 0 "2 points at a time" -- "$HW" sweep specs/index_lookup.task --lengths 16,64 \
    --parallel points -j 2 -n 50 -o "$TMP/pts"
  for m in transformer rnn; do
    for n in 16 64; do
      [ "$(cell "$TMP/pts.csv" $m $n width)" = "$(cell "$CSV" $m $n width)" ] &&
        [ "$(cell "$TMP/pts.csv" $m $n status)" = ok ] || fail "--parallel points: $m N=$n"
    done
  done
  # --json: the same rows, machine-readable.
  expect 0 '"status": "ok"' -- "$HW" sweep specs/index_lookup.task --lengths 16,32 -n 20 \
    --model rnn --json -o "$TMP/j"
  ;;
sweep_refusals_and_errors)
  # Over the memory limit at some N: recorded as refused, not a crash.
  expect 0 "refused: .*memory" -- "$HW" sweep specs/string_equality.task --lengths 64,1048576 \
    --model one_layer --memory-limit 8M -n 20 -o "$TMP/mem"
  [ "$(cell "$TMP/mem.csv" one_layer 64 status)" = ok ] || fail "one_layer at 64"
  [ "$(cell "$TMP/mem.csv" one_layer 1048576 status)" = refused ] || fail "one_layer at 2^20"
  # Below a lower bound (a one-layer Transformer for bounded Dyck): refused at
  # every N with the bound as the reason; the RNN still runs.
  printf 'task bounded_dyck {\n  brackets = 2;\n  depth = 2;\n  max_length = 64;\n}\nmodel transformer {\n  layers = 1;\n}\nmodel rnn {}\n' \
    >"$TMP/dyck.task"
  expect 0 "refused: .*one-layer" -- "$HW" sweep "$TMP/dyck.task" --lengths 16,64 -n 20 -o "$TMP/dyck"
  [ "$(cell "$TMP/dyck.csv" transformer 64 status)" = refused ] || fail "transformer not refused"
  [ "$(cell "$TMP/dyck.csv" rnn 64 status)" = ok ] || fail "rnn at 64"
  if command -v xmllint >/dev/null; then xmllint --noout "$TMP/dyck.svg" || fail "dyck SVG"; fi
  # An input estimated to take too long is skipped, with the estimate.
  expect 0 "skipped: one input would take about" -- "$HW" sweep specs/index_lookup.task \
    --lengths 16,1024 --model rnn -n 20 --input-time-limit 1e-6 -o "$TMP/skip"
  [ "$(cell "$TMP/skip.csv" rnn 1024 width)" = 5120 ] || fail "a skipped point keeps its sizes"
  # Clear errors.
  expect 1 "needs a .task spec" -- "$HW" sweep "$TMP/x.json"
  expect 1 "use --from/--to or --lengths" -- "$HW" sweep specs/index_lookup.task -D task.max_length=64
  expect 1 "--from 64 is above --to 16" -- "$HW" sweep specs/index_lookup.task --from 64 --to 16
  expect 1 "no model named 'nope'" -- "$HW" sweep specs/index_lookup.task --model nope
  expect 1 "cannot write" -- "$HW" sweep specs/index_lookup.task --lengths 16 -o /proc/forbidden/x
  expect 1 "cannot open" -- "$HW" sweep "$TMP/missing.task"
  # Ctrl-C: stops after the inputs in flight, writes what ran, exits 130.
  "$HW" sweep specs/index_lookup.task --lengths 16,4096 --model rnn -n 100000 --time-budget 0 \
    -o "$TMP/int" >"$TMP/out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q . "$TMP/out" 2>/dev/null && break
    sleep 0.1
  done
  sleep 3
  kill -INT $pid
  wait $pid
  rc=$?
  [ "$rc" -eq 130 ] || { cat "$TMP/out"; fail "interrupted sweep exited $rc, expected 130"; }
  grep -q "interrupted" "$TMP/out" || fail "no interrupted message"
  [ "$(cell "$TMP/int.csv" rnn 16 status)" = ok ] || fail "N=16 row lost"
  [ "$(cell "$TMP/int.csv" rnn 4096 status)" = interrupted ] || fail "N=4096 not marked interrupted"
  ;;
sweep_shards)
  # 6 points unsharded, and as 4 shards (2, 2, 1, 1 points) merged: the same
  # CSV, JSON and SVG, byte for byte. --shard turns the time budget off; the
  # unsharded run turns it off by hand (a budget makes the inputs per point
  # depend on the machine's speed).
  S=specs/index_lookup.task
  ARGS=(--lengths 16,32,64 -n 20)
  expect 0 "6 of 6 points" -- "$HW" sweep $S "${ARGS[@]}" --time-budget 0 --input-time-limit 0 \
    -o "$TMP/whole"
  for i in 0 1 2 3; do
    expect 0 "of [12] points \(shard $i/4 of a 6-point sweep\)" -- \
      "$HW" sweep $S "${ARGS[@]}" --shard $i/4 -j 1 -o "$TMP/part"
  done
  P=$TMP/part.shard
  expect 0 "merged 4 shards \(6 points\)" -- "$HW" merge $P-3-of-4.json $P-1-of-4.json \
    $P-0-of-4.json $P-2-of-4.json -o "$TMP/merged"
  for ext in csv json svg; do
    cmp "$TMP/whole.$ext" "$TMP/merged.$ext" || fail "merged .$ext differs from the unsharded"
  done
  [ "$(cut -d, -f1-3 "$TMP/whole.timings.csv")" = "$(cut -d, -f1-3 "$TMP/merged.timings.csv")" ] ||
    fail "timings rows differ"
  # Refusals, naming the files.
  expect 1 "missing shard 2/4 of the sweep of 'specs/index_lookup.task'" -- \
    "$HW" merge $P-0-of-4.json $P-1-of-4.json $P-3-of-4.json
  expect 1 "part.shard-1-of-4.json and .*part.shard-1-of-4.json are the same shard, 1/4" -- \
    "$HW" merge $P-0-of-4.json $P-1-of-4.json $P-1-of-4.json $P-2-of-4.json $P-3-of-4.json
  expect 0 "shard 2/4" -- "$HW" sweep $S --lengths 16,32,64 -n 21 --shard 2/4 -o "$TMP/other"
  expect 1 "other.shard-2-of-4.json and .* different settings: 'samples' \(21 against 20\)" -- \
    "$HW" merge $P-0-of-4.json $P-1-of-4.json $P-3-of-4.json "$TMP/other.shard-2-of-4.json"
  head -c 300 $P-3-of-4.json >"$TMP/cut.json"
  expect 1 "cut.json: not a JSON document" -- "$HW" merge $P-0-of-4.json "$TMP/cut.json"
  sed 's/"width"/"widht"/' $P-3-of-4.json >"$TMP/renamed.json"
  expect 1 "renamed.json: row 0: no field 'width'" -- "$HW" merge "$TMP/renamed.json"
  expect 1 "not a sweep shard file" -- "$HW" merge "$TMP/whole.json"
  expect 1 "cannot open|No such file|does not exist" -- "$HW" merge "$TMP/absent.json"
  # The same spec path with another text: refused.
  cp $S "$TMP/s.task"
  expect 0 "shard 0/2" -- "$HW" sweep "$TMP/s.task" --lengths 16 -n 5 --shard 0/2 -o "$TMP/s"
  echo "// edited" >>"$TMP/s.task"
  expect 0 "shard 1/2" -- "$HW" sweep "$TMP/s.task" --lengths 16 -n 5 --shard 1/2 -o "$TMP/s"
  expect 1 "shards of different sweeps: the texts of their spec" -- \
    "$HW" merge "$TMP/s.shard-0-of-2.json" "$TMP/s.shard-1-of-2.json"
  # Bad --shard values and options a shard does not take.
  expect 1 "--shard '5/4': shard index 5 is not below the shard count 4" -- \
    "$HW" sweep $S --lengths 16 --shard 5/4 -o "$TMP/x"
  expect 1 "--shard 'x/4': I and K must be non-negative integers" -- \
    "$HW" sweep $S --lengths 16 --shard x/4 -o "$TMP/x"
  expect 1 "--shard '0/0': K \(the number of shards\) must be" -- \
    "$HW" sweep $S --lengths 16 --shard 0/0 -o "$TMP/x"
  expect 1 "takes no --time-budget" -- "$HW" sweep $S --lengths 16 --shard 0/2 --time-budget 5
  expect 1 "excludes" -- "$HW" sweep $S --lengths 16 --shard 0/2 --csv "$TMP/x.csv"
  ! ls "$TMP"/x.* >/dev/null 2>&1 || fail "a refused shard wrote a file"
  ;;
eval_shards)
  # A Transformer below its certified scale gets inputs wrong; 4 shards of
  # 40 inputs run exactly the unsharded inputs: the same decisions, counts,
  # mismatches and smallest margin.
  ARGS=(specs/index_lookup.task -N 64 --model transformer -D model.transformer.scale=1
        --allow-uncertified -n 40 --json)
  "$HW" eval "${ARGS[@]}" --write-decisions "$TMP/whole.txt" >"$TMP/whole.json" 2>"$TMP/err"
  rc=$?
  [ "$rc" -eq 3 ] || { cat "$TMP/err"; fail "unsharded eval exited $rc, expected 3 (mismatches)"; }
  : >"$TMP/parts.txt"
  for i in 0 1 2 3; do
    "$HW" eval "${ARGS[@]}" --shard $i/4 --write-decisions "$TMP/p$i.txt" \
      >"$TMP/p$i.json" 2>"$TMP/err"
    rc=$?
    [ "$rc" -eq 0 ] || [ "$rc" -eq 3 ] || { cat "$TMP/err"; fail "shard $i/4 exited $rc"; }
    grep -v '^#' "$TMP/p$i.txt" >>"$TMP/parts.txt"
  done
  grep -v '^#' "$TMP/whole.txt" | cmp - "$TMP/parts.txt" || fail "the shards' decisions differ"
  python3 - "$TMP" <<'PY' || fail "shards do not add up to the unsharded eval"
import json, sys
tmp = sys.argv[1]
whole = json.load(open(f"{tmp}/whole.json"))["models"][0]
parts = [json.load(open(f"{tmp}/p{i}.json")) for i in range(4)]
assert [p["shard"]["first_input"] for p in parts] == [0, 10, 20, 30], parts
models = [p["models"][0] for p in parts]
for key in ("samples", "adversarial"):
    assert sum(m[key] for m in models) == whole[key], key
b = whole["backends"][0]
assert b["mismatches"] > 0, "the model should get some inputs wrong"
assert sum(m["backends"][0]["mismatches"] for m in models) == b["mismatches"]
assert min(m["backends"][0]["min_margin"] for m in models) == b["min_margin"]
# Each shard reports its first mismatches by global index; their union
# begins with the unsharded report's.
union = sorted(x["index"] for m in models for x in m["mismatch_examples"])
assert union[:len(whole["mismatch_examples"])] == \
    [x["index"] for x in whole["mismatch_examples"]], union
print("eval shards:", whole["samples"], "inputs,", b["mismatches"], "mismatches")
PY
  # handwire merge joins them into the unsharded eval's JSON: equal in every
  # field but the timings (shards given in any order).
  "$HW" merge "$TMP/p2.json" "$TMP/p0.json" "$TMP/p3.json" "$TMP/p1.json" >"$TMP/merged.json"
  rc=$?
  [ "$rc" -eq 3 ] || fail "merge of eval shards with mismatches exited $rc, expected 3"
  python3 - "$TMP/whole.json" "$TMP/merged.json" <<'PY' || fail "merged eval differs from the unsharded one"
import json, sys
TIMING = ("seconds", "_ms", "per_second")
def strip(x):
    if isinstance(x, dict):
        return {k: strip(v) for k, v in x.items() if not any(t in k for t in TIMING)
                and k not in ("jit_tables",)}
    if isinstance(x, list):
        return [strip(v) for v in x]
    return x
whole, merged = (strip(json.load(open(p))) for p in sys.argv[1:])
assert whole == merged, (whole, merged)
PY
  expect 1 "missing shard 2/4" -- "$HW" merge "$TMP/p0.json" "$TMP/p1.json" "$TMP/p3.json"
  expect 1 "are both shard 1/4" -- "$HW" merge "$TMP/p0.json" "$TMP/p1.json" "$TMP/p1.json" \
    "$TMP/p2.json" "$TMP/p3.json"
  expect 1 "is not an eval shard output" -- "$HW" merge "$TMP/p0.json" "$TMP/whole.json"
  expect 1 "--shard '4/4': shard index 4 is not below" -- "$HW" eval specs/index_lookup.task --shard 4/4
  expect 0 "shard 1/4: inputs 10..19 of 40" -- "$HW" eval specs/index_lookup.task -n 40 --shard 1/4 \
    --model rnn -N 16
  ;;
verify_certificates)
  # Every shipped spec's models at N = 1024 verify from their files alone.
  for spec in specs/*.task; do
    "$HW" compile "$spec" -N 1024 -o "$TMP/$(basename "$spec" .task)" >"$TMP/c" 2>&1 ||
      { cat "$TMP/c"; fail "compile $spec"; }
  done
  expect 0 "certificate verified" -- "$HW" verify "$TMP"/*/*.json
  grep -q "FAIL" "$TMP/out" && { cat "$TMP/out"; fail "a check failed"; }
  n=$(ls "$TMP"/*/*.json | wc -l)
  [ "$(grep -c ': certificate verified' "$TMP/out")" -eq "$n" ] || fail "not all $n models verified"
  expect 0 "targets: every IDX_p's best key is position p, alone" -- \
    "$HW" verify "$TMP/index_lookup/index_lookup.transformer.json"
  # The softmax scale one ulp below the certified minimum is rejected.
  python3 tests/e2e/lower_tensor_max.py \
    "$TMP/index_lookup/index_lookup.transformer.safetensors" layers.0.heads.0.query >/dev/null
  expect 2 "FAIL  layers.0.heads.0: stored scale: Q stores .*; the certificate's minimum is" -- \
    "$HW" verify "$TMP/index_lookup/index_lookup.transformer.json"
  grep -q "CERTIFICATE FAILS" "$TMP/out" || fail "no verdict line"
  # So is the bf16 one (its scale is a bf16 number; one bf16 step down).
  python3 tests/e2e/lower_tensor_max.py \
    "$TMP/certified_codes/index_lookup.transformer.safetensors" layers.0.heads.0.query 65536 >/dev/null
  expect 2 "FAIL  layers.0.heads.0: stored scale" -- \
    "$HW" verify "$TMP/certified_codes/index_lookup.transformer.json"
  # Two position codewords swapped: the file still says certified, but IDX_1
  # now selects position 2.
  "$HW" compile specs/index_lookup.task -N 64 --model transformer -o "$TMP/swap" >/dev/null 2>&1 ||
    fail "compile N=64"
  python3 tests/e2e/swap_tensor_rows.py "$TMP/swap/index_lookup.transformer.safetensors" embed.position 0 1
  expect 2 "FAIL  layers.0.heads.0: targets: IDX_1 selects position 2" -- \
    "$HW" verify "$TMP/swap/index_lookup.transformer.json"
  # JSON, and a bad file is an input error.
  expect 0 '"rederived": false' -- "$HW" verify --json "$TMP/nearest_neighbour/nearest_neighbour.transformer.json"
  printf '{' >"$TMP/bad.json"
  expect 1 "bad.json" -- "$HW" verify "$TMP/bad.json"
  expect 1 "required" -- "$HW" verify
  ;;
*) fail "unknown case $CASE" ;;
esac
echo "PASS: $CASE"
