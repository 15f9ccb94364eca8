# scripts/lib/ci-wine-window.sh — the payment window's steps of
# scripts/ci-windows.sh (issue 19 §2, docs/C-ABI.md "The payment window"),
# sourced by it after run_wine, wine_env, start_sim, pass and fail exist.
#
# wine_window BITS DLL: builds examples-c/win/window_test.c with MinGW
# against DLL and runs it under Wine in an Xvfb screen, against a
# simulator at time scale 1 (real seconds: the customer confirms the
# password after 5 s, 3 s...): no freezing (longest gap between 50 ms
# timer messages), cancel by Esc, the payment window typed into like a
# scanner, Esc while waiting, a scan that is not a payment code, the QR
# window paid through the simulator's control API.
#
# window_shots BITS DLL DEST: the same program in its "shots" mode at 96
# and 144 DPI; each moment it asks for (scan, waiting, paid, qr) is
# photographed from the Xvfb screen (ImageMagick's `import`), cropped to
# the window, into DEST/window-NAME-DPI.png.
#
# Wine draws the window in a virtual desktop (the registry's
# Explorer\Desktops), as Windows would, with its caption, in an X screen
# that has no window manager; the Chinese font is WenQuanYi Micro Hei
# (fonts-wqy-microhei), which Wine is told to use for "Microsoft YaHei",
# the face the window asks for (Windows 7 has it), and to link to the
# caption's fonts. (fonts-wine is installed for Marlett, yet this Wine still
# draws the close box as the letter "r": cosmetic, Wine only.)

XVFB_PID=
stop_xvfb() {
    if [ -n "$XVFB_PID" ]; then
        kill "$XVFB_PID" 2>/dev/null
        wait "$XVFB_PID" 2>/dev/null
        XVFB_PID=
    fi
}

# Starts Xvfb on a free display; sets DISPLAY.
start_xvfb() {
    stop_xvfb
    local n
    for n in $(seq 91 120); do
        [ -e /tmp/.X$n-lock ] && continue
        Xvfb ":$n" -screen 0 1280x1024x24 -nolisten tcp >"$WORK/xvfb.log" 2>&1 &
        XVFB_PID=$!
        sleep 1
        if kill -0 "$XVFB_PID" 2>/dev/null; then
            export DISPLAY=":$n"
            return 0
        fi
    done
    return 1
}

# The prefix's screen: DPI, the virtual desktop, the Chinese font.
wine_screen() { # bits, dpi
    wine_env "$1"
    local r=(timeout 120 wine reg add)
    "${r[@]}" 'HKCU\Control Panel\Desktop' /v LogPixels /t REG_DWORD /d "$2" /f
    "${r[@]}" 'HKLM\System\CurrentControlSet\Hardware Profiles\Current\Software\Fonts' \
        /v LogPixels /t REG_DWORD /d "$2" /f
    "${r[@]}" 'HKCU\Software\Wine\Explorer' /v Desktop /t REG_SZ /d Default /f
    "${r[@]}" 'HKCU\Software\Wine\Explorer\Desktops' /v Default /t REG_SZ /d 1280x1024 /f
    "${r[@]}" 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\FontSubstitutes' \
        /v 'Microsoft YaHei' /t REG_SZ /d 'WenQuanYi Micro Hei' /f
    # The caption's font (Tahoma and friends) falls back to it for Chinese,
    # as on a Chinese Windows.
    local face
    for face in Tahoma 'MS Shell Dlg' 'MS Shell Dlg 2' 'Microsoft Sans Serif'; do
        "${r[@]}" 'HKLM\Software\Microsoft\Windows NT\CurrentVersion\FontLink\SystemLink' \
            /v "$face" /t REG_MULTI_SZ /d 'wqy-microhei.ttc,WenQuanYi Micro Hei' /f
    done
    # The settings are read when Wine starts.
    timeout 60 wineserver -k
}

# Builds window_test.exe for BITS into DIR beside DLL.
build_window_test() { # bits, dll, dir
    local tool
    case $1 in 32) tool=i686-w64-mingw32 ;; 64) tool=x86_64-w64-mingw32 ;; esac
    mkdir -p "$3"
    cp "$2" "$3/"
    $tool-gcc "${CFLAGS_STRICT[@]}" examples-c/win/window_test.c -o "$3/window_test.exe" \
        -L"$(dirname "$2")" -lystpay -lws2_32 2>"$3/build.log"
}

