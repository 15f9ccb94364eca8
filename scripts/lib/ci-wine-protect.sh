# scripts/lib/ci-wine-protect.sh — the DPAPI step of scripts/ci-windows.sh
# (issue 21, docs/SECURITY.md "Secrets at rest"), sourced by it after
# run_wine, wine_env, start_sim, pass and fail exist.
#
# wine_protect BITS EXE: in WINEPREFIX $WORK/wineprefix$BITS, the kit's
# ystpay.exe protects a configuration (`config --protect`), shows it
# protected, and pays from it against the simulator. Then the file is read
# where it must not be:
#   - in a second WINEPREFIX. Wine's CryptProtectData ignores
#     CRYPTPROTECT_LOCAL_MACHINE and keys the blob with the user name, a
#     secret fixed in Wine and the blob's salt (dlls/crypt32/protectdata.c),
#     nothing of the prefix: a second prefix of the same user reads the
#     copy. That is reported as a NOTE, not passed; should a Wine ever bind
#     blobs to the prefix, the clear error is required there.
#   - under another user name (Wine takes it from $USER): what Wine's DPAPI
#     is bound to, so a blob from "another machine" as Wine can show it;
#   - with the blob's ciphertext changed.
# Both must fail with the clear "protected on another machine: enter them
# again" error, and never show a secret.
wine_protect() { # bits, exe
    local bits=$1 exe=$2 out=$WORK/protect$1 ok=1 rc msg
    rm -rf "$out"
    mkdir -p "$out"
    cp "$exe" "$out/ystpay.exe"
    if ! start_sim; then
        fail "wine-$bits-protect" "cannot start the simulator"
        return
    fi
    printf '; register 1\r\n[ystpay]\r\nserver_url = %s\r\nacct = demo\r\n# secrets below\r\npass = demo123\r\nprivate_key = 0123456789ABCDEF\r\nread_timeout_ms = 5000\r\n' \
        "$SIM_URL" >"$out/ystpay.ini"
    run_wine "$bits" "$out" protect.log ystpay.exe config --protect ystpay.ini
    rc=$?
    tr -d '\r' <"$out/protect.log" | sed 's/^/  /'
    if [ $rc -ne 0 ] || grep -Eq 'demo123|0123456789ABCDEF' "$out/ystpay.ini" ||
        [ "$(grep -c '= dpapi:' "$out/ystpay.ini")" != 2 ] ||
        ! grep -q '^# secrets below' "$out/ystpay.ini"; then
        echo "config --protect did not protect both secrets, keeping the rest (exit $rc):"
        cat "$out/ystpay.ini" "$out/protect.log.err"
        ok=0
    fi
    run_wine "$bits" "$out" config.log ystpay.exe config --config ystpay.ini
    if [ "$(tr -d '\r' <"$out/config.log" | grep -c '<hidden> (protected')" != 2 ]; then
        echo "config does not show both secrets protected:"
        cat "$out/config.log" "$out/config.log.err"
        ok=0
    fi
    run_wine "$bits" "$out" pay.log ystpay.exe pay --config ystpay.ini --amount 0.01 --code 134567890123456701
    rc=$?
    tr -d '\r' <"$out/pay.log" | head -n 1 | sed 's/^/  pay from the protected file: /'
    if [ $rc -ne 0 ]; then
        echo "ystpay.exe did not pay from the protected file (exit $rc):"
        tail -n 20 "$out/pay.log" "$out/pay.log.err"
        ok=0
    fi
    stop_sim
    clear_error() { # log: the clear error, and no secret
        tr -d '\r' <"$1" | grep -q 'protected on another machine: enter them again' &&
            ! grep -Eq 'demo123|0123456789ABCDEF' "$1"
    }
    # A second prefix (see above).
    local other=$WORK/wineprefix$bits-other
    mkdir -p "$out/copy"
    cp "$out/ystpay.exe" "$out/ystpay.ini" "$out/copy/"
    (wine_env "$bits" && export WINEPREFIX=$other && timeout 300 wineboot --init >/dev/null 2>&1)
    (wine_env "$bits" && export WINEPREFIX=$other && cd "$out/copy" &&
        timeout 600 wine ystpay.exe config --config ystpay.ini >copy.log 2>copy.log.err)
    rc=$?
    if [ $rc -eq 0 ]; then
        echo "  NOTE: a second WINEPREFIX reads the copy: Wine's DPAPI does not bind to the prefix"
    elif clear_error "$out/copy/copy.log.err"; then
        echo "  a second WINEPREFIX refuses the copy: $(tr -d '\r' <"$out/copy/copy.log.err" | head -n 1)"
    else
        echo "a second WINEPREFIX refuses the copy without the clear error:"
        cat "$out/copy/copy.log.err"
        ok=0
    fi
    (wine_env "$bits" && export WINEPREFIX=$other && timeout 60 wineserver -k >/dev/null 2>&1)
    # Another user name: what Wine binds the blob to.
    USER=ystpay-other LOGNAME=ystpay-other run_wine "$bits" "$out" user.log ystpay.exe config --config ystpay.ini
    rc=$?
    msg=$(tr -d '\r' <"$out/user.log.err" | head -n 1)
    if [ $rc -eq 2 ] && clear_error "$out/user.log.err"; then
        echo "  another user: $msg"
    else
        echo "another user name read the protected file (exit $rc): $msg"
        ok=0
    fi
    # The ciphertext changed: one base64 character 12 from the end of pass.
    python3 - "$out/ystpay.ini" "$out/tampered.ini" <<'PY'
import sys
text = open(sys.argv[1], newline='').read()
start = text.index('pass = dpapi:')
end = text.index('\r\n', start)
i = end - 12
c = 'B' if text[i] != 'B' else 'C'
open(sys.argv[2], 'w', newline='').write(text[:i] + c + text[i + 1:])
PY
    run_wine "$bits" "$out" tampered.log ystpay.exe config --config tampered.ini
    rc=$?
    msg=$(tr -d '\r' <"$out/tampered.log.err" | head -n 1)
    if [ $rc -eq 2 ] && clear_error "$out/tampered.log.err"; then
        echo "  tampered blob: $msg"
    else
        echo "a tampered blob was read (exit $rc): $msg"
        ok=0
    fi
    if [ $ok = 1 ]; then
        pass "wine-$bits-protect" "protected, paid, refused under another user and when tampered"
    else
        fail "wine-$bits-protect"
    fi
}
