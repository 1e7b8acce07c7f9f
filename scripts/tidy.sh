#!/usr/bin/env bash
# Runs clang-tidy (the repo's .clang-tidy) over the library and tools, using BUILD_DIR's
# compile_commands.json. Exits non-zero on any finding in WarningsAsErrors.
#   scripts/tidy.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
cd "$root"
command -v clang-tidy >/dev/null || { echo "tidy: clang-tidy is not installed"; exit 1; }
git ls-files 'src/*.cc' 'tools/*.cc' 'examples/*.cc' |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet 2>/dev/null | tee /tmp/triad-tidy.txt |
  grep -E '(warning|error):' || true
if grep -qE 'error:' /tmp/triad-tidy.txt; then
  echo "tidy: errors above"
  exit 1
fi
echo "tidy: ok"
