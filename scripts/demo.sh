#!/usr/bin/env bash
# The bank demo of the embedded library: installs what is missing, builds, and runs
# examples/bank/demo_main.cc on an embedded store (commands, events, projections, queries).
#   scripts/demo.sh [STORE_PATH]      (default: ./bank-demo.db)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build" -DBUILD_TESTING=OFF -DTRIAD_BUILD_BENCHMARKS=OFF >/dev/null
exec "$root/build/examples/bank/bank_demo" "$@"
