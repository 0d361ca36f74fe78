#!/usr/bin/env bash
# Load benchmark of the verify server (yinzheng serve) on loopback: see README.md.
#
#   benches/load/run.sh                 # all scenarios, server and load generator unpinned
#   PIN=split benches/load/run.sh       # server on CPU 0, load generator on CPU 1
#   SCENARIOS="a" PERF=1 benches/load/run.sh   # also profile the server at saturation of (a)
#
# Writes a Markdown table to stdout and to target/load/results.md (OUT_DIR), the
# raw JSON of every run to target/load/raw/, and the tail of the server's log next to them.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT_DIR=${OUT_DIR:-$ROOT/target/load}
OHA=${OHA:-$(command -v oha || echo /work/tools/bin/oha)}
DURATION=${DURATION:-15}           # measured seconds per run
WARMUP=${WARMUP:-3}                # warm-up seconds before each run (discarded)
PIN=${PIN:-shared}                 # shared: no pinning; split: server cpu 0, load generator cpu 1
SCENARIOS=${SCENARIOS:-a b c}
RATES_A=${RATES_A:-1000 2000 5000}
RATES_B=${RATES_B:-100 250 500}
RATES_C=${RATES_C:-500 1000}
CONN=${CONN:-16}                   # connections at fixed offered loads
SAT_CONN=${SAT_CONN:-64}           # connections at saturation
SAT_TOKENS=${SAT_TOKENS:-20000}    # tokens minted for the redeem saturation run (≤ 10 % for its warm-up)
PERF=${PERF:-0}                    # 1: perf record -g the server during (a) saturation
NO_BUILD=${NO_BUILD:-0}
VERDICT_CACHE_ENTRIES=${VERDICT_CACHE_ENTRIES:-}  # server.toml's verdict_cache_entries (unset: the default, 4096)
QUERY='purpose=load-benchmark&matter=BENCH-0001&businessSerial=LOAD-1&operator=bench'

command -v jq >/dev/null || { echo "jq is needed" >&2; exit 2; }
[ -x "$OHA" ] || { echo "oha not found: cargo install oha --locked (or set OHA=…)" >&2; exit 2; }

if [ "$NO_BUILD" != 1 ]; then
    # Two builds, not one: built together, the packages' unified features would
    # rebuild the server crate a second time.
    (cd "$ROOT" && cargo build --release -q -p yinzheng-cli && cargo build --release -q -p yinzheng-load)
fi
BIN=$TARGET/release
YZ=$BIN/yinzheng
LOADGEN=$BIN/yinzheng-load

case "$PIN" in
    shared) PIN_SERVER=(); PIN_LOAD=() ;;
    split) PIN_SERVER=(taskset -c 0); PIN_LOAD=(taskset -c 1) ;;
    *) echo "PIN is shared or split" >&2; exit 2 ;;
esac

