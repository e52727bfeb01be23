#!/usr/bin/env bash
# Golden tests of `handwire compile --emit STAGE`, one per stage of the
# pipeline (compiler/Pipeline.h), on small models of two tasks.
#
#   tests/golden/emit/run.sh HANDWIRE            compare
#   HANDWIRE_BLESS=1 tests/golden/emit/run.sh HANDWIRE   rewrite the goldens
#
# Stages whose text does not depend on the machine (ast, spec, network,
# certificate, plan) are compared exactly with CASE.STAGE.txt. The LLVM
# stages (llvm, llvm-opt, asm) depend on the host CPU's vector width, so they
# are checked with FileCheck against CASE.STAGE.check (what must be there on
# every x86-64 host). Review a blessed diff like any other code change.
set -uo pipefail
HW=$1
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../../.." && pwd)
FILECHECK=${FILECHECK:-$(command -v FileCheck-19 || echo /usr/lib/llvm-19/bin/FileCheck)}
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
cd "$SRC"

# case name, then the compile arguments.
CASES=(
  "index_lookup_transformer|specs/index_lookup.task -N 16 --model transformer"
  "bounded_dyck_rnn|specs/bounded_dyck.task -N 16 --model hewitt"
)
EXACT=(ast spec network certificate plan)
CHECKED=(llvm llvm-opt asm)
failed=0 passed=0
for c in "${CASES[@]}"; do
  name=${c%%|*}
  read -r -a args <<<"${c#*|}"
  for stage in "${EXACT[@]}" "${CHECKED[@]}"; do
    out="$TMP/$name.$stage.txt"
    if ! "$HW" compile "${args[@]}" --emit "$stage" >"$out" 2>"$TMP/err"; then
      echo "FAIL $name --emit $stage: exit non-zero"; cat "$TMP/err"
      failed=$((failed + 1)); continue
    fi
    if [[ " ${EXACT[*]} " == *" $stage "* ]]; then
      golden="$HERE/$name.$stage.txt"
      if [ "${HANDWIRE_BLESS:-0}" = 1 ]; then
        cp "$out" "$golden"
      elif ! diff -u "$golden" "$out"; then
        echo "FAIL $name --emit $stage differs from $golden (HANDWIRE_BLESS=1 rewrites it)"
        failed=$((failed + 1)); continue
      fi
    elif ! "$FILECHECK" --input-file "$out" "$HERE/$name.$stage.check"; then
      echo "FAIL $name --emit $stage: FileCheck $HERE/$name.$stage.check"
      failed=$((failed + 1)); continue
    fi
    passed=$((passed + 1))
  done
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
