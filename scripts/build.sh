#!/usr/bin/env bash
# Configures and builds Triad into a build directory (default: build/, RelWithDebInfo), with
# warnings as errors (TRIAD_WERROR: on in the project's scripts and CI, off in a plain cmake build).
#   scripts/build.sh [BUILD_DIR] [extra cmake args...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
shift || true
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$root" -B "$build" -G Ninja "${launcher[@]}" -DTRIAD_WERROR=ON "$@" >/dev/null
cmake --build "$build" -j "$(nproc)"
