#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this file).
#
# Installs what the tests need from Debian when it is missing:
#   openssl      OpenSSL 3, the interop peer for SM2 keys, signatures, SM3/SM4
#   libssl-dev   + pkg-config: the `openssl` crate used by the side-by-side benches
#   golang-go + golang-golang-x-mod-dev: Go's sumdb/tlog, the peer that checks the
#                anchoring log's SHA-256 tree hashes and proofs (tests/peers/tlog)
#   fonts-wqy-microhei  the system CJK font path of seal drawing and generated OFD
#                documents (TrueType, free to embed; OFD embeds a glyph subset of it);
#                the embedded GB 2312 subset (crates/fonts) is tested on its own too
#   qpdf         checks the structure of stamped PDFs (incremental updates, both xref kinds)
#   poppler-utils  pdftoppm renders stamped pages; pdfsig verifies PDF signatures;
#                pdftotext extracts the text of generated PDFs
#   zbar-tools   zbarimg, an independent decoder of the QR codes on license faces
#   libnss3-tools  certutil, to give pdfsig a trust store
#   curl         an independent HTTPS client: runs the curl commands `serve --demo` prints
#   python3-venv   for the pyHanko venv (PDF signature peer), made once under the target dir
#   chromium     headless, driven over the DevTools protocol by scripts/browser_check.py
#                (standard-library Python): the counter page test (crates/server/tests/browser.rs)
#   postgresql   the PostgreSQL backend: a private server (scripts/pg.sh: its own data
#                directory under /tmp, its own port, loopback only) is started here and
#                stopped on exit, for the store suite, the two-server tests and the
#                deployment walk-through; the store-backed crates' suites run on it too
#   rsync        the deployment walk-through copies a data directory as docs/DEPLOYMENT.md does
#   jq           the hostile-load run (benches/load/hostile.sh) reads the server's start line
#   g++          libfuzzer-sys's build script, for the check that fuzz/ compiles
#   cmake        builds GmSSL 3.2.0 from testdata/peers (scripts/sm2-peers.sh), the C
#                SM2 peer of the differential tests (tests/tests/sm2_peers_differential.rs),
#                and SoftSDF on it, the GM/T 0018 device of crates/sdf's tests
#   softhsm2     a PKCS#11 token in software: crates/pkcs11's tests make keys on it
# Then: formatting, clippy (-D warnings, all targets), every test with the peers
# (embedded SQLite) with a check of the fuzz targets beside it, the store-backed
# crates' tests again on PostgreSQL and docs/DEPLOYMENT.md step by step
# (scripts/deployment_check.sh) with rustdoc (-D warnings) beside them, the
# hostile-load run in its short form (benches/load/hostile.sh).
# Peer tests (#[peer_test]) run with --features yinzheng-tests/peers and never
# skip here: a missing peer fails them with instructions.
set -euo pipefail
cd "$(dirname "$0")/.."
# A clean clone builds once: incremental caches would only cost disk (tens of GB).
export CARGO_INCREMENTAL="${CARGO_INCREMENTAL:-0}"

