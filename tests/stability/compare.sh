#!/usr/bin/env bash
# ctest stability.outputs: every shipped spec's model files are byte-identical
# to tests/stability/expected/SHA256SUMS, and every field of the recorded
# `eval --json` results is unchanged (a field added since is listed, not an
# error; numbers within 1e-6 relative: the JIT's code is compiled for the
# host CPU, whose vector width and instructions may move the last bits of a
# logit, as between the AMD host that recorded them and an Intel one). See
# outputs.sh.
#
#   tests/stability/compare.sh HANDWIRE WORK_DIR
set -euo pipefail
HW=$1
WORK=$2
HERE=$(cd "$(dirname "$0")" && pwd)
"$HERE/outputs.sh" "$HW" "$WORK"
status=0
if ! diff -u "$HERE/expected/SHA256SUMS" "$WORK/SHA256SUMS"; then
  echo "stability: model files differ from the recorded ones (above)"
  status=1
fi
python3 - "$HERE/expected/eval" "$WORK/eval" <<'PY' || status=1
import json, os, sys
expected_dir, actual_dir = sys.argv[1], sys.argv[2]
bad = 0
def walk(e, a, path):
    global bad
    if isinstance(e, dict) and isinstance(a, dict):
        for k in e:
            if k not in a:
                print(f"{path}.{k}: missing"); bad += 1
            else:
                walk(e[k], a[k], f"{path}.{k}")
        for k in a:
            if k not in e:
                print(f"{path}.{k}: added (allowed)")
    elif isinstance(e, list) and isinstance(a, list) and len(e) == len(a):
        for i, (x, y) in enumerate(zip(e, a)):
            walk(x, y, f"{path}[{i}]")
    elif (isinstance(e, float) or isinstance(a, float)) and \
            isinstance(e, (int, float)) and isinstance(a, (int, float)) and \
            abs(e - a) <= 1e-6 * max(abs(e), abs(a), 1e-3):
        pass  # the JIT compiles for the host CPU: last bits may differ
    elif e != a:
        print(f"{path}: {e!r} -> {a!r}"); bad += 1
for name in sorted(os.listdir(expected_dir)):
    walk(json.load(open(os.path.join(expected_dir, name))),
         json.load(open(os.path.join(actual_dir, name))), name)
print(f"stability: {bad} eval result fields differ")
sys.exit(1 if bad else 0)
PY
rm -rf "$WORK/models" # ~400 MB
exit $status
