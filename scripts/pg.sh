#!/usr/bin/env bash
# A private PostgreSQL server for the tests and the deployment walk-through:
# Debian's postgresql package, its own data directory and port, nothing shared
# with a system cluster.
#
#   scripts/pg.sh start DIR [PORT]   initdb (once) + start; prints the URL
#   scripts/pg.sh replica PRIMARY_DIR DIR [PORT]
#                                    a streaming replica of a started server
#                                    (pg_basebackup -R), started; prints its URL
#   scripts/pg.sh stop DIR           fast shutdown
#   scripts/pg.sh url DIR            the URL of a started server
#
# The URL is postgres://yinzheng:yinzheng@127.0.0.1:PORT/yinzheng (TLS is on
# as well: add ?sslmode=verify-full&sslrootcert=DIR/tls/ca.pem). PostgreSQL
# refuses to run as root: as root the cluster belongs to the `postgres` user
# (made by the Debian package) and commands run through runuser.
set -euo pipefail

cmd="${1:-}"
dir="${2:-}"
port="${3:-55432}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
  echo "usage: scripts/pg.sh start|stop|url DIR [PORT] | replica PRIMARY_DIR DIR [PORT]" >&2
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
    # TLS too (clients choose: sslmode in the URL): a CA of its own, a server
    # certificate for localhost and 127.0.0.1. DIR/tls/ca.pem is what a
    # client's sslrootcert names.
    tls="$dir/tls"
    if [ ! -f "$tls/ca.pem" ]; then
      mkdir -p "$tls"
      openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 3650 \
        -subj "/CN=Yinzheng test PostgreSQL CA" -keyout "$tls/ca.key" -out "$tls/ca.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
      openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=localhost" \
        -keyout "$tls/server.key" -out "$tls/server.csr" 2>/dev/null
      printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n' >"$tls/ext"
      openssl x509 -req -in "$tls/server.csr" -CA "$tls/ca.pem" -CAkey "$tls/ca.key" -CAcreateserial \
        -days 3650 -extfile "$tls/ext" -out "$tls/server.crt" 2>/dev/null
      chmod 600 "$tls/server.key" "$tls/ca.key"
      chmod 644 "$tls/ca.pem"
      if [ "$(id -u)" = 0 ]; then chown postgres: "$tls/server.key" "$tls/server.crt"; fi
    fi
    if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      # Sockets in the data directory (not /var/run/postgresql); TCP on loopback only.
      as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300 -c fsync=on -c ssl=on -c ssl_cert_file=$tls/server.crt -c ssl_key_file=$tls/server.key" >/dev/null
    fi
    if ! PGPASSWORD=yinzheng psql -h 127.0.0.1 -p "$port" -U yinzheng -d postgres -tAc \
      "SELECT 1 FROM pg_database WHERE datname = 'yinzheng'" | grep -q 1; then
      PGPASSWORD=yinzheng psql -q -h 127.0.0.1 -p "$port" -U yinzheng -d postgres -c "CREATE DATABASE yinzheng"
    fi
    url
    ;;
  replica)
    primary="$(cd "$dir" && pwd)"
    dir="${3:-}"
    port="${4:-55433}"
    if [ -z "$dir" ]; then
      echo "usage: scripts/pg.sh replica PRIMARY_DIR DIR [PORT]" >&2
      exit 2
    fi
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    data="$dir/data"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$dir"; fi
    if [ ! -f "$data/PG_VERSION" ]; then
      # -R writes standby.signal and primary_conninfo: a hot standby that streams.
      as_owner env PGPASSWORD=yinzheng "$bin/pg_basebackup" -h 127.0.0.1 -p "$(cat "$primary/port")" \
        -U yinzheng -D "$data" -R -X stream --checkpoint=fast >"$dir/basebackup.log" 2>&1
    fi
    echo "$port" >"$dir/port"
    if ! as_owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; then
      as_owner "$bin/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 start \
        -o "-p $port -k $data -c listen_addresses=127.0.0.1 -c max_connections=300 -c hot_standby=on" >/dev/null
    fi
    echo "postgres://yinzheng:yinzheng@127.0.0.1:$port/yinzheng"
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
    echo "usage: scripts/pg.sh start|stop|url DIR [PORT] | replica PRIMARY_DIR DIR [PORT]" >&2
    exit 2
    ;;
esac
