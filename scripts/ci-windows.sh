#!/usr/bin/env bash
# scripts/ci-windows.sh — the Windows checks (issue 12), called by .ci/run.
#
# Builds the vendor's kit once (scripts/package-windows.sh: ystpay.dll for
# i686- and x86_64-win7-windows-gnu, the tools, the zip), then checks what
# ships:
#   windows-{32,64}-exports    export table = the header's functions, plain names
#   windows-win7-imports       every import of both DLLs in scripts/windows-imports.txt,
#                              none newer than Windows 7 SP1 (scripts/pe.py check-win7);
#                              a second reader (objdump) lists the same imports; a DLL
#                              importing WaitOnAddress and GetSystemTimePreciseAsFileTime
#                              is refused (the check can fail)
#   windows-version-resource   VERSIONINFO of both DLLs = Cargo.toml's version
#   windows-32-*-stdcall       the header declares __stdcall; every export pops its arguments
#   wine-{32,64}-{harness,pos,settle,started}
#                              examples-c/harness.c, pos_example.c, settle.c and started.c built with
#                              MinGW against the kit's DLL and import library, run under
#                              32-bit and 64-bit Wine against the simulator on 127.0.0.1
#   wine-{32,64}-protect       the kit's ystpay.exe protects a configuration's secrets with
#                              DPAPI (`config --protect`), shows them protected, pays from
#                              the file; the file read under another user name and with
#                              its blob changed fails with the clear error; a second
#                              WINEPREFIX is tried and reported (Wine's DPAPI does not bind
#                              to the prefix: scripts/lib/ci-wine-protect.sh)
#   wine-{32,64}-window        examples-c/win/window_test.c in an Xvfb screen (issue 19):
#                              a message loop with a 50 ms WM_TIMER never waits more than
#                              200 ms while a started payment runs; Esc cancels one
#                              (REVOKED); the payment window typed into like a scanner
#                              (PAID), Esc while waiting (REVOKED), "ABC123" refused with
#                              no request sent, the QR window paid through the simulator
#   wine-32-window-shots       the window photographed (scan, waiting, paid, QR) at 96
#                              and 144 DPI into $WORK/window-shots (docs/window-*.png are
#                              these; tests/window_shots.rs decodes their QR code)
#   windows-kit                the zip unpacked into a fresh folder; its SHA256SUMS hold;
#                              its example/pos.c built from the kit alone and run under
#                              32-bit Wine; its ystpay.exe reads the sample ystpay.ini and
#                              pays; its ystpay-sim.exe reports the version
# Every step is required: a tool that cannot be installed (mingw-w64,
# rust-src, wine32) fails the run; nothing here is skipped. Each step prints
# its wall time. Documented in docs/C-ABI.md ("Windows", "What CI checks").
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$CARGO_TARGET_DIR/ci-windows
rm -rf "$WORK"
mkdir -p "$WORK"
export DEBIAN_FRONTEND=noninteractive

PASSED=()
FAILED=()
TIMES=()
T0=$(date +%s)
STEP=
STEP_T=$T0

say() {
    local now
    now=$(date +%s)
    [ -n "$STEP" ] && { echo "    ($STEP: $((now - STEP_T)) s)"; TIMES+=("$STEP=$((now - STEP_T))s"); }
    STEP=$1 STEP_T=$now
    printf '\n=== %s (%d s)\n' "$*" $((now - T0))
}
pass() { echo "PASSED: $1${2:+: $2}"; PASSED+=("$1"); }
fail() { echo "FAILED: $1${2:+: $2}"; FAILED+=("$1"); }

# shellcheck source=scripts/lib/ci-common.sh
. scripts/lib/ci-common.sh

