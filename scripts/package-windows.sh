#!/usr/bin/env bash
# scripts/package-windows.sh [--no-build] — the vendor's kit for Windows:
# writes dist/ystpay-<version>-windows.zip and prints its path.
#
#   x86/ and x64/   ystpay.dll (Windows 7 SP1 to 11; VERSIONINFO = crate
#                   version), libystpay.dll.a (MinGW import library),
#                   ystpay.def (for MSVC's lib.exe; 32-bit names carry the
#                   stdcall decoration and map to the plain exports),
#                   ystpay.exe and ystpay-sim.exe (tools for support staff)
#   include/        ystpay.h
#   delphi/ csharp/ ystpay.pas, Ystpay.cs
#   vb6/ystpay.bas  VB6 Declare statements and helpers (CRLF, ASCII)
#   powerbuilder/n_ystpay.sru  PowerBuilder external functions (;ansi) in an
#                   autoinstantiated object to import into a library
#   example/pos.c   the README's 5-minute C integration (the settle flow)
#   example/pos-window.c  a payment in the library's own window
#                   (examples-c/win/pos-window.c)
#   ystpay.ini      a commented sample configuration
#   README-windows.txt  中文 and English: which DLL, stdcall, GBK, journal
#                   and log, trying it against ystpay-sim
#   CHANGELOG.md, SHA256SUMS
#
# Builds with scripts/build-lib.sh (the cdylib alone, with LTO) and one
# `cargo build --bins` per target (profile kit-tools = release), for i686-win7-windows-gnu and
# x86_64-win7-windows-gnu: needs mingw-w64 and `rustup component add
# rust-src`. --no-build packages what the last run built. The staged kit
# stays in $CARGO_TARGET_DIR/windows-kit/ (scripts/ci-windows.sh checks the
# DLLs there; they are what the zip holds). Text files for Notepad get CRLF
# and, where they hold Chinese, a UTF-8 byte-order mark.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
build=1
[ "${1:-}" = --no-build ] && build=0
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')
name=ystpay-$version-windows
stage=$CARGO_TARGET_DIR/windows-kit
kit=$stage/$name
rm -rf "$stage"
mkdir -p "$kit"/{x86,x64,include,delphi,csharp,vb6,powerbuilder,example} dist

# The header's functions: the .def's EXPORTS.
functions=$(grep -o 'YSTPAY_CALL ystpay_[a-z0-9_]*' include/ystpay.h | sed 's/YSTPAY_CALL //' | sort -u)

for target in i686-win7-windows-gnu x86_64-win7-windows-gnu; do
    case $target in
    i686*) arch=x86 tool=i686-w64-mingw32 ;;
    x86_64*) arch=x64 tool=x86_64-w64-mingw32 ;;
    esac
    out=$CARGO_TARGET_DIR/$target
    if [ $build = 1 ]; then
        scripts/build-lib.sh --target "$target" --no-static >/dev/null
        # The tools get a profile of their own (release settings): built in
        # the release profile, the ystpay crate's unit would share its
        # fingerprint with build-lib.sh's cdylib and each build would redo
        # the other's. Their dependencies are compiled apart either way (an
        # LTO-only cdylib needs them as bitcode only).
        (eval "$(scripts/win7-env.sh "$target")"
         cargo build --config 'profile.kit-tools.inherits="release"' --profile kit-tools \
             --target "$target" -Zbuild-std=std,panic_unwind -p ystpay-cli -p ystpay-sim --bins >&2)
    fi
    $tool-strip -o "$kit/$arch/ystpay.dll" "$out/release/ystpay.dll"
    for f in ystpay.exe ystpay-sim.exe; do
        $tool-strip -o "$kit/$arch/$f" "$out/kit-tools/$f"
    done

    # The .def: on 32-bit the names a caller's compiler asks for (ystpay_pay@36,
    # read off a compiled reference to each function) mapped by dlltool -k to
    # the plain exported names; on 64-bit the plain names.
    work=$stage/def-$arch
    mkdir -p "$work"
    { echo '#include "ystpay.h"'
      echo 'void *ystpay_refs[] = {'
      for fn in $functions; do echo "    (void *)&$fn,"; done
      echo '};'
    } >"$work/refs.c"
    $tool-gcc -Iinclude -c "$work/refs.c" -o "$work/refs.o"
    { echo "LIBRARY ystpay.dll"
      echo "EXPORTS"
      $tool-nm "$work/refs.o" | awk '$1 == "U" { n = $2; sub(/^_/, "", n); print "    " n }' | sort
    } >"$kit/$arch/ystpay.def"
    $tool-dlltool -k -d "$kit/$arch/ystpay.def" -D ystpay.dll -l "$kit/$arch/libystpay.dll.a"
    rm -rf "$work"
