#!/usr/bin/env bash
# The main job: installs what is missing, builds, and starts the Triad server (`triad serve`) on
# an embedded SQLite store, with the bank example's projections (Lua scripts) loaded.
#   scripts/run.sh [DATA_PATH] [more `triad serve` flags...]   (default: ./triad-demo.db)
#   scripts/run.sh --postgres URL [more flags...]    the same on PostgreSQL (docs/postgres.md),
#       e.g. --postgres 'postgresql://triad@db.internal/triad?schema=demo'
# The bank demo of the embedded library runs with scripts/demo.sh.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
# The server and the CLI only: the tests and benchmarks are built by scripts/test.sh.
"$root/scripts/build.sh" "$root/build" -DBUILD_TESTING=OFF -DTRIAD_BUILD_BENCHMARKS=OFF >/dev/null
if [ "${1:-}" = "--postgres" ]; then
  [ -n "${2:-}" ] || { echo "run.sh: --postgres needs a URL (postgresql://user@host/db)" >&2; exit 2; }
  data=$2
  shift 2
  scripts=./triad-demo.scripts
else
  data=${1:-./triad-demo.db}
  shift || true
  scripts="$data.scripts"
fi
mkdir -p "$scripts"
# The bank projections; a script already there (perhaps deployed over HTTP since) is kept.
for script in "$root"/examples/bank/projections/*.lua; do
  [ -e "$scripts/$(basename "$script")" ] || cp "$script" "$scripts/"
done
listen=${TRIAD_LISTEN:-127.0.0.1:7700}
url="http://$listen"
cat <<EOT
Triad server on $url (store $data, projections from $scripts). Try, in another terminal:

  curl -s -X POST $url/streams/account-1 -H 'content-type: application/json' \\
    -d '{"expected_version":"no_stream","events":[{"type":"AccountOpened","data":{"account_id":"1","owner":"ada","branch":"london"}}]}'
  curl -s -X POST $url/streams/account-1 -H 'content-type: application/json' \\
    -d '{"expected_version":0,"events":[{"type":"MoneyDeposited","data":{"amount_cents":2500}}]}'
  curl -s $url/streams/account-1
  curl -s "$url/collections/accounts/docs/account-1?min_position=2"
  curl -s "$url/collections/accounts/docs?where=owner:eq:ada"
  curl -s "$url/collections/branch_totals/docs/london"
  curl -sN "$url/subscribe?category=account&from_position=1"      # live; Ctrl-C to stop
  curl -s $url/projections
  curl -s $url/metrics

Or the CLI: build/tools/cli/triad --url $url projections   (docs/http-api.md, docs/cli.md)
Stop the server with Ctrl-C (SIGINT/SIGTERM shut it down gracefully).

EOT
exec "$root/build/tools/cli/triad" serve --data "$data" --scripts "$scripts" --listen "$listen" "$@"
