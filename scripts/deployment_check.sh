#!/usr/bin/env bash
# docs/DEPLOYMENT.md, followed step by step on one machine.
#
# Every fenced block of the guide whose first line is `# step N: …` is taken
# from the guide as written and run here, in order, with the guide's variables
# pointing at: a private PostgreSQL primary and a streaming replica
# (scripts/pg.sh), two data directories standing for two servers, a directory
# standing for the shared volume, a backup directory. Between the steps this
# script checks what the guide says should hold, and adds what a guide cannot
# show: the sequencer's process killed (another server takes over), the
# replica paused (the server stops reading from it), the database lost and
# restored from the step-9 backup (the log carries on, consistent).
#
#   scripts/deployment_check.sh            # uses target/debug/yinzheng (built if missing)
#   YZ_BIN=target/release/yinzheng scripts/deployment_check.sh
#
# Needs: PostgreSQL (Debian's postgresql), curl, rsync, python3.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
guide=$root/docs/DEPLOYMENT.md

for tool in curl rsync python3 psql pg_dump pg_restore; do
  command -v "$tool" >/dev/null || {
    echo "deployment_check: $tool is missing (Debian: apt-get install postgresql curl rsync python3)" >&2
    exit 2
  }
done
YZ_BIN=${YZ_BIN:-$root/target/debug/yinzheng}
[ -x "$YZ_BIN" ] || cargo build --quiet -p yinzheng-cli
PATH="$(cd "$(dirname "$YZ_BIN")" && pwd):$PATH"
export PATH

started=$SECONDS
say() { printf '\n--- deployment_check [%ss]: %s\n' "$((SECONDS - started))" "$*"; }
fail() { echo "deployment_check: FAILED: $*" >&2; exit 1; }

