#!/usr/bin/env bash
# scripts/ci-ffi.sh — every check of the C ABI (issue 3), called by .ci/run.
#
# Needs only the Rust toolchain, gcc and python3 to start; installs the rest
# with apt-get / rustup. A step whose toolchain cannot be installed prints
#   SKIPPED: <step>: <reason>
# and never counts as passed. Exits non-zero when any step really failed.
# Documented in docs/C-ABI.md ("What CI checks").
#
# Steps: build; header freshness and strict C/C++ compile; C harness and POS
# example (cargo test); valgrind; ASan+UBSan; Free Pascal test of the Delphi
# unit; Windows cross builds (x86_64 + i686) with export-table and stdcall
# decoration checks, import libraries; 64-bit harness under Wine; 32-bit
# harness under Wine where wine32 can be installed.
set -uo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$CARGO_TARGET_DIR/ci-ffi
rm -rf "$WORK"
mkdir -p "$WORK"
export DEBIAN_FRONTEND=noninteractive

PASSED=()
FAILED=()
SKIPPED=()
APT_UPDATED=
SIM_PID=

say() { printf '\n=== %s\n' "$*"; }
pass() { echo "PASSED: $1"; PASSED+=("$1"); }
fail() { echo "FAILED: $1${2:+: $2}"; FAILED+=("$1"); }
skip() { echo "SKIPPED: $1: $2"; SKIPPED+=("$1"); }

# Installs Debian packages that are missing; returns non-zero when it cannot.
apt_install() {
    local missing=() p
    for p in "$@"; do
        dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    command -v apt-get >/dev/null || return 1
    if [ -z "$APT_UPDATED" ]; then
        timeout 900 apt-get update -qq >"$WORK/apt-update.log" 2>&1 || true
        APT_UPDATED=1
    fi
    timeout 1200 apt-get install -y -qq --no-install-recommends "${missing[@]}" >>"$WORK/apt-install.log" 2>&1
}

stop_sim() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
        SIM_PID=
    fi
}
trap stop_sim EXIT

# Starts the simulator on a free port; sets SIM_URL.
start_sim() {
    stop_sim
    # The last simulator's URL must not be read as this one's: the shell
    # truncates sim.out in the child, which may run after the loop below
    # first reads it (seen: the ASan harness sent every request to the
    # port of the simulator just stopped, connection refused).
    rm -f "$WORK/sim.out" "$WORK/sim.err"
    "$CARGO_TARGET_DIR/debug/ystpay-sim" --listen 127.0.0.1:0 --time-scale 20 --quiet \
        >"$WORK/sim.out" 2>"$WORK/sim.err" &
    SIM_PID=$!
    local i
    for i in $(seq 1 100); do
        SIM_URL=$(head -n 1 "$WORK/sim.out" 2>/dev/null)
        case "$SIM_URL" in http://*) return 0 ;; esac
        sleep 0.1
    done
    echo "simulator did not start:"
    cat "$WORK/sim.err"
    return 1
}

# The exported function names, as the header declares them.
header_functions() {
    grep -o 'YSTPAY_CALL ystpay_[a-z0-9_]*' include/ystpay.h | sed 's/YSTPAY_CALL //' | sort -u
}

# ------------------------------------------------------------------ build
say "build (library, simulator)"
if cargo build -p ystpay -p ystpay-sim; then
    pass build
else
    fail build
    echo "ci-ffi: the build failed; nothing else can run"
    exit 1
fi
HOST_LIB=$CARGO_TARGET_DIR/debug

# ------------------------------------------------ header, harness, example
say "header: fresh, documented, strict C89/C99/C++11"
if CI=true cargo test --test header; then pass header; else fail header; fi

say "C harness and POS example against the simulator (cargo test)"
if cargo test --test c_harness -- --nocapture >"$WORK/c_harness.log" 2>&1; then
    grep -E 'passed, [0-9]+ failed|^test ' "$WORK/c_harness.log"
    pass c-harness
