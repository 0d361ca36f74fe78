#!/usr/bin/env bash
# Hostile load on the verify server (issue 19), on loopback: see README.md.
#
#   benches/load/hostile.sh                # long form: soak 10 min at 1,000 lookups/s, abuse 60 s
#   SHORT=1 benches/load/hostile.sh        # short form (CI): soak 30 s, abuse 10 s, fewer attackers
#
# 1. soak: lookups at RATE plus VERIFY_RATE PDF verifications for SOAK_SECONDS,
#    every INTERVAL seconds: RSS, SQLite WAL, anchoring backlog and its age,
#    p99 — all must stay flat (bounds: backlog age ≤ 1 s, WAL ≤ 256 MiB,
#    RSS growth ≤ 64 MiB, no failed request).
# 2. abuse: a normal client's lookup p99, quiet and while IDLE idle
#    connections, SLOW slow-header and slow-body connections, BOMBS zip bombs
#    and REVISION_UPLOADS PDFs of 5,000 revisions hit the server; the p99 must
#    stay within 2× and the server's RSS within its stated budget:
#    128 MiB (the server at rest: caches, pools) + 64 KiB for each connection it holds (256 per
#    address × the 4 attacking addresses) + max_upload_buffer_bytes (2 × CPUs × 16 MiB)
#    + CPUs × max_inflated_bytes (64 MiB).
# Exit 1 when a bound is broken. Figures: target/load/hostile-*.{md,json}.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
OUT_DIR=${OUT_DIR:-$ROOT/target/load}
SHORT=${SHORT:-0}
PROFILE=${PROFILE:-release}         # release | test (CI's short form: the test profile, whose dependencies `cargo test --workspace` built)
if [ "$SHORT" = 1 ]; then
    : "${SOAK_SECONDS:=30}" "${INTERVAL:=10}" "${RATE:=500}" "${VERIFY_RATE:=5}"
    : "${ABUSE_SECONDS:=10}" "${IDLE:=2000}" "${SLOW:=8}" "${BOMBS:=16}" "${REVISION_UPLOADS:=2}"
    # Two shared cores: the attackers' own TLS work (thousands of connections,
    # uploads) competes with the server here, unlike an attacker elsewhere.
    # A debug build there: the soak's own quiet p99 wanders between 5 and 12 ms,
    # and under attack, with the attackers' TLS on the same two cores, between
    # 10 and 55 ms (8 runs, 2026-12-06, whichever way the binaries were built),
    # so p99s under 25 ms are timer and scheduler noise, not starvation
    # (starvation shows as hundreds of milliseconds). The full form holds the
    # real bound (2×, 5 ms floor) on a release build.
    : "${MAX_RATIO:=3}" "${FLOOR_MS:=25}"
else
    : "${SOAK_SECONDS:=600}" "${INTERVAL:=60}" "${RATE:=1000}" "${VERIFY_RATE:=10}"
    : "${ABUSE_SECONDS:=60}" "${IDLE:=10000}" "${SLOW:=32}" "${BOMBS:=16}" "${REVISION_UPLOADS:=4}"
fi
QUERY='purpose=hostile-load&matter=BENCH-0002&businessSerial=HOSTILE-1&operator=bench'

MAX_RATIO=${MAX_RATIO:-2}
FLOOR_MS=${FLOOR_MS:-5}
command -v jq >/dev/null || { echo "jq is needed" >&2; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || ulimit -n 1048576 2>/dev/null || true
NOFILE=$(ulimit -n)
[ "$NOFILE" = unlimited ] && NOFILE=1048576
if [ "$SHORT" = 1 ] && [ "$NOFILE" -le $((IDLE + 1000)) ]; then
    IDLE=$((NOFILE - 1001))
    echo "hostile.sh: ulimit -n is $NOFILE: $IDLE idle connections" >&2
fi
[ "$IDLE" -gt 0 ] && [ "$NOFILE" -gt $((IDLE + 1000)) ] || { echo "hostile.sh: ulimit -n $NOFILE is too low for IDLE=$IDLE" >&2; exit 2; }

case "$PROFILE" in
    release) BIN=$TARGET/release ;;
    test) BIN=$TARGET/debug ;;
    *) echo "PROFILE is release or test" >&2; exit 2 ;;
