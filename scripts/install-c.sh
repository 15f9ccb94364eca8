#!/usr/bin/env bash
# scripts/install-c.sh PREFIX [TARGET_DIR] — installs the C library for
# Linux programs: PREFIX/include/ystpay.h, PREFIX/lib/libystpay.{so,a} and
# PREFIX/lib/pkgconfig/ystpay.pc (then: pkg-config --cflags --libs ystpay).
# TARGET_DIR is the cargo profile directory holding the built library
# (default: target/release).
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=${1:?usage: scripts/install-c.sh PREFIX [TARGET_DIR]}
from=${2:-target/release}
version=$(sed -n 's/^#define YSTPAY_VERSION_STRING "\(.*\)"$/\1/p' include/ystpay.h)
mkdir -p "$prefix/include" "$prefix/lib/pkgconfig"
cp include/ystpay.h "$prefix/include/"
cp "$from/libystpay.so" "$prefix/lib/"
[ -f "$from/libystpay.a" ] && cp "$from/libystpay.a" "$prefix/lib/"
sed -e "s|@PREFIX@|$prefix|" -e "s|@LIBDIR@|$prefix/lib|" -e "s|@VERSION@|$version|" \
    pkgconfig/ystpay.pc.in >"$prefix/lib/pkgconfig/ystpay.pc"
echo "installed ystpay $version into $prefix"