else
    cat "$WORK/c_harness.log"
    fail c-harness
fi

# Linux builds of the C programs for the memory checkers.
CFLAGS_STRICT=(-std=c99 -Wall -Wextra -Werror -pedantic -g -Iinclude)
build_c() { # source, output, extra flags...
    local src=$1 out=$2
    shift 2
    gcc "${CFLAGS_STRICT[@]}" "$@" "$src" -o "$out" \
        -L"$HOST_LIB" -lystpay -lpthread -Wl,-rpath,"$HOST_LIB"
}
build_harness() { # output, extra flags...
    build_c examples-c/harness.c "$@"
}

say "valgrind: 0 errors, no leaks"
if apt_install valgrind; then
    if build_harness "$WORK/harness" && start_sim; then
        (cd "$WORK" && valgrind --suppressions="$ROOT/scripts/valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
            ./harness "$SIM_URL") >"$WORK/valgrind.log" 2>&1
        rc=$?
        grep -E 'passed, [0-9]+ failed|ERROR SUMMARY|lost:|still reachable' "$WORK/valgrind.log"
        if [ $rc -eq 0 ]; then pass valgrind; else tail -n 60 "$WORK/valgrind.log"; fail valgrind "exit $rc"; fi
    else
        fail valgrind "cannot build the harness or start the simulator"
    fi
else
    skip valgrind "apt-get cannot install valgrind"
fi

# The settle-flow harness (settle pay, cancel from another thread, progress
# callback, journal listing, recovery after a SIGKILLed child). The killed
# child is a plain exec of the same program (not traced by valgrind).
say "valgrind: settle flow (examples-c/settle.c)"
if command -v valgrind >/dev/null; then
    if build_c examples-c/settle.c "$WORK/settle" && start_sim; then
        (cd "$WORK" && valgrind --suppressions="$ROOT/scripts/valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
            ./settle "$SIM_URL" .) >"$WORK/valgrind-settle.log" 2>&1
        rc=$?
        grep -E 'passed, [0-9]+ failed|ERROR SUMMARY|lost:|still reachable' "$WORK/valgrind-settle.log"
        if [ $rc -eq 0 ]; then pass valgrind-settle; else tail -n 60 "$WORK/valgrind-settle.log"; fail valgrind-settle "exit $rc"; fi
    else
        fail valgrind-settle "cannot build settle.c or start the simulator"
    fi
else
    skip valgrind-settle "valgrind is not installed"
fi

say "AddressSanitizer + UndefinedBehaviorSanitizer"
if build_harness "$WORK/harness-asan" -fsanitize=address,undefined -fno-omit-frame-pointer \
    -fno-sanitize-recover=all; then
    if start_sim; then
        (cd "$WORK" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 ./harness-asan "$SIM_URL") \
            >"$WORK/asan.log" 2>&1
        rc=$?
        grep -E 'passed, [0-9]+ failed|ERROR|runtime error' "$WORK/asan.log"
        if [ $rc -eq 0 ]; then pass sanitizers; else tail -n 60 "$WORK/asan.log"; fail sanitizers "exit $rc"; fi
    else
        fail sanitizers "cannot start the simulator"
    fi
else
    skip sanitizers "gcc cannot build with -fsanitize=address,undefined (libasan/libubsan missing)"
fi

say "AddressSanitizer + UndefinedBehaviorSanitizer: settle flow"
if build_c examples-c/settle.c "$WORK/settle-asan" -fsanitize=address,undefined \
    -fno-omit-frame-pointer -fno-sanitize-recover=all; then
    if start_sim; then
        (cd "$WORK" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 ./settle-asan "$SIM_URL" .) \
            >"$WORK/asan-settle.log" 2>&1
        rc=$?
        grep -E 'passed, [0-9]+ failed|ERROR|runtime error' "$WORK/asan-settle.log"
        if [ $rc -eq 0 ]; then pass sanitizers-settle; else tail -n 60 "$WORK/asan-settle.log"; fail sanitizers-settle "exit $rc"; fi
    else
        fail sanitizers-settle "cannot start the simulator"
    fi
