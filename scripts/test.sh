#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the standing checks (format, forbidden
# calls, orphaned tests), clang-tidy, the full CTest suite, the same suite under ASan+UBSan, and an install
# check. .ci/run calls this script.
#   scripts/test.sh              everything
#   TRIAD_SKIP_SANITIZERS=1 scripts/test.sh   skip the sanitizer build (faster local runs)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
step() { printf '\n==== %s\n' "$*"; }

step "dependencies"
scripts/install-deps.sh

step "standing checks"
scripts/check-source.sh

step "build (RelWithDebInfo)"
scripts/build.sh build
step "clang-tidy"
scripts/tidy.sh build
step "tests"
ctest --test-dir build -j "$jobs" --output-on-failure --timeout 900

if [ -z "${TRIAD_SKIP_SANITIZERS:-}" ]; then
  step "build (ASan + UBSan)"
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DTRIAD_SANITIZE=address,undefined \
    -DTRIAD_BUILD_BENCHMARKS=OFF
  step "tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure --timeout 900
fi

step "install check"
scripts/install-check.sh build

step "all tests passed"