finish() {
    say "summary"
    stop_sim
    declare -F stop_xvfb >/dev/null && stop_xvfb
    echo "step times: ${TIMES[*]}"
    echo
    echo "ci-windows: ${#PASSED[@]} passed, ${#FAILED[@]} failed"
    if [ ${#FAILED[@]} -gt 0 ]; then
        echo "ci-windows: failed: ${FAILED[*]}"
        exit 1
    fi
    exit 0
}

# ------------------------------------------------------------------ tools
say "install: mingw-w64, rust-src, Wine (64- and 32-bit)"
if ! apt_install gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 binutils-mingw-w64-x86-64 binutils-mingw-w64-i686; then
    tail -n 20 "$WORK/apt-install.log" 2>/dev/null
    fail tools "apt-get cannot install mingw-w64"
    finish
fi
if ! rustup component add rust-src >"$WORK/rustup.log" 2>&1; then
    cat "$WORK/rustup.log"
    fail tools "rustup cannot add rust-src (needed to build the win7 targets)"
    finish
fi
if WINE_INSTALL_LOG=$WORK/wine-install.log scripts/install-wine.sh; then
    pass tools "mingw-w64 $(i686-w64-mingw32-gcc -dumpversion), $(wine --version)"
else
    fail tools "Wine cannot run 32- and 64-bit programs here (log: $WORK/wine-install.log)"
    finish
fi

say "install: Xvfb, ImageMagick and a Chinese font (the payment window)"
if apt_install xvfb xauth imagemagick fonts-wqy-microhei fonts-wine; then
    pass tools-window "$(dpkg-query -W -f '${Package} ${Version}\n' xvfb imagemagick fonts-wqy-microhei fonts-wine | paste -sd, | sed 's/,/, /g')"
else
    tail -n 20 "$WORK/apt-install.log" 2>/dev/null
    fail tools-window "apt-get cannot install xvfb, imagemagick, fonts-wqy-microhei, fonts-wine"
    finish
fi

say "build: the simulator for this machine"
if ! cargo build -p ystpay-sim --bin ystpay-sim >"$WORK/sim-build.log" 2>&1; then
    tail -n 30 "$WORK/sim-build.log"
    fail sim-build
    finish
fi

# ------------------------------------------------------------------ build
say "build: the kit (scripts/package-windows.sh: both win7 targets, DLL + tools)"
if ! ZIP=$(scripts/package-windows.sh 2>"$WORK/package.log"); then
    tail -n 40 "$WORK/package.log"
    fail windows-build
    finish
fi
VERSION=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')
KIT=$CARGO_TARGET_DIR/windows-kit/ystpay-$VERSION-windows
pass windows-build "$ZIP ($(du -k "$ZIP" | cut -f1) KiB)"
for arch in x86 x64; do
    echo "  $arch/ystpay.dll: $(stat -c %s "$KIT/$arch/ystpay.dll") bytes (stripped)"
done

# ---------------------------------------------------- static DLL checks
say "exports: the header's functions, undecorated"
grep -o 'YSTPAY_CALL ystpay_[a-z0-9_]*' include/ystpay.h | sed 's/YSTPAY_CALL //' | sort -u \
    >"$WORK/expected-exports.txt"
for arch in x86 x64; do
    python3 scripts/pe.py exports "$KIT/$arch/ystpay.dll" | sort >"$WORK/exports-$arch.txt"
    if [ -s "$WORK/exports-$arch.txt" ] && diff -u "$WORK/expected-exports.txt" "$WORK/exports-$arch.txt" &&
        ! grep -q '@' "$WORK/exports-$arch.txt"; then
        pass "windows-$arch-exports" "$(wc -l <"$WORK/exports-$arch.txt") plain names"
    else
        fail "windows-$arch-exports" "export table differs from the header (or names are decorated)"
    fi
done

say "imports: loadable on Windows 7 SP1 (scripts/windows-imports.txt)"
ok=1
python3 scripts/pe.py check-win7 scripts/windows-imports.txt "$KIT/x86/ystpay.dll" \
    "$KIT/x64/ystpay.dll" || ok=0
# A second, independent reader of the import tables must agree.
for arch in x86 x64; do
    case $arch in x86) tool=i686-w64-mingw32 ;; x64) tool=x86_64-w64-mingw32 ;; esac
    $tool-objdump -p "$KIT/$arch/ystpay.dll" >"$WORK/objdump-$arch.txt"
    awk '/DLL Name:/ { dll = tolower($3); next }
         /^\t[ 0-9a-f]+\t +[0-9]+ +[A-Za-z_]/ && dll { print dll "!" $NF }
         /^$/ { }' "$WORK/objdump-$arch.txt" | sort -u >"$WORK/imports-objdump-$arch.txt"
    python3 scripts/pe.py imports "$KIT/$arch/ystpay.dll" | sort -u >"$WORK/imports-$arch.txt"
    if ! diff -u "$WORK/imports-objdump-$arch.txt" "$WORK/imports-$arch.txt" >/dev/null; then
        echo "objdump and pe.py disagree on the imports of $arch/ystpay.dll:"
        diff -u "$WORK/imports-objdump-$arch.txt" "$WORK/imports-$arch.txt" | head -n 20
        ok=0
    fi
