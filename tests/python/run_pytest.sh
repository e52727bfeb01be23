#!/usr/bin/env bash
# Runs the Python package's tests (tests/python) with Debian's python3 on the
# package built in BUILD/python; exit 77 (SKIP) if that python lacks pytest
# or numpy (the tests themselves skip the torch parts without torch).
#   run_pytest.sh PYTHON BUILD_PYTHON_DIR HANDWIRE_CLI SOURCE_DIR [pytest args]
set -uo pipefail
PY=$1 PKG=$2 CLI=$3 SRC=$4
shift 4
if ! "$PY" -c "import pytest, numpy" 2>/dev/null; then
  echo "SKIP: $PY has no pytest or numpy (Debian: python3-pytest python3-numpy)"
  exit 77
fi
cd "$SRC"
PYTHONPATH="$PKG${PYTHONPATH:+:$PYTHONPATH}" HANDWIRE_CLI="$CLI" \
  exec "$PY" -m pytest -q -p no:cacheprovider tests/python "$@"
