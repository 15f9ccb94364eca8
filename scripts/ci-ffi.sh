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
# unit; C# under Mono; pkg-config. Windows: scripts/ci-windows.sh.
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

say() { printf '\n=== %s\n' "$*"; }
pass() { echo "PASSED: $1"; PASSED+=("$1"); }
fail() { echo "FAILED: $1${2:+: $2}"; FAILED+=("$1"); }
skip() { echo "SKIPPED: $1: $2"; SKIPPED+=("$1"); }

# shellcheck source=scripts/lib/ci-common.sh
. scripts/lib/ci-common.sh

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

# The C programs under the memory checkers, each against its own simulator:
#   harness   every interface (examples-c/harness.c)
#   settle    the settle flow: settle pay, cancel from another thread, the
#             progress callback, the journal listing, recovery after a
#             SIGKILLed child (a plain exec of the same program, not traced)
#   started   the started operations: three payments at once polled to their
#             ends, a cancel after 1 s, a handle freed while its payment runs
#             (the simulator at time scale 1: a password takes real seconds)
# name:source:simulator time scale:extra arguments
C_PROGRAMS=(
    "harness:examples-c/harness.c:20:"
    "settle:examples-c/settle.c:20:."
    "started:examples-c/started.c:1:."
)

# valgrind: 0 errors, no leaks.
if apt_install valgrind; then HAVE_VALGRIND=1; else HAVE_VALGRIND=0; fi
for entry in "${C_PROGRAMS[@]}"; do
    IFS=: read -r name src scale extra <<<"$entry"
    check=valgrind-$name
    [ "$name" = harness ] && check=valgrind
    say "valgrind: $src"
    if [ $HAVE_VALGRIND = 0 ]; then
        skip "$check" "apt-get cannot install valgrind"
        continue
    fi
    if build_c "$src" "$WORK/$name" && start_sim "$scale"; then
        # shellcheck disable=SC2086 # $extra is one optional word
        (cd "$WORK" && valgrind --suppressions="$ROOT/scripts/valgrind.supp" --leak-check=full --show-leak-kinds=definite,indirect,possible \
            --errors-for-leak-kinds=definite,indirect,possible --error-exitcode=99 \
            ./"$name" "$SIM_URL" $extra) >"$WORK/valgrind-$name.log" 2>&1
        rc=$?
        grep -E 'passed, [0-9]+ failed|ERROR SUMMARY|lost:|still reachable' "$WORK/valgrind-$name.log"
        if [ $rc -eq 0 ]; then pass "$check"; else tail -n 60 "$WORK/valgrind-$name.log"; fail "$check" "exit $rc"; fi
    else
        fail "$check" "cannot build $src or start the simulator"
    fi
done

# AddressSanitizer + UndefinedBehaviorSanitizer.
for entry in "${C_PROGRAMS[@]}"; do
    IFS=: read -r name src scale extra <<<"$entry"
    check=sanitizers-$name
    [ "$name" = harness ] && check=sanitizers
    say "AddressSanitizer + UndefinedBehaviorSanitizer: $src"
    if ! build_c "$src" "$WORK/$name-asan" -fsanitize=address,undefined -fno-omit-frame-pointer \
        -fno-sanitize-recover=all; then
        skip "$check" "gcc cannot build with -fsanitize=address,undefined (libasan/libubsan missing)"
        continue
    fi
    if start_sim "$scale"; then
        # shellcheck disable=SC2086 # $extra is one optional word
        (cd "$WORK" && ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 ./"$name-asan" "$SIM_URL" $extra) \
            >"$WORK/asan-$name.log" 2>&1
        rc=$?
        grep -E 'passed, [0-9]+ failed|ERROR|runtime error' "$WORK/asan-$name.log"
        if [ $rc -eq 0 ]; then pass "$check"; else tail -n 60 "$WORK/asan-$name.log"; fail "$check" "exit $rc"; fi
    else
        fail "$check" "cannot start the simulator"
    fi
done

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
# The Windows DLLs (Windows 7 SP1 to 11, x86 and x64), their imports, version
# resource, stdcall, and every C program under 32- and 64-bit Wine:
# scripts/ci-windows.sh.

# ------------------------------------------------------------------- total
stop_sim
echo
echo "ci-ffi: ${#PASSED[@]} passed, ${#FAILED[@]} failed, ${#SKIPPED[@]} skipped"
[ ${#SKIPPED[@]} -gt 0 ] && echo "ci-ffi: skipped: ${SKIPPED[*]}"
if [ ${#FAILED[@]} -gt 0 ]; then
    echo "ci-ffi: failed: ${FAILED[*]}"
    exit 1
fi
exit 0
