#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for tests and benchmarks, run as a non-root user and reachable
# only on a Unix socket inside its own directory.
#   scripts/pg-cluster.sh start DIR [PORT]   initdb (if needed) and start; prints the URL to use
#   scripts/pg-cluster.sh stop DIR           stop it (fast shutdown) and leave DIR in place
#   scripts/pg-cluster.sh crash DIR          stop it as a crash would (immediate: no checkpoint)
#   scripts/pg-cluster.sh destroy DIR        stop it and remove DIR
#   scripts/pg-cluster.sh url DIR [PORT]     print the URL only
# As root, the cluster runs as the `postgres` user the Debian package creates (PostgreSQL refuses
# to run as root); otherwise as the calling user.
set -euo pipefail

bindir=/usr/lib/postgresql/15/bin
cmd=${1:-}
dir=${2:-}
port=${3:-54329}
[ -n "$cmd" ] && [ -n "$dir" ] || { sed -n '2,10p' "$0" >&2; exit 2; }
[ -x "$bindir/initdb" ] || { echo "pg-cluster: $bindir/initdb not found (apt-get install postgresql-15)" >&2; exit 1; }

as_owner() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}
owner() { if [ "$(id -u)" -eq 0 ]; then echo postgres; else id -un; fi; }
url() { echo "postgresql://$(owner)@/postgres?host=$dir&port=$port"; }

case "$cmd" in
  start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
      as_owner "$bindir/initdb" -D "$dir" -A trust -U "$(owner)" -E UTF8 --locale=C.UTF-8 >"$dir.initdb.log" 2>&1 ||
        { cat "$dir.initdb.log" >&2; exit 1; }
      # Sockets only (no TCP), in the cluster's own directory. Durable commits stay on (fsync,
      # synchronous_commit): the suites check durability, not a tuned benchmark setup.
      cat >>"$dir/postgresql.conf" <<CONF
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
max_connections = 300
shared_buffers = 128MB
max_locks_per_transaction = 256
log_min_messages = warning
CONF
    fi
    as_owner "$bindir/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 start >/dev/null ||
      { cat "$dir/server.log" >&2; exit 1; }
    url
    ;;
  stop)
    [ -f "$dir/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir" -m fast -w stop >/dev/null
    exit 0
    ;;
  crash)
    [ -f "$dir/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null
    exit 0
    ;;
  destroy)
    [ -f "$dir/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$dir" -m immediate -w stop >/dev/null
    rm -rf "$dir" "$dir.initdb.log"
    ;;
  url) url ;;
  *) sed -n '2,10p' "$0" >&2; exit 2 ;;
esac
