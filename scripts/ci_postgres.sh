#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the tests, on 127.0.0.1 at a free port, in a temp folder.
#
#     eval "$(scripts/ci_postgres.sh start)"     # exports TEST_POSTGRES_URL and TEST_POSTGRES_DIR
#     python -m pytest tests/test_store.py
#     scripts/ci_postgres.sh stop "$TEST_POSTGRES_DIR"   # stops it and removes the folder
#
# Needs Debian's postgresql (apt-get install postgresql: `make postgres` does it). PostgreSQL
# refuses to run as root, so as root the cluster runs as the postgres user. Trust authentication
# on the loopback address only: nothing else can reach it, and it is gone after the tests.
set -euo pipefail

bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
if [ -z "$bin" ] && command -v pg_ctl >/dev/null; then bin="$(dirname "$(command -v pg_ctl)")"; fi
[ -n "$bin" ] || { echo "ci_postgres.sh: no PostgreSQL here: apt-get install postgresql" >&2; exit 1; }

as_owner() {  # run a PostgreSQL command as the cluster's owner
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

case "${1:-}" in
start)
  dir="$(mktemp -d /tmp/digits-postgres.XXXXXX)"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
  user="$( [ "$(id -u)" = 0 ] && echo postgres || id -un )"
  as_owner "$bin/initdb" -D "$dir/data" -U "$user" -A trust -E UTF8 >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; exit 1; }
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; exit 1; }
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" digits_test
  echo "export TEST_POSTGRES_URL=postgresql://$user@127.0.0.1:$port/digits_test"
  echo "export TEST_POSTGRES_DIR=$dir"
  ;;
stop)
  dir="${2:?give the folder that start printed as TEST_POSTGRES_DIR}"
  as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: scripts/ci_postgres.sh start | stop DIR" >&2
  exit 2
  ;;
esac
