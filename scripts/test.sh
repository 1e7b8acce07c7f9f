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

# The suite is built and run once, under the sanitizers, where it checks the most; the optimized
# build serves clang-tidy, the benchmark smoke runs and the install check. This keeps CI within
# its time budget on two cores.
step "build (RelWithDebInfo: library, CLI, examples, benchmarks)"
scripts/build.sh build -DTRIAD_BUILD_TESTS=OFF
step "clang-tidy"
scripts/tidy.sh build
step "benchmark smoke runs"
ctest --test-dir build -L bench -j 1 --output-on-failure --timeout 300

if [ -z "${TRIAD_SKIP_SANITIZERS:-}" ]; then
  step "build (ASan + UBSan, with the tests)"
  # -g1: line tables are enough for sanitizer reports and compile much faster than full -g.
  scripts/build.sh build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DTRIAD_SANITIZE=address,undefined -DTRIAD_BUILD_BENCHMARKS=OFF
  step "tests under ASan + UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan -j "$jobs" --output-on-failure --timeout 900
else
  step "build (RelWithDebInfo, with the tests)"
  scripts/build.sh build -DTRIAD_BUILD_TESTS=ON
  step "tests"
  ctest --test-dir build -j "$jobs" --output-on-failure --timeout 900
fi

step "install check"
scripts/install-check.sh build

step "all tests passed"
