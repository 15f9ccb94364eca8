# scripts/lib/ci-common.sh — what the CI scripts share, sourced by ci-ffi.sh
# and ci-windows.sh after they set WORK and CARGO_TARGET_DIR: installing
# Debian packages, and one simulator at a time on a free loopback port. It
# lives under lib/ because .ci/run runs (and insists on running) every
# scripts/ci-*.sh, and this file is not a check.

APT_UPDATED=
SIM_PID=

# Installs the Debian packages that are missing; returns non-zero when it
# cannot. Logs go to $WORK/apt-update.log and $WORK/apt-install.log.
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
    # Once scripts/install-wine.sh has added i386 for wine32 (on a machine
    # used before), the i386 lists may lag the amd64 ones: prefer bookworm's
    # own versions, as install-wine.sh pinned the shared libraries to them.
    local target=()
    dpkg --print-foreign-architectures | grep -qx i386 && target=(-t bookworm)
    timeout 1200 apt-get install -y -qq --no-install-recommends "${target[@]}" "${missing[@]}" \
        >>"$WORK/apt-install.log" 2>&1
}

stop_sim() {
    if [ -n "$SIM_PID" ]; then
        kill "$SIM_PID" 2>/dev/null
        wait "$SIM_PID" 2>/dev/null
        SIM_PID=
    fi
}
trap stop_sim EXIT

# Starts $CARGO_TARGET_DIR/debug/ystpay-sim on a free port; sets SIM_URL.
start_sim() { # [time scale, default 20]
    stop_sim
    # The last simulator's URL must not be read as this one's: the shell
    # truncates sim.out in the child, which may run after the loop below
    # first reads it (seen: the ASan harness sent every request to the
    # port of the simulator just stopped, connection refused).
    rm -f "$WORK/sim.out" "$WORK/sim.err"
    "$CARGO_TARGET_DIR/debug/ystpay-sim" --listen 127.0.0.1:0 --time-scale "${1:-20}" --quiet \
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