else
    skip sanitizers-settle "gcc cannot build with -fsanitize=address,undefined"
fi

# ------------------------------------------------------------ Free Pascal
say "Delphi unit under Free Pascal ({\$mode delphi})"
if apt_install fpc; then
    mkdir -p "$WORK/pascal"
    if fpc -Mdelphi -Sa -vew -Fubindings/delphi -FU"$WORK/pascal" -o"$WORK/pascal/ystpay_test" \
        -Fl"$HOST_LIB" -k-rpath -k"$HOST_LIB" bindings/delphi/ystpay_test.dpr >"$WORK/fpc.log" 2>&1 &&
        start_sim; then
        if "$WORK/pascal/ystpay_test" "$SIM_URL"; then pass pascal; else fail pascal; fi
    else
        cat "$WORK/fpc.log"
        fail pascal "cannot compile the Pascal test or start the simulator"
    fi
else
    skip pascal "apt-get cannot install fpc"
fi

say "bindings generated from the current header"
if python3 scripts/gen-bindings.py --check; then pass bindings-fresh; else fail bindings-fresh; fi

say "C# binding under Mono"
if apt_install mono-mcs mono-runtime; then
    if mcs -out:"$WORK/YstpayTest.exe" bindings/csharp/Ystpay.cs bindings/csharp/YstpayTest.cs \
        >"$WORK/mcs.log" 2>&1 && start_sim; then
        if LD_LIBRARY_PATH=$HOST_LIB mono "$WORK/YstpayTest.exe" "$SIM_URL"; then pass csharp; else fail csharp; fi
    else
        cat "$WORK/mcs.log"
        fail csharp "cannot compile the C# test or start the simulator"
    fi
else
    skip csharp "apt-get cannot install mono-mcs"
fi

say "pkg-config: install into a staging prefix and build the POS example with it"
if apt_install pkg-config; then
    if scripts/install-c.sh "$WORK/stage" "$HOST_LIB" &&
        gcc -std=c99 -Wall -Wextra -Werror -pedantic examples-c/pos_example.c -o "$WORK/pos_pc" \
            $(PKG_CONFIG_PATH=$WORK/stage/lib/pkgconfig pkg-config --cflags --libs ystpay) \
            -Wl,-rpath,"$WORK/stage/lib" && start_sim &&
        "$WORK/pos_pc" "$SIM_URL" 1234 134567890123456701 >"$WORK/pos_pc.log"; then
        head -n 1 "$WORK/pos_pc.log"
        pass pkg-config
    else
        fail pkg-config
    fi
else
    skip pkg-config "apt-get cannot install pkg-config"
fi

# ---------------------------------------------------------------- Windows
say "Windows: cross builds, export tables, import libraries"
WIN_TARGETS=()
if rustup target add x86_64-pc-windows-gnu i686-pc-windows-gnu >"$WORK/rustup.log" 2>&1; then
    if apt_install gcc-mingw-w64-x86-64 gcc-mingw-w64-i686 binutils-mingw-w64-x86-64 \
        binutils-mingw-w64-i686; then
        WIN_TARGETS=(x86_64-pc-windows-gnu i686-pc-windows-gnu)
    else
        skip windows "apt-get cannot install mingw-w64"
    fi
else
    skip windows "rustup cannot add the windows-gnu targets: $(tail -n 1 "$WORK/rustup.log")"
fi

