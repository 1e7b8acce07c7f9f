#!/usr/bin/env bash
# Standing source checks, cheap enough for every CI run:
#  - every tracked C++ file is clang-format clean;
#  - src/ never reads the system clock, sleeps or draws random numbers outside the seams
#    (util/real_clock.cc, util/uuid.cc): tests inject a Clock instead (STYLE B4);
#  - every *_test.cc is registered in a CMakeLists.txt.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
fail=0

mapfile -t cxx < <(git ls-files '*.cc' '*.h')
if command -v clang-format >/dev/null; then
  if ! clang-format --dry-run -Werror "${cxx[@]}" 2>/tmp/triad-format.txt; then
    echo "check-source: files are not clang-format clean (run clang-format -i on them):"
    grep -oE '^[^ :]+\.(cc|h):[0-9]+' /tmp/triad-format.txt | cut -d: -f1 | sort -u
    fail=1
  fi
else
  echo "check-source: clang-format is not installed; format check skipped"
fi

forbidden='std::chrono::(system_clock|steady_clock|high_resolution_clock)::now|sleep_for|sleep_until|[^_a-z]usleep\(|[^_a-z]rand\(|random_device|[^_a-z]time\(nullptr'
if hits=$(git ls-files 'src/*.cc' 'src/*.h' | grep -v -e '^src/util/real_clock.cc$' -e '^src/util/uuid.cc$' -e '^src/testing/' |
          xargs grep -nE "$forbidden" 2>/dev/null); then
  echo "check-source: hidden clocks, sleeps or randomness in src/ (use the injected Clock):"
  echo "$hits"
  fail=1
fi

while IFS= read -r test; do
  name=$(basename "$test" .cc)
  if ! grep -rqs --include=CMakeLists.txt -e "$name" .; then
    echo "check-source: $test is not registered in any CMakeLists.txt"
    fail=1
  fi
done < <(git ls-files '*_test.cc')

[ $fail -eq 0 ] && echo "check-source: ok"
exit $fail
