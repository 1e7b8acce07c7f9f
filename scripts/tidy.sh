#!/usr/bin/env bash
# Runs clang-tidy (the repo's .clang-tidy) using BUILD_DIR's compile_commands.json. Exits non-zero
# on any finding in WarningsAsErrors.
#   scripts/tidy.sh [BUILD_DIR]                the library (src/) and the examples, every check but
#                                              the clang static analyzer: what CI runs
#   scripts/tidy.sh [BUILD_DIR] --analyzer     also the clang static analyzer (clang-analyzer-*):
#                                              five to ten times slower (minutes per large file);
#                                              run it on your changes before committing
#   scripts/tidy.sh [BUILD_DIR] --all          also tools/ (server and CLI; Boost.Beast and CLI11
#                                              are slow to parse)
#   scripts/tidy.sh [BUILD_DIR] [flags] -- FILE...   only these files
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-"$root/build"}
shift || true
scope=('src/*.cc' 'examples/*.cc')
checks=(--checks=-clang-analyzer-*)
files=()
while [ $# -gt 0 ]; do
  case "$1" in
    --analyzer) checks=() ;;
    --all) scope+=('tools/*.cc') ;;
    --) shift; files=("$@"); break ;;
    *) echo "tidy: unknown argument $1" >&2; exit 2 ;;
  esac
  shift
done
cd "$root"
command -v clang-tidy >/dev/null || { echo "tidy: clang-tidy is not installed"; exit 1; }
out=$(mktemp)
trap 'rm -f "$out"' EXIT
if [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(git ls-files "${scope[@]}")
fi
printf '%s\n' "${files[@]}" |
  xargs -P "$(nproc)" -n 4 clang-tidy -p "$build" --quiet "${checks[@]}" 2>/dev/null >"$out" || true
grep -E '(warning|error):' "$out" || true
if grep -qE 'error:' "$out"; then
  echo "tidy: errors above"
  exit 1
fi
echo "tidy: ok (${#files[@]} files${checks[*]:+, without the static analyzer})"
