#!/usr/bin/env bash
# JIT against the reference evaluator on every shipped construction at one N:
#   bench/agreement.sh [N] [samples] [heavy samples]
# Each model runs `eval --backend both` on mixed inputs (uniform and
# adversarial); the two-layer and four-layer Transformers (O(N^2) per input in
# both backends) get the heavy sample count. The one-layer equality and
# disjointness Transformers (linear width, stored sparse: O(N) per input)
# get the plain count.
# Prints one summary line per model; exit 1 if any model disagrees or errs.
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-65536}
SAMPLES=${2:-20}
HEAVY=${3:-2}
HW=${HANDWIRE:-build/tools/handwire/handwire}
status=0
run() { # spec model samples
  local out
  out=$("$HW" eval "specs/$1.task" -N "$N" -m "$2" -n "$3" --inputs mixed \
    --backend both 2>&1)
  local rc=$?
  local agree=$(grep -E '^  backends' <<<"$out" |
    sed -E 's/^ *backends *//; s/, max logit difference/, max diff/')
  local speed=$(grep -E '^  eval ' <<<"$out" |
    sed -E 's/^ *eval *([a-z0-9-]+) +([0-9]+) .*mismatches.* ([0-9.k]+) inputs\/s.*/\1 \3\/s/' |
    tr '\n' ' ')
  local n=$(grep -m1 -oE '^  eval [a-z0-9-]+ +[0-9]+' <<<"$out" | awk '{print $3}')
  printf '%-18s %-12s %5s inputs  %s  [%s]\n' "$1" "$2" "${n:-?}" "$agree" "$speed"
  [ "$rc" -eq 0 ] || { status=1; tail -3 <<<"$out"; }
}
run index_lookup transformer "$SAMPLES"
run index_lookup rnn "$SAMPLES"
run bounded_dyck rnn "$SAMPLES"
run bounded_dyck hewitt "$SAMPLES"
run bounded_dyck transformer "$HEAVY"
for task in string_equality disjointness; do
  run "$task" rnn "$SAMPLES"
  run "$task" transformer "$HEAVY"
  run "$task" one_layer "$SAMPLES"
done
run nearest_neighbour rnn "$SAMPLES"
run nearest_neighbour transformer "$HEAVY"
exit $status
