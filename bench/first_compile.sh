#!/bin/bash
# First-compile times in fresh processes, alternating between binaries and
# warm-up settings so a noisy machine affects each alike.
#   bench/first_compile.sh SPEC N MODEL RUNS BIN [BIN...]
# Environment: WARMUP="0 1" also alternates HANDWIRE_JIT_WARMUP (default: the
# binary's default). Prints, per binary and setting, min/median of the
# `jit_compile_ms` parts of `handwire eval --json` and of the wall time.
set -euo pipefail
if [ $# -lt 5 ]; then
  sed -n 2,7p "$0" >&2
  exit 1
fi
spec=$1 n=$2 model=$3 runs=$4
shift 4
settings=${WARMUP:-default}
for ((i = 0; i < runs; ++i)); do
  for bin in "$@"; do
    for w in $settings; do
      env=()
      [ "$w" != default ] && env=(HANDWIRE_JIT_WARMUP="$w")
      start=$(date +%s%N)
      json=$(env "${env[@]}" "$bin" eval "$spec" -N "$n" -m "$model" -n 1 -j 1 --json 2>/dev/null)
      end=$(date +%s%N)
      printf '%s\t%s\t%s\t%s\n' "$bin" "$w" "$(((end - start) / 1000))" \
        "$(python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["models"][0]["jit_compile_ms"]))' <<<"$json")"
    done
  done
done | python3 -c '
import collections, json, statistics, sys
rows = collections.defaultdict(list)
for line in sys.stdin:
    bin, w, wall_us, parts = line.rstrip("\n").split("\t")
    r = json.loads(parts); r["wall"] = int(wall_us) / 1000; rows[(bin, w)].append(r)
for (bin, w), rs in rows.items():
    cells = " ".join("%s=%.1f/%.1f" % (k, min(r[k] for r in rs), statistics.median(r[k] for r in rs))
                     for k in ["plan", "emit", "optimize", "codegen", "total", "wall"])
    print(f"{bin} warmup={w}: {cells} (ms, min/median of {len(rs)})")
'
