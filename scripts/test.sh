#!/usr/bin/env bash
# The whole test suite, exactly as CI runs it (.ci/run calls this file).
#
# Installs what the tests need from Debian when it is missing:
#   openssl      OpenSSL 3, the interop peer for SM2 keys, signatures, SM3/SM4
#   libssl-dev   + pkg-config: the `openssl` crate used by the side-by-side benches
#   golang-go + golang-golang-x-mod-dev: Go's sumdb/tlog, the peer that checks the
#                anchoring log's SHA-256 tree hashes and proofs (tests/peers/tlog)
#   fonts-wqy-microhei  a CJK font for the drawn seal pictures and generated OFD
#                documents (TrueType, free to embed; OFD embeds a glyph subset of it)
#   qpdf         checks the structure of stamped PDFs (incremental updates, both xref kinds)
#   poppler-utils  pdftoppm renders stamped pages; pdfsig verifies PDF signatures;
#                pdftotext extracts the text of generated PDFs
#   zbar-tools   zbarimg, an independent decoder of the QR codes on license faces
#   libnss3-tools  certutil, to give pdfsig a trust store
#   curl         an independent HTTPS client: runs the curl commands `serve --demo` prints
#   python3-venv   for the pyHanko venv (PDF signature peer), made once under the target dir
#   chromium     headless, driven over the DevTools protocol by scripts/browser_check.py
#                (standard-library Python): the counter page test (crates/server/tests/browser.rs)
# Then: formatting, clippy (-D warnings, all targets), every test, rustdoc (-D warnings).
# Peer tests never skip: a missing peer fails them with instructions.
set -euo pipefail
cd "$(dirname "$0")/.."

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
    "$venv/bin/pip" install -q "pyHanko==0.38.0" "pyhanko-cli==0.6.0" "pyhanko-certvalidator==0.33.0" "asn1crypto==1.5.1"
  fi
  venv="$(cd "$venv" && pwd)"
  export YINZHENG_PYHANKO="$venv/bin/pyhanko" YINZHENG_PYTHON="$venv/bin/python"
fi
"$YINZHENG_PYHANKO" --version

step() { printf '\n=== %s\n' "$*"; }

step "cargo fmt --check"
cargo fmt --all -- --check

step "cargo clippy (all targets, -D warnings)"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "cargo test"
cargo test --workspace --locked

step "cargo doc (-D warnings)"
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps --locked --quiet

echo
echo "scripts/test.sh: all checks passed"
