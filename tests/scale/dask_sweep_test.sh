#!/usr/bin/env bash
# docs/examples/dask_sweep.py on a LocalCluster (2 worker processes): 3 shards
# run as Dask tasks, then merged, give the unsharded sweep's CSV, JSON and SVG
# byte for byte. Exit 77 (SKIP) without Dask distributed (Debian
# python3-distributed, in Debian's /usr/bin/python3).
# Usage: dask_sweep_test.sh HANDWIRE SOURCE_DIR
set -uo pipefail
HW=$1
SRC=$2
PY=/usr/bin/python3
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$SRC"
fail() { echo "FAIL: $*"; exit 1; }

if ! "$PY" -c "import distributed" 2>/dev/null; then
  echo "SKIP: $PY cannot import distributed (Debian python3-distributed)"
  exit 77
fi
ARGS=(--lengths 16,32,64 -n 20 -j 1)
"$HW" sweep specs/index_lookup.task "${ARGS[@]}" --time-budget 0 --input-time-limit 0 \
  -o "$TMP/whole" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "unsharded sweep"; }
"$PY" docs/examples/dask_sweep.py "$HW" specs/index_lookup.task --shards 3 --workers 2 \
  -o "$TMP/dask" -- "${ARGS[@]}" >"$TMP/out" 2>&1 || { cat "$TMP/out"; fail "dask_sweep.py"; }
grep -q "merged 3 shards (6 points)" "$TMP/out" || { cat "$TMP/out"; fail "merge summary"; }
for ext in csv json svg; do
  cmp "$TMP/whole.$ext" "$TMP/dask.$ext" || fail "the merged .$ext differs from the unsharded one"
done
# The timings differ (wall clock), their rows do not.
[ "$(cut -d, -f1-3 "$TMP/whole.timings.csv")" = "$(cut -d, -f1-3 "$TMP/dask.timings.csv")" ] ||
  fail "timings rows differ"
echo "dask sweep: 3 shards on 2 workers == unsharded (csv, json, svg)"