mkdir -p "$OUT_DIR/raw"
WORK=$(mktemp -d)
HOME_DIR=$WORK/home
SERVER_PID=
cleanup() {
    # The server logs a line per request (≈ 400 B): keep only its tail.
    [ -f "$WORK/server.log" ] && tail -n 200 "$WORK/server.log" >"$OUT_DIR/server-$PIN.log.tail"
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# --- the server: a fresh demo data directory, an ephemeral port ---------------
start_server() {
    rm -f "$WORK/serve.json"
    "${PIN_SERVER[@]}" "$YZ" --json --home "$HOME_DIR" serve --demo --listen 127.0.0.1:0 \
        >"$WORK/serve.json" 2>"$WORK/server.log" &
    SERVER_PID=$!
    for _ in $(seq 600); do
        [ -s "$WORK/serve.json" ] && jq -e .url "$WORK/serve.json" >/dev/null 2>&1 && break
        kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
        sleep 0.2
    done
}
start_server
if [ -n "$VERDICT_CACHE_ENTRIES" ]; then
    # server.toml's verdict_cache_entries (0: every file verified afresh, the
    # "before" of issue 21's verdict cache): the demo made, serve it again so.
    kill -TERM "$SERVER_PID"; wait "$SERVER_PID" 2>/dev/null || true
    toml=$HOME_DIR/server/server.toml
    if grep -q '^verdict_cache_entries' "$toml" 2>/dev/null; then
        sed -i "s/^verdict_cache_entries = .*/verdict_cache_entries = $VERDICT_CACHE_ENTRIES/" "$toml"
    else
        echo "verdict_cache_entries = $VERDICT_CACHE_ENTRIES" >>"$toml"
    fi
    start_server
fi
URL=$(jq -r .url "$WORK/serve.json")
KEY=$(jq -r .demoApiKey "$WORK/serve.json")
LIC=$(jq -r '[.demoLicenses[] | select(.status == "valid")][0].id' "$WORK/serve.json")
PDF=$HOME_DIR/licenses/files/$LIC/license.pdf
CA=$HOME_DIR/demo/tls-root.pem
[ -f "$PDF" ] || { echo "no PDF for $LIC at $PDF" >&2; exit 1; }
AUTH="Authorization: Bearer $KEY"
echo "server pid $SERVER_PID at $URL, license $LIC, pinning: $PIN" >&2

# Sanity: every scenario answers 200 once before it is loaded.
curl -fsS --cacert "$CA" -H "$AUTH" "$URL/v1/licenses/$LIC?$QUERY" -o /dev/null
curl -fsS --cacert "$CA" -H "$AUTH" -H 'Content-Type: application/pdf' \
    --data-binary @"$PDF" "$URL/v1/verify?$QUERY" -o /dev/null

# --- measurement helpers ------------------------------------------------------
TCK=$(getconf CLK_TCK)
NCPU=$(nproc)
proc_ticks() { awk '{print $14 + $15}' "/proc/$SERVER_PID/stat"; }
# idle+iowait and total jiffies of the whole machine
sys_ticks() { awk '/^cpu / {print $5 + $6, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9}' /proc/stat; }
now() { date +%s.%N; }

ROWS=()
JSON_ROWS=()
# measure NAME OFFERED CMD...: run CMD (its JSON goes to $RAW), sample CPU around it.
measure() {
    local name=$1 offered=$2; shift 2
    local load1 p0 s0 t0 p1 s1 t1
    load1=$(cut -d' ' -f1 /proc/loadavg)
    p0=$(proc_ticks); s0=$(sys_ticks); t0=$(now)
    if [ "$PERF" = 1 ] && [ "$name" = a ] && [ "$offered" = sat ]; then
        perf record -g -F 999 -p "$SERVER_PID" -o "$OUT_DIR/perf-a-$PIN.data" \
            -- sleep "$((DURATION - 2))" 2>"$OUT_DIR/perf-a-$PIN.log" &
        local perf_pid=$!
        "$@"
        wait "$perf_pid" || true
    else
        "$@"
    fi
    p1=$(proc_ticks); s1=$(sys_ticks); t1=$(now)
    local row
    row=$(jq -r -n --slurpfile r "$RAW" \
        --arg name "$name" --arg offered "$offered" --arg pin "$PIN" --arg load "$load1" \
        --argjson cpu "$(echo "$p0 $p1 $TCK $t0 $t1" | awk '{printf "%.2f", ($2-$1)/$3/($5-$4)}')" \
        --argjson idle "$(echo "$s0 $s1" | awk -v n="$NCPU" '{split($0,a," "); printf "%.2f", (($3-$1)/($4-$2))*n}')" '
        $r[0] as $j
        | ($j.statusCodeDistribution // {}) as $s
        | ([$s | to_entries[] | select(.key != "200") | .value] | add // 0) as $non200
        | ([($j.errorDistribution // {}) | to_entries[] | .value] | add // 0) as $errs
        | {scenario: $name, pin: $pin, offered: $offered,
           achieved: $j.summary.requestsPerSec,
           p50_ms: ($j.latencyPercentiles.p50 * 1000),
           p99_ms: ($j.latencyPercentiles.p99 * 1000),
           p999_ms: ($j.latencyPercentiles["p99.9"] * 1000),
           ok: ($s["200"] // 0), non200: $non200, errors: $errs,
           server_cores: $cpu, idle_cores: $idle, loadavg: ($load | tonumber)}')
    JSON_ROWS+=("$row")
    ROWS+=("$(jq -r '"| \(.scenario) | \(.pin) | \(.offered) | \(.achieved | floor) | \(.p50_ms * 100 | round / 100) | \(.p99_ms * 100 | round / 100) | \(.p999_ms * 100 | round / 100) | \(.non200 + .errors) | \(.server_cores) | \(.idle_cores) | \(.loadavg) |"' <<<"$row")")
    echo "${ROWS[-1]}" >&2
}

# oha_run NAME OFFERED(rate|sat) URL [oha args…]
oha_run() {
    local name=$1 offered=$2 url=$3; shift 3
    local rate=() conns=$CONN
    if [ "$offered" = sat ]; then conns=$SAT_CONN; else rate=(-q "$offered" --latency-correction); fi
    local common=(--no-tui --output-format json --cacert "$CA" -H "$AUTH" -c "$conns" "${rate[@]}" "$@")
    "${PIN_LOAD[@]}" "$OHA" "${common[@]}" -z "${WARMUP}s" -w "$url" >/dev/null
    RAW=$OUT_DIR/raw/$name-$offered-$PIN.json
    measure "$name" "$offered" "${PIN_LOAD[@]}" "$OHA" "${common[@]}" -z "${DURATION}s" -w "$url" -o "$RAW"
}

# redeem_run OFFERED(rate|sat): mint fresh tokens, then drive them once each.
redeem_run() {
    local offered=$1 n rate=() conns=$CONN
    if [ "$offered" = sat ]; then
        n=$SAT_TOKENS; conns=$SAT_CONN
    else
        n=$(awk -v r="$offered" -v d="$DURATION" -v w="$WARMUP" 'BEGIN {printf "%d", r * (d + w) * 1.02 + 100}')
        rate=(--rate "$offered")
    fi
    local t0; t0=$(now)
    "$LOADGEN" mint --home "$HOME_DIR" --license "$LIC" --count "$n" --ttl 300 >"$WORK/tokens.txt"
    echo "minted $n tokens in $(awk -v a="$t0" -v b="$(now)" 'BEGIN {printf "%.1f", b - a}') s" >&2
    RAW=$OUT_DIR/raw/c-$offered-$PIN.json
    measure c "$offered" "${PIN_LOAD[@]}" "$LOADGEN" redeem --url "$URL" --query "$QUERY" \
        --cacert "$CA" --api-key "$KEY" --tokens "$WORK/tokens.txt" "${rate[@]}" \
        --duration "$DURATION" --warmup "$WARMUP" --connections "$conns" --out "$RAW"
    if jq -e .ranOutOfTokens "$RAW" >/dev/null; then
        echo "note: the redeem run used every token after $(jq -r '.summary.total | . * 10 | round / 10' "$RAW") s (SAT_TOKENS raises it)" >&2
    fi
}

for s in $SCENARIOS; do
    case $s in
        a)
            for r in $RATES_A sat; do oha_run a "$r" "$URL/v1/licenses/$LIC?$QUERY"; done ;;
        b)
            for r in $RATES_B sat; do
                oha_run b "$r" "$URL/v1/verify?$QUERY" -m POST -D "$PDF" -T application/pdf
            done ;;
        c)
            for r in $RATES_C sat; do redeem_run "$r"; done ;;
        *) echo "unknown scenario $s" >&2; exit 2 ;;
    esac
done

# --- report ---------------------------------------------------------------------
{
    echo "Load benchmark of the verify server, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')), kernel $(uname -r)"
    echo "Runs of ${DURATION} s after ${WARMUP} s of warm-up; pinning: $PIN; license $LIC; PDF $(stat -c %s "$PDF") bytes."
    echo
    echo "| scenario | pinning | offered req/s | achieved req/s | p50 ms | p99 ms | p99.9 ms | errors | server CPU (cores) | machine idle (cores) | load avg 1 min |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
    printf '%s\n' "${ROWS[@]}"
} | tee "$OUT_DIR/results-$PIN.md"
cp "$OUT_DIR/results-$PIN.md" "$OUT_DIR/results.md"
printf '%s\n' "${JSON_ROWS[@]}" | jq -s . >"$OUT_DIR/results-$PIN.json"
cp "$OUT_DIR/results-$PIN.json" "$OUT_DIR/results.json"