done
# The check refuses what Windows 7 lacks (what the *-pc-windows-gnu std imports).
printf '%s\n' '#include <windows.h>' \
    '__declspec(dllexport) long f(volatile LONG *p) { FILETIME t; LONG v = 0;' \
    '  GetSystemTimePreciseAsFileTime(&t); WaitOnAddress(p, &v, sizeof v, 0); return (long)t.dwLowDateTime; }' \
    >"$WORK/too-new.c"
if x86_64-w64-mingw32-gcc -shared -o "$WORK/too-new.dll" "$WORK/too-new.c" -lsynchronization; then
    if python3 scripts/pe.py check-win7 scripts/windows-imports.txt "$WORK/too-new.dll" >"$WORK/too-new.log"; then
        echo "check-win7 accepted a DLL importing WaitOnAddress and GetSystemTimePreciseAsFileTime"
        ok=0
    else
        grep 'NOT WINDOWS 7' "$WORK/too-new.log" | sed 's/^/  (control) /'
    fi
else
    ok=0
fi
if [ $ok = 1 ]; then
    pass windows-win7-imports "x86 $(wc -l <"$WORK/imports-x86.txt"), x64 $(wc -l <"$WORK/imports-x64.txt") imports, all allowed"
else
    fail windows-win7-imports
fi

say "version resource: VERSIONINFO = Cargo.toml's version ($VERSION)"
ok=1
for arch in x86 x64; do
    python3 scripts/pe.py check-version "$KIT/$arch/ystpay.dll" "$VERSION" || ok=0
done
# The reader must notice a missing resource and a wrong version.
python3 scripts/pe.py check-version "$WORK/too-new.dll" "$VERSION" >/dev/null && ok=0
python3 scripts/pe.py check-version "$KIT/x86/ystpay.dll" "$VERSION.1" >/dev/null && ok=0
if [ $ok = 1 ]; then pass windows-version-resource; else fail windows-version-resource; fi

say "stdcall (32-bit): the header declares it, the DLL pops its arguments"
def=$KIT/x86/ystpay.def
if grep -q '^    ystpay_pay@' "$def"; then
    pass windows-32-header-stdcall "$(grep -c '@' "$def") decorated references"
else
    fail windows-32-header-stdcall "the header does not declare __stdcall on 32-bit"
