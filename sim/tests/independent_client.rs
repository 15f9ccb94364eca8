//! An independent client (tests/independent/client.py: Python's hashlib and
//! the `openssl enc` command, written from the API document alone, sharing no code
//! with ystpay) pays, queries, refunds, refund-queries, revokes and
//! native-pays against the `ystpay-sim` binary started as a user would:
//! `ystpay-sim --listen 127.0.0.1:0`.

#[path = "../../tests/common/skip.rs"]
mod skip;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn have(cmd: &str, arg: &str) -> bool {
    Command::new(cmd)
        .arg(arg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn independent_python_openssl_client() {
    if !have("python3", "--version") || !have("openssl", "version") {
        // CI installs both (YSTPAY_REQUIRE_PYTHON=1): there a missing tool
        // is a failure, not a skip.
        skip::skip_or_fail(
            "YSTPAY_REQUIRE_PYTHON",
            "independent_python_openssl_client",
            "python3 or openssl is not installed",
        );
        return;
    }
    let mut sim = Command::new(env!("CARGO_BIN_EXE_ystpay-sim"))
        .args(["--listen", "127.0.0.1:0", "--quiet"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("simulator binary starts");
    let mut first = String::new();
    BufReader::new(sim.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let url = first.trim().to_string();
    assert!(url.starts_with("http://127.0.0.1:") && url.ends_with("/ystpay/service/unitive.api"));
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../tests/independent/client.py"
    );
    let out = Command::new("python3")
        .arg(script)
        .arg(&url)
        .output()
        .unwrap();
    let _ = sim.kill();
    let _ = sim.wait();
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "independent client failed");
    assert!(stdout.contains(" passed, 0 failed"));
    assert!(!stdout.contains("FAIL"));
}