header_functions >"$WORK/expected-exports.txt"
for target in "${WIN_TARGETS[@]}"; do
    case $target in
    x86_64*) tool=x86_64-w64-mingw32 bits=64 ;;
    i686*) tool=i686-w64-mingw32 bits=32 ;;
    esac
    out=$WORK/win$bits
    mkdir -p "$out"
    export "CARGO_TARGET_$(echo "$target" | tr 'a-z-' 'A-Z_')_LINKER=$tool-gcc"
    if ! cargo build -p ystpay --lib --target "$target" >"$out/build.log" 2>&1; then
        tail -n 40 "$out/build.log"
        fail "windows-$bits-build"
        continue
    fi
    cp "$CARGO_TARGET_DIR/$target/debug/ystpay.dll" "$out/"
    pass "windows-$bits-build"

    # Export table: exactly the header's functions, plain names.
    $tool-objdump -p "$out/ystpay.dll" |
        sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$/p' |
        sed -n 's/^[[:space:]]*\[ *[0-9]*\] //p' | sort >"$out/exports.txt"
    echo "$(wc -l <"$out/exports.txt") exports in ystpay.dll ($bits-bit):"
    tr '\n' ' ' <"$out/exports.txt"
    echo
    if diff -u "$WORK/expected-exports.txt" "$out/exports.txt" && ! grep -q '@' "$out/exports.txt"; then
        pass "windows-$bits-exports"
    else
        fail "windows-$bits-exports" "export table differs from the header (or names are decorated)"
    fi

    # Import library and .def for MinGW/MSVC users. On 32-bit the .def lists
    # the stdcall-decorated names (taken from the header by compiling a
    # reference to each function) and dlltool -k maps them to the plain
    # exported names.
    {
        echo '#include "ystpay.h"'
        echo 'void *ystpay_refs[] = {'
        sed 's/.*/    (void *)&, /' "$WORK/expected-exports.txt"
        echo '};'
    } >"$out/refs.c"
    if $tool-gcc -Iinclude -c "$out/refs.c" -o "$out/refs.o"; then
        { echo "LIBRARY ystpay.dll"; echo "EXPORTS"
          $tool-nm "$out/refs.o" | awk '$1 == "U" { n = $2; sub(/^_/, "", n); print "    " n }' | sort
        } >"$out/ystpay.def"
        if $tool-dlltool -k -d "$out/ystpay.def" -D ystpay.dll -l "$out/libystpay.dll.a" 2>"$out/dlltool.log"; then
            pass "windows-$bits-import-lib"
        else
            cat "$out/dlltool.log"
            fail "windows-$bits-import-lib"
        fi
        if [ $bits = 32 ]; then
            # The header declares __stdcall (the compiler decorated every
            # reference as name@bytes) and the DLL's code is stdcall: each
            # function with arguments returns with `ret $bytes`, popping
            # exactly what the header's caller pushed.
            if grep -q '^    ystpay_pay@' "$out/ystpay.def"; then
                echo "header declares stdcall: $(grep -c '@' "$out/ystpay.def") decorated references"
                pass "windows-32-header-stdcall"
            else
                fail "windows-32-header-stdcall" "the header does not declare __stdcall on 32-bit"
            fi
            bad=0 checked=0
            while read -r name; do
                bytes=${name##*@}
                [ "$bytes" -gt 0 ] || continue
                # grep reads to the end (no -q): under pipefail, a grep that
                # quits at the first match makes objdump die of SIGPIPE while it
                # still prints the next function, and the check fails falsely.
                if $tool-objdump -d "$out/ystpay.dll" --disassemble="_$name" 2>/dev/null |
                    grep -E "ret +\\\$0x$(printf '%x' "$bytes")\b" >/dev/null; then
                    checked=$((checked + 1))
                else
                    echo "not stdcall: $name"
                    bad=1
                fi
            done < <(sed -n 's/^    \(ystpay_.*@[0-9]*\)$/\1/p' "$out/ystpay.def")
            echo "$checked exported functions end in 'ret \$<argument bytes>' (callee pops)"
            if [ $bad = 0 ] && [ $checked -gt 0 ]; then
                pass "windows-32-dll-stdcall"
            else
                fail "windows-32-dll-stdcall" "a function does not pop its arguments"
            fi
        fi
    else
        fail "windows-$bits-import-lib" "cannot compile the reference unit"
    fi

    # The C harness, linked through the import library, plus the test-only
    # bcryptprimitives.dll stand-in for Wine.
    if $tool-gcc "${CFLAGS_STRICT[@]}" examples-c/harness.c -o "$out/harness.exe" \
        -L"$out" -lystpay -lws2_32 &&
        $tool-gcc -O2 -shared -Wl,--kill-at -o "$out/bcryptprimitives.dll" \
            scripts/wine/bcryptprimitives.c -ladvapi32; then
        pass "windows-$bits-harness-build"
    else
        fail "windows-$bits-harness-build"
    fi
    # Everything needed from here on is in $out; the cross build's objects
    # (hundreds of MB) are not.
    rm -rf "${CARGO_TARGET_DIR:?}/$target"
done

run_wine() { # bits, wine command
    local bits=$1 wine=$2 out=$WORK/win$1
    [ -f "$out/harness.exe" ] || return 0
    if ! start_sim; then
        fail "wine-$bits" "cannot start the simulator"
        return
    fi
    # No Mono/Gecko: a fresh prefix would otherwise try to install them.
    export WINEPREFIX=$WORK/wineprefix$bits WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
    [ $bits = 32 ] && export WINEARCH=win32 || unset WINEARCH
    (cd "$out" && timeout 600 $wine harness.exe "$SIM_URL") >"$out/wine.log" 2>"$out/wine.err"
    local rc=$?
    timeout 60 wineserver -k >/dev/null 2>&1 || true
    grep -E 'passed, [0-9]+ failed|^FAIL|stdcall|undecorated|decorated' "$out/wine.log"
    if [ $rc -eq 0 ]; then pass "wine-$bits"; else tail -n 30 "$out/wine.log" "$out/wine.err"; fail "wine-$bits" "exit $rc"; fi
}

if [ ${#WIN_TARGETS[@]} -gt 0 ]; then
    say "Windows: 64-bit harness under Wine"
    if apt_install wine wine64 && command -v wine >/dev/null; then
        run_wine 64 wine
    else
        skip wine-64 "apt-get cannot install wine64"
    fi

    say "Windows: 32-bit harness under Wine (stdcall: callee pops its arguments)"
    if ! dpkg -s wine32:i386 >/dev/null 2>&1; then
        added=
        if ! dpkg --print-foreign-architectures | grep -qx i386; then
            dpkg --add-architecture i386 && added=1
        fi
        timeout 600 apt-get update -qq >"$WORK/apt-i386.log" 2>&1 || true
        if ! timeout 900 apt-get install -y -qq wine32:i386 >>"$WORK/apt-i386.log" 2>&1; then
            [ -n "$added" ] && dpkg --remove-architecture i386 2>/dev/null
            apt-get update -qq >/dev/null 2>&1 || true
        fi
    fi
    if dpkg -s wine32:i386 >/dev/null 2>&1; then
        run_wine 32 wine
    else
        skip wine-32 "apt-get cannot install wine32:i386 here (log: $WORK/apt-i386.log); the 32-bit DLL's stdcall is still checked statically above"
    fi
else
    skip wine-64 "no Windows build"
    skip wine-32 "no Windows build"
fi

# ------------------------------------------------------------------- total
stop_sim
rm -rf "$WORK"/wineprefix*
echo
echo "ci-ffi: ${#PASSED[@]} passed, ${#FAILED[@]} failed, ${#SKIPPED[@]} skipped"
[ ${#SKIPPED[@]} -gt 0 ] && echo "ci-ffi: skipped: ${SKIPPED[*]}"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "ci-ffi: failed: ${FAILED[*]}"
    exit 1
fi
exit 0