# The text of the guide's block whose first line is "# step N: …".
block() {
  local text
  text=$(awk -v n="$1" '
    /^```/ { if (inb) { if (hit) exit; inb = 0 } else { inb = 1; first = 1 }; next }
    inb && first { first = 0; if ($0 ~ "^# step " n ":") hit = 1 }
    inb && hit { print }
  ' "$guide")
  [ -n "$text" ] || fail "docs/DEPLOYMENT.md has no block starting with '# step $1:'"
  printf '%s\n' "$text"
}
step() {
  say "step $1 of docs/DEPLOYMENT.md"
  block "$1" | sed 's/^/    /'
  eval "$(block "$1")"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

work=$(mktemp -d /tmp/yinzheng-deploy.XXXXXX)
chmod 755 "$work"
pids=()
# stop PID [SIGNAL]: a server's subshell and the yinzheng process it runs.
stop() {
  local p=$1 sig=${2:-TERM} kids
  kids=$(pgrep -P "$p" 2>/dev/null || true)
  # shellcheck disable=SC2086
  kill "-$sig" $kids "$p" 2>/dev/null || true
}
cleanup() {
  local rc=$?
  for p in "${pids[@]}"; do stop "$p"; done
  wait 2>/dev/null || true
  "$root/scripts/pg.sh" stop "$work/pg-replica" >/dev/null 2>&1 || true
  "$root/scripts/pg.sh" stop "$work/pg-primary" >/dev/null 2>&1 || true
  if [ "$rc" != 0 ]; then
    keep=${KEEP_LOGS:-$root/target/deployment-check-logs}
    mkdir -p "$keep" && cp "$work"/server-*.log "$keep/" 2>/dev/null || true
    for f in "$work"/server-*.log; do
      [ -f "$f" ] && { echo "== $f (last warnings)"; grep -E "WARN|ERROR" "$f" | tail -n 10; }
    done
    echo "deployment_check: the servers' logs are in $keep"
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

say "a private PostgreSQL primary (the guide's db-primary)"
pg_port=$(free_port)
primary_url=$("$root/scripts/pg.sh" start "$work/pg-primary" "$pg_port")

# The guide's variables (its "set them for your site" block), for this machine.
PG_ADMIN_URL="${primary_url%/yinzheng}/postgres"
PG_HOST=127.0.0.1 PG_PORT=$pg_port
YZ_DB_PASSWORD=$(head -c 18 /dev/urandom | base64 | tr -d '/+=')
YZ_STORE_FILE=$work/etc/store
YZ_PASS=$work/etc/passphrase
YZ_SHARED=$work/shared
YZ_HOSTNAME=localhost
YZ_ADMIN=$work/admin
YZ_BACKUP=$work/backup
server1=$work/server1 server2=$work/server2
YZ_CA_HOME=$work/ca-home
port1=$(free_port) port2=$(free_port)
YZ_SERVERS="https://localhost:$port1 https://localhost:$port2"
mkdir -p "$work/etc" && chmod 700 "$work/etc"
YZ_OCSP_PASS=$work/etc/ocsp-passphrase YZ_LOG_PASS=$work/etc/log-passphrase YZ_TLS_PASS=$work/etc/tls-passphrase
for f in "$YZ_PASS" "$YZ_OCSP_PASS" "$YZ_LOG_PASS" "$YZ_TLS_PASS"; do
  (umask 077; head -c 24 /dev/urandom | base64 >"$f")
done
YZ_HOME=$server1 YZ_LISTEN=127.0.0.1:$port1 YZ_NEXT=$server2

step 1
app_url="postgres://yinzheng_app:$YZ_DB_PASSWORD@127.0.0.1:$pg_port/yinzheng_prov"
[ "$(psql "$app_url" -tAc 'SELECT current_user')" = yinzheng_app ] || fail "the application role cannot log in"

step 2
[ "$(stat -c %a "$YZ_STORE_FILE")" = 600 ] || fail "the store file is not 0600"

step 3
# Everything the registries hold is in PostgreSQL: no SQLite file was made.
dbs=$(find "$YZ_HOME" -name '*.db' -o -name '*.sqlite' | head -5)
[ -z "$dbs" ] || fail "SQLite files made with --store-file: $dbs"
schemas=$(psql "$app_url" -tAc "SELECT string_agg(nspname, ' ' ORDER BY nspname) FROM pg_namespace WHERE nspname LIKE 'prov\_%'")
for s in prov_log prov_pki_gov prov_pki_tls prov_seal; do
  [[ " $schemas " == *" $s "* ]] || fail "schema $s missing (have: $schemas)"
done
grep -q '"apiKey"' "$YZ_ADMIN/city-approvals.json" || fail "no API key in city-approvals.json"
# The CA keys stay in the CA's data directory; the server's copy has none.
[ -f "$YZ_CA_HOME/pki/gov/issuing.key.pem" ] || fail "the CA's data directory has no issuing CA key"
ca_keys=$(find "$YZ_HOME/pki" -name '*.key.*' ! -name 'ocsp.key.pem' ! -name 'ocsp.key.uri')
[ -z "$ca_keys" ] || fail "CA keys in the server's data directory: $ca_keys"
[ -f "$YZ_HOME/pki/gov/ocsp.key.pem" ] || fail "the server's copy lacks the OCSP responder key"
# The servers' keys open with their own passphrases (step 6 starts them with
# those alone), not with the CA's.
if YINZHENG_PASSPHRASE= timeout 60 yinzheng --home "$YZ_HOME" --store-file "$YZ_STORE_FILE" serve --listen 127.0.0.1:0 \
    --passphrase-file "$YZ_PASS" >"$work/ca-pass-serve.log" 2>&1; then
  fail "a server started with the CA passphrase alone"
fi
grep -q "wrong passphrase" "$work/ca-pass-serve.log" || fail "the CA passphrase was refused for another reason: $(cat "$work/ca-pass-serve.log")"

step 4
[ -L "$YZ_HOME/log/tiles" ] && [ -f "$YZ_SHARED/log-tiles/checkpoint" ] || fail "the tiles are not on the shared volume"
[ -L "$YZ_HOME/licenses/files" ] || fail "license files are not on the shared volume"

step 5
[ -L "$server2/log/tiles" ] && [ -f "$server2/log/tiles/checkpoint" ] || fail "server 2 does not see the shared tiles"

# Step 6, on each server: the guide's command line as written, in the background.
start_server() { # N HOME PORT [extra step]
  local n=$1 home=$2 port=$3 which=${4:-6}
  (
    export YZ_HOME=$home YZ_LISTEN=127.0.0.1:$port YINZHENG_LOG=info
    exec > "$work/server-$n.log" 2>&1
    eval "$(block "$which")"
  ) &
  pids+=($!)
  eval "pid_$n=$!"
  local i
  for i in $(seq 1 300); do
    curl -sf --cacert "$YZ_HOME/pki/tls/root.pem" "https://localhost:$port/readyz" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  fail "server $n did not become ready on port $port"
}
say "step 6 of docs/DEPLOYMENT.md, on two servers"
block 6 | sed 's/^/    /'
start_server 1 "$server1" "$port1"
start_server 2 "$server2" "$port2"

step 7 >"$work/step7.out"
out=$(cat "$work/step7.out")
echo "$out"
[ "$(grep -c '^yinzheng_log_sequencer 1' <<<"$out")" = 1 ] || fail "not exactly one sequencer: $out"
[ "$(grep -c '^yinzheng_log_sequencer 0' <<<"$out")" = 1 ] || fail "the other server does not follow: $out"

step 8
say "step 8 held: issued through the CLI (its entry queued to the sequencing server), revoked, both servers say revoked"

# ---------------------------------------------------------------- failover
metric() { # BASE NAME → value
  curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" -H "Authorization: Bearer $key" "$1/metrics" \
    | sed -n "s/^$2 //p"
}
base1=https://localhost:$port1 base2=https://localhost:$port2
if [ "$(metric "$base1" yinzheng_log_sequencer)" = 1 ]; then
  seq_n=1 seq_base=$base1 other=$base2
else
  seq_n=2 seq_base=$base2 other=$base1
fi
say "failover: SIGKILL the sequencing server ($seq_base)"
size_before=$(sed -n 2p "$YZ_SHARED/log-tiles/checkpoint")
eval "stop \$pid_$seq_n KILL"
for i in $(seq 1 50); do
  [ "$(metric "$other" yinzheng_log_sequencer)" = 1 ] && break
  sleep 0.2
done
[ "$(metric "$other" yinzheng_log_sequencer)" = 1 ] || fail "the other server did not take over the log"
id2=$(yz --json license issue --type business-licence --holder-name 示例二号有限公司 \
  --holder-code 91350100M000100Y43 --field company_type=有限责任公司 --field legal_rep=李四 \
  --field established=2021-03-04 --field "address=示例市示例区示例路2号" \
  --seal 11430000006122244L-official-1 --key "$YZ_HOME/keys/authority.key" --passphrase-file "$YZ_PASS" \
  --log-passphrase-file "$YZ_LOG_PASS" | sed -n 's/^  "id": "\([^"]*\)".*/\1/p')
[ -n "$id2" ] || fail "issuing after the takeover"
size_after=$(curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" "$other/v1/log/checkpoint" | sed -n 2p)
[ "$size_after" -gt "$size_before" ] || fail "the log did not grow after the takeover ($size_before → $size_after)"
curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" "$other/v1/log/consistency?old=$size_before&new=$size_after" >/dev/null \
  || fail "no consistency proof across the takeover ($size_before → $size_after): $(curl -sS --cacert "$YZ_HOME/pki/tls/root.pem" "$other/v1/log/consistency?old=$size_before&new=$size_after")"
say "restart the killed server (step 6 again): it follows"
if [ "$seq_n" = 1 ]; then start_server 1 "$server1" "$port1"; else start_server 2 "$server2" "$port2"; fi
[ "$(metric "$seq_base" yinzheng_log_sequencer)" = 0 ] || fail "the restarted server should follow"

# ---------------------------------------------------------------- replica
say "a streaming replica (scripts/pg.sh replica: pg_basebackup -R, as the guide shows)"
replica_port=$(free_port)
replica_url=$("$root/scripts/pg.sh" replica "$work/pg-primary" "$work/pg-replica" "$replica_port")
YZ_STORE_READ_FILE=$work/etc/store-read
(umask 077; sed "s/:$pg_port\//:$replica_port\//" "$YZ_STORE_FILE" >"$YZ_STORE_READ_FILE")
server3=$work/server3 port3=$(free_port)
YZ_NEXT=$server3
eval "$(block 5)"
start_server 3 "$server3" "$port3" 11
base3=https://localhost:$port3
for i in $(seq 1 50); do
  [ "$(metric "$base3" yinzheng_store_replica_in_use)" = 1 ] && break
  sleep 0.2
done
[ "$(metric "$base3" yinzheng_store_replica_in_use)" = 1 ] || fail "server 3 does not read from the replica"
q='purpose=deployment%20check&matter=M-1&businessSerial=BS-1&operator=ops'
status3() {
  curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" -H "Authorization: Bearer $key" "$base3/v1/licenses/$1?$q" \
    | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p'
}
[ "$(status3 "$id2")" = valid ] || fail "server 3 reads $id2 as $(status3 "$id2")"
replica_reads=$(psql "$replica_url" -tAc "SELECT count(*) FROM pg_stat_activity WHERE usename = 'yinzheng_app'")
[ "$replica_reads" -gt 0 ] || fail "no session of server 3 on the replica"
say "pause the replica's replay, then suspend $id2: server 3 must not read the stale replica"
psql "$replica_url" -tAc "SELECT pg_wal_replay_pause()" >/dev/null
yz license suspend "$id2" --reason "deployment check: replica paused" --passphrase-file "$YZ_LOG_PASS"
[ "$(status3 "$id2")" = suspended ] || fail "server 3 answered $(status3 "$id2") from a paused replica"
[ "$(metric "$base3" yinzheng_store_replica_in_use)" = 0 ] || fail "server 3 still reads from a replica that is behind"
psql "$replica_url" -tAc "SELECT pg_wal_replay_resume()" >/dev/null
for i in $(seq 1 50); do
  [ "$(metric "$base3" yinzheng_store_replica_in_use)" = 1 ] && break
  sleep 0.2
done
[ "$(metric "$base3" yinzheng_store_replica_in_use)" = 1 ] || fail "server 3 did not return to the replica after it caught up"
[ "$(status3 "$id2")" = suspended ] || fail "the replica answers $(status3 "$id2")"

# ---------------------------------------------------------------- backup and restore
say "step 9 while approval systems keep checking (the log grows during the backup)"
load() {
  while :; do
    for base in $YZ_SERVERS; do
      curl -s --cacert "$YZ_HOME/pki/tls/root.pem" -H "Authorization: Bearer $key" \
        "$base/v1/licenses/$id2?$q" >/dev/null || true
    done
  done
}
load & load_pid=$!
pids+=("$load_pid")
sleep 1
step 9
say "the tiles copied again 2 s later, as a slow copy of a large shared volume would be (checkpoint first, as step 9 does)"
sleep 2
cp "$YZ_SHARED/log-tiles/checkpoint" "$backup/checkpoint"
tar -C "$YZ_SHARED" -cf "$backup/shared.tar" . || [ $? = 1 ]   # as step 9: 1 = files came while it read
(cd "$backup" && sha256sum db.dump checkpoint shared.tar home.tar >SHA256SUMS)
stop "$load_pid"
cp_backup=$(sed -n 2p "$backup/checkpoint")

say "disaster: every server stopped, the database dropped, the data directory and the shared volume lost"
for p in "${pids[@]}"; do stop "$p"; done
wait 2>/dev/null || true
pids=()
"$root/scripts/pg.sh" stop "$work/pg-replica" >/dev/null
psql "$PG_ADMIN_URL" -v ON_ERROR_STOP=1 -qc "DROP DATABASE yinzheng_prov" \
  -c "CREATE DATABASE yinzheng_prov OWNER yinzheng_app"
rm -rf "$server1" "$server2" "$server3" "$YZ_SHARED"
YZ_HOME=$server1

step 10
db_size=$(psql "$app_url" -tAc "SELECT body FROM prov_log.checkpoint WHERE id = 1" | sed -n 2p)
[ "$db_size" -lt "$cp_backup" ] \
  || fail "the test wants a database behind the tiles (database $db_size, tiles $cp_backup): the load did not reach the log"
say "the restored database's checkpoint (size $db_size) is behind the tiles' ($cp_backup): the server must carry on from the tiles"
start_server 1 "$server1" "$port1"
YZ_SERVERS=$base1
[ "$(metric "$base1" yinzheng_log_sequencer)" = 1 ] || fail "the restored server does not sequence"
cp_now=$(curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" "$base1/v1/log/checkpoint")
size_now=$(sed -n 2p <<<"$cp_now")
[ "$size_now" -ge "$cp_backup" ] || fail "the restored log went back: backup checkpoint $cp_backup, now $size_now"
[ "$(curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" -H "Authorization: Bearer $key" "$base1/v1/licenses/$id?$q" \
  | sed -n 's/.*"status":"\([a-z]*\)".*/\1/p')" = revoked ] || fail "the revocation of $id was not restored"
id3=$(yz --json license issue --type business-licence --holder-name 示例三号有限公司 \
  --holder-code 91350100M000100Y43 --field company_type=有限责任公司 --field legal_rep=王五 \
  --field established=2022-05-06 --field "address=示例市示例区示例路3号" \
  --seal 11430000006122244L-official-1 --key "$YZ_HOME/keys/authority.key" --passphrase-file "$YZ_PASS" \
  --log-passphrase-file "$YZ_LOG_PASS" | sed -n 's/^  "id": "\([^"]*\)".*/\1/p')
[ -n "$id3" ] || fail "issuing after the restore"
size_new=$(curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" "$base1/v1/log/checkpoint" | sed -n 2p)
[ "$size_new" -gt "$size_now" ] || fail "the restored log does not grow"
curl -sSf --cacert "$YZ_HOME/pki/tls/root.pem" "$base1/v1/log/consistency?old=$cp_backup&new=$size_new" >/dev/null \
  || fail "the restored log is not consistent with the backup's checkpoint"

say "the database goes away: answers are 503 with Retry-After (never a guess), /readyz is not ready; then it comes back"
"$root/scripts/pg.sh" stop "$work/pg-primary" >/dev/null
sleep 0.5
code=$(curl -s -o "$work/lost.json" -D "$work/lost.headers" -w '%{http_code}' --cacert "$YZ_HOME/pki/tls/root.pem" \
  -H "Authorization: Bearer $key" "$base1/v1/licenses/$id3?$q")
[ "$code" = 503 ] || fail "with the database gone the status answered $code: $(cat "$work/lost.json")"
grep -qi '^retry-after:' "$work/lost.headers" || fail "the 503 has no Retry-After"
ready=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$YZ_HOME/pki/tls/root.pem" "$base1/readyz")
[ "$ready" = 503 ] || fail "/readyz said $ready with the database gone"
"$root/scripts/pg.sh" start "$work/pg-primary" "$pg_port" >/dev/null
for i in $(seq 1 50); do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$YZ_HOME/pki/tls/root.pem" \
    -H "Authorization: Bearer $key" "$base1/v1/licenses/$id3?$q")
  [ "$code" = 200 ] && break
  sleep 0.2
done
[ "$code" = 200 ] || fail "the server did not recover when the database came back ($code)"

say "docs/DEPLOYMENT.md: all steps held"
