#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the bank demo on an embedded store.
#   scripts/run.sh [STORE_PATH]      (default: ./bank-demo.db)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
"$root/scripts/build.sh" "$root/build" >/dev/null
exec "$root/build/examples/bank/bank_demo" "$@"
