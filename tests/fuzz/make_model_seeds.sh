#!/usr/bin/env bash
# Regenerates the seed corpus of the model-file fuzzer (tests/fuzz/corpus/
# model_file): every shipped spec compiled tiny, each model framed as its
# config, a line "#safetensors", then its weights (FuzzModelFile.cpp).
#
#   tests/fuzz/make_model_seeds.sh HANDWIRE [OUT_DIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
HANDWIRE=${1:?usage: make_model_seeds.sh HANDWIRE [OUT_DIR]}
OUT=${2:-tests/fuzz/corpus/model_file}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

# Small enough that one input stays well under the fuzzer's -max_len (64 KiB);
# index_lookup's Rademacher code is wide, so its transformer comes from
# certified_codes (a BCH code) instead.
compile() { "$HANDWIRE" compile "$@" -j 1 >/dev/null; }
compile specs/index_lookup.task -N 4 -m rnn -o "$TMP/index_lookup"
compile specs/certified_codes.task -N 8 -o "$TMP/certified_codes"
compile specs/associative_recall.task -N 4 -D task.keys=4 -o "$TMP/associative_recall"
compile specs/bounded_dyck.task -N 4 -o "$TMP/bounded_dyck"
compile specs/disjointness.task -N 4 -o "$TMP/disjointness"
compile specs/string_equality.task -N 4 -o "$TMP/string_equality"
compile specs/nearest_neighbour.task -N 4 -D task.dimension=2 -o "$TMP/nearest_neighbour"

mkdir -p "$OUT"
for config in "$TMP"/*/*.json; do
  dir=$(basename "$(dirname "$config")")
  stem=$(basename "$config" .json)
  name="$dir-${stem#*.}"
  { cat "$config"; printf '\n#safetensors\n'; cat "${config%.json}.safetensors"; } >"$OUT/$name.model"
done
ls "$OUT" | wc -l
