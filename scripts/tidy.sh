#!/usr/bin/env bash
# Runs clang-tidy (the repo's .clang-tidy) using BUILD_DIR's compile_commands.json. Exits non-zero
# on any finding in WarningsAsErrors.
#   scripts/tidy.sh [BUILD_DIR]          the library (src/) and the examples: what CI runs
#   scripts/tidy.sh [BUILD_DIR] --all    also tools/ (server and CLI): about ten more minutes on two
#                                        cores (Boost.Beast and CLI11 are slow to parse); run it
#                                        before committing changes under tools/
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
scope=('src/*.cc' 'examples/*.cc')
[ "${2:-}" = "--all" ] && scope+=('tools/*.cc')
cd "$root"
command -v clang-tidy >/dev/null || { echo "tidy: clang-tidy is not installed"; exit 1; }
git ls-files "${scope[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2>/dev/null | tee /tmp/triad-tidy.txt |
  grep -E '(warning|error):' || true
if grep -qE 'error:' /tmp/triad-tidy.txt; then
  echo "tidy: errors above"
  exit 1
fi
echo "tidy: ok"