esac
if [ "${NO_BUILD:-0}" != 1 ]; then
    if [ "$PROFILE" = release ]; then
        # Two builds, not one: built together, the packages' unified features
        # would rebuild the server crate a second time.
        (cd "$ROOT" && cargo build --release --locked -q -p yinzheng-cli && cargo build --release --locked -q -p yinzheng-load)
    else
        # The binaries `cargo test --workspace` builds for its integration
        # tests (crates/cli/tests, benches/load/tests), with the features it
        # unifies; `cargo build --bins` would unify others and rebuild most of
        # the workspace. scripts/test.sh sets NO_BUILD=1: its test run built them.
        (cd "$ROOT" && cargo test --workspace --locked --no-run -q)
    fi
fi
YZ=$BIN/yinzheng
LOADGEN=$BIN/yinzheng-load

mkdir -p "$OUT_DIR"
WORK=$(mktemp -d)
HOME_DIR=$WORK/home
SERVER_PID=
cleanup() {
    [ -f "$WORK/server.log" ] && tail -n 100 "$WORK/server.log" >"$OUT_DIR/hostile-server.log.tail"
    if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID"
        for _ in $(seq 100); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT

"$YZ" --json --home "$HOME_DIR" serve --demo --listen 127.0.0.1:0 >"$WORK/serve.json" 2>"$WORK/server.log" &
SERVER_PID=$!
for _ in $(seq 600); do
    [ -s "$WORK/serve.json" ] && jq -e .url "$WORK/serve.json" >/dev/null 2>&1 && break
    kill -0 "$SERVER_PID" 2>/dev/null || { cat "$WORK/server.log" >&2; exit 1; }
    sleep 0.2
done
URL=$(jq -r .url "$WORK/serve.json" 2>/dev/null || true)
case "$URL" in https://*) ;; *) echo "hostile.sh: the server did not start" >&2; cat "$WORK/server.log" >&2; exit 1 ;; esac
KEY=$(jq -r .demoApiKey "$WORK/serve.json")
LIC=$(jq -r '[.demoLicenses[] | select(.status == "valid")][0].id' "$WORK/serve.json")
PDF=$HOME_DIR/licenses/files/$LIC/license.pdf
CA=$HOME_DIR/demo/tls-root.pem
SLOTS=$(nproc); [ "$SLOTS" -ge 2 ] || SLOTS=2
HELD=$((256 * 4))
BUDGET_MIB=$((128 + HELD * 64 / 1024 + SLOTS * 2 * 16 + SLOTS * 64))
echo "hostile.sh: server pid $SERVER_PID at $URL ($PROFILE build, $(nproc) CPUs), RSS budget $BUDGET_MIB MiB" >&2

common=(--url "$URL" --cacert "$CA" --api-key "$KEY" --license "$LIC" --query "$QUERY" --pdf "$PDF" --pid "$SERVER_PID")
echo "## soak: $RATE lookups/s + $VERIFY_RATE verifications/s for $SOAK_SECONDS s" | tee "$OUT_DIR/hostile-soak.md"
"$LOADGEN" soak "${common[@]}" --rate "$RATE" --verify-rate "$VERIFY_RATE" --seconds "$SOAK_SECONDS" \
    --interval "$INTERVAL" --out "$OUT_DIR/hostile-soak.json" | tee -a "$OUT_DIR/hostile-soak.md"
echo "## abuse: $IDLE idle connections, $SLOW slow headers and bodies, $BOMBS zip bombs, $REVISION_UPLOADS PDFs of 5,000 revisions" | tee "$OUT_DIR/hostile-abuse.md"
"$LOADGEN" abuse "${common[@]}" --seconds "$ABUSE_SECONDS" --idle "$IDLE" --slow "$SLOW" --bombs "$BOMBS" \
    --revision-uploads "$REVISION_UPLOADS" --rss-budget-mib "$BUDGET_MIB" --max-ratio "$MAX_RATIO" --floor-ms "$FLOOR_MS" --out "$OUT_DIR/hostile-abuse.json" \
    | tee -a "$OUT_DIR/hostile-abuse.md"
kill -0 "$SERVER_PID" || { echo "hostile.sh: the server died" >&2; exit 1; }