need=()
command -v openssl >/dev/null 2>&1 || need+=(openssl)
command -v pkg-config >/dev/null 2>&1 || need+=(pkg-config)
dpkg -s libssl-dev >/dev/null 2>&1 || need+=(libssl-dev)
command -v go >/dev/null 2>&1 || need+=(golang-go)
dpkg -s golang-golang-x-mod-dev >/dev/null 2>&1 || need+=(golang-golang-x-mod-dev)
dpkg -s fonts-wqy-microhei >/dev/null 2>&1 || need+=(fonts-wqy-microhei)
command -v qpdf >/dev/null 2>&1 || need+=(qpdf)
command -v pdftoppm >/dev/null 2>&1 || need+=(poppler-utils)
command -v zbarimg >/dev/null 2>&1 || need+=(zbar-tools)
command -v certutil >/dev/null 2>&1 || need+=(libnss3-tools)
command -v curl >/dev/null 2>&1 || need+=(curl)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v python3 >/dev/null 2>&1 || need+=(python3)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need+=(postgresql)
command -v psql >/dev/null 2>&1 || need+=(postgresql-client)
command -v rsync >/dev/null 2>&1 || need+=(rsync)
command -v jq >/dev/null 2>&1 || need+=(jq)
command -v c++ >/dev/null 2>&1 || need+=(g++)   # libfuzzer-sys's build script (fuzz/ check)
command -v cmake >/dev/null 2>&1 || need+=(cmake)  # GmSSL, the C SM2 peer (scripts/sm2-peers.sh)
command -v softhsm2-util >/dev/null 2>&1 || need+=(softhsm2)  # the PKCS#11 token of crates/pkcs11's tests
if [ -z "${YINZHENG_PYHANKO:-}" ] && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  need+=(python3-venv)
fi
if ((${#need[@]})); then
  echo "scripts/test.sh: installing ${need[*]} (Debian packages)"
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${need[@]}"
fi
openssl version
go version
chromium --version

# pyHanko (PDF signature peer) in a venv of its own, made once.
if [ -z "${YINZHENG_PYHANKO:-}" ]; then
  venv="${CARGO_TARGET_DIR:-target}/peers-venv"
  if [ ! -x "$venv/bin/pyhanko" ]; then
    echo "scripts/test.sh: installing pyHanko into $venv (PyPI)"
    python3 -m venv "$venv"
    # pinned: the versions the peer tests were written against (pdf.md quirks)
    "$venv/bin/pip" install -q "pyHanko==0.38.0" "pyhanko-cli==0.6.0" "pyhanko-certvalidator==0.33.0" "asn1crypto==1.5.1" "cryptography==50.0.2"
  fi
  venv="$(cd "$venv" && pwd)"
  export YINZHENG_PYHANKO="$venv/bin/pyhanko" YINZHENG_PYTHON="$venv/bin/python"
fi
"$YINZHENG_PYHANKO" --version

step() { printf '\n=== [%4ds] %s\n' "$SECONDS" "$*"; }

# The tests' PostgreSQL: private, on a free port, stopped (and its data
# removed) however this script ends.
pg_dir=$(mktemp -d /tmp/yinzheng-test-pg.XXXXXX)
pg_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
stop_pg() {
  scripts/pg.sh stop "$pg_dir" || true
  rm -rf "$pg_dir"
}
trap stop_pg EXIT
YINZHENG_TEST_POSTGRES_URL=$(scripts/pg.sh start "$pg_dir" "$pg_port")
YINZHENG_TEST_POSTGRES_CA=$pg_dir/tls/ca.pem
export YINZHENG_TEST_POSTGRES_URL YINZHENG_TEST_POSTGRES_CA
psql "$YINZHENG_TEST_POSTGRES_URL" -tAc "SELECT 'PostgreSQL ' || current_setting('server_version')"

# GmSSL (the C SM2 peer) builds with cmake in the background while fmt and
# clippy run; the differential test waits for it (scripts/sm2-peers.sh: once,
# under a lock).
gmssl_log=$(mktemp /tmp/yinzheng-gmssl-build.XXXXXX)
scripts/sm2-peers.sh build >"$gmssl_log" 2>&1 &
gmssl_build=$!

step "cargo fmt --check"
cargo fmt --all -- --check

# A pass of its own, measured against linting while the tests build
# (clippy-driver as RUSTC_WORKSPACE_WRAPPER): that saved 50 s of building but
# left `cargo doc` to check every dependency itself (+100 s); here rustdoc
# reuses what clippy checked.
step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

# The peer tests (#[peer_test]: OpenSSL, qpdf, poppler, pyHanko, curl, Go,
# Chromium, PostgreSQL) run here: the `peers` feature turns them on. Without it
# — a newcomer's plain `cargo test --workspace` — they are listed as ignored.
PEERS=(--features yinzheng-tests/peers)
wait "$gmssl_build" || { cat "$gmssl_log"; echo "scripts/test.sh: building the C SM2 peers failed" >&2; exit 1; }
rm -f "$gmssl_log"
step "cargo test with the peers: build"
cargo test --workspace --locked "${PEERS[@]}" --no-run

# The fuzz targets (one line each around crates/fuzz-targets, whose seeds run
# in the tests) must compile: checked on stable, without building libFuzzer's
# C++ (--no-default-features; cargo fuzz links it). fuzz/ is a workspace of its
# own (as a member, its build dependency cc with `parallel` made the test build
# re-run every C build script: +26 s), so nothing built above is reused: about
# a minute of two cores, which it takes here in the background, in a target
# directory of its own (no lock shared with cargo test), while the tests run
# and leave a core two-thirds idle (135 % CPU over 204 s, 2026-12-07).
fuzz_log=$(mktemp /tmp/yinzheng-fuzz-check.XXXXXX)
CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}/fuzz-check" \
  cargo check --manifest-path fuzz/Cargo.toml --locked --bins --no-default-features --quiet >"$fuzz_log" 2>&1 &
fuzz_check=$!

step "cargo test with the peers: run (embedded SQLite; the store suite and the two-server test also use PostgreSQL)"
cargo test --workspace --locked "${PEERS[@]}"

step "cargo check fuzz/ (the cargo-fuzz targets), started with the test run"
wait "$fuzz_check" || { cat "$fuzz_log"; echo "scripts/test.sh: the fuzz targets do not compile" >&2; exit 1; }
rm -f "$fuzz_log"

# The same suites of the crates that keep state, with every data directory's
# databases in PostgreSQL schemas instead of SQLite files.
step "cargo test on PostgreSQL (store, ca, seal-registry, log, license, server, and the seal and anchor tests that use them)"
# The test binaries built above are run again as they are: `cargo test -p …`
# would unify features for that subset only and rebuild every dependency (4 min).
pg_crates="store ca seal seal-registry anchor log license server"
mapfile -t pg_tests < <(cargo test --workspace --locked "${PEERS[@]}" --no-run --message-format=json \
  | python3 -c '
import json, os, sys
crates = set(sys.argv[1].split())
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") != "compiler-artifact" or not m.get("executable") or not m["profile"]["test"]:
        continue
    pkg = os.path.dirname(m["manifest_path"])
    if os.path.basename(pkg) in crates and os.path.basename(os.path.dirname(pkg)) == "crates":
        print(pkg + "\t" + m["executable"])
' "$pg_crates")
[ "${#pg_tests[@]}" -ge 6 ] || { echo "scripts/test.sh: found only ${#pg_tests[@]} test binaries for $pg_crates" >&2; exit 1; }

# The documentation is built while the PostgreSQL suites and the deployment
# check run (built binaries, no cargo: the build lock is free), and waited for
# before the hostile load, which measures.
doc_log=$(mktemp /tmp/yinzheng-doc.XXXXXX)
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet >"$doc_log" 2>&1 &
doc_build=$!
for t in "${pg_tests[@]}"; do
  dir=${t%%$'\t'*} exe=${t#*$'\t'}
  echo "--- ${dir#"$PWD"/}: $(basename "$exe")"
  (cd "$dir" && YINZHENG_STORE_TEST_POSTGRES="$YINZHENG_TEST_POSTGRES_URL" "$exe" -q)
done

step "docs/DEPLOYMENT.md, step by step (scripts/deployment_check.sh)"
scripts/deployment_check.sh

step "cargo doc (-D warnings), started with the PostgreSQL suites"
wait "$doc_build" || { cat "$doc_log"; echo "scripts/test.sh: cargo doc failed" >&2; exit 1; }
rm -f "$doc_log"

step "hostile load, short form (benches/load/hostile.sh: soak + abuse, bounds checked)"
# On the binaries the test run above built (benches/load/tests makes it build
# yinzheng-load too): building them again with `cargo build` would take minutes.
for b in yinzheng yinzheng-load; do
  [ -x "${CARGO_TARGET_DIR:-target}/debug/$b" ] || { echo "scripts/test.sh: the test run did not build $b" >&2; exit 1; }
done
SHORT=1 PROFILE=test NO_BUILD=1 benches/load/hostile.sh

echo
echo "scripts/test.sh: all checks passed in ${SECONDS} s"
