#!/usr/bin/env bash
# Installs every build and test dependency of handwire from Debian packages.
# Idempotent: packages already present are skipped, so a second run costs ~1 s.
set -euo pipefail

PACKAGES=(
  g++ cmake ninja-build ccache pkg-config
  llvm-19-dev libzstd-dev clang-19 libclang-rt-19-dev
  antlr4 libantlr4-runtime-dev uuid-dev
  libeigen3-dev nlohmann-json3-dev libcli11-dev
  libonnx-dev libprotobuf-dev
  libgtest-dev libgmock-dev libbenchmark-dev
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
