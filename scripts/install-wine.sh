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
#     newest version that both architectures' lists offer, on both, and for
#     the matching version of an installed package that needs exactly the
#     library's old one (libpcre2-dev, pulled in by fpc in ci-ffi.sh);
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

# Has the lists version $2 of package $1 (name:arch allowed)?
offers() {
    apt-cache madison "$1" 2>/dev/null | awk -F'|' '{ gsub(/ /, "", $2); print $2 }' | grep -qxF "$2"
}

# Reads apt's explanation of a failed install on standard input and prints
# the pins (name:arch=version) that should resolve it, given the pins so far
# in PINS. Two kinds of line:
#   "libselinux1:i386 : Depends: libpcre2-8-0:i386 (>= 10.22) but it is not going to be installed"
#   (or "... but it is not installable")
#     → the :i386 twin of an amd64 library is not offered at the amd64 version:
#       ask for the newest version both architectures offer, on both;
#   "libpcre2-dev : Depends: libpcre2-8-0 (= 10.42-1+deb12u2) but 10.42-1 is to be installed"
#     → a package built with exactly one version of a library we pinned: ask
#       for its version that matches the pin (and, the other way round, for
#       the exact version a pinned package needs of a library).
more_pins() {
    local line name x y v w arches a
    while IFS= read -r line; do
        if [[ $line =~ Depends:\ ([a-z0-9.+-]+):i386\ .*but\ it\ is\ not\ (going\ to\ be\ installed|installable) ]]; then
            name=${BASH_REMATCH[1]}
            case " ${PINS[*]} " in *" $name:amd64="*) continue ;; esac
            v=$(common_version "$name")
            [ -n "$v" ] && echo "$name:amd64=$v $name:i386=$v"
        elif [[ $line =~ ^\ *([a-z0-9.+-]+)(:[a-z0-9]+)?\ :\ Depends:\ ([a-z0-9.+-]+)(:[a-z0-9]+)?\ \(=\ ([^\)]+)\)\ but\ ([^ ]+)\ is ]]; then
            x=${BASH_REMATCH[1]} y=${BASH_REMATCH[3]} v=${BASH_REMATCH[5]} w=${BASH_REMATCH[6]}
            if [[ " ${PINS[*]} " == *" $y:amd64="* ]]; then
                name=$x v=$w  # the dependent follows the pinned library
            else
                name=$y       # the library follows the pinned dependent
            fi
            case " ${PINS[*]} " in *" $name:amd64="*) continue ;; esac
            arches=amd64
            dpkg -s "$name:i386" >/dev/null 2>&1 && arches="amd64 i386"
            for a in $arches; do
                offers "$name:$a" "$v" || continue 2
            done
            for a in $arches; do echo "$name:$a=$v"; done
        fi
    done
}

if ! dpkg -s wine32:i386 wine64 wine >/dev/null 2>&1 || [ -n "$dry" ]; then
    if ! dpkg --print-foreign-architectures | grep -qx i386; then
        [ -n "$dry" ] && { echo "dry run: i386 is not added" >&2; exit 1; }
        dpkg --add-architecture i386
    fi
    # A partial update (one list that failed to download) is fine.
    timeout 900 apt-get update -qq >>"$log" 2>&1 || echo "apt-get update reported errors (see $log)" >&2
    PINS=()
    done_ok=
    for attempt in $(seq 1 12); do
        echo "== install attempt $attempt: ${PINS[*]:-no pins}" | tee -a "$log"
        out=$(timeout 1500 apt-get install $dry -y -qq --no-install-recommends --no-remove --allow-downgrades \
            -t bookworm wine wine32:i386 wine64 "${PINS[@]}" 2>&1)
        rc=$?
        echo "$out" >>"$log"
        if [ $rc -eq 0 ]; then done_ok=1; break; fi
        # apt names the blocked packages only when not quiet.
        out=$(apt-get install -s --no-install-recommends --no-remove --allow-downgrades \
            -t bookworm wine wine32:i386 wine64 "${PINS[@]}" 2>&1 | grep -v '^Inst \|^Conf ')
        echo "$out" >>"$log"
        new=$(more_pins <<<"$out" | tr ' ' '\n' | sort -u)
        if [ -z "$new" ]; then
            # apt would rather remove a package built against a library's
            # newer version (libpcre2-dev, which fpc needs): keep it, at the
            # version that matches a pin.
            removed=$(apt-get install -s --no-install-recommends --allow-downgrades -t bookworm \
                wine wine32:i386 wine64 "${PINS[@]}" 2>/dev/null | sed -n 's/^Remv \([^ :]*\).*/\1/p' | sort -u)
            echo "apt would remove: ${removed:-nothing}" >>"$log"
            new=$(for r in $removed; do
                for p in "${PINS[@]}"; do
                    v=${p#*=}
                    if offers "$r:amd64" "$v"; then
                        echo "$r:amd64=$v"
                        dpkg -s "$r:i386" >/dev/null 2>&1 && offers "$r:i386" "$v" && echo "$r:i386=$v"
                        break
                    fi
                done
            done | sort -u)
        fi
        new=$(comm -23 <(echo "$new") <(printf '%s\n' "${PINS[@]}" | sort -u) | grep -v '^$')
        [ -n "$new" ] || break
        # shellcheck disable=SC2206 # one pin a line, no spaces inside
        PINS+=($new)
    done
    if [ -z "$done_ok" ]; then
        echo "cannot install wine32:i386 (log: $log):" >&2
        grep -E '^E:|Depends:' "$log" | tail -n 8 >&2
        exit 1
    fi
    [ -n "$dry" ] && { echo "dry run: would install with: ${PINS[*]:-no pins}"; exit 0; }
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
