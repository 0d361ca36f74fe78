#!/usr/bin/env bash
# The status benchmark (scenario (a) of run.sh: GET /v1/licenses/{id}, every
# answer with its usage record committed) on three set-ups, side by side in one
# run on one machine:
#
#   sqlite   one server, embedded SQLite (the README's default)
#   pg-1     one server on PostgreSQL
#   pg-2     two servers on the same PostgreSQL database (the load split
#            evenly: one oha per server at half the offered rate; achieved =
#            the sum, latency percentiles = the worse of the two)
#
#   benches/load/two_servers.sh                       # private PostgreSQL via scripts/pg.sh
#   PG_URL=postgres://… benches/load/two_servers.sh   # an existing database (a namespace of its own)
#   RATES="1000 2000" DURATION=10 benches/load/two_servers.sh
#
# Writes a Markdown table to stdout and to target/load/two-servers.md, raw oha
# JSON to target/load/raw/. Needs oha (cargo install oha --locked) and jq.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT_DIR=${OUT_DIR:-$ROOT/target/load}
OHA=${OHA:-$(command -v oha || echo "$HOME/.cargo/bin/oha")}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-3}
RATES=${RATES:-1000 2000 4000}
CONN=${CONN:-16}
SAT_CONN=${SAT_CONN:-64}
SETUPS=${SETUPS:-sqlite pg-1 pg-2}
NO_BUILD=${NO_BUILD:-0}
QUERY='purpose=load-benchmark&matter=BENCH-0001&businessSerial=LOAD-1&operator=bench'

command -v jq >/dev/null || { echo "jq is needed" >&2; exit 2; }
[ -x "$OHA" ] || { echo "oha not found: cargo install oha --locked (or set OHA=…)" >&2; exit 2; }
[ "$NO_BUILD" = 1 ] || (cd "$ROOT" && cargo build --release -q -p yinzheng-cli)
YZ=$TARGET/release/yinzheng

mkdir -p "$OUT_DIR/raw"
WORK=$(mktemp -d /tmp/yinzheng-load2.XXXXXX)
chmod 755 "$WORK"
PIDS=()
PG_DIR=
cleanup() {
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -n "$PG_DIR" ] && "$ROOT/scripts/pg.sh" stop "$PG_DIR" >/dev/null 2>&1
    rm -rf "$WORK"
}
trap cleanup EXIT

if [ -z "${PG_URL:-}" ] && [[ " $SETUPS " == *" pg-"* ]]; then
    PG_DIR=$WORK/pg
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    PG_URL=$("$ROOT/scripts/pg.sh" start "$PG_DIR" "$port")
fi

# serve HOME STORE OUT: serve --demo in the background; waits for its JSON banner.
serve() {
    local home=$1 store=$2 out=$3
    YINZHENG_STORE=$store YINZHENG_LOG=warn "$YZ" --json --home "$home" serve --demo \
        --listen 127.0.0.1:0 >"$out" 2>"$out.log" &
    PIDS+=($!)
    local pid=$!
    for _ in $(seq 900); do
        [ -s "$out" ] && jq -e .url "$out" >/dev/null 2>&1 && return 0
        kill -0 "$pid" 2>/dev/null || { cat "$out.log" >&2; exit 1; }
        sleep 0.2
    done
    echo "server in $home did not start" >&2
    exit 1
}

ROWS=()
# run SETUP OFFERED URL...: one oha per URL, concurrently, the offered rate split evenly.
run() {
    local setup=$1 offered=$2; shift 2
    local n=$# i=0 raws=() pids=()
    local conns=$CONN rate=()
    if [ "$offered" = sat ]; then
        conns=$((SAT_CONN / n))
    else
        rate=(-q "$((offered / n))" --latency-correction)
        conns=$((CONN / n > 0 ? CONN / n : 1))
    fi
    for url in "$@"; do
        local common=(--no-tui --output-format json --cacert "$CA" -H "Authorization: Bearer $KEY"
            -c "$conns" "${rate[@]}")
        "$OHA" "${common[@]}" -z "${WARMUP}s" -w "$url" >/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
    pids=()
    for url in "$@"; do
        i=$((i + 1))
        local raw=$OUT_DIR/raw/two-$setup-$offered-$i.json
        raws+=("$raw")
        "$OHA" --no-tui --output-format json --cacert "$CA" -H "Authorization: Bearer $KEY" \
            -c "$conns" "${rate[@]}" -z "${DURATION}s" -w "$url" -o "$raw" &
        pids+=($!)
    done
    wait "${pids[@]}"
    local row
    row=$(jq -r -s --arg setup "$setup" --arg offered "$offered" '
        {achieved: (map(.summary.requestsPerSec) | add),
         p50: (map(.latencyPercentiles.p50) | max * 1000),
         p99: (map(.latencyPercentiles.p99) | max * 1000),
         p999: (map(.latencyPercentiles["p99.9"]) | max * 1000),
         bad: (map(([(.statusCodeDistribution // {}) | to_entries[] | select(.key != "200") | .value] | add // 0)
                  + ([(.errorDistribution // {}) | to_entries[] | .value] | add // 0)) | add)}
        | "| \($setup) | \($offered) | \(.achieved | floor) | \(.p50 * 100 | round / 100) | \(.p99 * 100 | round / 100) | \(.p999 * 100 | round / 100) | \(.bad) |"' "${raws[@]}")
    ROWS+=("$row")
    echo "$row" >&2
}

for setup in $SETUPS; do
    home=$WORK/$setup-a
    case $setup in
        sqlite) store=sqlite ;;
        pg-*) store="$PG_URL?namespace=load_${setup//-/_}_$$" ;;
        *) echo "unknown set-up $setup" >&2; exit 2 ;;
    esac
    serve "$home" "$store" "$WORK/$setup-a.json"
    URL=$(jq -r .url "$WORK/$setup-a.json")
    KEY=$(jq -r .demoApiKey "$WORK/$setup-a.json")
    LIC=$(jq -r '[.demoLicenses[] | select(.status == "valid")][0].id' "$WORK/$setup-a.json")
    CA=$home/demo/tls-root.pem
    urls=("$URL/v1/licenses/$LIC?$QUERY")
    if [ "$setup" = pg-2 ]; then
        # The second server: a copy of the data directory, the tiles shared.
        cp -a "$home" "$WORK/$setup-b"
        rm -rf "$WORK/$setup-b/log/tiles"
        ln -s "$home/log/tiles" "$WORK/$setup-b/log/tiles"
        serve "$WORK/$setup-b" "$store" "$WORK/$setup-b.json"
        urls+=("$(jq -r .url "$WORK/$setup-b.json")/v1/licenses/$LIC?$QUERY")
    fi
    curl -fsS --cacert "$CA" -H "Authorization: Bearer $KEY" "${urls[0]}" -o /dev/null
    for r in $RATES sat; do run "$setup" "$r" "${urls[@]}"; done
    for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    wait "${PIDS[@]}" 2>/dev/null || true
    PIDS=()
done

{
    echo "Status by identifier (scenario (a)), $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r); PostgreSQL $(psql "$PG_URL" -tAc 'SHOW server_version' 2>/dev/null || echo '-') on the same machine."
    echo "Runs of ${DURATION} s after ${WARMUP} s of warm-up; servers, database and load generators share the machine."
    echo
    echo "| set-up | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | errors |"
    echo "|---|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT_DIR/two-servers.md"
