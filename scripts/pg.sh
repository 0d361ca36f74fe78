#!/usr/bin/env bash
# A private PostgreSQL server for the tests and the deployment walk-through:
# Debian's postgresql package, its own data directory and port, nothing shared
# with a system cluster.
#
#   scripts/pg.sh start DIR [PORT]   initdb (once) + start; prints the URL
#   scripts/pg.sh stop DIR           fast shutdown
#   scripts/pg.sh url DIR            the URL of a started server
#
# The URL is postgres://yinzheng:yinzheng@127.0.0.1:PORT/yinzheng. PostgreSQL
# refuses to run as root: as root the cluster belongs to the `postgres` user
# (made by the Debian package) and commands run through runuser.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
port="${3:-55432}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: scripts/pg.sh start|stop|url DIR [PORT]" >&2
  exit 2
fi

bin=""
for d in /usr/lib/postgresql/*/bin; do
  [ -x "$d/initdb" ] && bin="$d"
done
if [ -z "$bin" ]; then
  echo "scripts/pg.sh: PostgreSQL is not installed; install it with: sudo apt-get install postgresql" >&2
  exit 2
fi

as_owner() {
  if [ "$(id -u)" = 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
data="$dir/data"
url() { echo "postgres://yinzheng:yinzheng@127.0.0.1:$(cat "$dir/port")/yinzheng"; }

case "$cmd" in
  start)
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
      pw="$dir/pwfile"
      echo yinzheng >"$pw"
      [ "$(id -u)" = 0 ] && chown postgres: "$pw"
      # C collation: text sorts byte-wise, as in SQLite.
      as_owner "$bin/initdb" -D "$data" -U yinzheng --pwfile="$pw" -A scram-sha-256 \
        --locale=C -E UTF8 >"$dir/initdb.log"
      rm -f "$pw"
    fi
    echo "$port" >"$dir/port"
    if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      # Sockets in the data directory (not /var/run/postgresql); TCP on loopback only.
      as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on" >/dev/null
    fi
    if ! PGPASSWORD=yinzheng psql -h 127.0.0.1 -p "$port" -U yinzheng -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'yinzheng'" | grep -q 1; then
      PGPASSWORD=yinzheng psql -q -h 127.0.0.1 -p "$port" -U yinzheng -d postgres -c "CREATE DATABASE yinzheng"
    fi
    url
    ;;
  stop)
    if [ -f "$data/PG_VERSION" ]; then
      as_owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    ;;
  url)
    url
    ;;
  *)
    echo "usage: scripts/pg.sh start|stop|url DIR [PORT]" >&2
    exit 2
    ;;
esac
