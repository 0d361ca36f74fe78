#!/usr/bin/env bash
# The C SM2 peers: GmSSL 3.2.0 built from testdata/peers (Release, with its
# x86-64 SM2 assembly) and OpenSSL 3's libcrypto, each behind the same small
# program (tests/peers/sm2/sm2_peer.c).
#
#   scripts/sm2-peers.sh build        build once (into $CARGO_TARGET_DIR/peers, or
#                                     target/peers), print the two binaries' paths
#   scripts/sm2-peers.sh bench [SECS] GmSSL's C loop: sign and verify on a digest and
#                                     with a reused context, SM3 (docs/PERFORMANCE.md)
#   scripts/sm2-peers.sh softsdf      SoftSDF (a software GM/T 0018 SDF device) on
#                                     that GmSSL, once; print its directory
#                                     (libsoftsdf.so, softsdfinit)
#
# Used by tests/tests/sm2_peers_differential.rs (which calls `build`) and by hand
# for the benchmarks. Needs cmake, a C compiler, libssl-dev (scripts/test.sh
# installs them). Builds are serialised with flock: tests running in parallel
# build once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
target="${CARGO_TARGET_DIR:-$root/target}"
mkdir -p "$target/peers"
out="$(cd "$target/peers" && pwd)"
archive="${YINZHENG_GMSSL_ARCHIVE:-$root/testdata/peers/GmSSL-3.2.0.tar.gz}"
src="$root/tests/peers/sm2/sm2_peer.c"

build() {
  if [ ! -f "$archive" ]; then
    echo "scripts/sm2-peers.sh: GmSSL source archive not found at $archive (set YINZHENG_GMSSL_ARCHIVE)" >&2
    exit 2
  fi
  for tool in cmake cc pkg-config; do
    command -v "$tool" >/dev/null || {
      echo "scripts/sm2-peers.sh: $tool is missing (apt-get install cmake gcc pkg-config libssl-dev)" >&2
      exit 2
    }
  done
  local prefix="$out/gmssl-3.2.0"
  local stamp
  stamp="$(sha256sum "$archive" | cut -c1-16)"
  if [ ! -f "$prefix/.built-$stamp" ]; then
    echo "scripts/sm2-peers.sh: building GmSSL 3.2.0 into $prefix (once)" >&2
    rm -rf "$prefix" "$out/gmssl-src"
    mkdir -p "$out/gmssl-src"
    tar xzf "$archive" -C "$out/gmssl-src" --strip-components=1
    # Release, the SM2 x86-64 assembly on where the machine has it; the tools and
    # tests GmSSL builds by default are not needed here.
    local asm=()
    [ "$(uname -m)" = x86_64 ] && asm=(-DENABLE_SM2_AMD64=ON -DENABLE_ASM_UNDERSCORE_PREFIX=OFF)
    cmake -S "$out/gmssl-src" -B "$out/gmssl-src/build" -DCMAKE_BUILD_TYPE=Release \
      -DCMAKE_INSTALL_PREFIX="$prefix" "${asm[@]}" >"$out/gmssl-build.log" 2>&1
    cmake --build "$out/gmssl-src/build" -j"$(nproc)" --target gmssl >>"$out/gmssl-build.log" 2>&1 || {
      tail -30 "$out/gmssl-build.log" >&2
      exit 1
    }
    mkdir -p "$prefix/lib" "$prefix/include"
    cp -a "$out/gmssl-src/build/bin/"libgmssl.* "$prefix/lib/"
    cp -a "$out/gmssl-src/include/gmssl" "$prefix/include/"
    touch "$prefix/.built-$stamp"
  fi
  if [ ! -x "$out/sm2-peer-gmssl" ] || [ "$src" -nt "$out/sm2-peer-gmssl" ] || [ "$prefix/.built-$stamp" -nt "$out/sm2-peer-gmssl" ]; then
    cc -O2 -Wall -Werror -DPEER_GMSSL -I"$prefix/include" "$src" -o "$out/sm2-peer-gmssl.tmp" \
      -L"$prefix/lib" -Wl,-rpath,"$prefix/lib" -lgmssl
    mv "$out/sm2-peer-gmssl.tmp" "$out/sm2-peer-gmssl"
  fi
  if [ ! -x "$out/sm2-peer-openssl" ] || [ "$src" -nt "$out/sm2-peer-openssl" ]; then
    # shellcheck disable=SC2046
    cc -O2 -Wall -Werror -DPEER_OPENSSL "$src" -o "$out/sm2-peer-openssl.tmp" $(pkg-config --cflags --libs libcrypto)
    mv "$out/sm2-peer-openssl.tmp" "$out/sm2-peer-openssl"
  fi
  echo "$out/sm2-peer-gmssl"
  echo "$out/sm2-peer-openssl"
}

# SoftSDF against the GmSSL built above (its shared library: SoftSDF's
# CMakeLists looks for a static one, so the library is named explicitly).
build_softsdf() {
  local prefix="$out/gmssl-3.2.0"
  local sdf_archive="${YINZHENG_SOFTSDF_ARCHIVE:-$root/testdata/peers/SoftSDF-cb93b87.tar.gz}"
  local dir="$out/softsdf"
  local stamp
  stamp="$(sha256sum "$sdf_archive" | cut -c1-16)"
  if [ ! -f "$dir/.built-$stamp" ]; then
    echo "scripts/sm2-peers.sh: building SoftSDF into $dir (once)" >&2
    rm -rf "$dir" "$out/softsdf-src"
    mkdir -p "$out/softsdf-src" "$dir"
    tar xzf "$sdf_archive" -C "$out/softsdf-src" --strip-components=1
    cmake -S "$out/softsdf-src" -B "$out/softsdf-src/build" -DCMAKE_BUILD_TYPE=Release \
      -DBUILD_TESTING=OFF -DGmSSL_INCLUDE_DIR="$prefix/include" \
      -DGmSSL_LIBRARY="$prefix/lib/libgmssl.so" \
      -DCMAKE_BUILD_RPATH="$prefix/lib" >"$out/softsdf-build.log" 2>&1
    cmake --build "$out/softsdf-src/build" -j"$(nproc)" --target softsdf softsdfinit \
      >>"$out/softsdf-build.log" 2>&1 || {
      tail -30 "$out/softsdf-build.log" >&2
      exit 1
    }
    cp -a "$out/softsdf-src/build/"libsoftsdf.so* "$out/softsdf-src/build/softsdfinit" "$dir/"
    touch "$dir/.built-$stamp"
  fi
  echo "$dir"
}

case "${1:-build}" in
  softsdf)
    exec 9>"$out/.sm2-peers.lock"
    flock 9
    build >/dev/null
    build_softsdf
    ;;
  build)
    exec 9>"$out/.sm2-peers.lock"
    flock 9
    build
    ;;
  bench)
    exec 9>"$out/.sm2-peers.lock"
    flock 9
    build >/dev/null
    flock -u 9
    echo "# $(date -u +%FT%TZ) $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
    "$out/sm2-peer-gmssl" bench "${2:-2}"
    ;;
  *)
    echo "usage: scripts/sm2-peers.sh [build | bench [SECONDS] | softsdf]" >&2
    exit 2
    ;;
esac
