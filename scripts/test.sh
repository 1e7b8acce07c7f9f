#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test: the standing checks (format, forbidden
# calls, orphaned tests), clang-tidy, the full CTest suite under ASan+UBSan (benchmark smoke runs
# and the PostgreSQL variants, on a throwaway cluster, included), an install check, and a GCC
# Release build with warnings as errors. .ci/run calls this script.
#   scripts/test.sh              everything
#   TRIAD_SKIP_SANITIZERS=1 scripts/test.sh   an optimized build instead of the sanitizer build
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
jobs=$(nproc)
started=$SECONDS
# Each step prints the minutes:seconds since the start, to see where CI's time goes.
step() { printf '\n==== [%d:%02d] %s\n' $(((SECONDS - started) / 60)) $(((SECONDS - started) % 60)) "$*"; }

step "dependencies"
scripts/install-deps.sh

step "standing checks"
scripts/check-source.sh

step "throwaway PostgreSQL cluster (scripts/pg-cluster.sh)"
# The PostgreSQL variants of the suites run against it; pg_environment_test fails if it is missing.
# It starts before the build: the tests are listed (gtest_discover_tests) when they are built, and
# the PostgreSQL variants are only listed when TRIAD_TEST_POSTGRES is set then.
pg_dir=$(mktemp -d /tmp/triad-ci-pg.XXXXXX)
pg_port=$((40000 + RANDOM % 20000))
tidy_log=$(mktemp)
trap 'scripts/pg-cluster.sh destroy "$pg_dir/data" >/dev/null 2>&1 || true; rm -rf "$pg_dir" "$tidy_log"' EXIT
chmod 755 "$pg_dir"
TRIAD_TEST_POSTGRES=$(scripts/pg-cluster.sh start "$pg_dir/data" "$pg_port")
export TRIAD_TEST_POSTGRES TRIAD_REQUIRE_POSTGRES=1
echo "PostgreSQL at $TRIAD_TEST_POSTGRES"

# Everything is built once, with the tests, under the sanitizers, where the suite checks the most;
# that build also serves clang-tidy (its compile_commands.json), the benchmark smoke runs and the
# install check. clang builds it (about half of gcc's time for this code base under the
# sanitizers) and lld links it. This keeps CI within its time budget on two cores.
if [ -z "${TRIAD_SKIP_SANITIZERS:-}" ]; then
  build=build-asan
  sanitize=address,undefined
  toolchain=(-DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_C_COMPILER=clang-14)
  step "build (clang, ASan + UBSan: library, server, CLI, examples, benchmarks, tests)"
  # -g1: line tables are enough for sanitizer reports and compile much faster than full -g.
  scripts/build.sh "$build" "${toolchain[@]}" -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-g1 \
    -DTRIAD_SANITIZE="$sanitize" -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld
  consumer_flags=("${toolchain[@]}" -DCMAKE_CXX_FLAGS="-fsanitize=$sanitize"
    -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=$sanitize -fuse-ld=lld")
else
  build=build
  step "build (RelWithDebInfo: library, server, CLI, examples, benchmarks, tests)"
  scripts/build.sh "$build"
  consumer_flags=()
fi

# clang-tidy runs beside the tests at the lowest priority: many tests wait (on servers, timers,
# child processes) and leave a core idle, which tidy takes; the tests keep precedence.
step "tests (and the benchmark smoke runs), with clang-tidy (src/, examples/; no static analyzer) beside them"
nice -n 19 scripts/tidy.sh "$build" >"$tidy_log" 2>&1 &
tidy_pid=$!
tests_status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$build" -j "$jobs" --output-on-failure --timeout 900 || tests_status=$?
step "waiting for clang-tidy"
tidy_status=0
wait "$tidy_pid" || tidy_status=$?
cat "$tidy_log"
[ "$tests_status" -eq 0 ] || { echo "test.sh: tests failed"; exit "$tests_status"; }
[ "$tidy_status" -eq 0 ] || { echo "test.sh: clang-tidy failed"; exit "$tidy_status"; }

step "install check"
scripts/install-check.sh "$build" "${consumer_flags[@]}"

# The tests ran on clang; a user on Debian builds with GCC 12, whose optimizer warns about other
# things (-Wrestrict, -Wmaybe-uninitialized): one optimized GCC build, warnings as errors.
step "GCC Release build (library, server, CLI, examples; warnings as errors)"
scripts/build.sh build-gcc-release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DTRIAD_BUILD_BENCHMARKS=OFF

step "all tests passed"
