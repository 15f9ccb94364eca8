#!/usr/bin/env bash
# scripts/win7-env.sh TRIPLE — prints the environment that builds for a
# Windows 7 target with mingw-w64, as shell `export` lines to eval:
#
#   eval "$(scripts/win7-env.sh i686-win7-windows-gnu)"
#   cargo build --target i686-win7-windows-gnu -Zbuild-std=std,panic_unwind ...
#
# i686-win7-windows-gnu and x86_64-win7-windows-gnu are tier-3 targets: the
# standard library is built from the rust-src component (-Zbuild-std, which
# the stable toolchain allows with RUSTC_BOOTSTRAP=1), and cc-rs (SQLite's C
# code) does not know the triples, so CC_/AR_ name the mingw tools. Used by
# scripts/build-lib.sh, scripts/package-windows.sh and scripts/ci-windows.sh.
set -euo pipefail
target=${1:?usage: win7-env.sh i686-win7-windows-gnu|x86_64-win7-windows-gnu}
case "$target" in
  i686-win7-windows-gnu) tool=i686-w64-mingw32 ;;
  x86_64-win7-windows-gnu) tool=x86_64-w64-mingw32 ;;
  *) echo "win7-env.sh: not a Windows 7 target: $target" >&2; exit 2 ;;
esac
var=$(echo "$target" | tr 'a-z-' 'A-Z_')
low=$(echo "$target" | tr '-' '_')
echo "export RUSTC_BOOTSTRAP=1"
echo "export CC_$low=$tool-gcc AR_$low=$tool-ar"
echo "export CARGO_TARGET_${var}_LINKER=$tool-gcc"