fi
# The unstripped DLL (same code as the kit's) has the symbols to find each
# function by. Each objdump output goes to a file before grep reads it: a
# `grep -q` on a pipe quits early and, under pipefail, objdump's SIGPIPE
# (status 141) failed this check at random.
dll32=$CARGO_TARGET_DIR/i686-win7-windows-gnu/release/ystpay.dll
bad=0 checked=0
while read -r name; do
    bytes=${name##*@}
    [ "$bytes" -gt 0 ] || continue
    i686-w64-mingw32-objdump -d --no-show-raw-insn --disassemble="_$name" "$dll32" >"$WORK/dis.txt" 2>&1
    if grep -Eq "ret +\\\$0x$(printf '%x' "$bytes")\b" "$WORK/dis.txt"; then
        checked=$((checked + 1))
    else
        echo "not stdcall: $name"
        bad=1
    fi
done < <(sed -n 's/^    \(ystpay_.*@[0-9]*\)$/\1/p' "$def")
if [ $bad = 0 ] && [ $checked -gt 0 ]; then
    pass windows-32-dll-stdcall "$checked exports end in 'ret \$<argument bytes>'"
else
    fail windows-32-dll-stdcall "a function does not pop its arguments"
fi

# ------------------------------------------------------------ under Wine
CFLAGS_STRICT=(-std=c99 -Wall -Wextra -Werror -pedantic -Iinclude)
wine_env() { # bits
    export WINEPREFIX=$WORK/wineprefix$1 WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    if [ "$1" = 32 ]; then export WINEARCH=win32; else export WINEARCH=win64; fi
}
# Runs a program under Wine in its folder; output in $dir/$log.
run_wine() { # bits, folder, log, program, args...
    local bits=$1 dir=$2 log=$3
    shift 3
    wine_env "$bits"
    (cd "$dir" && timeout 600 wine "$@") >"$dir/$log" 2>"$dir/$log.err"
}

for bits in 32 64; do
    case $bits in 32) arch=x86 tool=i686-w64-mingw32 ;; 64) arch=x64 tool=x86_64-w64-mingw32 ;; esac
    say "Wine $bits-bit: harness.c, pos_example.c, settle.c, started.c against the simulator"
    out=$WORK/win$bits
    mkdir -p "$out"
    cp "$KIT/$arch/ystpay.dll" "$out/"
    wine_env $bits
    timeout 300 wineboot --init >/dev/null 2>&1
    for prog in harness pos_example settle started; do
        if ! $tool-gcc "${CFLAGS_STRICT[@]}" "examples-c/$prog.c" -o "$out/$prog.exe" \
            -L"$KIT/$arch" -lystpay -lws2_32 2>"$out/$prog-build.log"; then
            cat "$out/$prog-build.log"
            fail "wine-$bits-$prog" "does not compile with $tool-gcc"
            continue
        fi
        # started.c needs real seconds: a customer's password at time scale 1.
        scale=20
        [ $prog = started ] && scale=1
        if ! start_sim $scale; then
            fail "wine-$bits-$prog" "cannot start the simulator"
            continue
        fi
        t=$(date +%s)
        case $prog in
        harness) run_wine $bits "$out" $prog.log harness.exe "$SIM_URL" ;;
        settle) run_wine $bits "$out" $prog.log settle.exe "$SIM_URL" . ;;
        started) run_wine $bits "$out" $prog.log started.exe "$SIM_URL" . ;;
        pos_example) run_wine $bits "$out" $prog.log pos_example.exe "$SIM_URL" 1234 134567890123456752 ;;
        esac
        rc=$?
        took=$(($(date +%s) - t))
        # Exit 0 is not enough (a broken Wine exits 0 silently): the
        # program must also have said so.
        if [ $prog = pos_example ]; then
            summary=$(head -n 1 "$out/$prog.log" | tr -d '\r')
            if [ $rc -eq 0 ] && ! grep -q '^PAID 1234 fen' "$out/$prog.log"; then rc=1; fi
        else
            summary=$(tr -d '\r' <"$out/$prog.log" | grep -E '^[0-9]+ passed, 0 failed$' | tail -n 1)
            if [ $rc -eq 0 ] && [ -z "$summary" ]; then rc=1; fi
        fi
        grep -E '^FAIL|stdcall|undecorated|TerminateProcess|recover:' "$out/$prog.log" | tr -d '\r' | sed 's/^/  /'
        if [ $rc -eq 0 ]; then
            pass "wine-$bits-$prog" "$summary (${took} s)"
        else
            tail -n 30 "$out/$prog.log" "$out/$prog.log.err"
            fail "wine-$bits-$prog" "exit $rc: $summary"
        fi
    done
    stop_sim
    timeout 60 wineserver -k >/dev/null 2>&1
done

# ------------------------------------------------ secrets at rest (DPAPI)
# shellcheck source=scripts/lib/ci-wine-protect.sh
. scripts/lib/ci-wine-protect.sh
for bits in 32 64; do
    case $bits in 32) arch=x86 ;; 64) arch=x64 ;; esac
    say "Wine $bits-bit: config --protect, pay from the protected file, the copy refused"
    wine_protect $bits "$KIT/$arch/ystpay.exe"
    timeout 60 wineserver -k >/dev/null 2>&1
done

# ------------------------------------------------- the payment window
# shellcheck source=scripts/lib/ci-wine-window.sh
. scripts/lib/ci-wine-window.sh
for bits in 32 64; do
    case $bits in 32) arch=x86 ;; 64) arch=x64 ;; esac
    say "Wine $bits-bit: started operations and the payment window, in Xvfb"
    wine_window $bits "$KIT/$arch/ystpay.dll"
done
say "Wine 32-bit: the payment window photographed at 96 and 144 DPI"
window_shots 32 "$KIT/x86/ystpay.dll" "$WORK/window-shots"