wine_window() { # bits, dll
    local bits=$1 out=$WORK/window$1 rc t summary gap
    if ! build_window_test "$bits" "$2" "$out"; then
        cat "$out/build.log"
        fail "wine-$bits-window" "window_test.c does not compile"
        return
    fi
    if ! start_xvfb; then
        fail "wine-$bits-window" "Xvfb does not start"
        return
    fi
    wine_env "$bits"
    timeout 300 wineboot --init >/dev/null 2>&1
    wine_screen "$bits" 96 >/dev/null 2>&1
    if ! start_sim 1; then
        fail "wine-$bits-window" "cannot start the simulator"
        stop_xvfb
        return
    fi
    t=$(date +%s)
    run_wine "$bits" "$out" window.log window_test.exe "$SIM_URL"
    rc=$?
    summary=$(tr -d '\r' <"$out/window.log" | grep -E '^[0-9]+ passed, 0 failed$' | tail -n 1)
    gap=$(tr -d '\r' <"$out/window.log" | sed -n 's/^gap: //p' | head -n 1)
    [ $rc -eq 0 ] && [ -z "$summary" ] && rc=1
    tr -d '\r' <"$out/window.log" | grep -E '^FAIL|^gap|^ +simulator requests|^ +customer pays' | sed 's/^/  /'
    if [ $rc -eq 0 ]; then
        pass "wine-$bits-window" "$summary; $gap ($(($(date +%s) - t)) s)"
    else
        tail -n 40 "$out/window.log" "$out/window.log.err"
        fail "wine-$bits-window" "exit $rc: $summary"
    fi
    stop_sim
    timeout 60 wineserver -k >/dev/null 2>&1
    stop_xvfb
}

# Photographs the moments window_test.exe asks for while it runs.
photographer() { # dir, dpi, dest, pid
    local dir=$1 dpi=$2 dest=$3 pid=$4 req name x y w h
    while kill -0 "$pid" 2>/dev/null; do
        for req in "$dir"/shot-*.req; do
            [ -e "$req" ] || continue
            name=$(basename "$req" .req)
            name=${name#shot-}
            read -r x y w h <"$req"
            # The window's rectangle is in the virtual desktop, which is at
            # the screen's top left.
            import -display "$DISPLAY" -window root -crop "${w}x${h}+${x}+${y}" +repage \
                -strip "$dest/window-$name-$dpi.png" 2>>"$dir/import.log"
            rm -f "$req"
            : >"$dir/shot-$name.ok"
        done
        sleep 0.1
    done
}

window_shots() { # bits, dll, dest
    local bits=$1 out=$WORK/shots$1 dest=$3 dpi ok=1 pid n
    mkdir -p "$dest"
    if ! build_window_test "$bits" "$2" "$out"; then
        cat "$out/build.log"
        fail "wine-$bits-window-shots" "window_test.c does not compile"
        return
    fi
    if ! start_xvfb; then
        fail "wine-$bits-window-shots" "Xvfb does not start"
        return
    fi
    wine_env "$bits"
    timeout 300 wineboot --init >/dev/null 2>&1
    for dpi in 96 144; do
        wine_screen "$bits" "$dpi" >/dev/null 2>&1
        start_sim 1 || ok=0
        rm -f "$out"/shot-*
        (cd "$out" && exec timeout 300 wine window_test.exe "$SIM_URL" shots) \
            >"$out/shots-$dpi.log" 2>"$out/shots-$dpi.log.err" &
        pid=$!
        photographer "$out" "$dpi" "$dest" "$pid"
        wait "$pid" || ok=0
        stop_sim
        timeout 60 wineserver -k >/dev/null 2>&1
    done
    stop_xvfb
    n=0
    for f in "$dest"/window-{scan,waiting,paid,qr}-{96,144}.png; do
        if [ -s "$f" ]; then
            n=$((n + 1))
            echo "  $(basename "$f"): $(identify -format '%wx%h' "$f" 2>/dev/null), $(du -k "$f" | cut -f1) KiB"
        else
            echo "  missing: $(basename "$f")"
            ok=0
        fi
    done
    if [ $ok = 1 ]; then
        pass "wine-$bits-window-shots" "$n pictures in $dest"
    else
        tail -n 20 "$out"/shots-*.log "$out"/shots-*.log.err "$out/import.log" 2>/dev/null
        fail "wine-$bits-window-shots"
    fi
}