done

# Text for Windows: CRLF line ends; a byte-order mark where Notepad on a
# Chinese Windows 7 would otherwise guess GBK.
to_windows() { # source, destination, bom|nobom
    python3 - "$@" <<'EOF'
import sys
src, dst, bom = sys.argv[1:4]
text = open(src, encoding="utf-8").read().replace("\r\n", "\n")
text = text.replace("@VERSION@", sys.argv[4] if len(sys.argv) > 4 else "")
with open(dst, "w", encoding="utf-8-sig" if bom == "bom" else "utf-8", newline="\r\n") as f:
    f.write(text)
EOF
}
cp include/ystpay.h "$kit/include/"
cp bindings/delphi/ystpay.pas "$kit/delphi/"
cp bindings/csharp/Ystpay.cs "$kit/csharp/"
# Already CRLF and ASCII as generated (VB6 and PowerBuilder read them so).
cp bindings/vb6/ystpay.bas "$kit/vb6/"
cp bindings/powerbuilder/n_ystpay.sru "$kit/powerbuilder/"
to_windows packaging/windows/README-windows.txt "$kit/README-windows.txt" bom "$version"
to_windows packaging/windows/ystpay.ini "$kit/ystpay.ini" bom
to_windows CHANGELOG.md "$kit/CHANGELOG.md" nobom
to_windows examples-c/win/pos-window.c "$kit/example/pos-window.c" nobom
# The README's C walkthrough, as tests/readme_c.rs runs it.
python3 - "$kit/example/pos.c" <<'EOF'
import sys
readme = open("README.md", encoding="utf-8").read()
start = readme.index("```c\n") + 5
code = readme[start:readme.index("```", start)]
header = ("/* pos.c: the 5-minute integration of README.md (the settle flow).\n"
          " * MinGW:  gcc -Iinclude example\\pos.c -Lx86 -lystpay -o pos.exe\n"
          " *         (then copy x86\\ystpay.dll beside pos.exe)\n"
          " * MSVC:   cl /Iinclude example\\pos.c ystpay.lib  (ystpay.lib: README-windows.txt) */\n")
with open(sys.argv[1], "w", encoding="utf-8", newline="\r\n") as f:
    f.write(header + code)
EOF

(cd "$kit" && find . -type f ! -name SHA256SUMS | sed 's|^\./||' | LC_ALL=C sort |
    xargs sha256sum >SHA256SUMS)

# A zip whose entries are sorted and dated from the last commit, so that the
# same sources give the same bytes.
zip=$ROOT/dist/$name.zip
python3 - "$stage" "$name" "$zip" "$(git log -1 --format=%ct 2>/dev/null || echo 315532800)" <<'EOF'
import os, sys, time, zipfile
stage, name, dst, stamp = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
when = time.gmtime(max(stamp, 315532800))[:6]
files = []
for base, _, names in os.walk(os.path.join(stage, name)):
    files += [os.path.join(base, n) for n in names]
with zipfile.ZipFile(dst + ".tmp", "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
    for path in sorted(files):
        info = zipfile.ZipInfo(os.path.relpath(path, stage).replace(os.sep, "/"), when)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o644 << 16
        with open(path, "rb") as f:
            z.writestr(info, f.read())
os.replace(dst + ".tmp", dst)
EOF
echo "$zip"
