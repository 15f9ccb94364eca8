#!/usr/bin/env bash
# scripts/install-wine.sh [--dry-run] — installs 64-bit and 32-bit Wine
# (wine, wine64, wine32:i386) on Debian bookworm as root, and proves that
# both run a program: called by scripts/ci-windows.sh on a fresh machine.
#
# What it takes on this kind of machine (measured, see issue 12):
#  1. `dpkg --add-architecture i386` and an `apt-get update`;
#  2. `-t bookworm` on the install: the i386 lists of bookworm-security may
#     lag behind the amd64 ones (or fail to download), and without it apt
#     reports "held broken packages";
#  3. a library installed on amd64 at a version that no list offers for i386
#     (e.g. libpcre2-8-0 10.42-1+deb12u1) blocks its :i386 twin (Multi-Arch:
#     same needs equal versions): the install is retried asking for the
#     newest version that both architectures' lists offer, on both;
#  4. a broken wine32 exits 0 and prints nothing, so the proof is a 32-bit
#     and a 64-bit hello-world's output, not their exit codes.
# Exits non-zero, with the reason on standard error, when Wine cannot run.
set -uo pipefail
dry=
[ "${1:-}" = --dry-run ] && dry=-s
log=${WINE_INSTALL_LOG:-/tmp/ystpay-install-wine.log}
: >"$log"
export DEBIAN_FRONTEND=noninteractive

# The newest version of package $1 that both the amd64 and the i386 lists
# offer, or nothing.
common_version() {
    local a i v best=
    a=$(apt-cache madison "$1" 2>/dev/null | awk -F'|' '/ amd64 Packages/ { gsub(/ /, "", $2); print $2 }' | sort -u)
    i=$(apt-cache madison "$1:i386" 2>/dev/null | awk -F'|' '/ i386 Packages/ { gsub(/ /, "", $2); print $2 }' | sort -u)
    for v in $a; do
        grep -qxF "$v" <<<"$i" || continue
        if [ -z "$best" ] || dpkg --compare-versions "$v" gt "$best"; then best=$v; fi
    done
    echo "$best"
}

if ! dpkg -s wine32:i386 wine64 wine >/dev/null 2>&1 || [ -n "$dry" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx i386; then
        [ -n "$dry" ] && { echo "dry run: i386 is not added" >&2; exit 1; }
        dpkg --add-architecture i386
    fi
    # A partial update (one list that failed to download) is fine.
    timeout 900 apt-get update -qq >>"$log" 2>&1 || echo "apt-get update reported errors (see $log)" >&2
    pins=()
    done_ok=
    for attempt in 1 2 3 4 5; do
        echo "== install attempt $attempt: ${pins[*]:-no pins}" | tee -a "$log"
        out=$(timeout 1500 apt-get install $dry -y -qq --no-install-recommends --allow-downgrades \
            -t bookworm wine wine32:i386 wine64 "${pins[@]}" 2>&1)
        rc=$?
        echo "$out" >>"$log"
        if [ $rc -eq 0 ]; then done_ok=1; break; fi
        # apt names the blocked packages only when not quiet.
        out=$(apt-get install -s --no-install-recommends --allow-downgrades \
            -t bookworm wine wine32:i386 wine64 "${pins[@]}" 2>&1 | grep -v '^Inst \|^Conf ')
        echo "$out" >>"$log"
        # "libselinux1:i386 : Depends: libpcre2-8-0:i386 (>= 10.22) but it is not going to be installed"
        blocked=$(grep -o 'Depends: [a-z0-9.+-]*:i386' <<<"$out" | sed 's/Depends: //; s/:i386$//' | sort -u)
        added=0
        for name in $blocked; do
            case " ${pins[*]} " in *" $name:amd64="*) continue ;; esac
            v=$(common_version "$name")
            [ -n "$v" ] || continue
            pins+=("$name:amd64=$v" "$name:i386=$v")
            added=1
        done
        [ $added = 1 ] || break
    done
    if [ -z "$done_ok" ]; then
        echo "cannot install wine32:i386 (log: $log):" >&2
        grep -E '^E:|Depends:' "$log" | tail -n 8 >&2
        exit 1
    fi
    [ -n "$dry" ] && { echo "dry run: would install with: ${pins[*]:-no pins}"; exit 0; }
fi

# The proof: each Wine prints from a program of its own bitness.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#include <stdio.h>\nint main(void){printf("hello from %%d-bit Windows\\n",(int)(8*sizeof(void*)));return 0;}\n' >"$work/hello.c"
ok=1
for bits in 32 64; do
    case $bits in 32) cc=i686-w64-mingw32-gcc arch=win32 ;; 64) cc=x86_64-w64-mingw32-gcc arch=win64 ;; esac
    if ! $cc -o "$work/hello$bits.exe" "$work/hello.c" 2>>"$log"; then
        echo "cannot build a $bits-bit hello-world with $cc" >&2
        ok=0
        continue
    fi
    said=$(WINEPREFIX=$work/prefix$bits WINEARCH=$arch WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml=" \
        timeout 300 wine "$work/hello$bits.exe" 2>>"$log" | tr -d '\r')
    WINEPREFIX=$work/prefix$bits timeout 60 wineserver -k >/dev/null 2>&1
    if [ "$said" = "hello from $bits-bit Windows" ]; then
        echo "wine runs $bits-bit programs: '$said'"
    else
        echo "wine does not run $bits-bit programs: printed '$said' (log: $log)" >&2
        ok=0
    fi
done
[ $ok = 1 ]