# -------------------------------------------------------------- the kit
say "kit: unpack the zip into a fresh folder, build and pay from it alone (32-bit Wine)"
fresh=$WORK/fresh
ok=1
python3 -m zipfile -e "$ZIP" "$fresh" || ok=0
kit=$fresh/ystpay-$VERSION-windows
(cd "$kit" && sha256sum --quiet -c SHA256SUMS) || { echo "SHA256SUMS do not hold"; ok=0; }
for f in x86/ystpay.dll x64/ystpay.dll x86/libystpay.dll.a x64/libystpay.dll.a x86/ystpay.def \
    x64/ystpay.def x86/ystpay.exe x86/ystpay-sim.exe x64/ystpay.exe x64/ystpay-sim.exe \
    include/ystpay.h delphi/ystpay.pas csharp/Ystpay.cs vb6/ystpay.bas powerbuilder/n_ystpay.sru \
    example/pos.c example/pos-window.c ystpay.ini \
    README-windows.txt CHANGELOG.md SHA256SUMS; do
    [ -s "$kit/$f" ] || { echo "the kit lacks $f"; ok=0; }
done
# The walkthrough, built with the kit's header and import library only (no
# -I or -L into the source tree), beside the kit's DLL.
run=$fresh/run
mkdir -p "$run"
if i686-w64-mingw32-gcc -std=c99 -Wall -Wextra -Werror -pedantic -I"$kit/include" \
    "$kit/example/pos.c" -L"$kit/x86" -lystpay -o "$run/pos.exe" 2>"$run/build.log"; then
    cp "$kit/x86/ystpay.dll" "$run/"
    start_sim || ok=0
    run_wine 32 "$run" pos.log pos.exe "$SIM_URL"
    rc=$?
    tr -d '\r' <"$run/pos.log" | grep -E 'stage 7|交易金额' | sed 's/^/  /'
    if [ $rc -ne 0 ] || ! grep -q '交易金额' "$run/pos.log" || [ ! -s "$run/pos-journal.db" ]; then
        echo "example/pos.c did not pay from the kit (exit $rc):"
        tail -n 20 "$run/pos.log" "$run/pos.log.err"
        ok=0
    fi
    # The window example builds from the kit alone too.
    if ! i686-w64-mingw32-gcc -std=c99 -Wall -Wextra -Werror -pedantic -I"$kit/include" \
        "$kit/example/pos-window.c" -L"$kit/x86" -lystpay -o "$run/pos-window.exe" 2>"$run/build-window.log"; then
        echo "example/pos-window.c does not build from the kit:"
        cat "$run/build-window.log"
        ok=0
    fi
    # The kit's tools: the sample configuration reads, and a payment goes through.
    cp "$kit/ystpay.ini" "$kit/x86/ystpay.exe" "$run/"
    run_wine 32 "$run" config.log ystpay.exe config --config ystpay.ini
    rc=$?
    if [ $rc -ne 0 ] || grep -q 'A1B2C3D4E5F6G7H8' "$run/config.log"; then
        echo "the kit's ystpay.exe cannot read the sample ystpay.ini, or shows its key (exit $rc):"
        tail -n 20 "$run/config.log" "$run/config.log.err"
        ok=0
    fi
    YSTPAY_SERVER_URL=$SIM_URL YSTPAY_ACCT=demo YSTPAY_PASS=demo123 YSTPAY_PRIVATE_KEY=0123456789ABCDEF \
        run_wine 32 "$run" cli-pay.log ystpay.exe pay --amount 12.50 --code 134567890123456701
    rc=$?
    tr -d '\r' <"$run/cli-pay.log" | head -n 2 | sed 's/^/  ystpay.exe: /'
    if [ $rc -ne 0 ]; then
        echo "the kit's ystpay.exe did not pay (exit $rc):"
        tail -n 20 "$run/cli-pay.log" "$run/cli-pay.log.err"
        ok=0
    fi
    cp "$kit/x86/ystpay-sim.exe" "$run/"
    run_wine 32 "$run" sim-version.log ystpay-sim.exe --version
    if ! grep -q "$VERSION" "$run/sim-version.log"; then
        echo "the kit's ystpay-sim.exe does not report $VERSION:"
        cat "$run/sim-version.log" "$run/sim-version.log.err"
        ok=0
    fi
    stop_sim
else
    cat "$run/build.log"
    ok=0
fi
timeout 60 wineserver -k >/dev/null 2>&1
if [ $ok = 1 ]; then pass windows-kit "$(basename "$ZIP")"; else fail windows-kit; fi

rm -rf "$WORK"/wineprefix* "$fresh"
# On a CI machine the cross builds' objects (about 0.75 GB a target) go; a
# developer keeps them for the next run.
if [ "${CI:-}" = true ]; then
    rm -rf "${CARGO_TARGET_DIR:?}/i686-win7-windows-gnu" "${CARGO_TARGET_DIR:?}/x86_64-win7-windows-gnu"
fi
finish
